"""Incoming-payment notifications: a wallet's TxAdded with `incoming=True` becomes a system tray message
where the desktop has a tray, else a status bar message. `shown` carries each text (tests, logs)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMainWindow, QStyle, QSystemTrayIcon, QWidget

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from core.wallet.events import TxAdded

TRAY_MS = 8_000


class PaymentNotifier(QObject):
    """Announces payments from others (never our own sends, their change, or confirmations)."""

    shown = Signal(str)

    def __init__(self, ctx: AppContext, bridge: CoreBridge, anchor: QWidget) -> None:
        super().__init__(anchor)
        self.ctx = ctx
        self.anchor = anchor
        self.tray: QSystemTrayIcon | None = None
        bridge.wallet_event.connect(self.on_wallet_event)

    def _tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable() or not QSystemTrayIcon.supportsMessages():
            return None
        if self.tray is None:
            icon = self.anchor.windowIcon()
            if icon.isNull():
                icon = self.anchor.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown)
            self.tray = QSystemTrayIcon(QIcon(icon), self)
            self.tray.setToolTip("Peerwallet")
            self.tray.show()
        return self.tray

    def on_wallet_event(self, event: object) -> None:
        if not isinstance(event, TxAdded) or not event.incoming or event.net <= 0:
            return
        state = "unconfirmed" if event.height is None else f"confirmed in block {event.height:,}"
        text = f"Received {fmt.amount(event.net, self.ctx.settings.unit)} ({state})"
        tray = self._tray()
        if tray is not None:
            tray.showMessage("Payment received", text, QSystemTrayIcon.MessageIcon.Information, TRAY_MS)
        else:
            window = self.anchor.window()
            if isinstance(window, QMainWindow):
                window.statusBar().showMessage(text, 15_000)
        self.shown.emit(text)
