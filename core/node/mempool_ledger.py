"""The bookkeeping behind the mempool view: tracked transactions, fees where knowable, a fee histogram.

A light node has no UTXO set, so a transaction's fee (inputs minus outputs) is known only when
every prevout is an output we have seen: of another tracked transaction, or of one of the last
few blocks handed to `on_block`. Transactions whose parents arrive later are resolved then. The
histogram counts only known-fee transactions, and `fee_known_vsize / vsize` says how much of the
tracked mempool that is. Rates are individual (fee / vsize), not ancestor-package rates.

Memory is bounded: at most `max_tracked` transactions (the oldest are forgotten first) and the
outputs of at most `recent_blocks` blocks. All methods are synchronous and touch no I/O; the view
calls them from one place at a time (on the loop, or in its executor under its lock).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from dataclasses import dataclass

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction
from core.node.tx_events import FeeBucket

#: Lower bounds (sat/vB) of the histogram buckets, as mempool.space draws them; [0, 1) comes first.
BUCKET_BOUNDS: tuple[int, ...] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 100, 125, 150, 175, 200, 250,
    300, 350, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000,
)  # fmt: skip
_NBUCKETS = len(BUCKET_BOUNDS) + 1
DEFAULT_MAX_TRACKED = 50_000
DEFAULT_RECENT_BLOCKS = 12

Key = tuple[bytes, int]  # an outpoint as (txid bytes, index): cheaper to hash than OutPoint


def bucket_index(fee: int, vsize: int) -> int:
    """The histogram bucket of a fee rate: 0 for < 1 sat/vB, i for BUCKET_BOUNDS[i-1] <= rate < next.

    Bounds are whole sat/vB, so comparing the floor of fee/vsize is exact.
    """
    return bisect.bisect_right(BUCKET_BOUNDS, fee // vsize)


@dataclass(slots=True)
class TrackedTx:
    """What the view keeps of one mempool transaction (the transaction itself is not kept)."""

    txid: bytes
    wtxid: bytes
    vsize: int
    prevouts: tuple[Key, ...]
    values: tuple[int, ...]  # output values, to price children
    fee: int | None
    arrival: float
    bucket: int = -1  # histogram bucket while the fee is known


@dataclass(frozen=True, slots=True)
class BlockFees:
    """The fees of one block's transactions, where every prevout was known (coinbase excluded)."""

    block_hash: BlockHash
    tx_count: int
    vsize: int
    known: tuple[tuple[int, int], ...]  # (fee, vsize) of each known-fee transaction

    @property
    def known_vsize(self) -> int:
        return sum(v for _, v in self.known)


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    """What connecting a block removed from the view."""

    fees: BlockFees
    confirmed: int
    conflicts: int


