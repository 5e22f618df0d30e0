"""Peers: the connected peers (address, network, transport, services, ping, height, traffic, age),
adding a peer by host:port and disconnecting the selected one."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
)

from app.bridge import CoreBridge
from app.context import AppContext
from app.models.peers import PeersModel
from app.widgets import Card, Page, hbox, muted
from core.node.node import LightNode
from core.settings import SettingsError, parse_peer

REFRESH_MS = 2000  # ping and byte counters change without events: re-read them this often while shown


class PeersPage(Page):
    """The peer table and its two actions."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Peers", "The light node's outbound connections (it accepts none inbound).")
        self.setObjectName("page_peers")
        self.ctx = ctx
        self.model = PeersModel()

        table_card = Card("Connected peers", "peers_card")
        self.count_label = muted(QLabel("No peers yet"))
        self.count_label.setObjectName("peer_count")
        table_card.content.addWidget(self.count_label)
        self.table = QTableView()
        self.table.setObjectName("peers_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        table_card.content.addWidget(self.table, 1)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnect_peer")
        self.disconnect_button.setEnabled(False)
        self.disconnect_button.clicked.connect(self.disconnect_selected)
        table_card.content.addLayout(hbox(None, self.disconnect_button))
        self.body.addWidget(table_card, 1)

        add_card = Card("Add a peer", "add_peer_card")
        self.address_edit = QLineEdit()
        self.address_edit.setObjectName("peer_address")
        self.address_edit.setPlaceholderText("host:port, [IPv6]:port or name.onion:port")
        self.address_edit.returnPressed.connect(self.add_peer)
        self.add_button = QPushButton("Add peer")
        self.add_button.setObjectName("add_peer")
        self.add_button.clicked.connect(self.add_peer)
        add_card.content.addLayout(hbox(self.address_edit, self.add_button))
        self.add_status = muted(QLabel("The peer is kept until the app closes; add it under Settings to keep it."))
        self.add_status.setObjectName("add_peer_status")
        self.add_status.setWordWrap(True)
        add_card.content.addWidget(self.add_status)
        self.body.addWidget(add_card)

        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        bridge.peers_changed.connect(self.refresh)
        bridge.node_ready.connect(self._refresh_on)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _refresh_on(self, *_: object) -> None:
        self.refresh()

    def _node(self) -> LightNode | None:
        return self.ctx.node

    def refresh(self) -> None:
        """Re-read the peer snapshots (a list of small dataclasses: cheap)."""
        node = self._node()
        infos = node.peer_infos() if node is not None else []
        self.model.update(infos)
        n = len(infos)
        self.count_label.setText(f"{n} peer{'s' if n != 1 else ''} connected" if n else "No peers connected")
        self._update_buttons()

    def _selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _update_buttons(self) -> None:
        self.disconnect_button.setEnabled(self.model.info_at(self._selected_row()) is not None)
        self.add_button.setEnabled(self._node() is not None)

    def add_peer(self) -> None:
        node = self._node()
        if node is None:
            return
        try:
            host, port = parse_peer(self.address_edit.text(), self.ctx.params.default_port)
        except SettingsError as e:
            self.add_status.setText(str(e))
            return
        node.peer_manager.add_peer(host, port)
        self.address_edit.clear()
        self.add_status.setText(f"Connecting to {host}:{port}… it appears above once the handshake is done.")

    def disconnect_selected(self) -> None:
        node = self._node()
        info = self.model.info_at(self._selected_row())
        if node is None or info is None:
            return
        node.peer_manager.disconnect_peer(info.address, info.port)
        self.table.clearSelection()
