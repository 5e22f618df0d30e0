"""The light node actor: peers, header sync, filter sync and wallet scanning behind one handle.

`LightNode` composes the PeerManager (peers and the address book), HeaderSync and FilterSync
(whose chain state lives on one worker thread reached through `run`), and reports typed events to
subscribers. The wallet plugs in as a ScanTarget; without one, the node syncs headers and filters
only. Commands are its async methods (`wait_synced`, `peer_infos`, `filter_header_at`, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction
from core.filters.basic import FilterHeader
from core.node.broadcast import Broadcaster, BroadcastStatus
from core.node.events import BlockConnected, PeerInfo
from core.node.fee_estimator import FeeEstimate, FeeEstimator
from core.node.filter_check import block_problem
from core.node.filter_sync import FilterSync
from core.node.header_sync import HeaderSync
from core.node.mempool_view import MempoolView
from core.node.peer_manager import PeerManager, PeerManagerConfig
from core.p2p.messages import Message
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig
from core.p2p.peer_events import PeerConnected, PeerDisconnected, PeerEvent
from core.p2p.services import ServiceFlags

T = TypeVar("T")


@dataclass(frozen=True)
class LightNodeConfig:
    """How to run a light node."""

    datadir: Path
    connect: tuple[tuple[str, int], ...] = ()  # manual peers only (Core's -connect)
    max_outbound: int = 8
    min_filter_peers: int = 2
    proxy: str | None = None  # "socks5://127.0.0.1:9050"
    v2_transport: bool = True
    dns_seed: bool = True
    ping_interval: float | None = 120.0
    request_timeout: float = 20.0
    stall_timeout: float = 30.0  # a sync peer silent this long after getheaders is replaced


class NoWallet:
    """A ScanTarget with nothing to look for: sync headers and filters only."""

    def scripts(self) -> Sequence[bytes]:
        return ()

    def block_connected(self, height: int, block: Block) -> None:
        pass

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        pass

    def birthday_height(self) -> int:
        return 0


class LightNode:
    """One light node on the running loop. `async with LightNode(params, cfg) as node:`."""

    def __init__(self, params: ChainParams, config: LightNodeConfig, scan_target: Any | None = None) -> None:
        self.params = params
        self.config = config
        self.scan_target = scan_target or NoWallet()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="light-node")
        self._subscribers: list[asyncio.Queue[object]] = []
        self._listeners: list[Callable[[object], None]] = []
        self.peer_manager: PeerManager
        self.headers: HeaderSync
        self.filters: FilterSync
        self._store: HeaderStore | None = None
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fee_estimator = FeeEstimator()

    # --- plumbing ------------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the node's chain thread (the only thread touching headers and filters)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def subscribe(self) -> asyncio.Queue[object]:
        """A queue receiving every node event from now on."""
        q: asyncio.Queue[object] = asyncio.Queue()
        self._subscribers.append(q)
        return q

    def add_listener(self, fn: Callable[[object], None]) -> None:
        """Call `fn(event)` synchronously for every event (the wallet and the GUI bridge use this)."""
        self._listeners.append(fn)

    def _emit(self, event: object) -> None:
        for q in self._subscribers:
            q.put_nowait(event)
        for fn in self._listeners:
            fn(event)
        if isinstance(event, BlockConnected) and self._started:
            self._spawn(self._on_block_connected(event))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_block_connected(self, event: BlockConnected) -> None:
        """Feed each new block to the mempool view, the fee estimator and the broadcaster.

        Blocks the wallet did not match arrive without their body; once synced we fetch them
        (merkle-checked) from a random peer, since evictions and fee statistics need them.
        """
        block = event.block
        if block is None:
            peers = self.peers()
            if not peers:
                return
            peer = peers[int.from_bytes(bytes(event.block_hash)[:4], "little") % len(peers)]
            try:
                block = await self.filters.requests.block(peer, event.block_hash)
            except Exception:  # no answer or a broken one: the next block will do
                return
            if block is None or block_problem(block, event.block_hash):
                return
        outcome = await self.mempool.on_block(block)
        self.fee_estimator.add_block(outcome.fees)
        self.broadcaster.on_block(block)

    # --- lifecycle -----------------------------------------------------------------------------------
    async def __aenter__(self) -> LightNode:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        cfg = self.config
        cfg.datadir.mkdir(parents=True, exist_ok=True)
        self._store = await self.run(HeaderStore, cfg.datadir / "headers.sqlite")
        tree = await self.run(HeaderTree, self.params, self._store)
        self.headers = HeaderSync(self.params, tree, self, self.run, emit=self._emit, stall_timeout=cfg.stall_timeout)
        self.filters = FilterSync(
            self.params, tree, cfg.datadir / "filters.sqlite", self, self.scan_target, self.run,
            emit=self._emit, request_timeout=cfg.request_timeout,
        )
        self.headers.listeners.append(self.filters.on_headers_changed)
        self.mempool = MempoolView(self, self.run, emit=self._emit)
        self.broadcaster = Broadcaster(self, emit=self._emit)
        peer_cfg = PeerConfig(
            magic=self.params.magic,
            services=ServiceFlags.NODE_WITNESS,
            relay=True,
            start_height=lambda: self.headers.height,
            v2_transport=cfg.v2_transport,
            ping_interval=cfg.ping_interval,
        )
        self.peer_manager = PeerManager(
            self.params,
            self,
            peer_config=peer_cfg,
            config=PeerManagerConfig(
                max_outbound=cfg.max_outbound,
                min_filter_peers=cfg.min_filter_peers,
                connect=tuple(cfg.connect),
                proxy=cfg.proxy,
                addrman_path=cfg.datadir / "peers.json",
                dns_seed=cfg.dns_seed,
            ),
            on_event=self._emit,
        )
        await self.filters.start()
        self.mempool.start()
        self.broadcaster.start()
        await self.peer_manager.start()
        self._started = True

    async def close(self) -> None:
        """Stop syncing, close every peer and the databases."""
        if not self._started:
            self._executor.shutdown(wait=True)
            return
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.peer_manager.close()
        await self.broadcaster.close()
        await self.mempool.close()
        await self.headers.close()
        await self.filters.close()
        if self._store is not None:
            await self.run(self._store.close)
        self._executor.shutdown(wait=True)

    # --- PeerSet (delegated to the peer manager) ----------------------------------------------------
    def peers(self) -> list[Peer]:
        return self.peer_manager.peers()

    def filter_peers(self) -> list[Peer]:
        return self.peer_manager.filter_peers()

    def punish(self, peer: Peer, reason: str) -> None:
        self.peer_manager.punish(peer, reason)

    def report_stall(self, peer: Peer) -> None:
        self.peer_manager.report_stall(peer)

    # --- PeerHandler: messages and peer events from the peer manager ---------------------------------
    async def on_message(self, peer: Peer, msg: Message) -> None:
        await self.headers.on_message(peer, msg)
        await self.filters.on_message(peer, msg)
        await self.mempool.on_message(peer, msg)
        await self.broadcaster.on_message(peer, msg)

    def on_event(self, event: PeerEvent) -> None:
        if isinstance(event, PeerConnected):
            for part in (self.headers, self.filters, self.mempool, self.broadcaster):
                part.on_peer_up(event.peer)
        elif isinstance(event, PeerDisconnected):
            for part in (self.headers, self.filters, self.mempool, self.broadcaster):
                part.on_peer_down(event.peer)

    # --- commands ---------------------------------------------------------------------------------------
    async def wait_synced(self, timeout: float) -> None:
        """Return once headers and filters are synced to the peers' tip; TimeoutError otherwise."""
        await self.filters.wait_synced(timeout)

    def peer_infos(self) -> list[PeerInfo]:
        return self.peer_manager.peer_infos()

    @property
    def tip_height(self) -> int:
        return self.headers.height

    async def tip(self) -> tuple[int, BlockHash]:
        entry = await self.run(lambda: self.headers.tree.tip)
        return entry.height, entry.hash

    async def filter_header_at(self, height: int) -> FilterHeader | None:
        return await self.run(self.filters.filter_header_at, height)


    async def estimate_fees(self, targets: Sequence[int] = (1, 3, 6, 24)) -> list[FeeEstimate]:
        """Fee rates for confirmation within each target (a shorter target never cheaper), with their basis."""
        sample = await self.mempool.sample()
        return self.fee_estimator.estimates(sample, targets, self.mempool.min_fee_filter())

    def broadcast(self, tx: Transaction) -> BroadcastStatus:
        """Announce `tx` to peers; TxPropagated / TxConfirmed events follow."""
        return self.broadcaster.broadcast(tx)


async def open_node(params: ChainParams, config: LightNodeConfig, scan_target: Any | None = None) -> LightNode:
    """Start a node (for the CLI); the caller closes it."""
    node = LightNode(params, config, scan_target)
    try:
        await node.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await node.close()
        raise
    return node
