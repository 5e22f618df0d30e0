"""MainWindow: a sidebar over the page registry, a status bar, and the window's shortcuts.

Pages come from `app.pages.PAGES`; each is built once, up front, so its signal connections are live
whether or not it is shown. The status bar follows the bridge: network, peer count, header tip and
the sync stage. Closing the window (Ctrl+Q too) emits `closing`; the app then shuts the core down
in order before the loop ends.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from app.bridge import CoreBridge
from app.context import AppContext
from app.format import NETWORK_TEXT
from app.pages import PAGES, PageSpec
from core.node.events import SyncProgress, SyncStage
from core.node.node import LightNode

STAGE_TEXT = {
    SyncStage.CONNECTING: "Connecting",
    SyncStage.HEADERS: "Syncing headers",
    SyncStage.FILTER_HEADERS: "Syncing filter headers",
    SyncStage.FILTERS: "Scanning filters",
    SyncStage.SYNCED: "Synced",
}


class MainWindow(QMainWindow):
    """The one window. `pages` maps each page key to its widget."""

    closing = Signal()

    def __init__(self, ctx: AppContext, bridge: CoreBridge, specs: list[PageSpec] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.bridge = bridge
        self.specs = list(PAGES if specs is None else specs)
        self.setObjectName("main_window")
        self.setWindowTitle(f"Peerwallet — {NETWORK_TEXT.get(ctx.network, ctx.network)}")
        self.resize(1280, 800)
        self.setMinimumSize(QSize(900, 560))

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFrameShape(QFrame.Shape.NoFrame)
        self.nav.setFixedWidth(190)
        self.nav.setSpacing(2)
        self.nav.setStyleSheet(
            "QListWidget#nav { padding-top: 12px; outline: 0; } QListWidget#nav::item { padding: 8px 14px; }"
        )
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.pages: dict[str, QWidget] = {}
        for i, spec in enumerate(self.specs):
            page = spec.factory(ctx, bridge)
            if not page.objectName():
                page.setObjectName(f"page_{spec.key}")
            self.pages[spec.key] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            shortcut = spec.shortcut or (f"Ctrl+{i + 1}" if i < 9 else None)
            if shortcut:
                item.setToolTip(QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText))
                QShortcut(QKeySequence(shortcut), self, activated=lambda i=i: self.show_page_at(i))
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(line)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)
        self._build_status_bar()

    # --- navigation ------------------------------------------------------------------------------
    def show_page(self, key: str) -> QWidget:
        """Bring the page `key` to the front; returns it."""
        index = [s.key for s in self.specs].index(key)
        self.show_page_at(index)
        return self.pages[key]

    def show_page_at(self, index: int) -> None:
        if 0 <= index < len(self.specs):
            self.nav.setCurrentRow(index)

    def current_key(self) -> str:
        return self.specs[self.stack.currentIndex()].key

    # --- status bar ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("status_bar")
        self.status_network = QLabel(NETWORK_TEXT.get(self.ctx.network, self.ctx.network))
        self.status_peers = QLabel("Peers: 0")
        self.status_tip = QLabel("Tip: —")
        self.status_sync = QLabel("Starting…")
        for name, label in (
            ("status_network", self.status_network),
            ("status_peers", self.status_peers),
            ("status_tip", self.status_tip),
            ("status_sync", self.status_sync),
        ):
            label.setObjectName(name)
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        b = self.bridge
        b.node_ready.connect(self._on_node_ready)
        b.peers_changed.connect(self._update_peers)
        b.sync_progress.connect(self._on_sync)
        b.chain_tip.connect(lambda _tip: self._update_tip())
        b.node_warning.connect(lambda text: bar.showMessage(text, 15_000))
        if self.ctx.node is not None:
            self._on_node_ready(self.ctx.node)

    def _on_node_ready(self, node: LightNode) -> None:
        self.status_sync.setText(STAGE_TEXT[SyncStage.CONNECTING])
        self._update_peers()
        self._update_tip()
        if self.bridge.last_sync is not None:
            self._on_sync(self.bridge.last_sync)

    def _update_peers(self) -> None:
        node = self.ctx.node
        n = len(node.peer_infos()) if node is not None else 0
        self.status_peers.setText(f"Peers: {n}")

    def _update_tip(self) -> None:
        node = self.ctx.node
        if node is not None and node.tip_height >= 0:
            self.status_tip.setText(f"Tip: {node.tip_height:,}")

    def _on_sync(self, p: SyncProgress) -> None:
        text = STAGE_TEXT[p.stage]
        if p.stage not in (SyncStage.SYNCED, SyncStage.CONNECTING) and p.target > 0:
            text += f" {min(100.0, 100.0 * p.height / p.target):.0f}%"
        self.status_sync.setText(text)
        self._update_tip()

    # --- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.bridge.flush()
        self.closing.emit()
        event.accept()
