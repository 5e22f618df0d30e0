"""Context-free transaction checks: Bitcoin Core's CheckTransaction (consensus/tx_check.cpp)."""

from __future__ import annotations

from core.consensus.amount import MAX_MONEY
from core.consensus.errors import ValidationError
from core.consensus.tx import MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR, Transaction


def check_transaction(tx: Transaction) -> None:
    """Raise ValidationError with Core's reject reason if `tx` breaks a context-free rule."""
    if not tx.vin:
        raise ValidationError("bad-txns-vin-empty")
    if not tx.vout:
        raise ValidationError("bad-txns-vout-empty")
    if tx.base_size * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT:
        raise ValidationError("bad-txns-oversize")
    total = 0
    for out in tx.vout:
        if out.value < 0:
            raise ValidationError("bad-txns-vout-negative")
        if out.value > MAX_MONEY:
            raise ValidationError("bad-txns-vout-toolarge")
        total += out.value
        if total > MAX_MONEY:
            raise ValidationError("bad-txns-txouttotal-toolarge")
    seen = set()
    for txin in tx.vin:
        if txin.prevout in seen:
            raise ValidationError("bad-txns-inputs-duplicate")
        seen.add(txin.prevout)
    if tx.is_coinbase():
        if not 2 <= len(tx.vin[0].script_sig) <= 100:
            raise ValidationError("bad-cb-length")
    elif any(txin.prevout.is_null() for txin in tx.vin):
        raise ValidationError("bad-txns-prevout-null")
