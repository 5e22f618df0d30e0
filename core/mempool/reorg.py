"""Returning transactions of disconnected blocks to the mempool (Core's MaybeUpdateMempoolForReorg).

After blocks are disconnected their transactions are unconfirmed again. They are re-admitted
parents first and without fee floors (they were good enough for a block); those that no longer
qualify are dropped together with any mempool transaction spending them. Then entries the new tip
makes invalid are removed (time locks, coinbase outputs that are immature or gone) and the mempool
is trimmed to its size cap.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.consensus.block import Block
from core.consensus.hashes import Txid
from core.consensus.tx import Transaction
from core.mempool.coins import CoinView
from core.mempool.results import Accepted

if TYPE_CHECKING:
    from core.mempool.mempool import Mempool


@dataclass(frozen=True, slots=True)
class ReorgResult:
    """What returning disconnected transactions did to the mempool."""

    readded: tuple[Transaction, ...]
    dropped: tuple[Transaction, ...]  # disconnected transactions that no longer qualify
    removed: tuple[Transaction, ...]  # mempool transactions removed (spent dropped ones, or now invalid)


def update_for_reorg(
    pool: Mempool,
    disconnected: Sequence[Block],
    connected: Sequence[Block],
    view: CoinView,
    tip_height: int,
    mtp: int,
    now: int | None = None,
    mtp_at: Callable[[int], int] | None = None,
) -> ReorgResult:
    """Apply the connected blocks, then re-admit the disconnected blocks' transactions they do not contain."""
    confirmed = {tx.txid for b in connected for tx in b.txs}
    for b in connected:
        pool.remove_for_block(b.txs, now)
    txs = [tx for b in disconnected for tx in b.txs[1:] if tx.txid not in confirmed]
    return readd_disconnected(pool, txs, view, tip_height, mtp, now, mtp_at)


def readd_disconnected(
    pool: Mempool,
    txs: Iterable[Transaction],
    view: CoinView,
    tip_height: int,
    mtp: int,
    now: int | None = None,
    mtp_at: Callable[[int], int] | None = None,
) -> ReorgResult:
    """Re-admit `txs` (any order) against the new tip described by `view`, `tip_height`, `mtp`."""
    now = int(_time.time()) if now is None else now
    readded: list[Transaction] = []
    dropped: list[Transaction] = []
    removed: list[Transaction] = []
    for tx in dependency_order(txs):
        if tx.is_coinbase() or pool.get_tx(tx.txid) is not None:
            continue
        res = pool.accept_tx(tx, view, tip_height, mtp, now=now, mtp_at=mtp_at, bypass_limits=True)
        if isinstance(res, Accepted):
            readded.append(tx)
        else:
            dropped.append(tx)
            removed.extend(pool.remove_recursive(tx))
    removed.extend(pool.remove_invalid_for_tip(view, tip_height, mtp, mtp_at))
    removed.extend(pool.limit_size(now))
    return ReorgResult(tuple(readded), tuple(dropped), tuple(removed))


def dependency_order(txs: Iterable[Transaction]) -> list[Transaction]:
    """`txs` reordered so that each comes after those of them it spends (stable otherwise)."""
    pending = list(txs)
    by_id = {tx.txid: tx for tx in pending}
    done: set[Txid] = set()
    out: list[Transaction] = []
    for root in pending:
        stack = [root]
        while stack:
            tx = stack[-1]
            if tx.txid in done:
                stack.pop()
                continue
            parents = [by_id[i.prevout.txid] for i in tx.vin if i.prevout.txid in by_id]
            todo = [p for p in parents if p.txid not in done]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            done.add(tx.txid)
            out.append(tx)
    return out
