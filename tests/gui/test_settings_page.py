"""The settings page: saving to settings.json, live units, restart notices, refusing bad input."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton

from app.context import FAUCET_AMOUNT, FAUCET_PAYMENTS
from app.format import amount
from core.settings import Unit, load_settings
from tests.gui.conftest import WAIT_MS, App


def _save(page: Any, qtbot: Any) -> QLabel:
    status = page.findChild(QLabel, "settings_status")
    button = page.findChild(QPushButton, "settings_save")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    return status


def test_units_apply_at_once_and_are_stored(app: App, qtbot: Any) -> None:
    overview = app.window.pages["overview"]
    confirmed = overview.findChild(QLabel, "balance_confirmed")
    qtbot.waitUntil(lambda: confirmed.text() == amount(FAUCET_PAYMENTS * FAUCET_AMOUNT), timeout=WAIT_MS)
    page = app.window.show_page("settings")
    unit = page.findChild(QComboBox, "setting_unit")
    unit.setCurrentIndex(unit.findData(Unit.SAT))
    status = _save(page, qtbot)
    qtbot.waitUntil(lambda: status.text() == "Saved.", timeout=WAIT_MS)
    assert load_settings(app.ctx.paths.settings).unit is Unit.SAT
    assert app.ctx.settings.unit is Unit.SAT
    qtbot.waitUntil(lambda: confirmed.text() == amount(FAUCET_PAYMENTS * FAUCET_AMOUNT, Unit.SAT), timeout=WAIT_MS)
    assert confirmed.text().endswith(" sat")


def test_network_peers_and_proxy_need_a_restart(app: App, qtbot: Any) -> None:
    page = app.window.show_page("settings")
    network = page.findChild(QComboBox, "setting_network")
    peers = page.findChild(QPlainTextEdit, "setting_peers")
    peers.setPlainText("10.0.0.1:18444")  # for the sandbox network, shown first
    network.setCurrentIndex(network.findData("signet"))
    assert peers.toPlainText() == ""  # the list follows the chosen network
    peers.setPlainText("[2001:db8::1]:38333\nsignet.example")
    page.findChild(QCheckBox, "setting_use_proxy").setChecked(True)
    page.findChild(QLineEdit, "setting_proxy").setText("socks5://127.0.0.1:9050")
    status = _save(page, qtbot)
    qtbot.waitUntil(lambda: status.text().startswith("Saved. Restart"), timeout=WAIT_MS)
    assert all(word in status.text() for word in ("network", "manual peers", "proxy"))
    stored = load_settings(app.ctx.paths.settings)
    assert stored.network == "signet" and stored.proxy == "socks5://127.0.0.1:9050"
    assert stored.manual_peers == {"sandbox": ("10.0.0.1:18444",), "signet": ("[2001:db8::1]:38333", "signet.example")}
    assert app.ctx.network == "sandbox"  # the running app keeps its network until restarted


def test_bad_values_are_refused_and_nothing_is_written(app: App, qtbot: Any) -> None:
    page = app.window.show_page("settings")
    page.findChild(QPlainTextEdit, "setting_peers").setPlainText("127.0.0.1:0")
    status = _save(page, qtbot)
    assert status.text().startswith("Not saved:") and "port" in status.text()
    page.findChild(QPlainTextEdit, "setting_peers").setPlainText("")
    page.findChild(QCheckBox, "setting_use_proxy").setChecked(True)
    page.findChild(QLineEdit, "setting_proxy").setText("http://proxy:8080")
    status = _save(page, qtbot)
    assert status.text().startswith("Not saved:") and "socks5" in status.text()
    assert not app.ctx.paths.settings.exists()
    qtbot.mouseClick(page.findChild(QPushButton, "settings_revert"), Qt.MouseButton.LeftButton)
    assert not page.findChild(QCheckBox, "setting_use_proxy").isChecked()
