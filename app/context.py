"""AppContext: the composition root — data directories, settings, the embedded sandbox, the light
node and the wallet, and every task the app starts.

Nothing here imports Qt: the context reports what happens to it as typed events (`NodeStarted`,
`WalletOpened`, `SettingsChanged`) that the CoreBridge turns into signals. On the sandbox network it
starts a local regtest chain (with traffic and a block timer) in a child process and connects the light
node to it, so a first look shows a live network; elsewhere the node finds peers through DNS seeds (or the manual
peer list, which then is the whole peer set, as Core's -connect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.appinfo import APP_NAME as APP_NAME  # re-exported: the name and data folder live in app.appinfo
from app.appinfo import default_datadir
from app.trade.runtime import TradeRuntime
from core.chain.params import ChainParams, params_for
from core.node.node import LightNode, LightNodeConfig
from core.sandbox.node import SandboxConfig
from core.sandbox.process import SandboxProcess
from core.settings import NETWORKS, Settings, load_settings, parse_peer, save_settings
from core.trade.session import SessionStatus
from core.wallet.bip39 import generate_mnemonic
from core.wallet.wallet import Wallet

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Settings whose change only takes effect at the next start.
RESTART_FIELDS = ("network", "manual_peers", "proxy", "gap_limit")
#: A new sandbox wallet is paid this many faucet payments of FAUCET_AMOUNT, then a block confirms them.
FAUCET_PAYMENTS = 3
FAUCET_AMOUNT = 5_000_000
#: ... and once the node is synced, one more payment stays unconfirmed for a while (the mempool path).
WELCOME_AMOUNT = 1_000_000


@dataclass(frozen=True)
class AppPaths:
    """Where everything lives: settings and logs at the root, one folder per network below it."""

    root: Path
    network: str

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def network_dir(self) -> Path:
        return self.root / self.network

    @property
    def node(self) -> Path:
        return self.network_dir / "node"

    @property
    def sandbox(self) -> Path:
        return self.network_dir / "sandbox"

    @property
    def wallet(self) -> Path:
        # The same file `peerwallet-cli --wallet default` uses, so the command line sees the app's wallet.
        return self.network_dir / "wallets" / "default.sqlite"


@dataclass(frozen=True)
class SandboxOptions:
    """The embedded sandbox chain: mined at start, then a block every `block_interval` seconds and a
    traffic transaction every `traffic_interval` seconds."""

    initial_blocks: int = 110
    traffic_interval: float | None = 0.5
    block_interval: float | None = 30.0
    traffic_seed: int | None = None
    fund_new_wallet: bool = True  # create and fund a wallet on first run
    trade: bool = True  # a local Nostr relay and the bot trader and arbitrator (app/trade/runtime.py)


# --- what the context reports ----------------------------------------------------------------------
@dataclass(frozen=True)
class NodeStarted:
    node: LightNode


@dataclass(frozen=True)
class WalletOpened:
    wallet: Wallet


@dataclass(frozen=True)
class SettingsChanged:
    settings: Settings
    restart_needed: tuple[str, ...]  # the changed fields that take effect at the next start


@dataclass(frozen=True)
class TradingChanged:
    status: SessionStatus  # ctx.trade.engine is the TradeEngine once READY


ContextEvent = NodeStarted | WalletOpened | SettingsChanged | TradingChanged


class AppContext:
    """Owns the app's core objects; `await start()` once, `await close()` at the end."""

    def __init__(
        self,
        network: str = "sandbox",
        datadir: Path | None = None,
        *,
        settings: Settings | None = None,
        sandbox: SandboxOptions | None = None,
    ) -> None:
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}")
        self.network = network
        self.params: ChainParams = params_for(network)
        self.paths = AppPaths(datadir or default_datadir(), network)
        self.settings: Settings = settings if settings is not None else load_settings(self.paths.settings)
        self.sandbox_options = sandbox or SandboxOptions()
        self.sandbox: SandboxProcess | None = None
        self.node: LightNode | None = None
        self.wallet: Wallet | None = None
        self.trade = TradeRuntime(self, lambda: self._emit(TradingChanged(self.trade.status)))
        #: Called with each exception an owned task raised (the app shows it; tests fail on it).
        self.on_task_error: Callable[[BaseException, str], None] | None = None
        self._listeners: list[Callable[[ContextEvent], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def is_sandbox(self) -> bool:
        return self.network == "sandbox"

    # --- events and tasks ------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[ContextEvent], None]) -> None:
        """Call `fn(event)` for every context event (the CoreBridge does)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[ContextEvent], None]) -> None:
        """Stop calling `fn` (a listener whose Qt object is gone)."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, event: ContextEvent) -> None:
        for fn in list(self._listeners):
            fn(event)

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start a task the context owns: cancelled by `close()`, its error reported, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        if self.on_task_error is not None:
            self.on_task_error(exc, task.get_name())
        else:
            log.error("task %s failed", task.get_name(), exc_info=exc)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the loop's default executor (anything slower than ~10 ms)."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # --- lifecycle -------------------------------------------------------------------------------
    def manual_peers(self) -> tuple[tuple[str, int], ...]:
        """The settings' manual peers for this network as (host, port)."""
        port = self.params.default_port
        return tuple(parse_peer(p, port) for p in self.settings.peers_for(self.network))

    async def start(self) -> None:
        """Start the sandbox (sandbox network), open the wallet if there is one, start the node.

        On the sandbox network a first run creates a wallet (fresh mnemonic, no password) and pays it
        from the faucet, so a first look shows money.
        """
        self.paths.network_dir.mkdir(parents=True, exist_ok=True)
        if self.is_sandbox:
            opts = self.sandbox_options
            # A child process: its chain work and its trade bots never hold the window's interpreter lock.
            self.sandbox = SandboxProcess(
                SandboxConfig(
                    self.paths.sandbox,
                    port=0,
                    initial_blocks=opts.initial_blocks,
                    block_interval=opts.block_interval,
                    traffic_interval=opts.traffic_interval,
                    traffic_seed=opts.traffic_seed,
                ),
                self.params,
            )
            await self.sandbox.start()
        funded = False
        if self.paths.wallet.exists():
            # Off the loop: a wallet with a long history takes a few hundred ms to open.
            self.wallet = await Wallet.open_async(self.paths.wallet)
        elif self.is_sandbox and self.sandbox_options.fund_new_wallet:
            self.wallet = await self._new_wallet(generate_mnemonic(128), password=None)
            await self._fund_sandbox_wallet(self.wallet)
            funded = True
        await self._start_node()
        if self.wallet is not None:
            self._emit(WalletOpened(self.wallet))
        if funded:
            self.spawn(self._welcome_payment(), "sandbox welcome payment")

    async def _start_node(self) -> None:
        connect = self.manual_peers()
        if self.sandbox is not None:
            connect = (("127.0.0.1", self.sandbox.port), *connect)
        node = LightNode(
            self.params,
            LightNodeConfig(
                self.paths.node,
                connect=connect,
                dns_seed=not self.is_sandbox,
                min_filter_peers=1 if self.is_sandbox else 2,
                proxy=self.settings.proxy,
            ),
            scan_target=self.trade.open(self.wallet),  # the wallet, and the open trades' escrows
        )
        self.node = node
        await node.start()
        if self.wallet is not None:
            self.wallet.attach(node)
        self._emit(NodeStarted(node))
        self.spawn(self.trade.start(), "trade start")

    # --- wallets ---------------------------------------------------------------------------------
    async def _new_wallet(self, mnemonic: str, **kw: Any) -> Wallet:
        """Create the wallet file off the loop (key derivation, scrypt), then open it (also off the loop)."""
        path, network, gap = self.paths.wallet, self.params.network, self.settings.gap_limit

        def create() -> None:
            Wallet.create(path, network, mnemonic, gap_limit=gap, **kw).close()

        await self.run_blocking(create)
        return await Wallet.open_async(path)

    async def create_wallet(
        self, mnemonic: str, *, password: str | None, passphrase: str = "", template: str = "bip84", birthday: int = 0
    ) -> Wallet:
        """Create this network's wallet from a mnemonic and make it the app's wallet (the node restarts
        with it as its scan target). StorageError if a wallet file exists already."""
        wallet = await self._new_wallet(
            mnemonic, password=password, passphrase=passphrase, template=template, birthday=birthday
        )
        await self.use_wallet(wallet)
        return wallet

    async def create_watch_only_wallet(
        self,
        *,
        xpub: str | None = None,
        descriptors: tuple[str, str] | None = None,
        template: str = "bip84",
        birthday: int = 0,
    ) -> Wallet:
        """Create a watch-only wallet (an xpub or two descriptors) and make it the app's wallet."""
        path, network, gap = self.paths.wallet, self.params.network, self.settings.gap_limit

        def create() -> None:
            Wallet.create_watch_only(
                path, network, xpub=xpub, descriptors=descriptors, template=template, birthday=birthday, gap_limit=gap
            ).close()

        await self.run_blocking(create)
        wallet = await Wallet.open_async(path)
        await self.use_wallet(wallet)
        return wallet

    async def use_wallet(self, wallet: Wallet) -> None:
        """Make `wallet` the app's wallet: the node is restarted with it as its scan target."""
        await self.trade.close_session()
        if self.node is not None:
            await self.node.close()
            self.node = None
        if self.wallet is not None and self.wallet is not wallet:
            self.wallet.close()
        self.wallet = wallet
        await self._start_node()
        self._emit(WalletOpened(wallet))

    async def _fund_sandbox_wallet(self, wallet: Wallet) -> None:
        sbx = self.sandbox
        assert sbx is not None
        for _ in range(FAUCET_PAYMENTS):
            await sbx.faucet(wallet.new_address().script_pubkey, FAUCET_AMOUNT)
        await sbx.generate(1)

    async def _welcome_payment(self) -> None:
        """Once synced, one more faucet payment that stays unconfirmed until the next block."""
        node, sbx, wallet = self.node, self.sandbox, self.wallet
        assert node is not None and sbx is not None and wallet is not None
        await node.wait_synced(120.0)
        await sbx.faucet(wallet.new_address(label="Sandbox faucet").script_pubkey, WELCOME_AMOUNT)

    async def close(self) -> None:
        """Stop in order: our tasks, the node, the sandbox, the wallet. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.trade.close()  # before the node: the engines listen to it
        if self.node is not None:
            await self.node.close()
        if self.sandbox is not None:
            await self.sandbox.stop()
        if self.wallet is not None:
            # Pages read `ctx.wallet` when a throttled "wallet changed" arrives, possibly after this:
            # None tells them there is no wallet instead of letting them query a closed file.
            wallet, self.wallet = self.wallet, None
            wallet.close()

    # --- settings --------------------------------------------------------------------------------
    async def update_settings(self, new: Settings) -> tuple[str, ...]:
        """Store `new`; returns the changed fields that need a restart (also sent as SettingsChanged)."""
        old = self.settings
        await self.run_blocking(save_settings, self.paths.settings, new)
        self.settings = new
        restart = tuple(f for f in RESTART_FIELDS if getattr(old, f) != getattr(new, f))
        self._emit(SettingsChanged(new, restart))
        return restart
