"""The "My trades" tab (and, with `arbitrator=True`, the disputes we arbitrate): a list of trades, open
ones first, beside the selected trade's detail (app/trade/trade_detail.py)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.trade.text import role_text, state_text
from app.trade.trade_detail import TradeDetail, clock
from app.widgets import list_table
from core.settings import Unit
from core.trade.context import Role
from core.trade.guide import TradeGuide
from core.trade.store import TradeRow

COLUMNS = ("You", "Amount", "State")
#: Marks a trade waiting for the user's action.
ACTION_MARK = "\u25cf "


class TradesTab(QWidget):
    """`set_trades([(row, guide), ...])`; the detail is `self.detail` (its signals go to the page)."""

    def __init__(self, name: str, unit: Unit, *, arbitrator: bool = False, empty: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        self.unit = unit
        self.arbitrator = arbitrator
        self.items: list[tuple[TradeRow, TradeGuide]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        split = QSplitter()
        split.setChildrenCollapsible(False)
        self.table = list_table(f"{name}_table", COLUMNS, 2)
        self.table.itemSelectionChanged.connect(self.selection_changed)
        split.addWidget(self.table)
        self.detail = TradeDetail(empty or "Take an offer or publish your own: its trade shows here.")
        split.addWidget(self.detail)
        split.setSizes([300, 730])
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        self.on_select = lambda _trade_id: None  # the page fills the detail for the selected trade

    def set_trades(self, items: list[tuple[TradeRow, TradeGuide]]) -> None:
        """Trades to list (filtered to our role here), open first, newest first."""
        keep = [(r, g) for r, g in items if (r.role is Role.ARBITRATOR) == self.arbitrator]
        keep.sort(key=lambda p: (p[0].final, -p[0].ctx.created_at))
        selected = self.selected_id()
        self.items = keep
        self.table.blockSignals(True)
        self.table.setRowCount(len(keep))
        for r, (row, g) in enumerate(keep):
            cells = (
                role_text(row.role), fmt.amount(g.view.amount_sat, self.unit) if g.view.amount_sat else "—",
                (ACTION_MARK if g.action else "") + state_text(row.state.value),
            )
            started = clock(row.ctx.created_at) if row.ctx.created_at else "—"
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{g.title} (started {started})")
                self.table.setItem(r, c, item)
        ids = [row.trade_id for row, _ in keep]
        if selected in ids:
            self.table.selectRow(ids.index(selected))
        elif ids and selected is None:
            self.table.selectRow(0)
        self.table.blockSignals(False)
        self.selection_changed()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.items):
            return None
        return self.items[rows[0].row()][0].trade_id

    def select(self, trade_id: str) -> bool:
        """Select the trade `trade_id` if it is listed."""
        ids = [row.trade_id for row, _ in self.items]
        if trade_id not in ids:
            return False
        self.table.selectRow(ids.index(trade_id))
        return True

    def selection_changed(self) -> None:
        self.on_select(self.selected_id())
