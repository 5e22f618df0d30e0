"""Admission of one transaction: Bitcoin Core's MemPoolAccept (validation.cpp).

The steps and their order follow Core, since the order decides which reason a bad transaction
gets: PreChecks (context-free checks, standardness, finality, duplicates and conflicts, inputs,
BIP68, amounts, standard inputs and witnesses, sigops, fee floors, chain limits, TRUC), then the
replacement rules if it conflicts with mempool transactions, then the scripts under the standard
flags, then Finalize (evict what it replaces, add it, keep the mempool within its size cap).

Script failures read "mempool-script-verify-flag-failed (...)" as in Core master; whether the
failure also happens under the mandatory (consensus) flags is kept in the result category
(CONSENSUS or NOT_STANDARD), as Core's earlier versions did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.consensus.check import check_transaction
from core.consensus.errors import ValidationError
from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction
from core.mempool import rbf, truc
from core.mempool.coins import MEMPOOL_HEIGHT, CoinView
from core.mempool.entry import MempoolEntry
from core.mempool.feerate import FeeRate
from core.mempool.policy import (
    MAX_STANDARD_TX_SIGOPS_COST,
    MIN_STANDARD_TX_NONWITNESS_SIZE,
    are_inputs_standard,
    get_dust,
    is_standard_tx,
    is_witness_standard,
    virtual_size,
)
from core.mempool.results import Accepted, AcceptResult, Rejected, TxValidationResult
from core.script.flags import MANDATORY_SCRIPT_VERIFY_FLAGS, STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.script.sighash import PrecomputedTxData
from core.validation.deployments import COINBASE_MATURITY, LOCKTIME_VERIFY_SEQUENCE
from core.validation.errors import TxInputsError
from core.validation.tx_verify import (
    calculate_sequence_locks,
    check_tx_inputs,
    evaluate_sequence_locks,
    is_final_tx,
    transaction_sigop_cost,
)
from core.validation.utxo import Coin

if TYPE_CHECKING:
    from core.mempool.mempool import Mempool

R = TxValidationResult


@dataclass(frozen=True, slots=True)
class AcceptContext:
    """The chain tip a transaction is judged against, and how (Core's ATMPArgs)."""

    view: CoinView
    tip_height: int
    mtp: int
    now: int
    mtp_at: Callable[[int], int] | None = None
    bypass_limits: bool = False
    allow_replacement: bool = True


class _Reject(Exception):
    """Internal control flow: never escapes accept_to_memory_pool."""

    def __init__(self, reason: str, result: TxValidationResult, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.result = result
        self.detail = detail


@dataclass(slots=True)
class _Work:
    """What the checks learn about the transaction (Core's Workspace)."""

    tx: Transaction
    coins: list[Coin] = field(default_factory=list)
    fee: int = 0
    vsize: int = 0
    sigop_cost: int = 0
    conflicts: set[Txid] = field(default_factory=set)  # mempool transactions spending the same outputs
    all_conflicts: set[Txid] = field(default_factory=set)  # ...and their descendants: all it would evict
    ancestors: set[Txid] = field(default_factory=set)


def accept_to_memory_pool(pool: Mempool, tx: Transaction, ctx: AcceptContext, test_accept: bool) -> AcceptResult:
    """Run every admission check on `tx`; add it unless `test_accept`."""
    ws = _Work(tx)
    try:
        _pre_checks(pool, ws, ctx)
        if ws.conflicts:
            _replacement_checks(pool, ws)
        _policy_script_checks(ws)
    except _Reject as r:
        return Rejected(tx.txid, tx.wtxid, r.reason, r.result, r.detail)
    if test_accept:
        return Accepted(tx.txid, tx.wtxid, ws.fee, ws.vsize)
    return _finalize(pool, ws, ctx)


def _tip_mtp_fn(tip_height: int, mtp: int, mtp_at: Callable[[int], int] | None) -> Callable[[int], int]:
    # Coins of mempool transactions count as mined in the next block, whose predecessor is the tip.
    if mtp_at is None:
        return lambda _h: mtp
    return lambda h: mtp if h >= tip_height else mtp_at(h)


def sequence_locks_ok(
    tx: Transaction, coins: list[Coin], tip_height: int, mtp: int, mtp_at: Callable[[int], int] | None
) -> bool:
    """Core's CheckSequenceLocksAtTip: can `tx` go in the next block as far as BIP68 is concerned?"""
    heights = [tip_height + 1 if c.height == MEMPOOL_HEIGHT else c.height for c in coins]
    lock = calculate_sequence_locks(tx, LOCKTIME_VERIFY_SEQUENCE, heights, _tip_mtp_fn(tip_height, mtp, mtp_at))
    return evaluate_sequence_locks(tip_height + 1, mtp, lock)


def still_valid_at_tip(
    tx: Transaction, view: CoinView, tip_height: int, mtp: int, mtp_at: Callable[[int], int] | None
) -> bool:
    """After a reorg: is a mempool transaction still final, funded, mature and BIP68-final? (`view` includes the mempool.)"""
    if not is_final_tx(tx, tip_height + 1, mtp):
        return False
    coins: list[Coin] = []
    for txin in tx.vin:
        coin = view.get_coin(txin.prevout)
        if coin is None:
            return False
        if coin.is_coinbase and tip_height + 1 - coin.height < COINBASE_MATURITY:
            return False
        coins.append(coin)
    return sequence_locks_ok(tx, coins, tip_height, mtp, mtp_at)


def _pre_checks(pool: Mempool, ws: _Work, ctx: AcceptContext) -> None:
    tx, opts = ws.tx, pool.options
    txid = tx.txid
    try:
        check_transaction(tx)
    except ValidationError as e:
        raise _Reject(e.reason, R.CONSENSUS, e.detail) from None
    if tx.is_coinbase():
        raise _Reject("coinbase", R.CONSENSUS)
    if opts.require_standard:
        reason = is_standard_tx(tx, opts.max_datacarrier_bytes, opts.permit_bare_multisig, opts.dust_relay_fee)
        if reason is not None:
            raise _Reject(reason, R.NOT_STANDARD)
    if tx.base_size < MIN_STANDARD_TX_NONWITNESS_SIZE:
        raise _Reject("tx-size-small", R.NOT_STANDARD)
    # Only transactions that can go in the next block: the mempool is no place to park time-locked ones.
    if not is_final_tx(tx, ctx.tip_height + 1, ctx.mtp):
        raise _Reject("non-final", R.PREMATURE_SPEND)
    if pool.get(tx.wtxid) is not None:
        raise _Reject("txn-already-in-mempool", R.CONFLICT)
    if pool.get(txid) is not None:
        raise _Reject("txn-same-nonwitness-data-in-mempool", R.CONFLICT)
    for txin in tx.vin:
        spender = pool.spender(txin.prevout)
        if spender is not None:
            if not ctx.allow_replacement:
                raise _Reject("txn-mempool-conflict", R.MEMPOOL_POLICY)
            ws.conflicts.add(spender)
    _fetch_inputs(pool, ws, ctx)
    if not sequence_locks_ok(tx, ws.coins, ctx.tip_height, ctx.mtp, ctx.mtp_at):
        raise _Reject("non-BIP68-final", R.PREMATURE_SPEND)
    try:
        ws.fee = check_tx_inputs(tx, ws.coins, ctx.tip_height + 1)
    except TxInputsError as e:
        premature = e.reason == "bad-txns-premature-spend-of-coinbase"
        raise _Reject(e.reason, R.PREMATURE_SPEND if premature else R.CONSENSUS, e.detail) from None
    if opts.require_standard and not are_inputs_standard(tx, ws.coins):
        raise _Reject("bad-txns-nonstandard-inputs", R.INPUTS_NOT_STANDARD)
    if tx.has_witness() and opts.require_standard and not is_witness_standard(tx, ws.coins):
        raise _Reject("bad-witness-nonstandard", R.WITNESS_MUTATED)
    ws.sigop_cost = transaction_sigop_cost(tx, ws.coins, STANDARD_SCRIPT_VERIFY_FLAGS)
    ws.vsize = virtual_size(tx.weight, ws.sigop_cost, opts.bytes_per_sigop)
    # Ephemeral dust: a dust output is tolerated only on a 0-fee transaction (one a child must pay for).
    if opts.require_standard and ws.fee != 0 and get_dust(tx, opts.dust_relay_fee):
        raise _Reject("dust", R.NOT_STANDARD, "tx with dust output must be 0-fee")
    if ws.sigop_cost > MAX_STANDARD_TX_SIGOPS_COST:
        raise _Reject("bad-txns-too-many-sigops", R.NOT_STANDARD, str(ws.sigop_cost))
    if not ctx.bypass_limits:
        _check_fee_rate(pool, ws, ctx.now)
    ws.all_conflicts = pool.descendants_with(ws.conflicts)
    parents = {txin.prevout.txid for txin in tx.vin if pool.get_tx(txin.prevout.txid) is not None}
    ws.ancestors = pool.ancestors_of_parents(parents)
    _check_chain_limits(pool, ws)
    err = rbf.entries_and_txids_disjoint(ws.ancestors, ws.conflicts, txid)
    if err:
        raise _Reject("bad-txns-spends-conflicting-tx", R.MEMPOOL_POLICY, err)
    err = truc.single_truc_checks(pool, tx, ws.ancestors, ws.conflicts, ws.vsize)
    if err:
        raise _Reject("TRUC-violation", R.MEMPOOL_POLICY, err)


def _fetch_inputs(pool: Mempool, ws: _Work, ctx: AcceptContext) -> None:
    tx = ws.tx
    view = pool.coin_view(ctx.view)
    for txin in tx.vin:
        coin = view.get_coin(txin.prevout)
        if coin is None:
            # Missing because we already have it confirmed, or an orphan whose parents we lack?
            if any(ctx.view.get_coin(OutPoint(tx.txid, n)) is not None for n in range(len(tx.vout))):
                raise _Reject("txn-already-known", R.CONFLICT)
            raise _Reject("bad-txns-inputs-missingorspent", R.MISSING_INPUTS)
        ws.coins.append(coin)


def _check_fee_rate(pool: Mempool, ws: _Work, now: int) -> None:
    """Core's CheckFeeRate: the raised mempool minimum first, then the relay floor."""
    min_fee = pool.min_fee(now).fee(ws.vsize)
    if min_fee > 0 and ws.fee < min_fee:
        raise _Reject("mempool min fee not met", R.RECONSIDERABLE, f"{ws.fee} < {min_fee}")
    relay_fee = pool.options.min_relay_fee.fee(ws.vsize)
    if ws.fee < relay_fee:
        raise _Reject("min relay fee not met", R.RECONSIDERABLE, f"{ws.fee} < {relay_fee}")


def _check_chain_limits(pool: Mempool, ws: _Work) -> None:
    """Core's ancestor/descendant limits (25 transactions, 101 kvB), counted as if the transactions
    this one replaces were already gone."""
    opts = pool.options

    def fail(detail: str) -> _Reject:
        return _Reject("too-long-mempool-chain", R.MEMPOOL_POLICY, detail)

    if len(ws.ancestors) + 1 > opts.ancestor_count:
        raise fail(f"too many unconfirmed ancestors [limit: {opts.ancestor_count}]")
    if ws.vsize + sum(pool.entry(a).vsize for a in ws.ancestors) > opts.ancestor_size_vbytes:
        raise fail(f"exceeds ancestor size limit [limit: {opts.ancestor_size_vbytes}]")
    for a in sorted(ws.ancestors):
        family = pool.descendants_with({a}) - ws.all_conflicts
        if len(family) + 1 > opts.descendant_count:
            raise fail(f"too many descendants for tx {a} [limit: {opts.descendant_count}]")
        if ws.vsize + sum(pool.entry(t).vsize for t in family) > opts.descendant_size_vbytes:
            raise fail(f"exceeds descendant size limit for tx {a} [limit: {opts.descendant_size_vbytes}]")


def _replacement_checks(pool: Mempool, ws: _Work) -> None:
    """Core's ReplacementChecks (rules 6, 5, 2, then 3 and 4)."""
    tx, txid = ws.tx, ws.tx.txid
    new_rate = FeeRate.from_fee(ws.fee, ws.vsize)
    err = rbf.pays_more_than_conflicts(pool, ws.conflicts, new_rate, txid)
    if err:
        raise _Reject("insufficient fee", R.MEMPOOL_POLICY, err)
    err = rbf.too_many_replacements(pool, ws.conflicts, txid)
    if err:
        raise _Reject("too many potential replacements", R.MEMPOOL_POLICY, err)
    err = rbf.has_no_new_unconfirmed(pool, tx, ws.conflicts)
    if err:
        raise _Reject("replacement-adds-unconfirmed", R.MEMPOOL_POLICY, err)
    original = sum(pool.entry(t).fee for t in ws.all_conflicts)
    err = rbf.pays_for_rbf(original, ws.fee, ws.vsize, pool.options.incremental_relay_fee, txid)
    if err:
        raise _Reject("insufficient fee", R.RECONSIDERABLE, err)


def _policy_script_checks(ws: _Work) -> None:
    """Core's PolicyScriptChecks: every input under the standard flags; the first failure decides."""
    tx = ws.tx
    spent = [c.txout for c in ws.coins]
    txdata = PrecomputedTxData(tx, spent)
    for i, txin in enumerate(tx.vin):
        err = verify_input(tx, i, spent, STANDARD_SCRIPT_VERIFY_FLAGS, txdata)
        if err is None:
            continue
        detail = f"input {i} of {tx.txid} (wtxid {tx.wtxid}), spending {txin.prevout}"
        if verify_input(tx, i, spent, MANDATORY_SCRIPT_VERIFY_FLAGS, txdata) is None:
            raise _Reject(f"mempool-script-verify-flag-failed ({err.message})", R.NOT_STANDARD, detail)
        raise _Reject(f"mempool-script-verify-flag-failed ({err.message})", R.CONSENSUS, detail)


def _finalize(pool: Mempool, ws: _Work, ctx: AcceptContext) -> AcceptResult:
    tx = ws.tx
    replaced = pool.remove_staged(ws.all_conflicts) if ws.all_conflicts else ()
    spends_coinbase = any(c.is_coinbase for c in ws.coins)
    entry = MempoolEntry(tx, ws.fee, ws.vsize, ws.sigop_cost, ctx.now, ctx.tip_height, spends_coinbase)
    pool.add_unchecked(entry)
    trimmed: tuple[Transaction, ...] = ()
    if not ctx.bypass_limits:
        trimmed = pool.limit_size(ctx.now)
        if pool.get(tx.txid) is None:
            return Rejected(tx.txid, tx.wtxid, "mempool full", R.RECONSIDERABLE)
    return Accepted(tx.txid, tx.wtxid, ws.fee, ws.vsize, replaced, trimmed)
