"""Mempool: what the light node sees of the network's mempool — size, arrivals, a fee-rate histogram
(with how much of the mempool it covers), fee estimates and the latest transactions."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QEvent, QMargins, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from app.widgets import Card, Facts, Page, muted, scaled_font
from core.consensus.tx import Transaction
from core.mempool.feerate import FeeRate
from core.node.fee_estimator import FeeEstimate
from core.node.mempool_ledger import BUCKET_BOUNDS
from core.node.tx_events import FeeBucket, MempoolStats

TARGETS = (1, 3, 6, 24)
ESTIMATE_EVERY = 5.0  # seconds between fee re-estimates (each one copies the tracked fee points)
RECENT_TXS = 12
LEFT_WIDTH = 360
MIN_BARS = 10


def _dark(palette: QPalette) -> bool:
    """Whether the palette in use is dark (the system's scheme, or a palette the user's style set)."""
    if QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark:
        return True
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class MempoolPage(Page):
    """Statistics, histogram, estimates, recent transactions."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Mempool", "Unconfirmed transactions announced by our peers. Fees are known only where the node saw every input.")
        self.setObjectName("page_mempool")
        self.ctx = ctx
        self.estimates: list[FeeEstimate] = []
        self._estimating = False
        self._last_estimate = float("-inf")

        left = QVBoxLayout()
        left.setSpacing(14)
        left.addWidget(self._stats_card())
        left.addWidget(self._fees_card(), 1)
        right = QVBoxLayout()
        right.setSpacing(14)
        right.addWidget(self._chart_card(), 3)
        right.addWidget(self._recent_card(), 2)
        columns = QHBoxLayout()
        columns.setSpacing(14)
        columns.addLayout(left)
        columns.addLayout(right, 1)
        self.body.addLayout(columns, 1)

        bridge.mempool_stats.connect(self.on_stats)
        bridge.mempool_txs.connect(self.on_txs)
        bridge.block_connected.connect(self._on_block)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _s: self._apply_theme())
        if bridge.last_mempool is not None:
            self.on_stats(bridge.last_mempool)

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _on_block(self, *_: object) -> None:
        self._maybe_estimate(force=True)

    # --- building ----------------------------------------------------------------------------------

    def _stats_card(self) -> Card:
        card = Card("Now", "mempool_stats_card")
        card.setFixedWidth(LEFT_WIDTH)
        facts = Facts()
        self.tx_count = facts.add("mempool_count", "Transactions")
        self.vsize_label = facts.add("mempool_vsize", "Size")
        self.rate_label = facts.add("mempool_rate", "Arrivals")
        self.replacements_label = facts.add("mempool_replacements", "Replacements")
        self.feefilter_label = facts.add("mempool_feefilter", "Lowest peer fee filter")
        card.content.addLayout(facts)
        return card

    def _chart_card(self) -> Card:
        card = Card("Size by fee rate", "histogram_card")
        self.chart = QChart()
        self.chart.legend().hide()
        self.chart.setMargins(QMargins(0, 0, 0, 0))
        self.chart.setBackgroundRoundness(0)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setObjectName("fee_histogram")
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(220)
        self.series = QBarSeries()
        self.series.setBarWidth(0.7)
        self.bars = QBarSet("vsize")
        self.series.append(self.bars)
        self.chart.addSeries(self.series)
        self.axis_x = QBarCategoryAxis()
        self.axis_x.setTitleText("fee rate, sat/vB (each bar from this rate up to the next)")
        self.axis_y = QValueAxis()
        self.axis_y.setLabelFormat("%.0f")
        self.chart.addAxis(self.axis_x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.axis_y, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.axis_x)
        self.series.attachAxis(self.axis_y)
        self._apply_theme()
        card.content.addWidget(self.chart_view, 1)
        self.coverage = muted(QLabel("Waiting for transactions…"))
        self.coverage.setObjectName("histogram_coverage")
        self.coverage.setWordWrap(True)
        card.content.addWidget(self.coverage)
        return card

    def _fees_card(self) -> Card:
        card = Card("Fee estimates", "fee_estimates_card")
        card.setFixedWidth(LEFT_WIDTH)
        self.fee_grid = QGridLayout()
        self.fee_grid.setHorizontalSpacing(12)
        self.fee_grid.setVerticalSpacing(2)
        self.fee_grid.setColumnStretch(1, 1)
        self.fee_labels: dict[int, tuple[QLabel, QLabel]] = {}
        for i, target in enumerate(TARGETS):
            name = QLabel("Next block" if target == 1 else f"Within {target} blocks")
            rate = QLabel("…")
            rate.setObjectName(f"fee_rate_{target}")
            rate.setFont(scaled_font(rate, 1.0, bold=True))
            basis = muted(QLabel(""))
            basis.setObjectName(f"fee_basis_{target}")
            basis.setWordWrap(True)
            basis.setFont(scaled_font(basis, 0.85))
            basis.setContentsMargins(0, 0, 0, 8)
            self.fee_grid.addWidget(name, 2 * i, 0)
            self.fee_grid.addWidget(rate, 2 * i, 1, Qt.AlignmentFlag.AlignRight)
            self.fee_grid.addWidget(basis, 2 * i + 1, 0, 1, 2)
            self.fee_grid.setRowMinimumHeight(2 * i + 1, 0)
            self.fee_labels[target] = (rate, basis)
        card.content.addLayout(self.fee_grid)
        card.content.addStretch(1)
        return card

    def _recent_card(self) -> Card:
        card = Card("Latest transactions", "recent_txs_card")
        self.recent = QTableWidget(0, 4)
        self.recent.setObjectName("recent_txs")
        self.recent.setHorizontalHeaderLabels(["Txid", "Size", "Fee rate", "Outputs"])
        _plain_table(self.recent)
        self.recent.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        box = QVBoxLayout()
        box.addWidget(self.recent, 1)
        card.content.addLayout(box, 1)
        return card

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()
        super().changeEvent(event)

    def _apply_theme(self) -> None:
        """Chart colours from the palette, so the chart follows light and dark schemes like the widgets."""
        pal = self.palette()
        self.chart.setTheme(QChart.ChartTheme.ChartThemeDark if _dark(pal) else QChart.ChartTheme.ChartThemeLight)
        text = pal.color(QPalette.ColorRole.WindowText)
        muted_text = pal.color(QPalette.ColorRole.PlaceholderText)
        for axis in (self.axis_x, self.axis_y):
            axis.setLabelsBrush(text)
            axis.setTitleBrush(muted_text)
            axis.setGridLineColor(pal.color(QPalette.ColorRole.Mid))
            axis.setLinePenColor(pal.color(QPalette.ColorRole.Mid))
        self.bars.setColor(pal.color(QPalette.ColorRole.Highlight))
        self.bars.setBorderColor(pal.color(QPalette.ColorRole.Highlight))
        self.chart.setBackgroundVisible(False)
        self.chart.setPlotAreaBackgroundVisible(False)
        self.chart_view.setStyleSheet("background: transparent")

    # --- updates -----------------------------------------------------------------------------------
    def on_stats(self, s: MempoolStats) -> None:
        self.tx_count.setText(f"{s.count:,}")
        self.vsize_label.setText(fmt.vsize(s.vsize))
        self.rate_label.setText(f"{s.arrival_rate:.2f} tx/s")
        self.replacements_label.setText(f"{s.replacements:,}")
        self.feefilter_label.setText(
            "—" if s.min_fee_filter is None else fmt.fee_rate(FeeRate.per_kvb(s.min_fee_filter))
        )
        self._draw_histogram(s)
        self._maybe_estimate()

    def _draw_histogram(self, s: MempoolStats) -> None:
        rows = histogram_rows(s.histogram)
        labels = [label for label, _ in rows]
        kilo = max((v for _, v in rows), default=0) >= 10_000
        values = [v / 1000 if kilo else float(v) for _, v in rows]
        self.axis_y.setTitleText("kvB" if kilo else "vB")
        self.axis_x.clear()
        self.axis_x.append(labels)
        self.axis_x.setLabelsAngle(-90 if len(labels) > 20 else 0)
        self.bars.remove(0, self.bars.count())
        self.bars.append(values)
        self.axis_y.setRange(0, max(values, default=1.0) * 1.1)
        self.axis_y.applyNiceNumbers()
        share = f"{100 * s.coverage:.0f}%"
        if s.count == 0:
            self.coverage.setText("No transactions tracked yet.")
        else:
            self.coverage.setText(
                f"Covers {s.fee_known_count:,} of {s.count:,} transactions ({share} of the tracked size): "
                "the others spend outputs this node has not seen, so their fee is unknown."
            )

    def _maybe_estimate(self, force: bool = False) -> None:
        node = self.ctx.node
        now = time.monotonic()
        if node is None or self._estimating or (not force and now - self._last_estimate < ESTIMATE_EVERY):
            return
        self._estimating = True
        self._last_estimate = now
        self.ctx.spawn(self.update_estimates(), "fee estimates")

    async def update_estimates(self) -> None:
        """Ask the node for fresh fee estimates and show them."""
        self._estimating = True
        try:
            node = self.ctx.node
            if node is None:
                return
            self.estimates = await node.estimate_fees(TARGETS)
        finally:
            self._estimating = False
        self._show_estimates()

    def _show_estimates(self) -> None:
        for e in self.estimates:
            labels = self.fee_labels.get(e.target)
            if labels is not None:
                labels[0].setText(fmt.fee_rate(e.fee_rate))
                labels[1].setText(e.basis.replace("; ", "\n"))

    def on_txs(self, txs: tuple[Transaction, ...]) -> None:
        node = self.ctx.node
        ledger = getattr(getattr(node, "mempool", None), "ledger", None)
        for tx in txs[-RECENT_TXS:]:
            tracked = ledger.txs.get(bytes(tx.txid)) if ledger is not None else None
            fee = tracked.fee if tracked is not None else None
            rate = "unknown" if fee is None else fmt.fee_rate(FeeRate.from_fee(fee, tx.vsize))
            out = sum(o.value for o in tx.vout)
            self.recent.insertRow(0)
            cells = (str(tx.txid), fmt.vsize(tx.vsize), rate, fmt.amount(out, self.ctx.settings.unit))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.recent.setItem(0, c, item)
        while self.recent.rowCount() > RECENT_TXS:
            self.recent.removeRow(self.recent.rowCount() - 1)


