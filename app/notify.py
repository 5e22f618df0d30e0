"""Notifications: a system tray message where the desktop has a tray, else a status bar message
(`announce`). Incoming payments (a wallet's TxAdded with `incoming=True`) are announced here; trade
notices in app/trade/notices.py. `shown` carries each text (tests, logs)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMainWindow, QStyle, QSystemTrayIcon, QWidget

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from core.wallet.events import TxAdded

TRAY_MS = 8_000
STATUS_MS = 15_000
_tray: QSystemTrayIcon | None = None  # one per process (one window), made on first use


def announce(anchor: QWidget, title: str, text: str) -> None:
    """Show `text` as a tray message, or in the status bar of `anchor`'s window without a tray."""
    global _tray
    if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
        if _tray is None:
            icon = anchor.window().windowIcon()
            if icon.isNull():
                icon = anchor.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown)
            _tray = QSystemTrayIcon(QIcon(icon), QApplication.instance())
            _tray.setToolTip("Peerwallet")
            _tray.show()
        _tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, TRAY_MS)
        return
    window = anchor.window()
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, STATUS_MS)


class PaymentNotifier(QObject):
    """Announces payments from others (never our own sends, their change, or confirmations)."""

    shown = Signal(str)

    def __init__(self, ctx: AppContext, bridge: CoreBridge, anchor: QWidget) -> None:
        super().__init__(anchor)
        self.ctx = ctx
        self.anchor = anchor
        bridge.wallet_event.connect(self.on_wallet_event)

    def on_wallet_event(self, event: object) -> None:
        if not isinstance(event, TxAdded) or not event.incoming or event.net <= 0:
            return
        state = "unconfirmed" if event.height is None else f"confirmed in block {event.height:,}"
        text = f"Received {fmt.amount(event.net, self.ctx.settings.unit)} ({state})"
        announce(self.anchor, "Payment received", text)
        self.shown.emit(text)
