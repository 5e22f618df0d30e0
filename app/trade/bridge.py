"""TradeBridge: the trading runtime's status and the TradeEngine's updates as Qt signals.

The engine calls its listeners on the loop after every committed change; a busy relay can deliver
hundreds of offers at once, so "something changed" is coalesced to at most THROTTLE_HZ a second (the
pages re-read the store then). Notices that matter on their own (a rejected message, a release) are
also emitted one by one as `notice`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from app.bridge import THROTTLE_HZ, Throttle
from app.context import AppContext, ContextEvent, TradingChanged
from core.trade.engine import TradeEngine
from core.trade.session import SessionState
from core.trade.updates import TradeUpdate

#: Updates that only say "look again" (no notice of their own).
QUIET = frozenset({"book", "tip", "offer", "effect_done", "state", "caught_up"})


class TradeBridge(QObject):
    """Signals: `status` (SessionStatus), `changed` (coalesced), `notice` (TradeUpdate)."""

    status = Signal(object)  # core.trade.session.SessionStatus
    changed = Signal()
    notice = Signal(object)  # core.trade.updates.TradeUpdate

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.engine: TradeEngine | None = None
        self._changed = Throttle(1.0 / THROTTLE_HZ, lambda _v: self.changed.emit(), self)
        ctx.add_listener(self._on_context)
        self._follow()

    def _alive(self) -> bool:
        """False once the page (our parent) was deleted: then stop listening."""
        if isValid(self):
            return True
        self.ctx.remove_listener(self._on_context)
        if self.engine is not None:
            self.engine.remove_listener(self._on_update)
        return False

    def _on_context(self, event: ContextEvent) -> None:
        if isinstance(event, TradingChanged) and self._alive():
            self._follow()
            self.status.emit(event.status)
            self._changed.push(None)

    def _follow(self) -> None:
        engine = self.ctx.trade.engine if self.ctx.trade.status.state is SessionState.READY else None
        if engine is self.engine:
            return
        if self.engine is not None:
            self.engine.remove_listener(self._on_update)
        self.engine = engine
        if engine is not None:
            engine.add_listener(self._on_update)

    def _on_update(self, update: TradeUpdate) -> None:
        if not self._alive():
            return
        if update.what not in QUIET:
            self.notice.emit(update)
        self._changed.push(None)

    def flush(self) -> None:
        """Deliver a pending `changed` now (tests, before closing)."""
        self._changed.flush()
