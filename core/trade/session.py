"""One wallet's trading stack, in the order an app needs it: first the trade store and the escrow watch
(opened before the light node, which scans through `scan_target` so open escrows are re-checked on
chain), then — once the node runs and the wallet's password is known — the relay pool, the trade keys
and the TradeEngine. Used by the desktop app for the user's wallet and by the sandbox bots.

Files live in one folder per network, named like the wallet's file (the CLI's layout), so two wallets
never share a trade store.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.mempool.feerate import FeeRate
from core.trade.chain_watch import TradeScanTarget, prepare_watch
from core.trade.engine import TradeEngine
from core.trade.errors import TradeError
from core.trade.nostr.outbox import OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.store import TradeStore
from core.trade.trade_keys import TradeKeys


class SessionState(enum.StrEnum):
    """Where the user's trading stands (what the trade page says at its top)."""

    OFF = "off"  # no wallet, or a watch-only one (no keys to trade with)
    STARTING = "starting"
    LOCKED = "locked"  # an encrypted wallet: the password unlocks the trade keys
    NO_RELAYS = "no_relays"  # no relay configured
    UNAVAILABLE = "unavailable"  # the sandbox's local relay could not start
    READY = "ready"


@dataclass(frozen=True)
class SessionStatus:
    """The state and a sentence for the user."""

    state: SessionState
    message: str = ""


def trade_files_name(wallet: Any) -> str:
    """The trade files' name for a wallet: its file's name (the app and `peerwallet-cli trade --wallet NAME`
    see the same trades) plus its id, so a new seed saved under an old wallet's name never inherits the old
    trades (their keys come from the old seed)."""
    return f"{Path(wallet.db.path).stem or 'wallet'}-{str(wallet.info.wallet_id)[:8]}"


class TradeSession:
    """See the module docstring. `scan_target` goes to the LightNode; `await start(...)` later;
    `await close()` before the node closes."""

    def __init__(self, wallet: Any, folder: Path) -> None:
        if wallet.info.watch_only:
            raise TradeError("a watch-only wallet holds no keys to trade with")
        folder.mkdir(parents=True, exist_ok=True)
        self.wallet = wallet
        self.folder = folder
        self.name = trade_files_name(wallet)
        self.store = TradeStore(folder / f"{self.name}.sqlite")
        self.watch = prepare_watch(self.store)
        self.scan_target = TradeScanTarget(wallet, self.watch)
        self.outbox: OutboxStore | None = None
        self.pool: RelayPool | None = None
        self.engine: TradeEngine | None = None
        self._closed = False

    async def start(
        self, node: Any, relays: Sequence[str], password: str | None, *, fee_rate: FeeRate | None = None,
        market_price: Callable[[str], Decimal | None] | None = None, proxy: str | None = None, retry_delay: float = 2.0,
    ) -> TradeEngine:
        """Connect to `relays`, unlock the keys (WrongPassword if `password` is wrong: nothing stays
        open then) and start the engine; returns it."""
        if self._closed:
            raise TradeError("the trade session is closed")
        if self.engine is not None:
            return self.engine
        keys = await TradeKeys.load(self.wallet, password)
        self.outbox = OutboxStore(self.folder / f"{self.name}.nostr.sqlite")
        self.pool = RelayPool(list(relays), self.outbox, proxy=proxy, retry_delay=retry_delay)
        self.pool.start()
        engine = TradeEngine(
            self.wallet, node, self.pool, self.store, keys, self.watch, password=password, fee_rate=fee_rate,
            market_price=market_price,
        )
        self.engine = engine
        self.wallet.add_listener(self._wallet_event)
        await engine.start()
        return engine

    def _wallet_event(self, _event: object) -> None:
        # Predicates over wallet balances (`engine.wait_until`) are re-checked after wallet changes.
        if self.engine is not None:
            self.engine.poke()

    async def close(self) -> None:
        """Stop the engine and the relays, close the files (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self.engine is not None:
            with contextlib.suppress(ValueError):
                self.wallet.remove_listener(self._wallet_event)
            await self.engine.close()
        if self.pool is not None:
            await self.pool.close()
        if self.outbox is not None:
            self.outbox.close()
        self.store.close()
