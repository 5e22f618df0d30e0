"""PeersModel: one row per connected peer, from `LightNode.peer_infos()` snapshots."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app import format as fmt
from core.node.addrman import Net, network_of
from core.node.events import PeerInfo

NET_TEXT = {Net.IPV4: "IPv4", Net.IPV6: "IPv6", Net.ONION: "Tor", Net.OTHER: "Other"}
COLUMNS = ("Address", "Network", "Transport", "Services", "Ping", "Height", "Received", "Sent", "Connected")
AnyIndex = QModelIndex | QPersistentModelIndex


def endpoint(info: PeerInfo) -> str:
    """"host:port", with IPv6 hosts in brackets."""
    host = f"[{info.address}]" if ":" in info.address else info.address
    return f"{host}:{info.port}"


class PeersModel(QAbstractTableModel):
    """Rows in connection order; `update(infos)` keeps rows of peers still connected in place."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PeerInfo] = []

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        info, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(info, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                direction = "inbound" if info.inbound else "outbound"
                return f"{endpoint(info)} ({direction})\n{info.user_agent}"
            if col == 3:
                return fmt.services(info.services)
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return info
        return None

    @staticmethod
    def _text(info: PeerInfo, col: int) -> str:
        if col == 0:
            return endpoint(info)
        if col == 1:
            return NET_TEXT[network_of(info.address)]
        if col == 2:
            return info.transport
        if col == 3:
            return fmt.services(info.services)
        if col == 4:
            return "—" if info.ping_ms is None else f"{info.ping_ms:.0f} ms"
        if col == 5:
            return f"{info.height:,}"
        if col == 6:
            return fmt.data_size(info.bytes_in)
        if col == 7:
            return fmt.data_size(info.bytes_out)
        return time.strftime("%H:%M:%S", time.localtime(info.connected_since))

    def update(self, infos: list[PeerInfo]) -> None:
        """Replace the rows: removed and added peers change the row set, others just refresh."""
        key = endpoint
        new = {key(i): i for i in infos}
        old_keys = [key(i) for i in self.rows]
        for row in range(len(self.rows) - 1, -1, -1):
            if old_keys[row] not in new:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self.rows[row]
                self.endRemoveRows()
        kept = {key(i) for i in self.rows}
        for row, info in enumerate(self.rows):
            self.rows[row] = new[key(info)]
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))
        added = [i for k, i in new.items() if k not in kept]
        if added:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self.rows.extend(added)
            self.endInsertRows()

    def info_at(self, row: int) -> PeerInfo | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None
