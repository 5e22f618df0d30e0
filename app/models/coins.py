"""CoinsModel: the wallet's unspent outputs, optionally checkable (coin control).

Rows come from a coin snapshot (core.wallet.snapshot: one indexed query, no address encoding), read and
built into columns of plain values in a worker thread for the page; a row's address is encoded the first
time it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app import format as fmt
from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint
from core.script.address import script_to_address
from core.settings import Unit
from core.wallet.keychain import KeychainKind
from core.wallet.snapshot import CoinSnapshot
from core.wallet.wallet import Wallet

COLUMNS = ("Amount", "Address", "Confirmations", "State", "Label", "Coin")
AMOUNT, ADDRESS, CONFIRMATIONS, STATE, LABEL, COIN = range(len(COLUMNS))
AnyIndex = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_KINDS = {None: None, 0: KeychainKind.RECEIVE, 1: KeychainKind.CHANGE}


class CoinColumns:
    """The coins, largest first, in columns of plain values: a handful of lists rather than ~100,000
    objects that every full garbage collection would walk (building those in a worker thread stalled
    the loop by ~40 ms per collection). Built from a CoinSnapshot; pure, so it runs in a worker thread."""

    __slots__ = ("frozen", "height", "immature", "internal", "label", "spk", "txid", "value", "vout")

    def __init__(self, snapshot: CoinSnapshot | None = None) -> None:
        rows = snapshot.rows if snapshot is not None else []
        order = sorted(range(len(rows)), key=lambda i: (-rows[i][2], bytes(rows[i][0]), rows[i][1]))
        self.txid = [bytes(rows[i][0]) for i in order]
        self.vout: list[int] = [rows[i][1] for i in order]
        self.value: list[int] = [rows[i][2] for i in order]
        self.spk = [bytes(rows[i][3]) for i in order]
        self.internal: list[int | None] = [rows[i][4] for i in order]
        self.height: list[int | None] = [rows[i][6] for i in order]
        self.frozen: list[bool] = [rows[i][7] for i in order]
        self.immature: list[bool] = [rows[i][8] for i in order]
        labels = snapshot.output_labels if snapshot is not None else {}
        # The label key is the displayed (byte-reversed) txid, as Txid prints it.
        self.label: list[str | None] = (
            [labels.get(f"{t[::-1].hex()}:{n}") for t, n in zip(self.txid, self.vout, strict=True)]
            if labels else [None] * len(order)
        )

    def __len__(self) -> int:
        return len(self.value)


class CoinRow:
    """One unspent output as the table shows it (made on demand from the columns)."""

    __slots__ = ("frozen", "height", "immature", "kind", "label", "outpoint", "script_pubkey", "value")

    def __init__(self, cols: CoinColumns, i: int) -> None:
        self.outpoint = OutPoint(Txid(cols.txid[i]), cols.vout[i])
        self.value, self.script_pubkey, self.height = cols.value[i], cols.spk[i], cols.height[i]
        self.kind = _KINDS[cols.internal[i]]
        self.frozen, self.immature, self.label = cols.frozen[i], cols.immature[i], cols.label[i]


class CoinRows(Sequence[CoinRow]):
    """The model's rows as a sequence of CoinRow, each made when asked for."""

    def __init__(self, cols: CoinColumns) -> None:
        self.cols = cols

    def __len__(self) -> int:
        return len(self.cols)

    @overload
    def __getitem__(self, i: int) -> CoinRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[CoinRow]: ...
    def __getitem__(self, i: int | slice) -> CoinRow | list[CoinRow]:
        if isinstance(i, slice):
            return [CoinRow(self.cols, j) for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return CoinRow(self.cols, i % len(self))


class CoinsModel(QAbstractTableModel):
    """Unspent outputs, largest first; `checkable` adds a check box per row (coin control)."""

    def __init__(self, checkable: bool = False) -> None:
        super().__init__()
        self.checkable = checkable
        self.cols = CoinColumns()
        self.checked: set[OutPoint] = set()
        self.unit = Unit.BTC
        self._wallet: Wallet | None = None
        self._addr_labels: dict[str, str] = {}
        self._addresses: dict[int, str] = {}  # row -> address, encoded when first shown
        self._rows_by_key: dict[tuple[bytes, int], int] | None = None  # (txid, vout) -> row, made when needed

    @property
    def rows(self) -> CoinRows:
        """The rows (CoinRow objects made on demand)."""
        return CoinRows(self.cols)

    @staticmethod
    def build(snapshot: CoinSnapshot) -> tuple[CoinColumns, dict[str, str]]:
        """The columns and the address labels (pure: runs in a worker thread too)."""
        return CoinColumns(snapshot), snapshot.address_labels

    def set_rows(self, wallet: Wallet | None, unit: Unit, cols: CoinColumns, addr_labels: dict[str, str]) -> None:
        """Show `cols` (keeps check marks of coins still unspent)."""
        self.beginResetModel()
        self._wallet, self.unit = wallet, unit
        self.cols, self._addr_labels, self._addresses, self._rows_by_key = cols, addr_labels, {}, None
        if self.checked:
            self.checked = {op for op in self.checked if self.row_of(op) is not None}
        self.endResetModel()

    def row_of(self, outpoint: OutPoint) -> int | None:
        """The row showing `outpoint` (None if it is not among the coins)."""
        if self._rows_by_key is None:
            self._rows_by_key = {key: i for i, key in enumerate(zip(self.cols.txid, self.cols.vout, strict=True))}
        return self._rows_by_key.get((bytes(outpoint.txid), outpoint.n))

    def check(self, outpoints: Iterable[OutPoint]) -> None:
        """Add these coins to the checked ones, those shown and selectable only."""
        for op in outpoints:
            row = self.row_of(op)
            if row is not None and not self.cols.frozen[row] and not self.cols.immature[row]:
                self.checked.add(op)

    def checked_in_order(self) -> list[OutPoint]:
        """The checked coins in the table's order."""
        rows = sorted(r for op in self.checked if (r := self.row_of(op)) is not None)
        return [OutPoint(Txid(self.cols.txid[r]), self.cols.vout[r]) for r in rows]

    def set_frozen(self, row: int, frozen: bool) -> None:
        """Show a coin frozen or thawed at once (the wallet stored it; the next read agrees)."""
        self.cols.frozen[row] = frozen
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def coin(self, row: int) -> CoinRow:
        return CoinRow(self.cols, row)

    def selectable(self, coin: CoinRow) -> bool:
        """Coin control can pick coins that are neither frozen nor immature."""
        return not coin.frozen and not coin.immature

    # --- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.cols)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if self.checkable and index.isValid() and index.column() == 0:
            if self.selectable(self.coin(index.row())):
                base |= Qt.ItemFlag.ItemIsUserCheckable
            else:
                base &= ~Qt.ItemFlag.ItemIsEnabled
        return base

    def _address(self, row: int) -> str:
        address = self._addresses.get(row)
        if address is None and self._wallet is not None:
            address = script_to_address(self.cols.spk[row], self._wallet.network) or "(non-standard)"
            self._addresses[row] = address
        return address or ""

    def _state(self, row: int) -> str:
        cols, parts = self.cols, []
        if cols.frozen[row]:
            parts.append("frozen")
        if cols.immature[row]:
            parts.append("immature")
        if cols.height[row] is None:
            parts.append("unconfirmed")
        if cols.internal[row] == 1:
            parts.append("change")
        return ", ".join(parts) or "spendable"

    def _confirmations(self, row: int) -> int:
        height = self.cols.height[row]
        if height is None or self._wallet is None:
            return 0
        return max(self._wallet.tip_height - height + 1, 0)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, col, cols = index.row(), index.column(), self.cols
        if not index.isValid() or row >= len(cols):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == AMOUNT:
                return fmt.amount(cols.value[row], self.unit)
            if col == ADDRESS:
                return self._address(row)
            if col == CONFIRMATIONS:
                return f"{self._confirmations(row):,}"
            if col == STATE:
                return self._state(row)
            if col == LABEL:
                return cols.label[row] or self._addr_labels.get(self._address(row), "")
            if col == COIN:
                return f"{cols.txid[row][::-1].hex()}:{cols.vout[row]}"
        if role == Qt.ItemDataRole.CheckStateRole and self.checkable and col == 0:
            checked = OutPoint(Txid(cols.txid[row]), cols.vout[row]) in self.checked
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (AMOUNT, CONFIRMATIONS):
            return RIGHT
        if role == Qt.ItemDataRole.UserRole:
            return self.coin(row)
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not (self.checkable and index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole):
            return False
        coin = self.coin(index.row())
        if not self.selectable(coin):
            return False
        if Qt.CheckState(value) == Qt.CheckState.Checked:
            self.checked.add(coin.outpoint)
        else:
            self.checked.discard(coin.outpoint)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def checked_total(self) -> int:
        """The checked coins' value in satoshis."""
        return sum(self.cols.value[r] for op in self.checked if (r := self.row_of(op)) is not None)
