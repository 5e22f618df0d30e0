"""Overview: the balance, the sync by stage with a progress bar and ETA, and the latest wallet activity."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
)

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from app.widgets import Card, Facts, Page, muted, scaled_font
from core.node.events import SyncProgress, SyncStage
from core.wallet.wallet import Wallet

STAGES = (
    (SyncStage.HEADERS, "Headers"),
    (SyncStage.FILTER_HEADERS, "Filter headers"),
    (SyncStage.FILTERS, "Filters"),
    (SyncStage.SYNCED, "Synced"),
)
RECENT_ROWS = 10


class StageEta:
    """An ETA for stages whose events carry none: the stage's average rate since it began."""

    def __init__(self) -> None:
        self._stage: SyncStage | None = None
        self._start: tuple[float, int] = (0.0, 0)

    def update(self, p: SyncProgress, now: float) -> float | None:
        if p.eta_seconds is not None:
            return p.eta_seconds
        if p.stage != self._stage:
            self._stage, self._start = p.stage, (now, p.height)
            return None
        t0, h0 = self._start
        done, left = p.height - h0, p.target - p.height
        if done <= 0 or left <= 0 or now - t0 < 1.0:
            return None
        return left * (now - t0) / done


class OverviewPage(Page):
    """Balance, sync and recent activity."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Overview")
        self.setObjectName("page_overview")
        self.ctx = ctx
        self._eta = StageEta()

        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(self._balance_card(), 1)
        top.addWidget(self._sync_card(), 1)
        self.body.addLayout(top)
        self.body.addWidget(self._activity_card(), 1)

        bridge.sync_progress.connect(self.on_sync)
        bridge.wallet_opened.connect(self._refresh_wallet_on)
        bridge.wallet_changed.connect(self.refresh_wallet)
        bridge.settings_changed.connect(self._refresh_wallet_on)
        bridge.node_ready.connect(self._on_node_ready)
        if bridge.last_sync is not None:
            self.on_sync(bridge.last_sync)
        self.refresh_wallet()

    # --- building ----------------------------------------------------------------------------------
    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _refresh_wallet_on(self, *_: object) -> None:
        self.refresh_wallet()

    def _on_node_ready(self, *_: object) -> None:
        self.stage_label.setText("Connecting to peers…")

    def _balance_card(self) -> Card:
        card = Card("Balance", "balance_card")
        self.balance_total = QLabel("—")
        self.balance_total.setObjectName("balance_total")
        self.balance_total.setFont(scaled_font(self.balance_total, 2.0, bold=True))
        self.balance_total.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        card.content.addWidget(self.balance_total)
        facts = Facts()
        self.balance_confirmed = facts.add("balance_confirmed", "Confirmed")
        self.balance_unconfirmed = facts.add("balance_unconfirmed", "Unconfirmed")
        self.balance_immature = facts.add("balance_immature", "Immature (mining)")
        card.content.addLayout(facts)
        self.balance_note = muted(QLabel(""))
        self.balance_note.setObjectName("balance_note")
        self.balance_note.setWordWrap(True)
        card.content.addWidget(self.balance_note)
        card.content.addStretch(1)
        return card

    def _sync_card(self) -> Card:
        card = Card("Sync", "sync_card")
        steps = QHBoxLayout()
        steps.setSpacing(16)
        self.stage_steps: dict[SyncStage, QLabel] = {}
        for stage, name in STAGES:
            label = muted(QLabel(f"○ {name}"))
            label.setObjectName(f"stage_{stage.value}")
            self.stage_steps[stage] = label
            steps.addWidget(label)
        steps.addStretch(1)
        card.content.addLayout(steps)
        self.stage_label = QLabel("Starting…")
        self.stage_label.setObjectName("sync_stage")
        self.stage_label.setFont(scaled_font(self.stage_label, 1.25, bold=True))
        card.content.addWidget(self.stage_label)
        self.progress = QProgressBar()
        self.progress.setObjectName("sync_progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        card.content.addWidget(self.progress)
        facts = Facts()
        self.sync_height = facts.add("sync_height", "Height")
        self.sync_eta = facts.add("sync_eta", "Time left")
        card.content.addLayout(facts)
        card.content.addStretch(1)
        return card

    def _activity_card(self) -> Card:
        card = Card("Recent activity", "activity_card")
        self.activity = QTableWidget(0, 4)
        self.activity.setObjectName("recent_activity")
        self.activity.setHorizontalHeaderLabels(["When", "Amount", "Status", "Label / transaction"])
        self.activity.verticalHeader().setVisible(False)
        self.activity.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.activity.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.activity.setShowGrid(False)
        self.activity.setAlternatingRowColors(True)
        header = self.activity.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.activity_note = muted(QLabel(""))
        self.activity_note.setObjectName("activity_note")
        card.content.addWidget(self.activity_note)
        card.content.addWidget(self.activity, 1)
        return card

    # --- updates -----------------------------------------------------------------------------------
    def on_sync(self, p: SyncProgress) -> None:
        order = [s for s, _ in STAGES]
        current = order.index(p.stage) if p.stage in order else -1
        for i, (stage, name) in enumerate(STAGES):
            mark = "✓" if i < current or p.stage is SyncStage.SYNCED else ("●" if i == current else "○")
            self.stage_steps[stage].setText(f"{mark} {name}")
        eta = self._eta.update(p, time.monotonic())
        if p.stage is SyncStage.SYNCED:
            self.stage_label.setText("Synced")
            self.progress.setValue(1000)
            self.sync_eta.setText("—")
        else:
            names = dict(STAGES)
            self.stage_label.setText(names.get(p.stage, "Connecting to peers…"))
            self.progress.setValue(int(1000 * p.height / p.target) if p.target > 0 else 0)
            self.sync_eta.setText(fmt.duration(eta) if eta is not None else "estimating…")
        self.sync_height.setText(f"{p.height:,} of {p.target:,}")

    def refresh_wallet(self) -> None:
        """Re-read the balance and the latest history rows (cheap queries on the wallet database)."""
        wallet = self.ctx.wallet
        if wallet is None:
            for label in (self.balance_confirmed, self.balance_unconfirmed, self.balance_immature):
                label.setText("—")
            self.balance_total.setText("No wallet")
            self.balance_note.setText("Create or restore a wallet to see its balance here.")
            self.activity.setRowCount(0)
            self.activity.hide()
            self.activity_note.setText("No wallet is open: activity shows up here once one is.")
            self.activity_note.show()
            return
        unit = self.ctx.settings.unit
        bal = wallet.balance()
        self.balance_total.setText(fmt.amount(bal.confirmed + bal.unconfirmed, unit))
        self.balance_confirmed.setText(fmt.amount(bal.confirmed, unit))
        self.balance_unconfirmed.setText(fmt.amount(bal.unconfirmed, unit))
        self.balance_immature.setText(fmt.amount(bal.immature, unit))
        self.balance_note.setText(f"{fmt.amount(bal.frozen, unit)} frozen (not spendable)" if bal.frozen else "")
        self._fill_activity(wallet)

    def _fill_activity(self, wallet: Wallet) -> None:
        rows, _cursor = wallet.history(RECENT_ROWS, None)
        self.activity_note.setText("" if rows else "No transactions yet.")
        self.activity_note.setVisible(not rows)
        self.activity.setVisible(bool(rows))
        self.activity.setRowCount(len(rows))
        unit = self.ctx.settings.unit
        # Each changed item would make the ResizeToContents header re-measure its column at once (~0.1 ms
        # per item; during a scan, with refreshes at 10/s, that held the loop for several ms each time):
        # change them quietly, then report the whole range once.
        model = self.activity.model()
        model.blockSignals(True)
        try:
            for r, row in enumerate(rows):
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.time)) if row.time else ""
                status = "unconfirmed" if row.height is None else _confirmations(row.confirmations)
                net = row.net
                amount = ("+" if net > 0 else "") + fmt.amount(net, unit)
                cells = (when, amount, status, row.label or str(row.txid))
                for c, text in enumerate(cells):
                    self._set_cell(r, c, text, str(row.txid) if c == 3 else None)
        finally:
            model.blockSignals(False)
        if rows:
            model.dataChanged.emit(model.index(0, 0), model.index(len(rows) - 1, model.columnCount() - 1))

    def _set_cell(self, r: int, c: int, text: str, tooltip: str | None) -> None:
        item = self.activity.item(r, c)
        if item is None:
            item = QTableWidgetItem(text)
            if c == 1:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.activity.setItem(r, c, item)
        elif item.text() != text:
            item.setText(text)
        if tooltip is not None and item.toolTip() != tooltip:
            item.setToolTip(tooltip)


def _confirmations(n: int) -> str:
    return "1 confirmation" if n == 1 else f"{n:,} confirmations"
