"""The light node's view of the network mempool, learnt from peers' transaction announcements.

Peers announce transactions with `inv` (by wtxid to BIP339 peers, by txid otherwise); the view
asks for the ones it does not know with `getdata`, at most `max_in_flight` per peer and
`max_requests_per_second` in all (a token bucket), so a chatty peer cannot make us download
without limit. Announcements beyond that wait in a bounded per-peer queue; requests unanswered
after `request_timeout` are forgotten, so another peer's announcement can fetch the transaction.
Received transactions are accounted by `MempoolLedger` (count, vsize, fees where knowable,
histogram, replacements) — small batches on the loop, big ones in the executor under a lock —
and a `MempoolStats` event goes out at most every `stats_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from core.consensus.block import Block
from core.consensus.errors import DecodeError
from core.consensus.tx import Transaction
from core.node.fee_estimator import MempoolSample
from core.node.mempool_ledger import (
    DEFAULT_MAX_TRACKED,
    DEFAULT_RECENT_BLOCKS,
    BlockOutcome,
    MempoolLedger,
)
from core.node.tx_events import MempoolStats
from core.p2p.messages import Inv, InvType, Message, MsgGetData, MsgInv, MsgNotFound, MsgTx
from core.p2p.peer import Peer

__all__ = ["MempoolView", "PeerSet"]

_TX_TYPES = (InvType.TX, InvType.WTX, InvType.WITNESS_TX)
#: Core's MAX_PEER_TX_REQUEST_IN_FLIGHT.
MAX_IN_FLIGHT = 100
#: Core's MAX_PEER_TX_ANNOUNCEMENTS: announcements we remember per peer.
MAX_PENDING = 5000
#: Batches at least this big are accounted in the executor rather than on the loop.
EXECUTOR_BATCH = 256

ExecutorRun = Callable[..., Awaitable[Any]]


class PeerSet(Protocol):
    """What the view needs of the peer manager."""

    def peers(self) -> list[Peer]: ...


def _parse_all(raws: Sequence[bytes]) -> list[Transaction]:
    """Parse (and hash) transactions; undecodable ones are skipped. Runs in the executor."""
    out = []
    for raw in raws:
        try:
            tx = Transaction.parse(raw)
        except DecodeError:
            continue
        _ = tx.txid, tx.wtxid  # hash here, off the loop
        out.append(tx)
    return out


class MempoolView:
    """Tracks the transactions peers announce; see the module docstring."""

    def __init__(
        self,
        peerset: PeerSet,
        executor_run: ExecutorRun,
        *,
        emit: Callable[[object], None] | None = None,
        max_tracked: int = DEFAULT_MAX_TRACKED,
        recent_blocks: int = DEFAULT_RECENT_BLOCKS,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_requests_per_second: float = 1000.0,
        request_timeout: float = 60.0,
        rate_window: float = 60.0,
        stats_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.peerset = peerset
        self._run = executor_run
        self._emit = emit
        self.ledger = MempoolLedger(max_tracked, recent_blocks)
        self.max_in_flight = max_in_flight
        self.max_rate = max_requests_per_second
        self.request_timeout = request_timeout
        self.rate_window = rate_window
        self.stats_interval = stats_interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._tokens = max_requests_per_second
        self._tokens_at = clock()
        # hash -> (peer id, time asked): every request in flight, oldest first.
        self._requested: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        self._in_flight: dict[int, int] = {}  # peer id -> requests in flight
        self._pending: dict[int, deque[Inv]] = {}  # peer id -> announcements not yet asked for
        self._peers: dict[int, Peer] = {}
        # Recently seen hashes (tracked, confirmed or replaced), so re-announcements are not re-fetched.
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._seen_cap = 2 * max(1, max_tracked)
        self._arrivals: deque[float] = deque()
        self._started = clock()
        self._batch: list[Transaction] = []
        self._task: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._last_stats = float("-inf")
        self._closed = False
        #: Called on the loop with each batch of newly tracked transactions (the wallet's mempool feed).
        self.tx_listeners: list[Callable[[Sequence[Transaction]], None]] = []
        #: Called on the loop with txids dropped because a replacement or a block conflicts with them.
        self.conflict_listeners: list[Callable[[Sequence[bytes]], None]] = []

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the request pump (refills the token bucket, expires stale requests)."""
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._pump_loop(), name="mempool pump")

    async def close(self) -> None:
        """Stop every task the view owns."""
        self._closed = True
        for task in (self._pump, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._pump = self._task = None

    def on_peer_up(self, peer: Peer) -> None:
        self._peers[peer.id] = peer
        self._in_flight.setdefault(peer.id, 0)
        self._pending.setdefault(peer.id, deque())

    def on_peer_down(self, peer: Peer) -> None:
        self._peers.pop(peer.id, None)
        self._in_flight.pop(peer.id, None)
        self._pending.pop(peer.id, None)
        for h in [h for h, (pid, _) in self._requested.items() if pid == peer.id]:
            del self._requested[h]  # another peer's announcement may fetch it now

    # --- messages ----------------------------------------------------------------------------------

    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Handle inv / tx / notfound; other messages are ignored."""
        if isinstance(msg, MsgInv):
            self._on_inv(peer, msg.inventory)
        elif isinstance(msg, MsgTx):
            self._answered(peer, bytes(msg.tx.wtxid), bytes(msg.tx.txid))
            self._batch.append(msg.tx)
            self._schedule()
            self._send_requests(peer)
        elif isinstance(msg, MsgNotFound):
            for inv in msg.inventory:
                if inv.type in _TX_TYPES:
                    self._answered(peer, bytes(inv.hash))
            self._send_requests(peer)

    def _on_inv(self, peer: Peer, inventory: Sequence[Inv]) -> None:
        if peer.id not in self._peers:
            self.on_peer_up(peer)
        queue = self._pending[peer.id]
        for inv in inventory:
            if inv.type not in _TX_TYPES:
                continue
            h = bytes(inv.hash)
            if h in self._seen or h in self._requested or self.ledger.knows(h):
                continue
            if len(queue) >= MAX_PENDING:
                break  # Core's per-peer announcement cap: the rest is dropped
            queue.append(inv)
        self._send_requests(peer)

    def _answered(self, peer: Peer, *hashes: bytes) -> None:
        for h in hashes:
            got = self._requested.pop(h, None)
            if got is not None and got[0] in self._in_flight:
                self._in_flight[got[0]] = max(0, self._in_flight[got[0]] - 1)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.max_rate, self._tokens + (now - self._tokens_at) * self.max_rate)
        self._tokens_at = now

    def _send_requests(self, peer: Peer) -> None:
        """Ask `peer` for queued announcements, within its in-flight cap and the global rate."""
        queue = self._pending.get(peer.id)
        if not queue or self._closed:
            return
        self._refill()
        now = self._clock()
        want: list[Inv] = []
        room = min(self.max_in_flight - self._in_flight.get(peer.id, 0), int(self._tokens))
        while queue and len(want) < room:
            inv = queue.popleft()
            h = bytes(inv.hash)
            if h in self._seen or h in self._requested or self.ledger.knows(h):
                continue
            self._requested[h] = (peer.id, now)
            # Ask for the witness serialization: by wtxid as announced, or MSG_WITNESS_TX for a txid.
            want.append(inv if inv.type == InvType.WTX else Inv(InvType.WITNESS_TX, inv.hash))
        if want:
            self._in_flight[peer.id] = self._in_flight.get(peer.id, 0) + len(want)
            self._tokens -= len(want)
            peer.send(MsgGetData(tuple(want)))

    async def _pump_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self._expire()
            for peer in list(self._peers.values()):
                self._send_requests(peer)

    def _expire(self) -> None:
        cutoff = self._clock() - self.request_timeout
        while self._requested:
            h, (pid, asked) = next(iter(self._requested.items()))
            if asked > cutoff:
                break
            del self._requested[h]
            if pid in self._in_flight:
                self._in_flight[pid] = max(0, self._in_flight[pid] - 1)

    # --- accounting --------------------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="mempool accounting")

    async def _drain(self) -> None:
        while self._batch:
            batch, self._batch = self._batch, []
            await self.account(batch)

    async def account(self, txs: Sequence[Transaction]) -> int:
        """Track parsed transactions; big batches go to the executor. Returns how many were new."""
        new: list[Transaction] = []
        async with self._lock:
            now = self._clock()
            if len(txs) >= EXECUTOR_BATCH:
                added = await self._run(self._add_all, txs, now, new)
            else:
                added = self._add_all(txs, now, new)
        if new:
            for fn in self.tx_listeners:
                fn(new)
        self._report_conflicts()
        self._maybe_emit()
        return added

    def _report_conflicts(self) -> None:
        gone = self.ledger.take_conflicted()
        if gone:
            for fn in self.conflict_listeners:
                fn(gone)

    async def ingest_raw(self, raws: Sequence[bytes]) -> int:
        """Parse serialized transactions in the executor, then account them (bulk path, benchmarks)."""
        txs = await self._run(_parse_all, raws)
        return await self.account(txs)

    def _add_all(self, txs: Sequence[Transaction], now: float, new: list[Transaction] | None = None) -> int:
        added = 0
        for tx in txs:
            if self.ledger.add(tx, now):
                added += 1
                if new is not None:
                    new.append(tx)
                self._arrivals.append(now)
                self._remember(bytes(tx.txid), bytes(tx.wtxid))
        return added

    def _remember(self, *hashes: bytes) -> None:
        seen = self._seen
        for h in hashes:
            seen[h] = None
            seen.move_to_end(h)
        while len(seen) > self._seen_cap:
            seen.popitem(last=False)

    async def on_block(self, block: Block) -> BlockOutcome:
        """A block connected: account its fees, drop what it confirms or conflicts with."""
        async with self._lock:
            outcome: BlockOutcome = await self._run(self.ledger.on_block, block)
        self._report_conflicts()
        self._maybe_emit(force=True)
        return outcome

    # --- reporting ---------------------------------------------------------------------------------

    def arrival_rate(self) -> float:
        """Transactions per second over the last `rate_window` seconds."""
        now = self._clock()
        while self._arrivals and self._arrivals[0] < now - self.rate_window:
            self._arrivals.popleft()
        span = min(self.rate_window, max(now - self._started, 1e-9))
        return len(self._arrivals) / span

    def min_fee_filter(self) -> int | None:
        """The lowest feefilter (sat/kvB) among connected peers, None without peers."""
        peers = self.peerset.peers()
        return min((p.fee_filter for p in peers), default=None)

    def stats(self) -> MempoolStats:
        led = self.ledger
        return MempoolStats(
            count=len(led),
            vsize=led.vsize,
            arrival_rate=self.arrival_rate(),
            histogram=led.histogram(),
            fee_known_count=led.known_count,
            fee_known_vsize=led.known_vsize,
            coverage=led.known_vsize / led.vsize if led.vsize else 1.0,
            replacements=led.replacements,
            min_fee_filter=self.min_fee_filter(),
        )

    async def fee_points(self) -> list[tuple[int, int]]:
        """(fee, vsize) of every known-fee tracked transaction (a copy, taken under the lock)."""
        async with self._lock:
            return self.ledger.fee_points()

    async def sample(self) -> MempoolSample:
        """The tracked mempool as the fee estimator takes it (a copy, taken under the lock)."""
        async with self._lock:
            led = self.ledger
            return MempoolSample(len(led), led.vsize, led.fee_points())

    def _maybe_emit(self, force: bool = False) -> None:
        if self._emit is None:
            return
        now = self._clock()
        if force or now - self._last_stats >= self.stats_interval:
            self._last_stats = now
            self._emit(self.stats())
