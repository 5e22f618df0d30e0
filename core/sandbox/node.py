"""The sandbox node: a full-validating local regtest peer with a miner, faucet and traffic.

One `SandboxNode` runs on the caller's asyncio loop. Chain work (validation, mempool, mining,
signing) runs on one dedicated thread through `run()`, so the loop — which in the app is also the
window's — never waits on it. Every task the node starts is owned and cancelled by `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.chain.entry import HeaderEntry
from core.chain.params import ChainParams, params_for
from core.consensus.block import Block
from core.consensus.tx import Transaction
from core.mempool.results import Accepted, AcceptResult
from core.p2p.listener import PeerListener
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.services import ServiceFlags
from core.sandbox.chain_service import ChainService
from core.sandbox.errors import SandboxError
from core.sandbox.events import SandboxEvent, TxRejected
from core.sandbox.net_processing import NetProcessing
from core.sandbox.traffic import TrafficGenerator

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVICES = ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS | ServiceFlags.NODE_COMPACT_FILTERS


@dataclass(frozen=True)
class SandboxConfig:
    """How to run one sandbox node."""

    datadir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    v2_transport: bool = True
    connect: tuple[tuple[str, int], ...] = ()
    initial_blocks: int = 0  # mined at start if the chain is shorter
    block_interval: float | None = None  # seconds between mined blocks; None: mine only on request
    traffic_interval: float | None = None  # seconds between traffic transactions; None: no traffic
    traffic_seed: int | None = None
    ping_interval: float | None = 120.0
    user_agent: str = "/Peerwallet-sandbox:0.1.0/"


class SandboxNode:
    """A running sandbox node. Use `async with SandboxNode(cfg) as node:` or start()/stop()."""

    def __init__(self, config: SandboxConfig, params: ChainParams | None = None) -> None:
        self.config = config
        self.params = params or params_for("sandbox")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-chain")
        self.chain: ChainService
        self.net = NetProcessing(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subscribers: list[asyncio.Queue[SandboxEvent]] = []
        self._tip_changed = asyncio.Condition()
        self.tip: HeaderEntry
        self.listener: PeerListener | None = None
        self.ctx: PeerContext | None = None
        self._outbound: set[Peer] = set()
        seed = config.traffic_seed if config.traffic_seed is not None else random.randrange(1 << 32)
        log.info("sandbox traffic seed %d", seed)
        self._rng = random.Random(seed)
        self.traffic: TrafficGenerator | None = None

    # --- plumbing ---------------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the chain thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start a task the node owns (cancelled on stop); its errors are logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox task %s failed", task.get_name(), exc_info=task.exception())

    def subscribe(self) -> asyncio.Queue[SandboxEvent]:
        """A queue receiving every event from now on."""
        q: asyncio.Queue[SandboxEvent] = asyncio.Queue()
        self._subscribers.append(q)
        return q

    def emit(self, event: SandboxEvent) -> None:
        for q in self._subscribers:
            q.put_nowait(event)
        self.spawn(self._notify_tip(), "notify")

    async def _notify_tip(self) -> None:
        async with self._tip_changed:
            self._tip_changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until `predicate()` holds, re-checked on every event; TimeoutError after `timeout`."""
        async def _wait() -> None:
            async with self._tip_changed:
                await self._tip_changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), timeout)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> SandboxNode:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        cfg = self.config
        self.chain = await self.run(ChainService, self.params, Path(cfg.datadir))
        self.tip = self.chain.tip
        peer_cfg = PeerConfig(
            magic=self.params.magic,
            services=SERVICES,
            user_agent=cfg.user_agent,
            start_height=lambda: self.tip.height,
            v2_transport=cfg.v2_transport,
            ping_interval=cfg.ping_interval,
        )
        self.ctx = PeerContext(peer_cfg, self.net)
        self.listener = PeerListener(self.ctx, cfg.host, cfg.port)
        await self.listener.start()
        if self.tip.height < cfg.initial_blocks:
            await self.generate(cfg.initial_blocks - self.tip.height)
        for host, port in cfg.connect:
            await self.connect(host, port)
        if cfg.block_interval:
            self.spawn(self._block_timer(cfg.block_interval), "block timer")
        if cfg.traffic_interval:
            self.traffic = TrafficGenerator(self.chain.coins, self.chain.traffic_keys, self._rng)
            self.spawn(self._traffic_loop(cfg.traffic_interval), "traffic")

    async def stop(self) -> None:
        """Cancel every task, close every peer and the databases."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.listener is not None:
            await self.listener.close()
        for peer in list(self._outbound):
            await peer.close("node stopping")
        if hasattr(self, "chain"):
            await self.run(self.chain.close)
        self._executor.shutdown(wait=True)

    @property
    def port(self) -> int:
        assert self.listener is not None
        return self.listener.port

    @property
    def peers(self) -> set[Peer]:
        return set(self.net.peers)

    async def connect(self, host: str, port: int, prefer_v2: bool | None = None) -> Peer:
        """Open an outbound connection to another node."""
        assert self.ctx is not None
        peer = await Peer.connect(
            self.ctx, host, port, prefer_v2=self.config.v2_transport if prefer_v2 is None else prefer_v2
        )
        self._outbound.add(peer)
        return peer

    # --- mining, transactions, faucet -----------------------------------------------------------------
    async def generate(self, count: int, script_pubkey: bytes | None = None) -> list[Block]:
        """Mine `count` blocks on our tip (including mempool transactions) and announce them."""
        blocks = []
        for _ in range(count):
            block, outcome = await self.run(self.chain.mine_block, script_pubkey)
            if outcome.reject is not None:
                raise SandboxError(f"our own block was rejected: {outcome.reject}")
            self.net.after_block(outcome)
            blocks.append(block)
        return blocks

    async def submit_tx(self, tx: Transaction) -> AcceptResult:
        """Offer a transaction to our mempool; relayed to peers if accepted."""
        result = await self.run(self.chain.accept_tx, tx)
        if isinstance(result, Accepted):
            self.net.after_tx(tx, result)
        else:
            self.emit(TxRejected(tx.txid, str(result)))
        return result

    async def faucet(self, script_pubkey: bytes, amount: int, fee_rate_sat_vb: int = 2) -> Transaction:
        """Pay `amount` satoshis to `script_pubkey` from the miner's coins (unconfirmed until mined)."""
        tx, result = await self.run(self.chain.faucet_payment, script_pubkey, amount, fee_rate_sat_vb)
        if not isinstance(result, Accepted):
            raise SandboxError(f"faucet transaction refused: {result}")
        self.net.after_tx(tx, result)
        return tx

    async def has_tx(self, key: bytes) -> bool:
        return await self.run(self.chain.mempool_tx, key) is not None

    async def mempool_size(self) -> int:
        return await self.run(len, self.chain.mempool)

    # --- background activity -----------------------------------------------------------------------
    async def _block_timer(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.generate(1)

    async def _traffic_loop(self, interval: float) -> None:
        gen = self.traffic
        assert gen is not None
        chain = self.chain

        def step() -> tuple[Transaction, AcceptResult] | None:
            # One step on the chain thread: a faucet payment between proposing and accepting could take
            # the coin the proposal spends, and the traffic's higher fee would then replace the payment.
            proposal = gen.propose(chain.tip.height)
            if proposal is None:
                return None
            result = chain.accept_tx(proposal.tx)
            if isinstance(result, Accepted):
                gen.accepted(proposal)
            else:
                gen.rejected(proposal)
            return proposal.tx, result

        while True:
            await asyncio.sleep(interval)
            done = await self.run(step)
            if done is not None and isinstance(done[1], Accepted):
                self.net.after_tx(*done)
