"""Applying a block to the UTXO set and undoing it: Core's ConnectBlock and DisconnectBlock.

Both work on a CoinsCache overlay given explicit context (height, median times past, params); the
caller writes the overlay, the undo data and the new tip in one database transaction, or drops the
overlay when the block is invalid. Pure computation over the overlay, so it can run on whichever
single thread owns the database connection (see chainstate.ChainState).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from core.consensus.amount import money_range
from core.consensus.block import Block
from core.consensus.tx import Transaction, TxOut
from core.script.interpreter import verify_input
from core.script.script import is_unspendable
from core.script.sighash import PrecomputedTxData
from core.validation.deployments import (
    LOCKTIME_VERIFY_SEQUENCE,
    MAX_BLOCK_SIGOPS_COST,
    ConsensusHeights,
    block_script_flags,
    block_subsidy,
)
from core.validation.errors import BlockConsensusError, BlockScriptError, ChainStateError
from core.validation.tx_verify import (
    calculate_sequence_locks,
    check_tx_inputs,
    evaluate_sequence_locks,
    transaction_sigop_cost,
)
from core.validation.utxo import BlockUndo, Coin, CoinsCache, outpoint_key


@dataclass(frozen=True, slots=True)
class BlockContext:
    """Where a block sits: its height and the median time past of its ancestors.

    `mtp_at(h)` is the median time past of the block at height `h` (0 <= h < height) on the chain
    this block extends; BIP68 time locks and the parent's MTP come from it.
    """

    height: int
    mtp_at: Callable[[int], int]


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What connecting a block produced: its undo data and some numbers for logs and benchmarks."""

    undo: BlockUndo
    fees: int
    sigop_cost: int
    inputs: int


def _script_failure(tx_id: object, index: int, error: object) -> BlockScriptError:
    message = getattr(error, "message", str(error))
    return BlockScriptError(
        f"block-script-verify-flag-failed ({message})",
        f"input {index} of transaction {tx_id}",
        script_error=error,
    )


def connect_block(
    block: Block,
    ctx: BlockContext,
    view: CoinsCache,
    params: ConsensusHeights,
    verify_scripts: bool = True,
) -> ConnectResult:
    """Core's ConnectBlock (minus CheckBlock, which ran when the block was stored).

    Spends the block's inputs from `view` and adds its outputs; raises a BlockConsensusError with
    Core's reject reason if a rule is broken (the view is then garbage: drop it).
    """
    height = ctx.height
    # BIP30: no transaction may overwrite an unspent one. Core enforces it on every regtest block
    # (its BIP34 shortcut needs a BIP34 hash regtest does not have).
    for tx in block.txs:
        txid = tx.txid
        for n in range(len(tx.vout)):
            if view.have(txid + n.to_bytes(4, "little")):
                raise BlockConsensusError("bad-txns-BIP30", "tried to overwrite transaction")

    lock_flags = LOCKTIME_VERIFY_SEQUENCE if height >= params.csv_height else 0
    flags = block_script_flags(height, params)
    prev_mtp: int | None = None
    fees = 0
    sigop_cost = 0
    n_inputs = 0
    spent_all: list[Coin] = []
    for i, tx in enumerate(block.txs):
        n_inputs += len(tx.vin)
        coinbase = i == 0
        coins: list[Coin] = []
        if not coinbase:
            found = [view.get(outpoint_key(txin.prevout)) for txin in tx.vin]
            fees += check_tx_inputs(tx, found, height)
            if not money_range(fees):
                raise BlockConsensusError(
                    "bad-txns-accumulated-fee-outofrange", "accumulated fee in the block out of range"
                )
            coins = cast(list[Coin], found)  # check_tx_inputs rejected any None
            lock = calculate_sequence_locks(tx, lock_flags, [c.height for c in coins], ctx.mtp_at)
            if lock != (-1, -1):
                if prev_mtp is None:
                    prev_mtp = ctx.mtp_at(height - 1)
                if not evaluate_sequence_locks(height, prev_mtp, lock):
                    raise BlockConsensusError(
                        "bad-txns-nonfinal", f"contains a non-BIP68-final transaction {tx.txid}"
                    )
        sigop_cost += transaction_sigop_cost(tx, coins, flags)
        if sigop_cost > MAX_BLOCK_SIGOPS_COST:
            raise BlockConsensusError("bad-blk-sigops", "too many sigops")
        if not coinbase:
            if verify_scripts:
                spent_outs: list[TxOut] = [c.txout for c in coins]
                txdata = PrecomputedTxData(tx, spent_outs)
                for j in range(len(tx.vin)):
                    err = verify_input(tx, j, spent_outs, flags, txdata)
                    if err is not None:
                        raise _script_failure(tx.txid, j, err)
            for txin in tx.vin:
                view.spend(outpoint_key(txin.prevout))
            spent_all.extend(coins)
        _add_outputs(view, tx, height, coinbase)

    reward = fees + block_subsidy(height, params)
    paid = block.txs[0].total_out()
    if paid > reward:
        raise BlockConsensusError("bad-cb-amount", f"coinbase pays too much (actual={paid} vs limit={reward})")
    return ConnectResult(BlockUndo(tuple(spent_all)), fees, sigop_cost, n_inputs)


def _add_outputs(view: CoinsCache, tx: Transaction, height: int, coinbase: bool) -> None:
    """Core's AddCoins: every spendable output becomes a coin (fresh: BIP30 showed none exists)."""
    txid = tx.txid
    for n, out in enumerate(tx.vout):
        if not is_unspendable(out.script_pubkey):
            view.add(txid + n.to_bytes(4, "little"), Coin(out, height, coinbase), fresh=True)


def disconnect_block(block: Block, undo: BlockUndo, view: CoinsCache, height: int) -> bool:
    """Core's DisconnectBlock: remove the block's outputs and restore the coins it spent.

    Returns False if the UTXO set did not look exactly as connecting the block left it (Core's
    DISCONNECT_UNCLEAN); raises ChainStateError if the undo data does not fit the block.
    """
    n_spent = sum(len(tx.vin) for tx in block.txs[1:])
    if n_spent != len(undo.spent):
        raise ChainStateError(f"undo data of block {block.hash} has {len(undo.spent)} coins, expected {n_spent}")
    clean = True
    pos = len(undo.spent)
    for i in range(len(block.txs) - 1, -1, -1):
        tx = block.txs[i]
        txid = tx.txid
        for n, out in enumerate(tx.vout):
            if is_unspendable(out.script_pubkey):
                continue
            coin = view.spend(txid + n.to_bytes(4, "little"))
            if coin is None or coin.txout != out or coin.height != height or coin.is_coinbase != (i == 0):
                clean = False
        if i == 0:
            break
        for txin in reversed(tx.vin):
            pos -= 1
            key = outpoint_key(txin.prevout)
            if view.have(key):
                clean = False  # restoring over an unspent coin: the set was not what we left
            view.add(key, undo.spent[pos], fresh=False)
    return clean
