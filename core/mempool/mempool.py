"""The mempool: unconfirmed transactions keyed by txid, with their in-mempool parents and children.

Admission (`accept_tx`) runs Core's MemPoolAccept checks (core.mempool.accept); this module keeps
the entries and the spend graph, removes what blocks confirm or conflict with, returns transactions
of disconnected blocks after a reorg, evicts the lowest-paying packages when over the size cap
(raising the minimum fee, which then decays), expires old entries, and answers statistics.

Ancestor and descendant sets are computed on demand by walking the graph: the sandbox mempool holds
at most a few thousand transactions, so Core's cached aggregates would buy nothing but bugs.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from core.consensus.block import Block
from core.consensus.hashes import Txid, Wtxid
from core.consensus.tx import OutPoint, Transaction
from core.mempool import accept as _accept
from core.mempool import reorg as _reorg
from core.mempool.coins import CoinView, MempoolCoinView
from core.mempool.entry import MempoolEntry
from core.mempool.errors import UnknownTransaction
from core.mempool.feerate import FeeRate
from core.mempool.policy import (
    DEFAULT_ANCESTOR_LIMIT,
    DEFAULT_ANCESTOR_SIZE_LIMIT_KVB,
    DEFAULT_BYTES_PER_SIGOP,
    DEFAULT_DESCENDANT_LIMIT,
    DEFAULT_DESCENDANT_SIZE_LIMIT_KVB,
    DEFAULT_PERMIT_BAREMULTISIG,
    DUST_RELAY_FEE_RATE,
    INCREMENTAL_RELAY_FEE_RATE,
    MAX_OP_RETURN_RELAY,
    MIN_RELAY_FEE_RATE,
)
from core.mempool.reorg import ReorgResult
from core.mempool.results import AcceptResult
from core.mempool.stats import HistogramBucket, MempoolStats, fee_histogram

DEFAULT_MAX_MEMPOOL_SIZE_MB = 300
DEFAULT_MEMPOOL_EXPIRY_HOURS = 336  # two weeks
ROLLING_FEE_HALFLIFE = 12 * 60 * 60


@dataclass(frozen=True, slots=True)
class MempoolOptions:
    """Core's kernel/mempool_options.h, at Core master's defaults."""

    min_relay_fee: FeeRate = MIN_RELAY_FEE_RATE
    incremental_relay_fee: FeeRate = INCREMENTAL_RELAY_FEE_RATE
    dust_relay_fee: FeeRate = DUST_RELAY_FEE_RATE
    max_datacarrier_bytes: int | None = MAX_OP_RETURN_RELAY
    permit_bare_multisig: bool = DEFAULT_PERMIT_BAREMULTISIG
    require_standard: bool = True
    bytes_per_sigop: int = DEFAULT_BYTES_PER_SIGOP
    ancestor_count: int = DEFAULT_ANCESTOR_LIMIT
    ancestor_size_vbytes: int = DEFAULT_ANCESTOR_SIZE_LIMIT_KVB * 1000
    descendant_count: int = DEFAULT_DESCENDANT_LIMIT
    descendant_size_vbytes: int = DEFAULT_DESCENDANT_SIZE_LIMIT_KVB * 1000
    # Core caps memory use (-maxmempool, 300 MB); we cap the total virtual size, its main driver.
    max_size_vbytes: int = DEFAULT_MAX_MEMPOOL_SIZE_MB * 1_000_000
    expiry_seconds: int = DEFAULT_MEMPOOL_EXPIRY_HOURS * 3600


@dataclass(frozen=True, slots=True)
class BlockRemoval:
    """What a connected block took out of the mempool."""

    confirmed: tuple[Transaction, ...]  # mempool transactions the block contains
    conflicts: tuple[Transaction, ...]  # evicted: they (or an ancestor) spent what the block spends


class Mempool:
    """Unconfirmed transactions, validated against a chain tip and Core's standard policy."""

    def __init__(self, options: MempoolOptions | None = None) -> None:
        self.options = options or MempoolOptions()
        self._entries: dict[Txid, MempoolEntry] = {}
        self._by_wtxid: dict[Wtxid, Txid] = {}
        self._spenders: dict[OutPoint, Txid] = {}
        self.total_vsize = 0
        self.total_fee = 0
        # Core's rollingMinimumFeeRate, in sat/vB: raised by evictions, decays after blocks.
        self._rolling_min_fee = Fraction(0)
        self._last_rolling_update = 0
        self._block_since_bump = False

    # --- lookups -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[MempoolEntry]:
        """Entries parents-first (every transaction after the mempool transactions it spends)."""
        return iter(self._topological(self._entries))

    def get(self, key: bytes) -> MempoolEntry | None:
        """The entry with this txid or wtxid (a Txid is looked up only as a txid, a Wtxid only as a wtxid)."""
        if len(key) != 32:
            return None
        if not isinstance(key, Wtxid):
            entry = self._entries.get(Txid(key))
            if entry is not None or isinstance(key, Txid):
                return entry
        txid = self._by_wtxid.get(Wtxid(key))
        return None if txid is None else self._entries[txid]

    def entry(self, txid: Txid) -> MempoolEntry:
        """The entry with `txid`; raises UnknownTransaction if there is none."""
        e = self._entries.get(txid)
        if e is None:
            raise UnknownTransaction(f"{txid} is not in the mempool")
        return e

    def get_tx(self, txid: bytes) -> Transaction | None:
        e = self._entries.get(Txid(txid)) if len(txid) == 32 else None
        return None if e is None else e.tx

    def spender(self, outpoint: OutPoint) -> Txid | None:
        """The mempool transaction spending `outpoint`, if any."""
        return self._spenders.get(outpoint)

    def coin_view(self, base: CoinView) -> MempoolCoinView:
        """`base` plus the outputs of mempool transactions."""
        return MempoolCoinView(base, self.get_tx)

    def txs_for_relay(self, min_fee_rate: FeeRate | None = None) -> list[Transaction]:
        """Transactions to announce, parents first; those below `min_fee_rate` (a peer's feefilter) left out."""
        return [e.tx for e in self if min_fee_rate is None or e.fee_rate >= min_fee_rate]

    # --- graph ---------------------------------------------------------------------------------------
    def _closure(self, start: Iterable[Txid], up: bool) -> set[Txid]:
        seen: set[Txid] = set()
        todo = list(start)
        while todo:
            t = todo.pop()
            if t in seen:
                continue
            seen.add(t)
            e = self._entries[t]
            todo.extend(e.parents if up else e.children)
        return seen

    def ancestors(self, txid: Txid) -> set[Txid]:
        """In-mempool ancestors of `txid`, not including itself."""
        return self._closure(self.entry(txid).parents, up=True)

    def descendants(self, txid: Txid) -> set[Txid]:
        """In-mempool descendants of `txid`, not including itself."""
        return self._closure(self.entry(txid).children, up=False)

    def ancestors_of_parents(self, parents: Iterable[Txid]) -> set[Txid]:
        """Ancestors a new transaction with these in-mempool parents would have."""
        return self._closure(parents, up=True)

    def descendants_with(self, txids: Iterable[Txid]) -> set[Txid]:
        """`txids` and all their descendants."""
        return self._closure(txids, up=False)

    def _topological(self, txids: Iterable[Txid]) -> list[MempoolEntry]:
        # Depth = longest chain of in-set ancestors; sorting by it puts parents first.
        wanted = set(txids)
        depth: dict[Txid, int] = {}

        def d(t: Txid) -> int:
            if t not in depth:
                stack = [t]
                while stack:
                    top = stack[-1]
                    pending = [p for p in self._entries[top].parents if p in wanted and p not in depth]
                    if pending:
                        stack.extend(pending)
                        continue
                    stack.pop()
                    ps = [depth[p] for p in self._entries[top].parents if p in wanted]
                    depth[top] = 1 + max(ps, default=0)
            return depth[t]

        return sorted((self._entries[t] for t in wanted), key=lambda e: (d(e.txid), e.time, e.txid))

    # --- adding and removing ---------------------------------------------------------------------------
    def add_unchecked(self, entry: MempoolEntry) -> None:
        txid = entry.txid
        for txin in entry.tx.vin:
            parent = self._entries.get(txin.prevout.txid)
            if parent is not None:
                entry.parents.add(parent.txid)
                parent.children.add(txid)
            self._spenders[txin.prevout] = txid
        # After a reorg a returning parent may already have children here.
        for n in range(len(entry.tx.vout)):
            child = self._spenders.get(OutPoint(txid, n))
            if child is not None:
                entry.children.add(child)
                self._entries[child].parents.add(txid)
        self._entries[txid] = entry
        self._by_wtxid[entry.wtxid] = txid
        self.total_vsize += entry.vsize
        self.total_fee += entry.fee

    def _remove_one(self, txid: Txid) -> MempoolEntry:
        entry = self._entries.pop(txid)
        for p in entry.parents:
            self._entries[p].children.discard(txid)
        for c in entry.children:
            self._entries[c].parents.discard(txid)
        for txin in entry.tx.vin:
            if self._spenders.get(txin.prevout) == txid:
                del self._spenders[txin.prevout]
        del self._by_wtxid[entry.wtxid]
        self.total_vsize -= entry.vsize
        self.total_fee -= entry.fee
        return entry

    def remove_staged(self, txids: Iterable[Txid]) -> tuple[Transaction, ...]:
        """Remove these entries; returns their transactions parents-first."""
        order = self._topological(txids)
        for e in order:
            self._remove_one(e.txid)
        return tuple(e.tx for e in order)

    def remove_recursive(self, tx: Transaction) -> tuple[Transaction, ...]:
        """Remove `tx` (if here) and every mempool transaction spending its outputs, directly or not."""
        start = {tx.txid} if tx.txid in self._entries else set()
        for n in range(len(tx.vout)):
            child = self._spenders.get(OutPoint(tx.txid, n))
            if child is not None:
                start.add(child)
        return self.remove_staged(self.descendants_with(start))

    # --- admission ------------------------------------------------------------------------------------
    def accept_tx(
        self,
        tx: Transaction,
        view: CoinView,
        tip_height: int,
        mtp: int,
        *,
        now: int | None = None,
        mtp_at: Callable[[int], int] | None = None,
        bypass_limits: bool = False,
        allow_replacement: bool = True,
        test_accept: bool = False,
    ) -> AcceptResult:
        """Validate `tx` against the chain tip (`tip_height`, its median time past `mtp`) and policy.

        `view` holds the chain's unspent coins; `mtp_at(h)` gives the MTP of the block at height h
        (for BIP68 time locks; without it the tip's MTP is used, which can only refuse, never admit
        wrongly). `bypass_limits` (returning reorged transactions) skips fee floors and the size
        cap; `test_accept` checks without adding (Core's testmempoolaccept).
        """
        if now is None:
            now = int(_time.time())
        ctx = _accept.AcceptContext(view, tip_height, mtp, now, mtp_at, bypass_limits, allow_replacement)
        return _accept.accept_to_memory_pool(self, tx, ctx, test_accept)

    # --- blocks and reorgs ------------------------------------------------------------------------------
    def remove_for_block(self, txs: Sequence[Transaction], now: int | None = None) -> BlockRemoval:
        """A block with `txs` connected: drop what it confirmed and everything conflicting with it."""
        confirmed: list[Transaction] = []
        conflicts: list[Transaction] = []
        for tx in txs:
            if tx.txid in self._entries:
                # Its children stay: they now spend confirmed outputs.
                confirmed.append(self._remove_one(tx.txid).tx)
            for txin in tx.vin:
                spender = self._spenders.get(txin.prevout)
                if spender is not None and spender != tx.txid:
                    conflicts.extend(self.remove_staged(self.descendants_with({spender})))
        self._last_rolling_update = int(_time.time()) if now is None else now
        self._block_since_bump = True
        return BlockRemoval(tuple(confirmed), tuple(conflicts))

    def update_for_reorg(
        self,
        disconnected: Sequence[Block],
        connected: Sequence[Block],
        view: CoinView,
        tip_height: int,
        mtp: int,
        *,
        now: int | None = None,
        mtp_at: Callable[[int], int] | None = None,
    ) -> ReorgResult:
        """After a reorg: apply the connected blocks, then return the disconnected blocks' other transactions.

        `view`, `tip_height` and `mtp` describe the new tip. Block order does not matter.
        """
        return _reorg.update_for_reorg(self, disconnected, connected, view, tip_height, mtp, now, mtp_at)

    def readd_disconnected(
        self,
        txs: Iterable[Transaction],
        view: CoinView,
        tip_height: int,
        mtp: int,
        *,
        now: int | None = None,
        mtp_at: Callable[[int], int] | None = None,
    ) -> ReorgResult:
        """Core's MaybeUpdateMempoolForReorg: re-admit transactions of disconnected blocks (see core.mempool.reorg)."""
        return _reorg.readd_disconnected(self, txs, view, tip_height, mtp, now, mtp_at)

    def remove_invalid_for_tip(
        self, view: CoinView, tip_height: int, mtp: int, mtp_at: Callable[[int], int] | None = None
    ) -> tuple[Transaction, ...]:
        """Core's removeForReorg: drop entries (and descendants) no longer final, BIP68-final, mature or funded."""
        mview = self.coin_view(view)
        bad = {
            e.txid for e in self._entries.values() if not _accept.still_valid_at_tip(e.tx, mview, tip_height, mtp, mtp_at)
        }
        return self.remove_staged(self.descendants_with(bad)) if bad else ()

    # --- size limit, minimum fee and expiry ------------------------------------------------------------
    def limit_size(self, now: int) -> tuple[Transaction, ...]:
        """Core's LimitMempoolSize: expire old entries, then evict down to the size cap."""
        return self.expire(now - self.options.expiry_seconds) + self.trim_to_size(self.options.max_size_vbytes)

    def expire(self, cutoff: int) -> tuple[Transaction, ...]:
        """Remove entries that entered before `cutoff`, with their descendants."""
        old = {t for t, e in self._entries.items() if e.time < cutoff}
        return self.remove_staged(self.descendants_with(old)) if old else ()

    def _descendant_score(self, e: MempoolEntry) -> tuple[Fraction, int, bytes]:
        desc = self.descendants_with({e.txid})
        fee = sum(self._entries[t].fee for t in desc)
        size = sum(self._entries[t].vsize for t in desc)
        # Max of own and package rate: a parent is not evicted for a cheap child's sake. Ties: newest first.
        return max(Fraction(e.fee, e.vsize), Fraction(fee, size)), -e.time, e.txid

    def trim_to_size(self, limit_vbytes: int) -> tuple[Transaction, ...]:
        """Core's TrimToSize: evict the package with the lowest descendant fee rate until within the limit.

        Each eviction raises the minimum fee to the evicted package's rate plus the incremental relay fee.
        """
        removed: list[Transaction] = []
        while self._entries and self.total_vsize > limit_vbytes:
            worst = min(self._entries.values(), key=self._descendant_score)
            package = self.descendants_with({worst.txid})
            fee = sum(self._entries[t].fee for t in package)
            size = sum(self._entries[t].vsize for t in package)
            rate = Fraction(fee, size) + self.options.incremental_relay_fee.sat_per_vb
            if rate > self._rolling_min_fee:
                self._rolling_min_fee = rate
            self._block_since_bump = False
            removed.extend(self.remove_staged(package))
        return tuple(removed)

    def min_fee(self, now: int | None = None) -> FeeRate:
        """Core's GetMinFee: the fee rate a transaction needs now that the mempool has been full.

        Zero until something was evicted; then it halves every 12 hours (faster while the mempool is
        less than half full) once a block has arrived. Core decays continuously in floating point;
        here whole half-lives are applied exactly.
        """
        if not self._block_since_bump or self._rolling_min_fee == 0:
            return FeeRate(self._rolling_min_fee)
        now = int(_time.time()) if now is None else now
        halflife = ROLLING_FEE_HALFLIFE
        if self.total_vsize < self.options.max_size_vbytes // 4:
            halflife //= 4
        elif self.total_vsize < self.options.max_size_vbytes // 2:
            halflife //= 2
        halvings = (now - self._last_rolling_update) // halflife
        if halvings > 0:
            self._rolling_min_fee /= 2**halvings
            self._last_rolling_update += halvings * halflife
            if self._rolling_min_fee < self.options.incremental_relay_fee.sat_per_vb / 2:
                self._rolling_min_fee = Fraction(0)
                return FeeRate.zero()
        return max(FeeRate(self._rolling_min_fee), self.options.incremental_relay_fee)

    # --- statistics -------------------------------------------------------------------------------------
    def stats(self, now: int | None = None) -> MempoolStats:
        """Count, total vsize and fees, the current minimum fee and the fee-rate histogram."""
        entries = list(self._entries.values())
        return MempoolStats(
            count=len(entries),
            vsize=self.total_vsize,
            total_fee=self.total_fee,
            min_fee=max(self.min_fee(now), self.options.min_relay_fee),
            histogram=fee_histogram(entries),
        )

    def fee_histogram(self) -> tuple[HistogramBucket, ...]:
        """Entries bucketed by their own fee rate (sat/vB floors), lowest bucket first; empty buckets omitted."""
        return fee_histogram(self._entries.values())
