"""Trade notices: when a trade needs the user (pay now, the buyer says it paid, the escrow released, a
ruling, a dispute, a cancel proposal, a chat message, T1, a chain reorganisation), the engine's update
becomes a tray or status bar message (app/notify.announce), whichever page is open. The protocol's own
steps stay on the Trade page. `shown` carries each text (tests, logs)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWidgets import QWidget

from app.notify import announce
from core.trade.updates import TradeUpdate

#: The engine's notify names worth interrupting for, and what they tell the user.
NOTICES: dict[str, str] = {
    "taken": "your offer was taken.",
    "pay_now": "the deposit confirmed: pay the seller now (the details are on the Trade page).",
    "buyer_paid": "the buyer says the payment is sent: check that it arrived, then confirm it.",
    "released": "the seller released the escrow: your bitcoin is on its way.",
    "cancel_proposed": "the other trader proposes to cancel the trade.",
    "dispute": "a dispute is open.",
    "ruling": "the arbitrator ruled: review the ruling on the Trade page.",
    "chat": "a new chat message.",
    "t1_warning": "the seller can soon take the escrow back alone: open a dispute now if the trade is stuck.",
    "refund_available": "T1 has passed: you may take the escrow back.",
    "deposit_reorged": "a chain reorganisation took the deposit's block away: wait until it confirms again.",
    "payout_reorged": "a chain reorganisation took the payout's block away: it will confirm again.",
    "failed": "the trade ended before any coins were locked.",
}


class TradeNotifier(QObject):
    """Turns the TradeBridge's `notice` updates into announcements."""

    shown = Signal(str)

    def __init__(self, notice: SignalInstance, anchor: QWidget) -> None:
        super().__init__(anchor)
        self.anchor = anchor
        notice.connect(self.on_notice)

    def on_notice(self, update: TradeUpdate) -> None:
        text = NOTICES.get(update.what)
        if text is None or not update.trade_id:
            return
        line = f"Trade {update.trade_id[:8]}: {text}"
        announce(self.anchor, "Trade", line)
        self.shown.emit(line)
