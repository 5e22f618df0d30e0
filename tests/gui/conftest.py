"""pytest-qt on a qasync loop, and the app (window, bridge, context) over a real embedded sandbox.

The loop fixture follows PLATFORM.md: a `qasync.QEventLoop` set as the event loop and as the running
loop, so coroutines run while Qt processes events (`qtbot.waitUntil`). Any exception that reaches
the loop's exception handler, and any error of a task the AppContext owns, fails the test. Tests
synchronise with `qtbot.waitUntil` / `waitSignal` (bounded), never with sleeps.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
from PySide6.QtWidgets import QApplication

# isort: split
import pytest
import qasync
import shiboken6

from app.bridge import CoreBridge
from app.context import AppContext, SandboxOptions
from app.main_window import MainWindow
from core.settings import Settings

T = TypeVar("T")
START_MS = 30_000
WAIT_MS = 30_000


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop for one test; fails the test on any exception its handler sees."""
    errors: list[dict[str, Any]] = []
    lp = qasync.QEventLoop(qapp)
    lp.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(lp)
    asyncio.events._set_running_loop(lp)
    try:
        yield lp
    finally:
        for task in asyncio.all_tasks(lp):
            task.cancel()
        for _ in range(5):
            qapp.processEvents()
        asyncio.events._set_running_loop(None)
        lp.close()
        # qasync's close only flags its timer object: timers still pending stay registered with Qt. Delete
        # it here, on the GUI thread; freed later by the cycle collector on a worker thread, Qt could not
        # unregister them ("Timers cannot be stopped from another thread") and a later test would crash
        # when one fires at the freed object.
        shiboken6.delete(lp._timer)
        asyncio.set_event_loop(None)
    assert not errors, f"unhandled loop exceptions: {errors}"


def run(qtbot: Any, coro: Coroutine[Any, Any, T], timeout_ms: int = WAIT_MS) -> T:
    """Run `coro` on the test loop while Qt processes events; its result (or exception)."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


@dataclass
class App:
    """A started app: its context (sandbox, node, wallet), bridge and window."""

    ctx: AppContext
    bridge: CoreBridge
    window: MainWindow
    task_errors: list[tuple[str, BaseException]]


def start_app(qtbot: Any, datadir: Path, **sandbox: Any) -> App:
    """Build the window over a fresh sandbox network in `datadir` and start the core behind it."""
    # No trade bots unless a test asks (trade=True): they mine a block to fund themselves.
    opts = {"initial_blocks": 110, "traffic_interval": 0.1, "block_interval": None, "traffic_seed": 11, "trade": False, **sandbox}
    ctx = AppContext("sandbox", datadir, settings=Settings(), sandbox=SandboxOptions(**opts))
    errors: list[tuple[str, BaseException]] = []
    ctx.on_task_error = lambda exc, name: errors.append((name, exc))
    bridge = CoreBridge(ctx)
    window = MainWindow(ctx, bridge)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    run(qtbot, ctx.start(), START_MS)
    return App(ctx, bridge, window, errors)


@pytest.fixture
def app(loop: asyncio.AbstractEventLoop, qtbot: Any, tmp_path: Path) -> Iterator[App]:
    """The app over a real embedded sandbox (traffic every 0.1 s, blocks only on request)."""
    a = start_app(qtbot, tmp_path / "data")
    try:
        yield a
    finally:
        run(qtbot, a.ctx.close())
    assert not a.task_errors, f"owned tasks failed: {a.task_errors}"