class RecentOutputs:
    """Output values of the transactions of the last `limit` blocks."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._blocks: deque[tuple[bytes, ...]] = deque()
        self._values: dict[bytes, tuple[int, ...]] = {}

    def add_block(self, block: Block) -> None:
        txids = []
        for tx in block.txs:
            t = bytes(tx.txid)
            self._values[t] = tuple(o.value for o in tx.vout)
            txids.append(t)
        self._blocks.append(tuple(txids))
        while len(self._blocks) > self.limit:
            for t in self._blocks.popleft():
                self._values.pop(t, None)

    def get(self, txid: bytes) -> tuple[int, ...] | None:
        return self._values.get(txid)

    def __len__(self) -> int:
        return len(self._blocks)


class MempoolLedger:
    """Tracked mempool transactions with replacement, confirmation and cap-eviction accounting."""

    def __init__(self, max_tracked: int = DEFAULT_MAX_TRACKED, recent_blocks: int = DEFAULT_RECENT_BLOCKS) -> None:
        self.max_tracked = max(1, max_tracked)
        self.txs: OrderedDict[bytes, TrackedTx] = OrderedDict()  # arrival order: oldest first
        self.by_wtxid: dict[bytes, bytes] = {}
        self.spenders: dict[Key, bytes] = {}
        self._waiting: dict[bytes, set[bytes]] = {}  # unseen parent txid -> children needing it
        self.outputs = RecentOutputs(recent_blocks)
        self.vsize = 0
        self.known_count = 0
        self.known_vsize = 0
        self.bucket_count = [0] * _NBUCKETS
        self.bucket_vsize = [0] * _NBUCKETS
        self.replacements = 0
        self.evicted_cap = 0
        self.confirmed = 0
        self.conflicted: list[bytes] = []  # replaced / block-conflicted txids not yet taken (take_conflicted)

    # --- queries -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.txs)

    def knows(self, h: bytes) -> bool:
        """Whether a txid or wtxid is tracked."""
        return h in self.txs or h in self.by_wtxid

    def histogram(self) -> tuple[FeeBucket, ...]:
        """Non-empty buckets, lowest rate first."""
        out = []
        for i in range(_NBUCKETS):
            if self.bucket_count[i]:
                low = BUCKET_BOUNDS[i - 1] if i else 0
                high = BUCKET_BOUNDS[i] if i < len(BUCKET_BOUNDS) else None
                out.append(FeeBucket(low, high, self.bucket_count[i], self.bucket_vsize[i]))
        return tuple(out)

    def fee_points(self) -> list[tuple[int, int]]:
        """(fee, vsize) of every known-fee transaction, for the fee estimator."""
        return [(t.fee, t.vsize) for t in self.txs.values() if t.fee is not None]

    # --- changes -----------------------------------------------------------------------------------

    def add(self, tx: Transaction, now: float) -> bool:
        """Track `tx`; False if already tracked or a coinbase. Conflicting transactions are replaced."""
        txid = bytes(tx.txid)
        if txid in self.txs or tx.is_coinbase():
            return False
        prevouts = tuple((bytes(i.prevout.txid), i.prevout.n) for i in tx.vin)
        conflicts = {s for k in prevouts if (s := self.spenders.get(k)) is not None}
        if conflicts:
            # BIP125 / full RBF: the new one spends what a tracked one spends, so it replaced it.
            self.replacements += 1
            for c in conflicts:
                self._remove_with_descendants(c)
        t = TrackedTx(txid, bytes(tx.wtxid), tx.vsize, prevouts, tuple(o.value for o in tx.vout), None, now)
        self.txs[txid] = t
        self.by_wtxid[t.wtxid] = txid
        self.vsize += t.vsize
        for k in prevouts:
            self.spenders[k] = txid
        self._price(t)
        self._resolve_children(txid)
        while len(self.txs) > self.max_tracked:
            oldest = next(iter(self.txs))
            self._remove(oldest)
            self.evicted_cap += 1
        return True

    def on_block(self, block: Block) -> BlockOutcome:
        """Account a connected block: its fees, then drop what it confirmed and what conflicts with it."""
        self.outputs.add_block(block)  # first, so spends within the block resolve
        known: list[tuple[int, int]] = []
        total_vsize = 0
        count = 0
        for tx in block.txs[1:]:
            count += 1
            vsize = tx.vsize
            total_vsize += vsize
            tracked = self.txs.get(bytes(tx.txid))
            fee = tracked.fee if tracked is not None else None
            if fee is None:
                fee = self._fee_of(tuple((bytes(i.prevout.txid), i.prevout.n) for i in tx.vin), tx.total_out())
            if fee is not None:
                known.append((fee, vsize))
        confirmed = conflicts = 0
        for tx in block.txs:
            txid = bytes(tx.txid)
            if txid in self.txs:
                self._remove(txid)
                confirmed += 1
            for i in tx.vin:
                s = self.spenders.get((bytes(i.prevout.txid), i.prevout.n))
                if s is not None:
                    conflicts += self._remove_with_descendants(s)
        for tx in block.txs:
            self._resolve_children(bytes(tx.txid))  # children whose parent just confirmed
        self.confirmed += confirmed
        fees = BlockFees(block.hash, count, total_vsize, tuple(known))
        return BlockOutcome(fees, confirmed, conflicts)

    # --- internals ---------------------------------------------------------------------------------

    def _fee_of(self, prevouts: tuple[Key, ...], out_total: int) -> int | None:
        total = 0
        for txid, n in prevouts:
            parent = self.txs.get(txid)
            values = parent.values if parent is not None else self.outputs.get(txid)
            if values is None or n >= len(values):
                return None
            total += values[n]
        fee = total - out_total
        return fee if fee >= 0 else None  # negative: inconsistent data, treat as unknown

    def _price(self, t: TrackedTx) -> None:
        fee = self._fee_of(t.prevouts, sum(t.values))
        if fee is None:
            for txid, _ in t.prevouts:
                if txid not in self.txs and self.outputs.get(txid) is None:
                    self._waiting.setdefault(txid, set()).add(t.txid)
            return
        t.fee = fee
        t.bucket = bucket_index(fee, t.vsize)
        self.known_count += 1
        self.known_vsize += t.vsize
        self.bucket_count[t.bucket] += 1
        self.bucket_vsize[t.bucket] += t.vsize

    def _resolve_children(self, parent: bytes) -> None:
        for child in self._waiting.pop(parent, ()):
            c = self.txs.get(child)
            if c is not None and c.fee is None:
                self._price(c)

    def take_conflicted(self) -> list[bytes]:
        """Txids dropped as replaced or conflicted since the last call (for the wallet's feed)."""
        out, self.conflicted = self.conflicted, []
        return out

    def _remove_with_descendants(self, txid: bytes) -> int:
        stack = [txid]
        removed = 0
        while stack:
            t = self.txs.get(stack.pop())
            if t is None:
                continue
            for n in range(len(t.values)):
                s = self.spenders.get((t.txid, n))
                if s is not None:
                    stack.append(s)
            self._remove(t.txid)
            self.conflicted.append(t.txid)
            removed += 1
        return removed

    def _remove(self, txid: bytes) -> None:
        t = self.txs.pop(txid)
        self.by_wtxid.pop(t.wtxid, None)
        self.vsize -= t.vsize
        for k in t.prevouts:
            if self.spenders.get(k) == txid:
                del self.spenders[k]
            waiting = self._waiting.get(k[0])
            if waiting is not None:
                waiting.discard(txid)
                if not waiting:
                    del self._waiting[k[0]]
        if t.fee is not None:
            self.known_count -= 1
            self.known_vsize -= t.vsize
            self.bucket_count[t.bucket] -= 1
            self.bucket_vsize[t.bucket] -= t.vsize
