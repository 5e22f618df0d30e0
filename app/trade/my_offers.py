"""The "My offers" tab: our offers with their status (open, taken, done, withdrawn), and withdrawing an
open one (a trade already taking it goes on)."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.trade.text import amount_range, arbitrator_text, maker_side_text, methods_text, price_text
from app.widgets import hbox, list_table, muted
from core.settings import Unit
from core.trade.offer import ArbitratorRef, Offer

COLUMNS = ("Offer", "Price", "Amount", "Payment methods", "Arbitrator", "Status", "Expires in")
STATUS_TEXT = {"open": "open", "taken": "taken: see My trades", "done": "done", "cancelled": "withdrawn"}


class MyOffersTab(QWidget):
    """`set_offers([(offer, status), ...])`; `withdraw_requested(offer_id)`."""

    withdraw_requested = Signal(str)

    def __init__(self, unit: Unit) -> None:
        super().__init__()
        self.setObjectName("trade_my_offers")
        self.unit = unit
        self.offers: list[tuple[Offer, str]] = []
        self.bot_arbitrator: ArbitratorRef | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        self.table = list_table("my_offers_table", COLUMNS, 3, word_wrap=True)
        self.table.itemSelectionChanged.connect(self._selection)
        layout.addWidget(self.table, 1)
        self.count = muted(QLabel(""))
        self.count.setObjectName("my_offers_count")
        self.withdraw = QPushButton("Withdraw offer")
        self.withdraw.setObjectName("withdraw_offer")
        self.withdraw.setEnabled(False)
        self.withdraw.clicked.connect(self._withdraw)
        layout.addLayout(hbox(self.count, None, self.withdraw))

    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.set_offers(self.offers)

    def set_offers(self, offers: list[tuple[Offer, str]]) -> None:
        """Newest first."""
        selected = self.selected_id()
        self.offers = sorted(offers, key=lambda p: p[0].created_at, reverse=True)
        now = time.time()
        self.table.setRowCount(len(self.offers))
        for r, (offer, status) in enumerate(self.offers):
            left = offer.expires_at - now
            cells = (
                maker_side_text(offer.side), price_text(offer.price, offer.premium_pct, offer.currency),
                amount_range(offer.min_sat, offer.max_sat, self.unit), methods_text(offer.methods),
                arbitrator_text(offer.arbitrator, self.bot_arbitrator), STATUS_TEXT.get(status, status),
                fmt.duration(left) if status == "open" and left > 0 else "—",
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        open_count = sum(1 for _o, s in self.offers if s == "open")
        self.count.setText(f"{open_count} open of {len(self.offers)}")
        if selected is not None:
            for r, (offer, _s) in enumerate(self.offers):
                if offer.id == selected:
                    self.table.selectRow(r)
        self._selection()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.offers):
            return None
        return self.offers[rows[0].row()][0].id

    def _selection(self) -> None:
        oid = self.selected_id()
        self.withdraw.setEnabled(oid is not None and any(o.id == oid and s == "open" for o, s in self.offers))

    def _withdraw(self) -> None:
        oid = self.selected_id()
        if oid is not None:
            self.withdraw_requested.emit(oid)
