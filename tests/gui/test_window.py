"""The main window over a live sandbox: its pages, shortcuts and status bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.pages import PAGES
from tests.gui.conftest import WAIT_MS, App, run


def test_window_opens_and_lists_every_page(app: App, qtbot: Any) -> None:
    w = app.window
    titles = [w.nav.item(i).text() for i in range(w.nav.count())]
    assert titles == [spec.title for spec in PAGES]
    assert {"overview", "peers", "mempool", "settings"} <= set(w.pages)
    for spec in PAGES:
        page = w.findChild(type(w.pages[spec.key]), f"page_{spec.key}")
        assert page is w.pages[spec.key]
        assert w.show_page(spec.key) is page and w.stack.currentWidget() is page
        assert w.current_key() == spec.key
    assert w.windowTitle() == "Peerwallet — Sandbox"
    assert w.width() == 1280 and w.height() == 800


def test_ctrl_number_shortcuts_switch_pages(app: App, qtbot: Any) -> None:
    w = app.window
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=WAIT_MS)
    for i, spec in enumerate(PAGES[:9]):
        qtbot.keyClick(w, getattr(Qt.Key, f"Key_{i + 1}"), Qt.KeyboardModifier.ControlModifier)
        assert w.current_key() == spec.key
    with qtbot.waitSignal(w.closing, timeout=WAIT_MS):
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not w.isVisible()


def test_status_bar_follows_peers_tip_and_sync(app: App, qtbot: Any) -> None:
    w, sbx = app.window, app.ctx.sandbox
    assert sbx is not None
    tip = w.findChild(QLabel, "status_tip")
    peers = w.findChild(QLabel, "status_peers")
    sync = w.findChild(QLabel, "status_sync")
    assert w.findChild(QLabel, "status_network").text() == "Sandbox"
    qtbot.waitUntil(lambda: tip.text() == f"Tip: {sbx.tip.height}", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: peers.text() == "Peers: 1", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sync.text() == "Synced", timeout=WAIT_MS)
    height = sbx.tip.height
    run(qtbot, sbx.generate(2))
    qtbot.waitUntil(lambda: tip.text() == f"Tip: {height + 2}", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sync.text() == "Synced", timeout=WAIT_MS)
