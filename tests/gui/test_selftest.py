"""`peerwallet --selftest` and `--version`: the real commands in fresh processes (offscreen, real
sandbox), the grab checks on their own, and the self-test's failure reports for a broken page."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QWidget

from app.pages import PAGES, PageSpec
from app.selftest import SelftestFailure, check_grab, image_colours, relay_round_trip, run_selftest
from core.trade.errors import RelayError
from core.trade.nostr.event import Event
from core.trade.nostr.relay_process import LocalRelay
from tests.gui.conftest import run

REPO = Path(__file__).resolve().parents[2]
SELFTEST_TIMEOUT = 300


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_version_prints_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app", "--version"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"peerwallet {version('peerwallet')}\n"


def test_version_does_not_load_qt() -> None:
    code = (
        "import sys\nfrom app.__main__ import main\nassert main(['--version']) == 0\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_selftest_command_passes_on_a_fresh_sandbox() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app", "--selftest"],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=SELFTEST_TIMEOUT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    for spec in PAGES:
        assert any(line.startswith(f"selftest: page {spec.key}: ok") for line in lines), out.stdout
    assert "selftest: compiled filter kernel: ok" in lines
    assert any(line.startswith("selftest: wallet holds the faucet's") for line in lines)
    # the sandbox's local Nostr relay (a child process) started, trading is ready, an event went round
    assert any(line.startswith("selftest: sandbox trading ready over its local Nostr relay: ok") for line in lines)
    assert any(
        line.startswith("selftest: event published to and read back from the relay at ws://127.0.0.1:") for line in lines
    ), out.stdout
    assert lines[-1].startswith(f"selftest: passed ({len(PAGES)} pages")


# --- the grab checks -----------------------------------------------------------------------------------
def test_image_colours_counts_distinct_sampled_pixels() -> None:
    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    assert image_colours(image) == 1
    painter = QPainter(image)
    painter.fillRect(0, 0, 20, 30, QColor("black"))
    painter.end()
    assert image_colours(image) == 2
    assert image_colours(QImage()) == 0


class FlatPage(QWidget):
    """Paints one colour over itself and nothing else."""

    def paintEvent(self, event: QPaintEvent) -> None:
        QPainter(self).fillRect(self.rect(), QColor("#336699"))


class BrokenPage(QWidget):
    """Raises while painting, as a page with a bug would."""

    def paintEvent(self, event: QPaintEvent) -> None:
        raise RuntimeError("page bug while painting")


def test_check_grab_accepts_a_drawn_page_and_refuses_a_flat_one(qtbot: Any) -> None:
    label = QLabel("Peerwallet")
    label.resize(200, 40)
    qtbot.addWidget(label)
    result = check_grab("label", label)
    assert (result.width, result.height) == (200, 40) and result.colours >= 2
    flat = FlatPage()
    flat.resize(200, 40)
    qtbot.addWidget(flat)
    with pytest.raises(SelftestFailure, match="'flat' rendered a single flat colour"):
        check_grab("flat", flat)


# --- the whole self-test, in process, with a bad page among the real ones ---------------------------------
def _selftest_with(monkeypatch: pytest.MonkeyPatch, qtbot: Any, extra: PageSpec) -> tuple[int, str]:
    monkeypatch.setattr("app.main_window.PAGES", [*PAGES, extra])
    out = io.StringIO()
    hook = sys.excepthook
    rc = run(qtbot, run_selftest(out), timeout_ms=SELFTEST_TIMEOUT * 1000)
    assert sys.excepthook is hook  # restored
    return rc, out.getvalue()


def test_selftest_fails_naming_a_page_that_raises(
    loop: asyncio.AbstractEventLoop, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, text = _selftest_with(monkeypatch, qtbot, PageSpec("broken", "Broken", lambda _ctx, _bridge: BrokenPage()))
    assert rc == 1
    assert "selftest: page settings: ok" in text  # the real pages before it passed
    last = text.strip().splitlines()[-1]
    assert last.startswith("selftest: FAILED: page 'broken' raised RuntimeError:"), text
    assert "page bug while painting" in last


def test_selftest_fails_on_a_blank_page(
    loop: asyncio.AbstractEventLoop, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, text = _selftest_with(monkeypatch, qtbot, PageSpec("blank", "Blank", lambda _ctx, _bridge: FlatPage()))
    assert rc == 1
    assert text.strip().splitlines()[-1] == "selftest: FAILED: page 'blank' rendered a single flat colour (nothing drawn)"


def test_selftest_fails_when_the_sandbox_relay_cannot_start(
    loop: asyncio.AbstractEventLoop, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as in a bundle built without nostr-relay: the trade runtime reports the relay unavailable
    monkeypatch.setattr("app.trade.runtime.local_relay_available", lambda: False)
    out = io.StringIO()
    rc = run(qtbot, run_selftest(out), timeout_ms=SELFTEST_TIMEOUT * 1000)
    text = out.getvalue()
    assert rc == 1
    assert "selftest: page " not in text  # it stops before the pages
    assert text.strip().splitlines()[-1] == (
        "selftest: FAILED: trading on the sandbox is unavailable: "
        "The sandbox relay needs the nostr-relay package (the 'sandbox' extra)."
    ), text


def test_relay_round_trip_reads_back_the_published_event(loop: asyncio.AbstractEventLoop, qtbot: Any, tmp_path: Path) -> None:
    async def scenario() -> tuple[Event, Event, str]:
        relay = LocalRelay(tmp_path / "relay")
        async with relay:
            first, second = await relay_round_trip(relay.url), await relay_round_trip(relay.url)
        try:  # the relay is gone: the round trip fails within its bound instead of hanging
            await relay_round_trip(relay.url, timeout=1.0)
        except RelayError as e:
            return first, second, str(e)
        raise AssertionError("a round trip to a stopped relay succeeded")

    first, second, error = run(qtbot, scenario(), timeout_ms=90_000)
    assert first.is_valid() and second.is_valid()
    assert first.id != second.id and first.content == second.content == "peerwallet self-test"
    assert "not stored by any relay within 1.0s" in error
