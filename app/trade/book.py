"""The offer book tab: filters (side, currency, payment method, amount), every open offer seen from the
user's side (ours marked, other platforms' orders read-only and greyed), and "Take offer…"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.trade.text import (
    amount_range,
    arbitrator_text,
    deposit_text,
    fiat_range,
    method_name,
    methods_text,
    price_text,
    user_side_text,
)
from app.widgets import hbox, list_table, muted
from core.errors import PeerwalletError
from core.settings import Unit
from core.trade.book_view import BookRow, currencies, filter_rows, methods
from core.trade.offer import ArbitratorRef, Side
from core.wallet.payment_input import parse_amount_text

COLUMNS = ("You", "Price", "Amount", "Fiat", "Payment methods", "Deposit", "Arbitrator", "Maker")
ALL = "All"


class OfferBookTab(QWidget):
    """`set_rows(rows)` after every change; `take_requested(BookRow)` when the user takes one."""

    take_requested = Signal(object)

    def __init__(self, unit: Unit) -> None:
        super().__init__()
        self.setObjectName("trade_book")
        self.unit = unit
        self.rows: list[BookRow] = []
        self.shown: list[BookRow] = []
        self.bot_arbitrator: ArbitratorRef | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        self.side = QComboBox()
        self.side.setObjectName("book_side")
        self.side.addItem("Buy and sell", None)
        self.side.addItem("I want to buy", Side.BUY)
        self.side.addItem("I want to sell", Side.SELL)
        self.currency = QComboBox()
        self.currency.setObjectName("book_currency")
        self.method = QComboBox()
        self.method.setObjectName("book_method")
        self.amount = QLineEdit()
        self.amount.setObjectName("book_amount")
        self.amount.setPlaceholderText(f"Amount ({unit.value})")
        self.amount.setMaximumWidth(160)
        for box in (self.side, self.currency, self.method):
            box.currentIndexChanged.connect(lambda _i: self._show())
        self.amount.textChanged.connect(lambda _t: self._show())
        layout.addLayout(hbox(self.side, QLabel("Currency"), self.currency, QLabel("Method"), self.method,
                              QLabel("Amount"), self.amount, None))
        self.table = list_table("book_table", COLUMNS, 4)
        self.table.itemSelectionChanged.connect(self._selection)
        self.table.itemDoubleClicked.connect(lambda _i: self._take())
        layout.addWidget(self.table, 1)
        self.count = muted(QLabel(""))
        self.count.setObjectName("book_count")
        self.note = muted(QLabel(""))
        self.note.setObjectName("book_note")
        self.note.setWordWrap(True)
        self.take = QPushButton("Take offer…")
        self.take.setObjectName("take_offer")
        self.take.setEnabled(False)
        self.take.clicked.connect(self._take)
        layout.addLayout(hbox(self.count, None, self.take))
        layout.addWidget(self.note)

    # --- data ------------------------------------------------------------------------------------
    def set_rows(self, rows: list[BookRow]) -> None:
        self.rows = rows
        self._fill_combo(self.currency, currencies(rows))
        self._fill_combo(self.method, methods(rows), method_name)
        self._show()

    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.amount.setPlaceholderText(f"Amount ({unit.value})")
        self._show()

    @staticmethod
    def _fill_combo(box: QComboBox, values: list[str], text=str) -> None:  # type: ignore[no-untyped-def]
        current = box.currentData()
        if [box.itemData(i) for i in range(1, box.count())] == values:
            return
        box.blockSignals(True)
        box.clear()
        box.addItem(ALL, None)
        for v in values:
            box.addItem(text(v), v)
        index = box.findData(current) if current is not None else 0
        box.setCurrentIndex(max(index, 0))
        box.blockSignals(False)

    def _amount(self) -> int | None:
        if not self.amount.text().strip():
            return None
        try:
            return parse_amount_text(self.amount.text(), self.unit)
        except PeerwalletError:
            return None

    def _show(self) -> None:
        selected = self.selected()
        side = self.side.currentData()  # combo box data comes back as a plain str
        self.shown = filter_rows(
            self.rows, side=Side(side) if side else None, currency=self.currency.currentData(),
            method=self.method.currentData(), amount_sat=self._amount(),
        )
        table = self.table
        table.setRowCount(len(self.shown))
        grey = QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText))
        for r, row in enumerate(self.shown):
            maker = "you" if row.mine else (row.name or "—")
            if row.read_only:
                maker = f"{row.platform} · read-only"
            cells = (
                user_side_text(row.user_side), price_text(row.price, row.premium_pct, row.currency),
                amount_range(row.min_sat, row.max_sat, self.unit), fiat_range(row.fiat_min, row.fiat_max, row.currency),
                methods_text(row.methods), deposit_text(row.deposit_bp),
                "—" if row.read_only else arbitrator_text(row.arbitrator, self.bot_arbitrator), maker,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (1, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.read_only:
                    item.setForeground(grey)
                    item.setToolTip(f"{row.name + ': ' if row.name else ''}an order from {row.platform}, shown for "
                                    "reference: take it in that platform's app.")
                elif c == 4 and row.reversible:
                    item.setToolTip("\u26a0 marks methods whose payments can be reversed after the release.")
                table.setItem(r, c, item)
        read_only = sum(1 for r in self.shown if r.read_only)
        total = len(self.shown)
        self.count.setText(f"{total} offer{'s' if total != 1 else ''}" + (f" ({read_only} read-only)" if read_only else ""))
        if selected is not None:
            keys = [r.key for r in self.shown]
            if selected.key in keys:
                table.selectRow(keys.index(selected.key))
        self._selection()

    def selected(self) -> BookRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.shown):
            return None
        return self.shown[rows[0].row()]

    def select(self, key: str) -> bool:
        """Select the offer `key` if it is shown."""
        keys = [r.key for r in self.shown]
        if key not in keys:
            return False
        self.table.selectRow(keys.index(key))
        return True

    def _selection(self) -> None:
        row = self.selected()
        takeable = row is not None and not row.read_only and not row.mine
        self.take.setEnabled(takeable)
        if row is None:
            self.note.setText("Select an offer to take it. \u26a0 marks payment methods that can be reversed.")
        elif row.read_only:
            self.note.setText(f"An order from {row.platform}: shown read-only, take it in that platform's app.")
        elif row.mine:
            self.note.setText("Your own offer: manage it under My offers.")
        else:
            self.note.setText("")

    def _take(self) -> None:
        row = self.selected()
        if row is not None and not row.read_only and not row.mine:
            self.take_requested.emit(row)
