"""HistoryModel: the wallet's transactions, loaded lazily a keyset page at a time.

Only the rows scrolled into view are read: the view asks `canFetchMore`/`fetchMore` when it reaches the
end, and each call reads one page through `Wallet.history(limit, after)` (an index walk, a few ms), so a
wallet with 100,000 transactions opens and scrolls as fast as one with ten. Cells are formatted when
shown; confirmations follow the wallet's tip. Labels are BIP329 "tx" labels, editable in place.

Loaded rows are kept as plain tuples of atomic values, which Python's cyclic garbage collector stops
tracking: as HistoryEntry objects, 100,000 loaded rows added ~30 ms to every full collection, a visible
stall of the window each time one ran. `entry(row)` builds the HistoryEntry when one is asked for.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QModelRoleDataSpan, QPersistentModelIndex, Qt

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
# Roles as ints: data() runs for every role of every painted cell, and enum comparisons cost more than the rest.
_DISPLAY, _EDIT, _ALIGN, _TOOLTIP, _USER = (
    int(r) for r in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.TextAlignmentRole,
                     Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.UserRole)
)
# A loaded row: HistoryEntry's fields in order, the txid as plain bytes (a Txid, like any instance of a
# Python-defined class, is tracked by the collector, and so would be the tuple holding it).
Row = tuple[bytes, int | None, int, int | None, int, int, str | None, int]
_TX, _HEIGHT, _TIME, _FEE, _RECEIVED, _SENT, _LABEL = range(7)


def status_text(height: int | None, tip: int) -> str:
    if height is None:
        return "unconfirmed"
    n = max(tip - height + 1, 0)
    return "1 confirmation" if n == 1 else f"{n:,} confirmations"


class HistoryModel(QAbstractTableModel):
    """Newest first (unconfirmed on top); `reload()` after wallet changes, `fetchMore` for the next page."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self.unit = Unit.BTC
        self.wallet: Wallet | None = None
        self._cursor: HistoryCursor | None = None
        self.pages_read = 0  # for tests and the benchmark: how many history queries ran

    def reload(self, wallet: Wallet | None, unit: Unit | None = None) -> None:
        """Re-read the rows already shown (at least one page, at most MAX_RELOAD) from `wallet`."""
        if unit is not None:
            self.unit = unit
        keep = len(self._rows) if wallet is self.wallet else 0
        want = PAGE if keep > MAX_RELOAD else max(PAGE, keep)
        self.beginResetModel()
        self.wallet = wallet
        self._rows, self._cursor = [], None
        if wallet is not None:
            entries, self._cursor = wallet.history(want, None)
            self._rows = [_row(e) for e in entries]
            self.pages_read += 1
        self.endResetModel()

    def entry(self, row: int) -> HistoryEntry:
        return _entry(self._rows[row])

    @property
    def rows(self) -> list[HistoryEntry]:
        """Every loaded row as a HistoryEntry (builds them all: for tests and small wallets)."""
        return [_entry(r) for r in self._rows]

    def row_of(self, txid: Txid) -> int | None:
        """The row of a loaded transaction, or None."""
        return next((i for i, r in enumerate(self._rows) if r[_TX] == txid), None)

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
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(_row(e) for e in page)
        self.endInsertRows()

    # --- Qt model ---------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        # Qt's own index() asks rowCount() and columnCount() first: two calls into Python per cell, per role
        # through the search proxy. One is enough.
        if 0 <= row < len(self._rows) and 0 <= column < len(COLUMNS) and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

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

    def _text(self, r: Row, col: int) -> str:
        if col == DATE:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(r[_TIME])) if r[_TIME] else ""
        if col == STATUS:
            return status_text(r[_HEIGHT], self.wallet.tip_height if self.wallet is not None else -1)
        if col == LABEL:
            return r[_LABEL] or ""
        if col == AMOUNT:
            net = r[_RECEIVED] - r[_SENT]
            return ("+" if net > 0 else "") + fmt.amount(net, self.unit)
        if col == FEE:
            fee = r[_FEE]
            return fmt.amount(fee, self.unit) if fee is not None and r[_SENT] else ""
        return Txid(r[_TX]).to_hex()

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if role not in (_DISPLAY, _EDIT, _ALIGN, _TOOLTIP, _USER):
            return None
        row, col = index.row(), index.column()
        if not 0 <= row < len(self._rows):
            return None
        if role in (_DISPLAY, _EDIT):
            return self._text(self._rows[row], col)
        if role == _ALIGN:
            return RIGHT if col in (AMOUNT, FEE) else None
        if role == _TOOLTIP:
            return Txid(self._rows[row][_TX]).to_hex() if col in (LABEL, TXID) else None
        return self.entry(row)  # UserRole

    def multiData(self, index: AnyIndex, roleDataSpan: QModelRoleDataSpan) -> None:
        """All roles of one cell in one call (Qt's delegates ask this way: one call into Python, not seven)."""
        row, col = index.row(), index.column()
        r = self._rows[row] if index.isValid() and 0 <= row < len(self._rows) else None
        for rd in roleDataSpan:
            role = rd.role()
            if r is None:
                rd.clearData()
            elif role in (_DISPLAY, _EDIT):
                rd.setData(self._text(r, col))
            elif role == _ALIGN and col in (AMOUNT, FEE):
                rd.setData(RIGHT)
            elif role == _TOOLTIP and col in (LABEL, TXID):
                rd.setData(Txid(r[_TX]).to_hex())
            elif role == _USER:
                rd.setData(_entry(r))
            else:
                rd.clearData()

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != LABEL or self.wallet is None:
            return False
        r = self._rows[index.row()]
        text = str(value).strip() or None
        self.wallet.set_label("tx", Txid(r[_TX]).to_hex(), text)
        self._rows[index.row()] = (*r[:_LABEL], text, *r[_LABEL + 1 :])
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True

    def tip_changed(self) -> None:
        """Confirmations moved: repaint the status column."""
        if self._rows:
            self.dataChanged.emit(self.index(0, STATUS), self.index(len(self._rows) - 1, STATUS), [Qt.ItemDataRole.DisplayRole])


def _row(e: HistoryEntry) -> Row:
    return (bytes(e.txid), e.height, e.time, e.fee, e.received, e.sent, e.label, e.confirmations)


def _entry(r: Row) -> HistoryEntry:
    return HistoryEntry(Txid(r[_TX]), *r[1:])
