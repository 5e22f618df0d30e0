"""The overview, peers and mempool pages against a live sandbox (real node, real peer, real traffic)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QProgressBar, QPushButton, QTableView, QTableWidget

from app.context import FAUCET_AMOUNT, FAUCET_PAYMENTS, WELCOME_AMOUNT
from app.format import amount
from core.node.events import PeerDown, SyncStage
from core.sandbox.node import SandboxConfig, SandboxNode
from tests.gui.conftest import WAIT_MS, App, run


def _cell(view: QTableView, row: int, col: int) -> str:
    return str(view.model().index(row, col).data(Qt.ItemDataRole.DisplayRole))


def test_overview_reaches_synced_and_shows_the_funded_wallet(app: App, qtbot: Any) -> None:
    page = app.window.show_page("overview")
    stage = page.findChild(QLabel, "sync_stage")
    bar = page.findChild(QProgressBar, "sync_progress")
    qtbot.waitUntil(lambda: stage.text() == "Synced" and bar.value() == bar.maximum(), timeout=WAIT_MS)
    assert app.bridge.last_sync is not None and app.bridge.last_sync.stage is SyncStage.SYNCED
    for key in ("headers", "filter_headers", "filters", "synced"):
        assert page.findChild(QLabel, f"stage_{key}").text().startswith("✓")
    assert page.findChild(QLabel, "sync_height").text() == f"{app.ctx.sandbox.tip.height} of {app.ctx.sandbox.tip.height}"
    # A first sandbox run creates a wallet and pays it from the faucet; one more payment stays unconfirmed.
    confirmed = page.findChild(QLabel, "balance_confirmed")
    unconfirmed = page.findChild(QLabel, "balance_unconfirmed")
    qtbot.waitUntil(lambda: confirmed.text() == amount(FAUCET_PAYMENTS * FAUCET_AMOUNT), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: unconfirmed.text() == amount(WELCOME_AMOUNT), timeout=WAIT_MS)
    total = page.findChild(QLabel, "balance_total")
    assert total.text() == amount(FAUCET_PAYMENTS * FAUCET_AMOUNT + WELCOME_AMOUNT)
    activity = page.findChild(QTableWidget, "recent_activity")
    qtbot.waitUntil(lambda: activity.rowCount() == FAUCET_PAYMENTS + 1, timeout=WAIT_MS)
    assert activity.item(0, 2).text() == "unconfirmed"
    assert activity.item(0, 1).text() == "+" + amount(WELCOME_AMOUNT)
    assert {activity.item(r, 2).text() for r in range(1, activity.rowCount())} == {"1 confirmation"}
    # A new block confirms the last payment; the page follows the wallet's events.
    run(qtbot, app.ctx.sandbox.generate(1))
    qtbot.waitUntil(lambda: unconfirmed.text() == amount(0), timeout=WAIT_MS)
    assert confirmed.text() == amount(FAUCET_PAYMENTS * FAUCET_AMOUNT + WELCOME_AMOUNT)


def test_peers_table_lists_the_sandbox_peer_with_its_transport(app: App, qtbot: Any, tmp_path: Any) -> None:
    page = app.window.show_page("peers")
    table = page.findChild(QTableView, "peers_table")
    sbx = app.ctx.sandbox
    assert sbx is not None
    qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=WAIT_MS)
    assert _cell(table, 0, 0) == f"127.0.0.1:{sbx.port}"
    assert (_cell(table, 0, 1), _cell(table, 0, 2)) == ("IPv4", "v2")
    assert "COMPACT_FILTERS" in _cell(table, 0, 3) and "WITNESS" in _cell(table, 0, 3)
    assert _cell(table, 0, 5) == f"{sbx.tip.height:,}"
    qtbot.waitUntil(lambda: _cell(table, 0, 4).endswith(" ms"), timeout=WAIT_MS)  # the first ping is answered
    assert page.findChild(QLabel, "peer_count").text() == "1 peer connected"

    # Add a second (v1-only) sandbox node by address.
    other = SandboxNode(SandboxConfig(tmp_path / "other", v2_transport=False, ping_interval=None))
    run(qtbot, other.start())
    try:
        page.findChild(QLineEdit, "peer_address").setText(f"127.0.0.1:{other.port}")
        qtbot.mouseClick(page.findChild(QPushButton, "add_peer"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: table.model().rowCount() == 2, timeout=WAIT_MS)
        row = [_cell(table, r, 0) for r in range(2)].index(f"127.0.0.1:{other.port}")
        assert _cell(table, row, 2) == "v1"
        # Disconnect it again: it is forgotten (an added peer), the sandbox peer stays.
        disconnect = page.findChild(QPushButton, "disconnect_peer")
        assert not disconnect.isEnabled()
        table.selectRow(row)
        assert disconnect.isEnabled()
        with qtbot.waitSignal(app.bridge.peer_down, timeout=WAIT_MS) as down:
            qtbot.mouseClick(disconnect, Qt.MouseButton.LeftButton)
        assert isinstance(down.args[0], PeerDown) and down.args[0].address == f"127.0.0.1:{other.port}"
        qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=WAIT_MS)
        assert _cell(table, 0, 0) == f"127.0.0.1:{sbx.port}"
    finally:
        run(qtbot, other.stop())


def test_add_peer_rejects_a_bad_address(app: App, qtbot: Any) -> None:
    page = app.window.show_page("peers")
    page.findChild(QLineEdit, "peer_address").setText("127.0.0.1:99999")
    qtbot.mouseClick(page.findChild(QPushButton, "add_peer"), Qt.MouseButton.LeftButton)
    assert "port must be 1-65535" in page.findChild(QLabel, "add_peer_status").text()


def test_mempool_page_shows_stats_histogram_and_fee_estimates(app: App, qtbot: Any) -> None:
    page = app.window.show_page("mempool")
    # Traffic every 0.1 s: soon some transactions whose inputs the node saw, so with known fees.
    qtbot.waitUntil(lambda: page.bars.count() > 0 and page.bars.sum() > 0, timeout=WAIT_MS)
    stats = app.bridge.last_mempool
    assert stats is not None and stats.histogram and stats.count > 0
    assert page.findChild(QLabel, "mempool_count").text() not in ("", "—")
    assert page.findChild(QLabel, "mempool_vsize").text().endswith("vB")
    assert page.findChild(QLabel, "mempool_rate").text().endswith("tx/s")
    assert page.findChild(QLabel, "histogram_coverage").text().startswith("Covers ")
    assert sum(page.bars.at(i) for i in range(page.bars.count())) > 0
    qtbot.waitUntil(lambda: page.findChild(QLabel, "fee_rate_1").text().endswith("sat/vB"), timeout=WAIT_MS)
    assert [e.target for e in page.estimates] == [1, 3, 6, 24]
    assert page.findChild(QLabel, "fee_basis_1").text()
    recent = page.findChild(QTableWidget, "recent_txs")
    qtbot.waitUntil(lambda: recent.rowCount() > 0, timeout=WAIT_MS)
    assert len(recent.item(0, 0).text()) == 64