def histogram_rows(buckets: Sequence[FeeBucket], min_rows: int = MIN_BARS) -> list[tuple[str, int]]:
    """(label, vsize) for every bucket from the lowest to the highest non-empty one, empty ones too,
    widened to `min_rows` neighbouring buckets so a lone bar does not fill the chart."""
    if not buckets:
        return []
    bounds = (0, *BUCKET_BOUNDS)  # bucket i is [bounds[i], bounds[i + 1]), the last one has no top
    index = {b.low: i for i, b in enumerate(_all_buckets(bounds))}
    lo, hi = index[buckets[0].low], index[buckets[-1].low]
    while hi - lo + 1 < min_rows and (lo > 0 or hi < len(bounds) - 1):
        if hi < len(bounds) - 1:
            hi += 1
        if hi - lo + 1 < min_rows and lo > 0:
            lo -= 1
    sizes = {b.low: b.vsize for b in buckets}
    return [
        (fmt.bucket_label(b.low, b.high), sizes.get(b.low, 0)) for b in _all_buckets(bounds)[lo : hi + 1]
    ]


def _all_buckets(bounds: tuple[int, ...]) -> list[FeeBucket]:
    return [FeeBucket(low, bounds[i + 1] if i + 1 < len(bounds) else None, 0, 0) for i, low in enumerate(bounds)]


def _plain_table(table: QTableWidget) -> None:
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
