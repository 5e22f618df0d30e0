"""CoinsModel: the wallet's unspent outputs, optionally checkable (coin control).

Rows come from `Wallet.unspent_rows()` (one indexed query, no address encoding); the address of a row
is encoded the first time it is shown, so a wallet with 10,000 coins reloads quickly on the loop.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app import format as fmt
from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint
from core.script.address import script_to_address
from core.settings import Unit
from core.wallet.keychain import KeychainKind
from core.wallet.storage import labels as labels_store
from core.wallet.wallet import Wallet

COLUMNS = ("Amount", "Address", "Confirmations", "State", "Label", "Coin")
AMOUNT, ADDRESS, CONFIRMATIONS, STATE, LABEL, COIN = range(len(COLUMNS))
AnyIndex = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class CoinRow:
    """One unspent output as the table shows it."""

    __slots__ = ("address", "frozen", "height", "immature", "kind", "label", "outpoint", "script_pubkey", "value")

    def __init__(self, row: tuple, label: str | None) -> None:
        txid, vout, self.value, spk, self.kind, _idx, self.height, self.frozen, self.immature = row
        self.outpoint = OutPoint(Txid(bytes(txid)), vout)
        self.script_pubkey = bytes(spk)
        self.label = label
        self.address: str | None = None


class CoinsModel(QAbstractTableModel):
    """Unspent outputs, largest first; `checkable` adds a check box per row (coin control)."""

    def __init__(self, checkable: bool = False) -> None:
        super().__init__()
        self.checkable = checkable
        self.rows: list[CoinRow] = []
        self.checked: set[OutPoint] = set()
        self.unit = Unit.BTC
        self._wallet: Wallet | None = None
        self._addr_labels: dict[str, str] = {}

    def reload(self, wallet: Wallet | None, unit: Unit = Unit.BTC) -> None:
        """Re-read the wallet's coins (keeps check marks of coins still unspent)."""
        self.beginResetModel()
        self._wallet, self.unit = wallet, unit
        self.rows, self._addr_labels = [], {}
        if wallet is not None:
            labels = labels_store.all_labels(wallet.db)
            outputs = {lb.ref: lb.label for lb in labels if lb.type == "output" and lb.label}
            self._addr_labels = {lb.ref: lb.label for lb in labels if lb.type == "addr" and lb.label}
            for row in wallet.unspent_rows():
                self.rows.append(CoinRow(row, outputs.get(f"{Txid(bytes(row[0]))}:{row[1]}")))
            self.rows.sort(key=lambda c: (-c.value, bytes(c.outpoint.txid), c.outpoint.n))
        alive = {c.outpoint for c in self.rows}
        self.checked &= alive
        self.endResetModel()

    def coin(self, row: int) -> CoinRow:
        return self.rows[row]

    def selectable(self, coin: CoinRow) -> bool:
        """Coin control can pick coins that are neither frozen nor immature."""
        return not coin.frozen and not coin.immature

    # --- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if self.checkable and index.isValid() and index.column() == 0:
            if self.selectable(self.rows[index.row()]):
                base |= Qt.ItemFlag.ItemIsUserCheckable
            else:
                base &= ~Qt.ItemFlag.ItemIsEnabled
        return base

    def _address(self, coin: CoinRow) -> str:
        if coin.address is None and self._wallet is not None:
            coin.address = script_to_address(coin.script_pubkey, self._wallet.network) or "(non-standard)"
        return coin.address or ""

    def _state(self, coin: CoinRow) -> str:
        parts = []
        if coin.frozen:
            parts.append("frozen")
        if coin.immature:
            parts.append("immature")
        if coin.height is None:
            parts.append("unconfirmed")
        if coin.kind is KeychainKind.CHANGE:
            parts.append("change")
        return ", ".join(parts) or "spendable"

    def _confirmations(self, coin: CoinRow) -> int:
        if coin.height is None or self._wallet is None:
            return 0
        return max(self._wallet.tip_height - coin.height + 1, 0)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        coin, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == AMOUNT:
                return fmt.amount(coin.value, self.unit)
            if col == ADDRESS:
                return self._address(coin)
            if col == CONFIRMATIONS:
                return f"{self._confirmations(coin):,}"
            if col == STATE:
                return self._state(coin)
            if col == LABEL:
                return coin.label or self._addr_labels.get(self._address(coin), "")
            if col == COIN:
                return f"{coin.outpoint.txid}:{coin.outpoint.n}"
        if role == Qt.ItemDataRole.CheckStateRole and self.checkable and col == 0:
            return Qt.CheckState.Checked if coin.outpoint in self.checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (AMOUNT, CONFIRMATIONS):
            return RIGHT
        if role == Qt.ItemDataRole.UserRole:
            return coin
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not (self.checkable and index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole):
            return False
        coin = self.rows[index.row()]
        if not self.selectable(coin):
            return False
        if Qt.CheckState(value) == Qt.CheckState.Checked:
            self.checked.add(coin.outpoint)
        else:
            self.checked.discard(coin.outpoint)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def checked_total(self) -> int:
        return sum(c.value for c in self.rows if c.outpoint in self.checked)
