"""Headers-first sync of the light node (Core's headers handling in net_processing, minus blocks).

One sync peer at a time (Core's nSyncStarted), asked with `getheaders` from our locator; each full
(2,000-header) answer is followed by the next request. Headers other peers announce (BIP130
`headers`, or a block `inv`) are processed too, so we follow every peer's best chain.

Threading: batches are validated and stored OFF the event loop through `executor_run`, which must run
calls on ONE worker thread. The HeaderTree, its HeaderStore and the presync states are only touched on
that thread (everything in `_work` and the functions it calls); the loop side keeps only peer
bookkeeping. Results come back as data and are turned into events and requests on the loop.

Peer checks, as Core: non-continuous or invalid headers get the peer punished; headers that do not
connect to our tree get a `getheaders` from our locator, and after MAX_UNCONNECTING_HEADERS_MSGS of
those the peer is punished. While our chain has less than the anti-DoS work threshold (minimum chain
work), a chain forking below it is followed by `HeadersPresync` without storing anything until it is
shown to reach that work (core/chain/presync.py). A peer that leaves a request unanswered for
`stall_timeout` seconds is reported to the peer set as stalling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.chain.entry import AcceptResult, Connected, Rejected, Reorganized
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.chain.presync import MAX_HEADERS_RESULTS, HeadersPresync, PresyncResult, needs_presync
from core.consensus.block import BlockHeader
from core.consensus.hashes import BlockHash
from core.node.events import SyncProgress, SyncStage
from core.node.sync_protocols import Emit, ExecutorRun, PeerSet
from core.p2p.messages import InvType, Message, MsgGetHeaders, MsgHeaders, MsgInv
from core.p2p.peer import Peer

log = logging.getLogger(__name__)

#: Core's MAX_NUM_UNCONNECTING_HEADERS_MSGS: unconnecting `headers` messages tolerated per peer.
MAX_UNCONNECTING_HEADERS_MSGS = 10
#: Presync failures that mean the peer sent invalid headers (others only end the presync).
_BLOCK_INVS = (InvType.BLOCK, InvType.WITNESS_BLOCK)
_ZERO_HASH = BlockHash(bytes(32))
_PRESYNC_INVALID = ("high-hash", "bad-diffbits", "non-continuous", "commitment mismatch", "ran out of commitments")


@dataclass(frozen=True, slots=True)
class HeadersChanged:
    """What listeners (the filter sync) hear: the tree's best chain moved and/or header sync finished."""

    result: Connected | Reorganized | None
    height: int
    tip_hash: BlockHash
    synced: bool


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one `headers` message did (computed on the tree thread)."""

    punish: str = ""
    locator: tuple[BlockHash, ...] | None = None  # send getheaders with it
    result: AcceptResult | None = None
    height: int = 0
    tip_hash: BlockHash = _ZERO_HASH
    presyncing: bool = False


class HeaderSync:
    """Downloads, validates and stores the header chain from the peers of `peerset`."""

    def __init__(
        self,
        params: ChainParams,
        tree: HeaderTree,
        peerset: PeerSet,
        executor_run: ExecutorRun,
        *,
        emit: Emit | None = None,
        stall_timeout: float = 30.0,
    ) -> None:
        self.params = params
        self.tree = tree
        self.peerset = peerset
        self._run = executor_run
        self._emit = emit or (lambda _e: None)
        self.stall_timeout = stall_timeout
        self.listeners: list[Callable[[HeadersChanged], None]] = []
        self.synced = asyncio.Event()
        self.getheaders_sent = 0
        self.headers_received = 0
        self._sync_peer: Peer | None = None
        self._deadlines: dict[Peer, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Tree-thread state (touched only inside _work / executor calls).
        self._unconnecting: dict[Peer, int] = {}
        self._presync: dict[Peer, HeadersPresync] = {}
        self._started_at = time.monotonic()
        self._start_height = tree.height  # read once at construction, before any worker use
        self._height = tree.height
        self._tip_hash = tree.tip.hash

    # --- lifecycle ---------------------------------------------------------------------------------
    async def close(self) -> None:
        """Cancel timers and tasks."""
        for handle in self._deadlines.values():
            handle.cancel()
        self._deadlines.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def sync_peer(self) -> Peer | None:
        return self._sync_peer

    @property
    def height(self) -> int:
        """Our best header height, as last reported by the tree thread."""
        return self._height

    def on_peer_up(self, peer: Peer) -> None:
        """A handshaken peer: start syncing from it if we have no sync peer (or are already synced)."""
        if self._sync_peer is None and not self.synced.is_set():
            self._sync_peer = peer
            self._spawn(self._send_getheaders(peer, None))
        elif self.synced.is_set():
            self._spawn(self._send_getheaders(peer, None))

    def on_peer_down(self, peer: Peer) -> None:
        """A peer left: forget it, and pick another sync peer if it was ours."""
        handle = self._deadlines.pop(peer, None)
        if handle is not None:
            handle.cancel()
        self._unconnecting.pop(peer, None)
        self._presync.pop(peer, None)
        if peer is self._sync_peer:
            self._sync_peer = None
            self._pick_sync_peer(exclude=peer)

    def _pick_sync_peer(self, exclude: Peer | None) -> None:
        if self.synced.is_set():
            return
        candidates = [p for p in self.peerset.peers() if p is not exclude and not p.is_closed]
        if candidates:
            best = max(candidates, key=lambda p: p.start_height)
            self._sync_peer = best
            self._spawn(self._send_getheaders(best, None))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("header sync task failed", exc_info=task.exception())

    # --- requests ----------------------------------------------------------------------------------
    async def _send_getheaders(self, peer: Peer, locator: Sequence[BlockHash] | None) -> None:
        if locator is None:
            locator = await self._run(self.tree.locator)
        if peer.is_closed:
            return
        peer.send(MsgGetHeaders(locator=tuple(locator[:101])))
        self.getheaders_sent += 1
        self._arm(peer)

    def _arm(self, peer: Peer) -> None:
        old = self._deadlines.pop(peer, None)
        if old is not None:
            old.cancel()
        self._deadlines[peer] = asyncio.get_running_loop().call_later(self.stall_timeout, self._on_stall, peer)

    def _on_stall(self, peer: Peer) -> None:
        self._deadlines.pop(peer, None)
        log.info("peer %s did not answer getheaders within %.0f s", peer.address, self.stall_timeout)
        self.peerset.report_stall(peer)
        if peer is self._sync_peer:
            self._sync_peer = None
            self._pick_sync_peer(exclude=peer)

    # --- messages ----------------------------------------------------------------------------------
    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Handle `headers` and block `inv`; other messages are ignored."""
        if isinstance(msg, MsgHeaders):
            await self._on_headers(peer, msg.headers)
        elif isinstance(msg, MsgInv) and any(inv.type in _BLOCK_INVS for inv in msg.inventory):
            await self._send_getheaders(peer, None)

    async def _on_headers(self, peer: Peer, headers: Sequence[BlockHeader]) -> None:
        handle = self._deadlines.pop(peer, None)
        if handle is not None:
            handle.cancel()
        self.headers_received += len(headers)
        if not headers:
            if peer is self._sync_peer:
                self._mark_synced()
            return
        out: _Outcome = await self._run(self._work, peer, tuple(headers), int(time.time()))
        self._height, self._tip_hash = out.height, out.tip_hash
        self._report(out)
        if out.punish:
            log.info("peer %s sent bad headers: %s", peer.address, out.punish)
            self.peerset.punish(peer, out.punish)
            if peer is self._sync_peer:
                self._sync_peer = None
                self._pick_sync_peer(exclude=peer)
            return
        if out.locator is not None:
            await self._send_getheaders(peer, out.locator)
        elif peer is self._sync_peer and not out.presyncing:
            self._mark_synced()

    def _report(self, out: _Outcome) -> None:
        result = out.result.accepted if isinstance(out.result, Rejected) else out.result
        moved = isinstance(result, Reorganized) or (isinstance(result, Connected) and result.entries)
        if moved:
            change = HeadersChanged(result, out.height, out.tip_hash, self.synced.is_set())  # type: ignore[arg-type]
            for listener in self.listeners:
                listener(change)
        target = max([p.start_height for p in self.peerset.peers()] + [out.height])
        done = out.height - self._start_height
        elapsed = time.monotonic() - self._started_at
        eta = (target - out.height) * elapsed / done if done > 0 and target > out.height else None
        self._emit(SyncProgress(SyncStage.HEADERS, out.height, target, eta))

    def _mark_synced(self) -> None:
        if self.synced.is_set():
            return
        self.synced.set()
        self._emit(SyncProgress(SyncStage.HEADERS, self._height, self._height, 0.0))
        change = HeadersChanged(None, self._height, self._tip_hash, True)
        for listener in self.listeners:
            listener(change)

    # --- tree thread ---------------------------------------------------------------------------------
    def _work(self, peer: Peer, headers: tuple[BlockHeader, ...], now: int) -> _Outcome:
        """Process one `headers` message (runs on the tree thread)."""
        tree = self.tree
        full = len(headers) == MAX_HEADERS_RESULTS
        prev_hash = headers[0].prev_block
        for h in headers:
            if h.prev_block != prev_hash:
                return self._outcome(punish="non-continuous headers sequence")
            prev_hash = h.hash
        presync = self._presync.get(peer)
        if presync is not None:
            return self._continue_presync(peer, presync, presync.process_next_headers(headers, full), now)
        start = tree.get(headers[0].prev_block)
        if start is None:
            # Core: ask from our locator to fill the gap; too many of these and the peer is misbehaving.
            count = self._unconnecting.get(peer, 0) + 1
            self._unconnecting[peer] = count
            if count > MAX_UNCONNECTING_HEADERS_MSGS:
                return self._outcome(punish=f"{count} non-connecting headers")
            return self._outcome(locator=tuple(tree.locator()))
        self._unconnecting.pop(peer, None)
        if tree.get(headers[-1].hash) is None and needs_presync(tree, start, headers):
            if not full:
                return self._outcome()  # Core: ignore a low-work chain that ends here
            presync = HeadersPresync(tree, start, now=now)
            self._presync[peer] = presync
            return self._continue_presync(peer, presync, presync.process_next_headers(headers, full), now)
        result = tree.accept(headers, now=now)
        if isinstance(result, Rejected):
            return self._outcome(punish=f"invalid header: {result.reason}", result=result)
        if full:
            last = tree.get(headers[-1].hash)
            return self._outcome(locator=tuple(tree.locator(last)), result=result)
        return self._outcome(result=result)

    def _continue_presync(self, peer: Peer, presync: HeadersPresync, r: PresyncResult, now: int) -> _Outcome:
        result: AcceptResult | None = None
        if r.headers_to_store:
            result = self.tree.accept(r.headers_to_store, now=now)
            if isinstance(result, Rejected):
                self._presync.pop(peer, None)
                return self._outcome(punish=f"invalid header: {result.reason}", result=result)
        if not r.success:
            self._presync.pop(peer, None)
            if r.reason.startswith(_PRESYNC_INVALID):
                return self._outcome(punish=f"presync: {r.reason}", result=result)
            return self._outcome(result=result)
        if r.request_more:
            return self._outcome(locator=tuple(presync.next_locator()), result=result, presyncing=True)
        self._presync.pop(peer, None)
        if result is None:
            # The chain ended below the threshold: nothing stored; see whether the peer has more.
            return self._outcome()
        return self._outcome(locator=tuple(self.tree.locator()), result=result)

    def _outcome(self, **kw: Any) -> _Outcome:
        tip = self.tree.tip
        return _Outcome(height=tip.height, tip_hash=tip.hash, **kw)

    def presyncing(self) -> int:
        """Number of peers whose chains are being followed without storing (read on the tree thread)."""
        return len(self._presync)
