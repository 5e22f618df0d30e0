"""Transaction rules that need block context or the UTXO set (Core's consensus/tx_verify.cpp).

IsFinalTx, BIP68 sequence locks, sigop counting (legacy, P2SH, witness) and CheckTxInputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.consensus.amount import money_range
from core.consensus.tx import SEQUENCE_FINAL, WITNESS_SCALE_FACTOR, Transaction
from core.script.flags import SCRIPT_VERIFY_P2SH
from core.script.interpreter import count_witness_sigops
from core.script.script import count_p2sh_sigops, count_sigops, is_p2sh
from core.validation.deployments import COINBASE_MATURITY, LOCKTIME_VERIFY_SEQUENCE
from core.validation.errors import TxInputsError
from core.validation.utxo import Coin

LOCKTIME_THRESHOLD = 500_000_000  # below: a height; at or above: a UNIX time
SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
SEQUENCE_LOCKTIME_GRANULARITY = 9  # time locks count units of 512 seconds


def is_final_tx(tx: Transaction, block_height: int, block_time: int) -> bool:
    """Core's IsFinalTx: nLockTime passed, or every input's sequence is final."""
    lock_time = tx.locktime
    if lock_time == 0:
        return True
    if lock_time < (block_height if lock_time < LOCKTIME_THRESHOLD else block_time):
        return True
    return all(txin.sequence == SEQUENCE_FINAL for txin in tx.vin)


def calculate_sequence_locks(
    tx: Transaction,
    flags: int,
    prev_heights: Sequence[int],
    mtp_at: Callable[[int], int],
) -> tuple[int, int]:
    """Core's CalculateSequenceLocks: (min height, min time) that must have *passed*; -1 means none.

    `prev_heights[i]` is the height of the block holding input i's coin; `mtp_at(h)` is the median
    time past of the block at height h on the chain being validated. Version is compared unsigned, as
    Core's uint32 `version` is.
    """
    min_height = -1
    min_time = -1
    if (tx.version & 0xFFFFFFFF) < 2 or not flags & LOCKTIME_VERIFY_SEQUENCE:
        return min_height, min_time
    for txin, coin_height in zip(tx.vin, prev_heights, strict=True):
        seq = txin.sequence
        if seq & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            continue
        if seq & SEQUENCE_LOCKTIME_TYPE_FLAG:
            # Time locks count from the MTP of the block *before* the one holding the coin.
            coin_time = mtp_at(max(coin_height - 1, 0))
            min_time = max(min_time, coin_time + ((seq & SEQUENCE_LOCKTIME_MASK) << SEQUENCE_LOCKTIME_GRANULARITY) - 1)
        else:
            min_height = max(min_height, coin_height + (seq & SEQUENCE_LOCKTIME_MASK) - 1)
    return min_height, min_time


def evaluate_sequence_locks(block_height: int, prev_mtp: int, lock: tuple[int, int]) -> bool:
    """Core's EvaluateSequenceLocks: the block at `block_height` (whose parent has MTP `prev_mtp`) satisfies `lock`."""
    return not (lock[0] >= block_height or lock[1] >= prev_mtp)


def legacy_sigop_count(tx: Transaction) -> int:
    """Core's GetLegacySigOpCount: inaccurate sigops of every scriptSig and scriptPubKey."""
    n = 0
    for txin in tx.vin:
        n += count_sigops(txin.script_sig, False)
    for out in tx.vout:
        n += count_sigops(out.script_pubkey, False)
    return n


def transaction_sigop_cost(tx: Transaction, coins: Sequence[Coin], flags: int) -> int:
    """Core's GetTransactionSigOpCost: legacy and P2SH sigops weighted x4, plus witness sigops.

    `coins` are the coins `tx` spends, in input order (ignored for a coinbase).
    """
    cost = legacy_sigop_count(tx) * WITNESS_SCALE_FACTOR
    if tx.is_coinbase():
        return cost
    if flags & SCRIPT_VERIFY_P2SH:
        p2sh = 0
        for txin, coin in zip(tx.vin, coins, strict=True):
            spk = coin.txout.script_pubkey
            if is_p2sh(spk):
                p2sh += count_p2sh_sigops(spk, txin.script_sig)
        cost += p2sh * WITNESS_SCALE_FACTOR
    for txin, coin in zip(tx.vin, coins, strict=True):
        cost += count_witness_sigops(txin.script_sig, coin.txout.script_pubkey, txin.witness, flags)
    return cost


def check_tx_inputs(tx: Transaction, coins: Sequence[Coin | None], spend_height: int) -> int:
    """Core's Consensus::CheckTxInputs: inputs exist, coinbases are mature, amounts in range; returns the fee."""
    if any(coin is None for coin in coins):
        raise TxInputsError("bad-txns-inputs-missingorspent", f"inputs missing/spent in transaction {tx.txid}")
    value_in = 0
    for coin in coins:
        assert coin is not None  # checked above; narrows the type
        if coin.is_coinbase and spend_height - coin.height < COINBASE_MATURITY:
            raise TxInputsError(
                "bad-txns-premature-spend-of-coinbase",
                f"tried to spend coinbase at depth {spend_height - coin.height} in transaction {tx.txid}",
            )
        value_in += coin.txout.value
        if not money_range(coin.txout.value) or not money_range(value_in):
            raise TxInputsError("bad-txns-inputvalues-outofrange", f"in transaction {tx.txid}")
    value_out = tx.total_out()
    if value_in < value_out:
        raise TxInputsError(
            "bad-txns-in-belowout", f"value in ({value_in}) < value out ({value_out}) in transaction {tx.txid}"
        )
    fee = value_in - value_out
    if not money_range(fee):
        raise TxInputsError("bad-txns-fee-outofrange", f"in transaction {tx.txid}")
    return fee
