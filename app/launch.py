"""The window side of the `peerwallet` command: the QApplication on a qasync loop, then the window
(`run_window`), the page screenshots (`take_screenshots`) or the self-test (app/selftest.py).

`--screenshots DIR` starts a fresh sandbox (in a temporary data directory unless `--datadir` is
given), waits until the node is synced and the mempool page has data, saves one 1280x800 PNG per
page and exits. `PEERWALLET_STARTUP_PROBE=1` prints when the window is first shown and first synced
(the startup benchmark's hook, see app/startup_probe.py). Imported by app/__main__.py only once the
command line asks for Qt, so `--version` and `--help` do not load it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# PySide6 before qasync: qasync binds to the first Qt binding it finds imported (or QT_API).
os.environ.setdefault("QT_API", "pyside6")
from PySide6.QtWidgets import QApplication

# isort: split
import qasync

from app.appinfo import APP_ID, DISPLAY_NAME
from app.bridge import CoreBridge
from app.context import AppContext, default_datadir
from app.errors import ErrorReporter, setup_logging
from app.gc_policy import tenure
from app.icon import app_icon
from app.main_window import MainWindow
from app.pages.mempool import MempoolPage
from app.selftest import run_selftest
from app.startup_probe import StartupProbe
from app.startup_probe import enabled as probe_enabled
from app.wizard import needs_wizard, run_first_run
from core.node.events import SyncStage
from core.settings import SettingsError, load_settings

SCREEN_SIZE = (1280, 800)
SCREENSHOT_TIMEOUT = 60.0


def _make_context(args: argparse.Namespace, root: Path) -> AppContext:
    settings = load_settings(root / "settings.json")
    return AppContext(args.network or settings.network, root, settings=settings)


async def run_window(args: argparse.Namespace) -> int:
    """Show the window, start the core behind it, and shut down in order when it closes."""
    loop = asyncio.get_running_loop()
    # Closing the window starts an orderly shutdown; Qt must not end the loop by itself meanwhile.
    QApplication.setQuitOnLastWindowClosed(False)
    root = args.datadir or default_datadir()
    try:
        ctx = _make_context(args, root)
    except SettingsError as e:
        print(f"peerwallet: {e} (in {root / 'settings.json'})", file=sys.stderr)
        return 2
    if needs_wizard(ctx, force=args.wizard):  # no wallet yet: set one up before the window
        chosen = await run_first_run(root, ctx.network)
        if chosen is None:
            return 0
        args.network = chosen
        ctx = _make_context(args, root)
    log_path = Path(setup_logging(ctx.paths.logs).baseFilename)
    bridge = CoreBridge(ctx)
    window = MainWindow(ctx, bridge)
    reporter = ErrorReporter(window, log_path)
    reporter.install(loop)
    ctx.on_task_error = lambda exc, name: reporter.report(exc, name)
    closed = asyncio.Event()
    window.closing.connect(closed.set)
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, window.close)
    if probe_enabled():  # the startup benchmark's timing hook (app/startup_probe.py)
        StartupProbe(window, bridge)
    window.show()
    tenure()  # imports and the window live until exit (app/gc_policy.py)
    ctx.spawn(_start_core(ctx), "start")
    await closed.wait()
    await ctx.close()
    return 0


async def _start_core(ctx: AppContext) -> None:
    await ctx.start()
    tenure()  # and so does most of the core's state once started


async def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"screenshots: gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def take_screenshots(args: argparse.Namespace) -> int:
    """Render every page with live sandbox data into args.screenshots."""
    QApplication.setQuitOnLastWindowClosed(False)
    out: Path = args.screenshots
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="peerwallet-shots-") as tmp:
        root = args.datadir or Path(tmp)
        ctx = AppContext(args.network or "sandbox", root, settings=load_settings(root / "settings.json"))
        bridge = CoreBridge(ctx)
        window = MainWindow(ctx, bridge)
        window.resize(*SCREEN_SIZE)
        window.show()
        try:
            await ctx.start()
            node = ctx.node
            assert node is not None
            await _wait_for(lambda: bridge.last_sync is not None and bridge.last_sync.stage is SyncStage.SYNCED, SCREENSHOT_TIMEOUT, "sync")
            if ctx.is_sandbox:
                await _wait_for(
                    lambda: bridge.last_mempool is not None and bool(bridge.last_mempool.histogram),
                    SCREENSHOT_TIMEOUT, "mempool traffic",
                )
                mempool_page = window.pages.get("mempool")
                if isinstance(mempool_page, MempoolPage):
                    await mempool_page.update_estimates()
            bridge.flush()
            for i, spec in enumerate(window.specs):
                page = window.show_page(spec.key)
                hook = getattr(page, "screenshot_hook", None)  # a page that waits for its live data
                if hook is not None:
                    await asyncio.wait_for(hook(), SCREENSHOT_TIMEOUT)
                await asyncio.sleep(0.3)  # let layouts, charts and the status bar settle
                path = out / f"{i + 1:02d}-{spec.key}.png"
                if not window.grab().save(str(path)):
                    print(f"peerwallet: could not write {path}", file=sys.stderr)
                    return 1
                print(path)
        finally:
            await ctx.close()
            window.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """Create the QApplication and run what `args` asks for on a qasync loop; the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(DISPLAY_NAME)
    app.setOrganizationName(DISPLAY_NAME)
    app.setDesktopFileName(APP_ID)  # Wayland and taskbars match the window to the desktop entry and its icon
    app.setWindowIcon(app_icon())
    if args.selftest:
        coro = run_selftest()
    elif args.screenshots is not None:
        coro = take_screenshots(args)
    else:
        coro = run_window(args)
    return int(qasync.run(coro))
