"""AddressesModel: the wallet's derived receive and change addresses with use, hand-out state and labels.

Labels are BIP329 "addr" labels, editable in place. The rows are the keychain's derived window (handed
out plus the gap limit per chain), so the list stays short however long the wallet has been used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from core.wallet.keychain import KeychainKind
from core.wallet.wallet import AddressInfo, Wallet

COLUMNS = ("Chain", "#", "Address", "State", "Label")
CHAIN, INDEX, ADDRESS, STATE, LABEL = range(len(COLUMNS))
CHAIN_TEXT = {KeychainKind.RECEIVE: "receive", KeychainKind.CHANGE: "change"}
AnyIndex = QModelIndex | QPersistentModelIndex


class AddressesModel(QAbstractTableModel):
    """Receive addresses first, then change, each by index."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[AddressInfo] = []
        self.wallet: Wallet | None = None

    def reload(self, wallet: Wallet | None) -> None:
        self.beginResetModel()
        self.wallet = wallet
        self.rows = []
        if wallet is not None:
            for kind in KeychainKind:
                self.rows.extend(wallet.addresses(kind))
        self.endResetModel()

    def row_of(self, address: str) -> int | None:
        return next((i for i, a in enumerate(self.rows) if a.address == address), None)

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
        if index.isValid() and index.column() == LABEL:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        a, col = self.rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            state = "used" if a.used else ("given out" if a.handed_out else "")
            return (CHAIN_TEXT[a.kind], str(a.index), a.address, state, a.label or "")[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == ADDRESS:
            return a.address
        if role == Qt.ItemDataRole.ToolTipRole and col == STATE:
            return {"used": "This address has received coins.", "given out": "Shown or handed out, nothing received yet."}.get(
                "used" if a.used else ("given out" if a.handed_out else ""), "Not handed out yet (within the gap limit).")
        if role == Qt.ItemDataRole.TextAlignmentRole and col == INDEX:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return a
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != LABEL or self.wallet is None:
            return False
        a = self.rows[index.row()]
        text = str(value).strip() or None
        self.wallet.set_label("addr", a.address, text)
        self.rows[index.row()] = dataclasses.replace(a, label=text)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True
