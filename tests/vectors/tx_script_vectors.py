"""Shared loading and checking for Core's tx_valid.json / tx_invalid.json (transaction_tests.cpp).

Rows are [[[prevout hash, prevout index, prevout scriptPubKey, amount?], ...], tx hex, flags];
single-string rows are comments. Prevout scripts use Core's ParseScript text format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxOut
from core.script.flags import ScriptFlags
from core.script.interpreter import verify_input
from core.script.script import parse_script_str
from core.script.sighash import PrecomputedTxData

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
SINGLE_FLAGS = [f for f in ScriptFlags if f is not ScriptFlags.NONE]


@dataclass(frozen=True)
class TxVector:
    """One row: the transaction, the coins it spends (by outpoint) and the flags field."""

    tx: Transaction
    prevouts: dict[OutPoint, TxOut]
    flags_text: str


def load(name: str) -> list[tuple[str, list]]:
    """The file's test rows (comment rows dropped) with stable ids."""
    rows = json.loads((VECTORS / name).read_text())
    return [(f"row{i:03d}", row) for i, row in enumerate(rows) if isinstance(row[0], list)]


def decode(row: list) -> TxVector:
    """Build the prevout map like transaction_tests.cpp (missing amounts are 0)."""
    inputs, tx_hex, flags_text = row
    prevouts: dict[OutPoint, TxOut] = {}
    for entry in inputs:
        assert 3 <= len(entry) <= 4, f"bad test input {entry}"
        outpoint = OutPoint(Txid.from_hex(entry[0]), entry[1] & 0xFFFFFFFF)
        amount = entry[3] if len(entry) == 4 else 0
        prevouts[outpoint] = TxOut(amount, parse_script_str(entry[2]))
    return TxVector(Transaction.from_hex(tx_hex), prevouts, flags_text)


def scripts_valid(vec: TxVector, flags: int) -> bool:
    """CheckTxScripts: do all inputs verify under `flags`? Stops at the first failing input."""
    tx = vec.tx
    spent = [vec.prevouts[txin.prevout] for txin in tx.vin]
    txdata = PrecomputedTxData(tx, spent)
    return all(verify_input(tx, i, spent, flags, txdata) is None for i in range(len(tx.vin)))


def trim_flags(flags: int) -> int:
    """Core's TrimFlags: drop WITNESS without P2SH, and CLEANSTACK without WITNESS."""
    if not flags & ScriptFlags.P2SH:
        flags &= ~ScriptFlags.WITNESS
    if not flags & ScriptFlags.WITNESS:
        flags &= ~ScriptFlags.CLEANSTACK
    return flags


def fill_flags(flags: int) -> int:
    """Core's FillFlags: CLEANSTACK implies WITNESS, which implies P2SH."""
    if flags & ScriptFlags.CLEANSTACK:
        flags |= ScriptFlags.WITNESS
    if flags & ScriptFlags.WITNESS:
        flags |= ScriptFlags.P2SH
    return flags


def exclude_individual_flags(flags: int) -> set[int]:
    """Core's ExcludeIndividualFlags: each valid combination with one of `flags` removed."""
    combos = set()
    for flag in SINGLE_FLAGS:
        without = trim_flags(flags & ~flag)
        if without != flags:
            combos.add(without)
    return combos
