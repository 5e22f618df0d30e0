"""HistoryModel: the wallet's transactions, loaded lazily a keyset page at a time.

Only the rows scrolled into view are read: the view asks `canFetchMore`/`fetchMore` when it reaches the
end, and each call reads one page through `Wallet.history(limit, after)` (an index walk, a few ms), so a
wallet with 100,000 transactions opens and scrolls as fast as one with ten. Cells are formatted when
shown; confirmations follow the wallet's tip. Labels are BIP329 "tx" labels, editable in place.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app import format as fmt
from core.consensus.hashes import Txid
from core.settings import Unit
from core.wallet.storage.db import HistoryCursor
from core.wallet.wallet import HistoryEntry, Wallet

PAGE = 200
#: After a wallet change at most this many rows are re-read (~10 ms); a user scrolled further starts at the top.
MAX_RELOAD = 400
COLUMNS = ("Date", "Status", "Label", "Amount", "Fee", "Transaction")
DATE, STATUS, LABEL, AMOUNT, FEE, TXID = range(len(COLUMNS))
AnyIndex = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def status_text(height: int | None, tip: int) -> str:
    if height is None:
        return "unconfirmed"
    n = max(tip - height + 1, 0)
    return "1 confirmation" if n == 1 else f"{n:,} confirmations"


class HistoryModel(QAbstractTableModel):
    """Newest first (unconfirmed on top); `reload()` after wallet changes, `fetchMore` for the next page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[HistoryEntry] = []
        self.unit = Unit.BTC
        self.wallet: Wallet | None = None
        self._cursor: HistoryCursor | None = None
        self.pages_read = 0  # for tests and the benchmark: how many history queries ran

    def reload(self, wallet: Wallet | None, unit: Unit | None = None) -> None:
        """Re-read the rows already shown (at least one page, at most MAX_RELOAD) from `wallet`."""
        if unit is not None:
            self.unit = unit
        keep = len(self.rows) if wallet is self.wallet else 0
        want = PAGE if keep > MAX_RELOAD else max(PAGE, keep)
        self.beginResetModel()
        self.wallet = wallet
        self.rows, self._cursor = [], None
        if wallet is not None:
            self.rows, self._cursor = wallet.history(want, None)
            self.pages_read += 1
        self.endResetModel()

    def entry(self, row: int) -> HistoryEntry:
        return self.rows[row]

    def row_of(self, txid: Txid) -> int | None:
        """The row of a loaded transaction, or None."""
        return next((i for i, e in enumerate(self.rows) if e.txid == txid), None)

    # --- lazy loading -----------------------------------------------------------------------------
    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008 (Qt's signature)
        return not parent.isValid() and self.wallet is not None and self._cursor is not None

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        assert self.wallet is not None
        page, self._cursor = self.wallet.history(PAGE, self._cursor)
        self.pages_read += 1
        if not page:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self.rows.extend(page)
        self.endInsertRows()

    # --- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == LABEL:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def _text(self, e: HistoryEntry, col: int) -> str:
        if col == DATE:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(e.time)) if e.time else ""
        if col == STATUS:
            return status_text(e.height, self.wallet.tip_height if self.wallet is not None else -1)
        if col == LABEL:
            return e.label or ""
        if col == AMOUNT:
            return ("+" if e.net > 0 else "") + fmt.amount(e.net, self.unit)
        if col == FEE:
            return fmt.amount(e.fee, self.unit) if e.fee is not None and e.sent else ""
        return str(e.txid)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        e, col = self.rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(e, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (AMOUNT, FEE):
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and col in (LABEL, TXID):
            return str(e.txid)
        if role == Qt.ItemDataRole.UserRole:
            return e
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != LABEL or self.wallet is None:
            return False
        e = self.rows[index.row()]
        text = str(value).strip() or None
        self.wallet.set_label("tx", str(e.txid), text)
        self.rows[index.row()] = dataclasses.replace(e, label=text)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True

    def tip_changed(self) -> None:
        """Confirmations moved: repaint the status column."""
        if self.rows:
            self.dataChanged.emit(self.index(0, STATUS), self.index(len(self.rows) - 1, STATUS), [Qt.ItemDataRole.DisplayRole])
