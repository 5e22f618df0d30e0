"""BIP157/158 filter sync and wallet scanning.

Once header sync is done, one driver task brings the verified filter-header chain to the header tip and
scans the filters for the wallet's scripts:

1. `getcfcheckpt` to EVERY filter peer; the answers are compared (disagreement is reported) and each
   peer's later `cfheaders` must agree with its own checkpoints.
2. `getcfheaders` in batches of 2,000 from one random filter peer, cross-checked with a second one. On
   disagreement the first differing height decides: its block comes from a third (or random) peer and is
   merkle-checked, both peers' `cfilter`s for it are fetched, and a filter that does not hash to the
   peer's own filter hash, or misses one of the block's output scripts, marks its sender as the liar
   (punished). The honest batch is stored (SQLite, WAL) so a restart resumes.
3. `getcfilters` in batches of up to 1,000, each filter checked against the stored header chain and
   matched against `scan_target.scripts()` OFF the loop (one ElementSet per script-set change); matching
   blocks are fetched from a random peer, checked (merkle root, witness commitment) and delivered in
   height order. After a delivery that grows the script set, the filters up to the next known match are
   matched again (and each later stretch when delivery reaches it).

Reorgs: each cycle first finds where the stored filter headers leave the header tree's best chain;
scanned blocks above it are disconnected tip first (every scanned block, matched or not — the wallet
ignores ones it never saw), then the new branch is synced and scanned like any other.

Threading: the tree and the store are only touched through `executor_run` (one worker thread);
`filter_header_at` reads the store's in-memory list from the loop, which the GIL keeps consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from pathlib import Path

from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.consensus.block import Block
from core.consensus.hashes import BlockHash, sha256d
from core.filters.basic import BlockFilter, FilterHeader, FilterType
from core.filters.errors import FilterError
from core.filters.gcs import ElementSet
from core.node.events import BlockConnected, BlockDisconnected, ChainTip, NodeWarning, SyncProgress, SyncStage
from core.node.filter_check import block_problem, chain_filter_headers, filter_consistent
from core.node.filter_requests import FilterRequests, NoAnswer, NoPeers
from core.node.filter_store import FilterStore
from core.node.header_sync import HeadersChanged
from core.node.sync_protocols import Emit, ExecutorRun, PeerSet, ScanTarget
from core.p2p.messages import Message
from core.p2p.peer import Peer

log = logging.getLogger(__name__)
CFHEADERS_BATCH = 2000
CFILTERS_BATCH = 1000
CHECKPOINT_INTERVAL = 1000
ZERO = FilterHeader(bytes(32))


class _Retry(Exception):
    """A peer failed us mid-cycle; start the cycle again with the peers left."""


class FilterSync:
    """Verified filter headers and wallet scanning on top of a HeaderTree."""

    def __init__(
        self,
        params: ChainParams,
        tree: HeaderTree,
        store_path: str | Path,
        peerset: PeerSet,
        scan_target: ScanTarget,
        executor_run: ExecutorRun,
        *,
        emit: Emit | None = None,
        request_timeout: float = 20.0,
    ) -> None:
        self.params = params
        self.tree = tree
        self.peerset = peerset
        self.scan_target = scan_target
        self._run = executor_run
        self._emit = emit or (lambda _e: None)
        self._store_path = Path(store_path)
        self.requests = FilterRequests(peerset, request_timeout)
        self.synced = asyncio.Event()
        self._store: FilterStore | None = None
        self._scan_height = -1  # last height scanned for the wallet
        self._headers_synced = False
        self._initial_done = False
        self._wake = asyncio.Event()
        self._elements: tuple[tuple[bytes, ...], ElementSet | None] | None = None
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the store and start the driver task."""
        self._store = await self._run(FilterStore, self._store_path, self.params.genesis_hash)
        tip = await self._run(self._store.scan_tip)
        birthday = max(self.scan_target.birthday_height(), 0)
        self._scan_height = tip[0] if tip is not None and tip[0] >= birthday - 1 else birthday - 1
        # A target that records its own progress (the wallet) may be behind this store: a wallet file
        # restored or replaced next to an existing node datadir must be scanned from its own point.
        resume = getattr(self.scan_target, "scan_resume_height", None)
        own = resume() if callable(resume) else None
        if own is not None:
            self._scan_height = min(self._scan_height, max(own, birthday - 1))
        self._task = asyncio.get_running_loop().create_task(self._main(), name="filter sync")

    async def close(self) -> None:
        """Stop the driver and close the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.requests.cancel_all()
        if self._store is not None:
            await self._run(self._store.close)

    def on_headers_changed(self, change: HeadersChanged) -> None:
        """HeaderSync listener: the header chain moved or finished syncing."""
        if change.synced:
            self._headers_synced = True
        self.synced.clear()
        self._wake.set()

    def on_peer_up(self, peer: Peer) -> None:
        self._wake.set()

    def on_peer_down(self, peer: Peer) -> None:
        self.requests.peer_gone(peer)

    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Route answers (cfcheckpt, cfheaders, cfilter, block, notfound) to the waiting requests."""
        reason = self.requests.on_message(peer, msg)
        if reason:
            self.peerset.punish(peer, reason)

    def filter_header_at(self, height: int) -> FilterHeader | None:
        """The verified filter header at `height` of our chain, or None."""
        store = self._store
        if store is None or not 0 <= height < len(store.headers):
            return None
        return store.headers[height]

    @property
    def filter_height(self) -> int:
        return -1 if self._store is None else self._store.height

    @property
    def scan_height(self) -> int:
        return self._scan_height

    # --- driver ---------------------------------------------------------------------------------------
    async def _main(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._headers_synced:
                continue
            try:
                await self._cycle()
            except _Retry:
                self._wake.set()  # some peers are left: go again
            except NoPeers:
                log.info("filter sync waits for filter peers")
            except FilterError as e:  # a filter that passed its hash check but does not decode
                log.warning("filter sync: %s", e)
                self._wake.set()

    async def _cycle(self) -> None:
        store = self._store
        assert store is not None
        tip_h, tip_hash, disconnected = await self._run(self._reconcile)
        for height, block_hash in disconnected:
            self.scan_target.block_disconnected(height, block_hash)
            self._emit(BlockDisconnected(height, block_hash))
        if store.height < tip_h:
            await self._sync_filter_headers(tip_h, tip_hash)
        if self._scan_height < store.height:
            self._prepare_scan(store.height)
            await self._scan(store.height)
        height = store.height
        self._emit(SyncProgress(SyncStage.SYNCED, height, height, 0.0))
        self._emit(ChainTip(height, store.block_hashes[height], store.headers[height]))
        self._initial_done = True
        self.synced.set()

    def _reconcile(self) -> tuple[int, BlockHash, list[tuple[int, BlockHash]]]:
        """Tree thread: drop stored filter headers off the best chain; list scanned blocks to disconnect."""
        store, tree = self._store, self.tree
        assert store is not None
        h = min(store.height, tree.height)
        while h >= 0 and tree.at_height(h).hash != store.block_hashes[h]:  # type: ignore[union-attr]
            h -= 1
        disconnected = [(x, store.block_hashes[x]) for x in range(self._scan_height, h, -1) if x <= store.height]
        if self._scan_height > h:
            self._scan_height = h
            if h >= 0:
                store.set_scan_tip(h, store.block_hashes[h])
        store.truncate(h)
        return tree.height, tree.tip.hash, disconnected

    def _chain_hashes(self, start: int, end: int) -> list[BlockHash]:
        """Tree thread: best-chain hashes of heights start..end."""
        return [self.tree.at_height(h).hash for h in range(start, end + 1)]  # type: ignore[union-attr]

    # --- filter headers -------------------------------------------------------------------------------
    async def _sync_filter_headers(self, tip_h: int, tip_hash: BlockHash) -> None:
        store = self._store
        assert store is not None
        peers = self.peerset.filter_peers()
        if not peers:
            raise NoPeers
        self._emit(SyncProgress(SyncStage.FILTER_HEADERS, store.height, tip_h, None))
        checkpoints = await self._checkpoints(peers, tip_h, tip_hash)
        hashes = await self._run(self._chain_hashes, store.height + 1, tip_h)
        base = store.height + 1
        while store.height < tip_h:
            start = store.height + 1
            end = min(start + CFHEADERS_BATCH - 1, tip_h)
            batch_hashes = hashes[start - base : end - base + 1]
            await self._filter_header_batch(start, end, batch_hashes, checkpoints)
            self._emit(SyncProgress(SyncStage.FILTER_HEADERS, store.height, tip_h, None))

    async def _checkpoints(self, peers: list[Peer], tip_h: int, tip_hash: BlockHash) -> dict[Peer, tuple[FilterHeader, ...]]:
        answers = await asyncio.gather(*(self.requests.cfcheckpt(p, tip_hash) for p in peers), return_exceptions=True)
        out: dict[Peer, tuple[FilterHeader, ...]] = {}
        for peer, got in zip(peers, answers, strict=True):
            if isinstance(got, NoAnswer):
                continue
            if isinstance(got, BaseException):
                raise got
            if len(got) != tip_h // CHECKPOINT_INTERVAL:
                self.peerset.punish(peer, f"cfcheckpt with {len(got)} headers for height {tip_h}")
                continue
            out[peer] = got
        if len(set(out.values())) > 1:
            self._emit(NodeWarning("filter peers disagree on filter-header checkpoints; checking their filters"))
        if not out:
            raise _Retry
        return out

    async def _peer_batch(
        self, peer: Peer, start: int, stop_hash: BlockHash, count: int, cps: dict[Peer, tuple[FilterHeader, ...]]
    ) -> tuple[tuple[bytes, ...], list[FilterHeader]] | None:
        """One peer's verified cfheaders for the range, or None (peer punished or gone)."""
        store = self._store
        assert store is not None
        try:
            msg = await self.requests.cfheaders(peer, start, stop_hash)
        except NoAnswer:
            return None
        prev = store.headers[start - 1] if start > 0 else ZERO
        if len(msg.filter_hashes) != count or msg.prev_header != prev:
            self.peerset.punish(peer, "cfheaders do not fit the requested range or our filter headers")
            return None
        # 2,000 double SHA-256s and their Python around them: ~5 ms, on the worker rather than the loop.
        headers = await self._run(chain_filter_headers, prev, msg.filter_hashes)
        own = cps.get(peer, ())
        for c in range((start + CHECKPOINT_INTERVAL - 1) // CHECKPOINT_INTERVAL, (start + count - 1) // CHECKPOINT_INTERVAL + 1):
            h = c * CHECKPOINT_INTERVAL
            if h >= 1 and c - 1 < len(own) and headers[h - start] != own[c - 1]:
                self.peerset.punish(peer, f"cfheaders contradict its own checkpoint at {h}")
                return None
        return msg.filter_hashes, headers

    async def _filter_header_batch(
        self, start: int, end: int, hashes: list[BlockHash], cps: dict[Peer, tuple[FilterHeader, ...]]
    ) -> None:
        store = self._store
        assert store is not None
        peers = [p for p in self.peerset.filter_peers() if p in cps] or self.peerset.filter_peers()
        if not peers:
            raise NoPeers
        random.shuffle(peers)
        # The second opinion comes from a peer whose checkpoints differ from the first's, if there is one,
        # so a checkpoint disagreement is always settled by the block check.
        first = peers[0]
        other = [p for p in peers[1:] if cps.get(p) != cps.get(first)] or peers[1:]
        pair = [first, other[0]] if other else [first]
        got = await asyncio.gather(*(self._peer_batch(p, start, hashes[-1], end - start + 1, cps) for p in pair))
        if any(g is None for g in got):
            raise _Retry
        keep = got[0]
        assert keep is not None
        if len(pair) == 2 and got[0][1] != got[1][1]:  # type: ignore[index]
            d = next(i for i, (a, b) in enumerate(zip(got[0][1], got[1][1], strict=True)) if a != b)  # type: ignore[index]
            honest = await self._decide(pair, [g[0][d] for g in got], start + d, hashes[d])  # type: ignore[index]
            keep = got[pair.index(honest)]
            assert keep is not None
        await self._run(store.append, hashes, keep[1])

    async def _decide(self, pair: list[Peer], claimed: list[bytes], height: int, block_hash: BlockHash) -> Peer:
        """Two peers' filter hashes differ at `height`: check their filters against the block; punish the
        liar and return the honest peer."""
        block = await self._fetch_block(block_hash, exclude=pair)
        filters = await asyncio.gather(
            *(self.requests.cfilters(p, height, [block_hash]) for p in pair), return_exceptions=True
        )
        verdicts = []
        for got, claim in zip(filters, claimed, strict=True):
            ok = isinstance(got, list) and sha256d(got[0]) == claim
            if ok:
                ok = await self._run(filter_consistent, block, got[0])  # type: ignore[index]
            verdicts.append(ok)
        if verdicts[0] == verdicts[1]:
            # Both filters fit the block's outputs (or neither does): no proof either way. Drop the second
            # opinion without blame and keep the first; the next batch is checked against another peer.
            self._emit(NodeWarning(f"filter headers disagree at {height}; undecided, dropping one peer"))
            self.peerset.report_stall(pair[1])
            if not verdicts[0]:
                raise _Retry
            return pair[0]
        liar, honest = (pair[0], pair[1]) if not verdicts[0] else (pair[1], pair[0])
        self._emit(NodeWarning(f"peer {liar.address[0]} served wrong filter headers at height {height}"))
        self.peerset.punish(liar, f"wrong filter header at height {height}")
        return honest

    async def _fetch_block(self, block_hash: BlockHash, exclude: Sequence[Peer] = ()) -> Block:
        peers = [p for p in self.peerset.peers() if p not in exclude] or self.peerset.peers()
        if not peers:
            raise NoPeers
        peer = random.choice(peers)
        try:
            block = await self.requests.block(peer, block_hash)
        except NoAnswer:
            raise _Retry from None
        problem = await self._run(block_problem, block, block_hash)
        if problem:
            self.peerset.punish(peer, f"bad block {block_hash}: {problem}")
            raise _Retry
        return block

    # --- scanning ---------------------------------------------------------------------------------------
    def _prepare_scan(self, tip_h: int) -> None:
        """Let the target settle where it starts (a new wallet's birthday becomes the tip it first sees)
        and skip ahead to what it has already scanned by its own records."""
        before = getattr(self.scan_target, "before_scan", None)
        if callable(before):
            before(tip_h)
        resume = getattr(self.scan_target, "scan_resume_height", None)
        own = resume() if callable(resume) else None
        if own is not None and own > self._scan_height:
            self._scan_height = min(own, tip_h)

    def _element_set(self) -> tuple[tuple[bytes, ...], ElementSet | None]:
        scripts = tuple(bytes(s) for s in self.scan_target.scripts())
        if self._elements is None or self._elements[0] != scripts:
            self._elements = (scripts, ElementSet(scripts) if scripts else None)
        return self._elements

    async def _scan(self, end_h: int) -> None:
        store = self._store
        assert store is not None
        initial = not self._initial_done
        while self._scan_height < end_h:
            start = self._scan_height + 1
            end = min(start + CFILTERS_BATCH - 1, end_h)
            hashes = store.block_hashes[start : end + 1]
            peers = self.peerset.filter_peers()
            if not peers:
                raise NoPeers
            peer = random.choice(peers)
            try:
                filters = await self.requests.cfilters(peer, start, hashes)
            except NoAnswer:
                raise _Retry from None
            elements = self._element_set()
            bad, matched = await self._run(self._check_and_match, start, hashes, filters, elements[1])
            if bad is not None:
                self.peerset.punish(peer, f"cfilter at height {bad} does not match its filter header")
                raise _Retry
            await self._deliver(start, hashes, filters, matched, elements[0], initial)
            self._scan_height = end
            progress = getattr(self.scan_target, "scan_progress", None)
            if callable(progress):
                progress(end, hashes[-1])  # before our own scan tip: a crash between rescans, never skips
            await self._run(store.set_scan_tip, end, hashes[-1])
            self._emit(SyncProgress(SyncStage.FILTERS, end, end_h, None))

    def _check_and_match(
        self, start: int, hashes: list[BlockHash], filters: list[bytes], elements: ElementSet | None
    ) -> tuple[int | None, list[int]]:
        """Worker thread: verify each filter against the stored header chain, then match the scripts."""
        store = self._store
        assert store is not None
        for i, f in enumerate(filters):
            h = start + i
            prev = store.headers[h - 1] if h > 0 else ZERO
            if chain_filter_headers(prev, [sha256d(f)])[0] != store.headers[h]:
                return h, []
        return None, self._match(hashes, filters, elements, 0)

    @staticmethod
    def _match(hashes: Sequence[BlockHash], filters: Sequence[bytes], elements: ElementSet | None, first: int) -> list[int]:
        if elements is None:
            return []
        return [
            i for i in range(first, len(filters)) if BlockFilter(FilterType.BASIC, hashes[i], filters[i]).match_any(elements)
        ]

    async def _deliver(
        self, start: int, hashes: list[BlockHash], filters: list[bytes], matched: list[int], basis: tuple[bytes, ...],
        initial: bool,
    ) -> None:
        """Fetch and hand over the matched blocks in height order; `matched` are the filters matching `basis`.

        When a delivered block grows the wallet's scripts, only the stretch up to the next known match is
        matched again (a match stays a match for a larger set); each later stretch gets the same check when
        delivery reaches it. Re-matching the whole rest of the batch after every such block cost ~20 times
        the batch's matching during a restore (a payment every few dozen blocks), all holding the GIL the
        window's loop needs.
        """
        pending = list(matched)
        n = len(hashes)
        pos = 0
        while pos < n:
            scripts, elements = self._element_set()
            nxt = pending[0] if pending else n
            if scripts != basis and pos < nxt:
                pending[:0] = await self._run(self._match, hashes[:nxt], filters[:nxt], elements, pos)
                nxt = pending[0] if pending else n
            if not initial:
                for i in range(pos, nxt):
                    self._emit(BlockConnected(start + i, hashes[i], None))
            if not pending:
                return
            i = pending.pop(0)
            block = await self._fetch_block(hashes[i])
            self.scan_target.block_connected(start + i, block)
            self._scan_height = start + i  # a retry resumes after it: no block is delivered twice
            self._emit(BlockConnected(start + i, hashes[i], block))
            pos = i + 1

    async def wait_synced(self, timeout: float) -> None:
        """Wait for the end of the current sync cycle (for tests and the CLI)."""
        async with asyncio.timeout(timeout):
            await self.synced.wait()

    def resync(self) -> None:
        """Run a cycle now (e.g. after the wallet changed its birthday)."""
        self.synced.clear()
        self._wake.set()
