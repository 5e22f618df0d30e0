"""Error dialogs and the log (user errors vs bugs, key material masked), the bridge's throttling,
and `peerwallet --screenshots` end to end."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from app.__main__ import main
from app.bridge import THROTTLE_HZ, CoreBridge, Throttle
from app.context import AppContext
from app.errors import ErrorReporter, redact, setup_logging
from app.pages import PAGES
from core.consensus.hashes import BlockHash
from core.node.events import ChainTip, SyncProgress, SyncStage
from core.settings import Settings
from core.wallet.errors import WalletError
from tests.gui.conftest import WAIT_MS

MNEMONIC = "abandon ability able about above absent absorb abstract absurd abuse access accident"


@pytest.fixture
def log_handler(tmp_path: Path) -> Any:
    handler = setup_logging(tmp_path / "logs")
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _dialog_texts(reporter: ErrorReporter) -> list[str]:
    return [d.text() for d in reporter.dialogs if d.isVisible()]


def test_user_errors_show_their_message_and_bugs_go_to_the_log(qtbot: Any, log_handler: Any) -> None:
    log_path = Path(log_handler.baseFilename)
    reporter = ErrorReporter(None, log_path)
    with qtbot.waitSignal(reporter.shown, timeout=WAIT_MS) as shown:
        reporter.report(WalletError(f"need 5000 sats more (you typed: {MNEMONIC})"))
    assert "need 5000 sats more" in shown.args[0]
    assert reporter.dialogs[-1].icon() == QMessageBox.Icon.Warning
    try:
        raise RuntimeError(f"boom with {MNEMONIC} inside")
    except RuntimeError as e:
        reporter.report(e, "a test")
    box = reporter.dialogs[-1]
    assert box.icon() == QMessageBox.Icon.Critical and str(log_path) in box.text()
    assert "RuntimeError" in box.text() and MNEMONIC not in box.text()
    log_handler.flush()
    text = log_path.read_text()
    assert "unexpected error in a test" in text and "Traceback" in text and "RuntimeError: [redacted]" in text
    assert "WalletError" in text
    assert "abandon" not in text  # neither the user error's text nor the bug's message leaks the words
    assert len(_dialog_texts(reporter)) == 2
    for _ in range(5):
        reporter.report(RuntimeError("again"))
    assert len(_dialog_texts(reporter)) == 3  # capped; the rest only go to the log


def test_redaction_masks_key_material() -> None:
    xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
    wif = "L1aW4aubDFB7yfras2S1mN3bqg9nwySY8nkoLmJebSLD5BWv3ENZ"
    assert redact(f"key {xprv} and {wif}.") == "key [redacted] and [redacted]."
    assert redact(f"words: {MNEMONIC}") == "words: [redacted]"
    assert redact("txid 3803d2d1a37e62f048b96656d7eed08ff875da79bc1ad487aebd0e8cc1ff4eea") .startswith("txid 3803d2")


def test_installed_hooks_report_task_and_qt_errors(loop: asyncio.AbstractEventLoop, qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    previous = loop.get_exception_handler()
    reporter = ErrorReporter()
    reporter.install(loop)
    try:
        async def fails() -> None:
            raise WalletError("not enough coins")

        with qtbot.waitSignal(reporter.shown, timeout=WAIT_MS) as shown:
            task = loop.create_task(fails())
            qtbot.waitUntil(task.done, timeout=WAIT_MS)
            del task  # the never-retrieved exception reaches the loop's handler when the task is collected
        assert shown.args[0] == "not enough coins"
        with qtbot.waitSignal(reporter.shown, timeout=WAIT_MS) as shown:
            try:
                raise WalletError("from a slot")
            except WalletError as e:
                sys.excepthook(type(e), e, e.__traceback__)
        assert shown.args[0] == "from a slot"
    finally:
        loop.set_exception_handler(previous)


def test_throttle_delivers_the_newest_value_at_most_every_interval(qtbot: Any) -> None:
    parent = QObject()
    delivered: list[int] = []
    throttle = Throttle(0.1, delivered.append, parent)
    for i in range(100):
        throttle.push(i)
    assert delivered == [0]  # the first goes out at once
    qtbot.waitUntil(lambda: delivered[-1] == 99, timeout=WAIT_MS)
    assert delivered == [0, 99]
    merged: list[tuple[int, ...]] = []
    batching = Throttle(0.1, merged.append, parent, merge=lambda a, b: a + b)
    for i in range(5):
        batching.push((i,))
    qtbot.waitUntil(lambda: len(merged) == 2, timeout=WAIT_MS)
    assert merged == [(0,), (1, 2, 3, 4)]


def test_bridge_throttles_sync_progress_and_keeps_the_last(qtbot: Any, tmp_path: Path) -> None:
    # A bridge over a context that is not started: only the events fed here reach it.
    bridge = CoreBridge(AppContext("sandbox", tmp_path, settings=Settings()))
    seen: list[SyncProgress] = []
    bridge.sync_progress.connect(seen.append)
    tips: list[object] = []
    bridge.chain_tip.connect(tips.append)
    burst = [SyncProgress(SyncStage.FILTERS, h, 1000, None) for h in range(200)]
    for event in burst:
        bridge._on_node_event(event)
    tip = ChainTip(199, BlockHash(bytes(32)), None)
    bridge._on_node_event(tip)
    assert tips == [tip]  # rare events are not delayed
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] is burst[-1], timeout=WAIT_MS)
    assert seen == [burst[0], burst[-1]] and len(seen) < THROTTLE_HZ
    assert bridge.last_sync is burst[-1] and bridge.last_tip is tip


def test_screenshots_mode_saves_one_png_per_page(qapp: Any, tmp_path: Path) -> None:
    out = tmp_path / "shots"
    assert main(["--screenshots", str(out), "--datadir", str(tmp_path / "data")]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i + 1:02d}-{spec.key}.png" for i, spec in enumerate(PAGES)]
    from PySide6.QtGui import QImage

    for name in names:
        image = QImage(str(out / name))
        assert (image.width(), image.height()) == (1280, 800)


@pytest.mark.parametrize("spec", PAGES, ids=lambda s: s.key)
def test_a_deleted_page_no_longer_hears_the_bridge(loop: asyncio.AbstractEventLoop, qtbot: Any, tmp_path: Path, spec: Any) -> None:
    # Pages connect the bridge's signals to bound methods, which Qt disconnects when the page is deleted;
    # a lambda would outlive the page and touch a deleted widget on the next signal.
    ctx = AppContext("sandbox", tmp_path, settings=Settings())
    bridge = CoreBridge(ctx)
    page = spec.factory(ctx, bridge)
    alive = shiboken6.isValid
    assert alive(page)
    shiboken6.delete(page)
    assert not alive(page)
    tip = ChainTip(1, BlockHash(bytes(32)), None)
    bridge.wallet_opened.emit(None)
    bridge.wallet_changed.emit()
    bridge.settings_changed.emit(Settings(), ())
    bridge.node_ready.emit(None)
    bridge.chain_tip.emit(tip)
    bridge.block_connected.emit(1)
    bridge.peers_changed.emit()
    qtbot.wait(0)  # queued deliveries, if any, run now: none may reach the deleted page
