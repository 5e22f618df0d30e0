"""The user's trading behind the AppContext (no Qt): the wallet's TradeSession, and on the sandbox the
local Nostr relay and the bot counterparties.

The session's store and escrow watch open with the wallet, before the light node (which scans through
the session's scan target); everything slow — the relay process, unlocking the trade keys, the relay
pool, the engine — starts in tasks the context owns, after the window shows. The bots (their own
wallets and light nodes) run inside the sandbox's child process (core.sandbox.process), off the
window's interpreter lock. The sandbox relay needs the `nostr-relay` package (the `sandbox` extra; the app bundle carries
it): without it trading on the sandbox is reported unavailable, not an error. Elsewhere the relays come
from the settings (`trade_relays`), reached through the settings' proxy.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.sandbox.errors import SandboxError
from core.trade.engine import TradeEngine
from core.trade.errors import RelayError
from core.trade.nostr.relay_process import LocalRelay, local_relay_available
from core.trade.offer import ArbitratorRef
from core.trade.sandbox_bots import sandbox_price
from core.trade.session import SessionState, SessionStatus, TradeSession
from core.wallet.errors import WrongPassword

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger(__name__)


class TradeRuntime:
    """See the module docstring. `on_change()` is called after every status change."""

    def __init__(self, ctx: AppContext, on_change: Callable[[], None]) -> None:
        self.ctx = ctx
        self.on_change = on_change
        self.session: TradeSession | None = None
        self.relay: LocalRelay | None = None
        self.bots_started = False  # asked the sandbox process to run its trade bots
        self.bots_ready = False
        self._bot_arbitrator: ArbitratorRef | None = None
        self.started = False
        self.status = SessionStatus(SessionState.OFF, "Open a wallet to trade.")

    @property
    def engine(self) -> TradeEngine | None:
        return None if self.session is None else self.session.engine

    @property
    def bot_arbitrator(self) -> ArbitratorRef | None:
        """The sandbox's bot arbitrator, once it runs."""
        return self._bot_arbitrator if self.bots_ready else None

    def _set(self, state: SessionState, message: str = "") -> None:
        self.status = SessionStatus(state, message)
        self.on_change()

    # --- with the wallet, before the node ----------------------------------------------------------
    def open(self, wallet: Any) -> Any:
        """Open `wallet`'s trade files; returns the light node's scan target (the wallet itself when it
        cannot trade)."""
        if wallet is None or wallet.info.watch_only:
            self._set(SessionState.OFF, "A watch-only wallet holds no keys to trade with." if wallet else "Open a wallet to trade.")
            return wallet
        self.session = TradeSession(wallet, self.ctx.paths.network_dir / "trades")
        return self.session.scan_target

    # --- after the node started ------------------------------------------------------------------
    async def start(self) -> None:
        """Start the relay (sandbox), then the engine unless the wallet is locked; the bots follow.
        `started` is set once this has decided (ready, locked, off or unavailable)."""
        try:
            await self._start()
        finally:
            self.started = True

    async def _start(self) -> None:
        if self.session is None:
            return
        relays = await self._relays()
        if relays is None:
            return
        if self.ctx.is_sandbox and self.ctx.sandbox_options.trade and not self.bots_started and self.relay is not None:
            self.bots_started = True
            self.ctx.spawn(self._start_bots(self.relay.url), "sandbox trade bots")
        if self.session.wallet.info.encrypted:
            self._set(SessionState.LOCKED, "Enter the wallet password to unlock trading.")
            return
        await self.unlock(None)

    async def _relays(self) -> list[str] | None:
        if not self.ctx.is_sandbox:
            relays = list(self.ctx.settings.trade_relays)
            if not relays:
                self._set(SessionState.NO_RELAYS, "Add a Nostr relay (settings: trade_relays) to see offers and trade.")
                return None
            return relays
        if not self.ctx.sandbox_options.trade:
            self._set(SessionState.OFF, "Trading is turned off in this sandbox.")
            return None
        if self.relay is None:
            if not local_relay_available():
                self._set(SessionState.UNAVAILABLE, "The sandbox relay needs the nostr-relay package (the 'sandbox' extra).")
                return None
            self._set(SessionState.STARTING, "Starting the sandbox's Nostr relay…")
            self.relay = LocalRelay(self.ctx.paths.network_dir / "relay")
            try:
                await self.relay.start()
            except RelayError as e:
                log.info("sandbox relay: %s", e)
                self.relay = None
                self._set(SessionState.UNAVAILABLE, f"The sandbox relay did not start: {e}")
                return None
        return [self.relay.url]

    async def unlock(self, password: str | None) -> None:
        """Unlock the trade keys and start the engine (WrongPassword if the password is wrong)."""
        session, node = self.session, self.ctx.node
        if session is None or node is None or session.engine is not None:
            return
        relays = [self.relay.url] if self.relay is not None else list(self.ctx.settings.trade_relays)
        if not relays:
            return
        self._set(SessionState.STARTING, "Connecting to the relays…")
        sandbox = self.ctx.is_sandbox
        try:
            await session.start(
                node, relays, password, market_price=sandbox_price if sandbox else None,
                proxy=None if sandbox else self.ctx.settings.proxy, retry_delay=0.5 if sandbox else 2.0,
            )
        except WrongPassword:
            self._set(SessionState.LOCKED, "Enter the wallet password to unlock trading.")
            raise
        self._set(SessionState.READY, f"Trading over {len(relays)} relay{'s' if len(relays) != 1 else ''}.")

    async def _start_bots(self, relay_url: str) -> None:
        # The bots (their wallets and light nodes) run inside the sandbox's process (core.sandbox.process).
        sandbox = self.ctx.sandbox
        assert sandbox is not None
        try:
            nostr, escrow = await sandbox.start_bots(self.ctx.paths.network_dir / "trade-bots", relay_url)
        except SandboxError as e:  # the user's own trading goes on without them
            log.info("%s", e)
            return
        self._bot_arbitrator = ArbitratorRef(nostr, escrow)
        self.bots_ready = True
        self.on_change()

    # --- closing ---------------------------------------------------------------------------------
    async def close_session(self) -> None:
        """Close the wallet's session (before its node closes, or when the wallet changes)."""
        session, self.session = self.session, None
        if session is not None:
            await session.close()
            self._set(SessionState.OFF, "Open a wallet to trade.")

    async def close(self) -> None:
        """Everything: the session, the bots, the relay."""
        await self.close_session()
        started, self.bots_started, self.bots_ready = self.bots_started, False, False
        if started and self.ctx.sandbox is not None and self.ctx.sandbox.running:
            with contextlib.suppress(SandboxError):  # before their relay goes: no reconnecting bots
                await self.ctx.sandbox.stop_bots()
        relay, self.relay = self.relay, None
        if relay is not None:
            await relay.stop()
