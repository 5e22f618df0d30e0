"""Startup probe for the `app` benchmark: with `PEERWALLET_STARTUP_PROBE=1` in the environment, the app prints

    peerwallet-startup shown <t>     once the main window's first paint is done
    peerwallet-startup synced <t>    once the node first reports "synced" (wallet scanned to the tip)

to stdout, where `<t>` is `time.perf_counter()`. On Linux that clock is CLOCK_MONOTONIC, shared by all
processes, so a parent that read its own `perf_counter()` just before starting the app gets the cold-start
time by subtraction (interpreter start and every import included). After "synced" the app closes its window
(an orderly shutdown) as soon as a line arrives on stdin or stdin closes, so the parent can read the
process's memory in between. Without the variable nothing here runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from typing import TextIO

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from app.bridge import CoreBridge
from core.node.events import SyncProgress, SyncStage

ENV = "PEERWALLET_STARTUP_PROBE"
PREFIX = "peerwallet-startup"


def enabled() -> bool:
    """True when the environment asks for the probe."""
    return os.environ.get(ENV, "") not in ("", "0")


class StartupProbe(QObject):
    """Reports the first paint of `window` and the first "synced" of `bridge`; see the module docstring."""

    def __init__(self, window: QWidget, bridge: CoreBridge, out: TextIO | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.out = out or sys.stdout
        self.shown_at: float | None = None
        self.synced_at: float | None = None
        self._painted = False
        window.installEventFilter(self)
        bridge.sync_progress.connect(self._on_sync)

    def _say(self, what: str, t: float) -> None:
        print(f"{PREFIX} {what} {t:.6f}", file=self.out, flush=True)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Paint and not self._painted:
            self._painted = True
            # The timer fires after this paint event has been handled and the backing store flushed.
            QTimer.singleShot(0, self._shown)
        return False

    def _shown(self) -> None:
        self.window.removeEventFilter(self)
        self.shown_at = time.perf_counter()
        self._say("shown", self.shown_at)

    def _on_sync(self, p: SyncProgress) -> None:
        if p.stage is SyncStage.SYNCED and self.synced_at is None:
            self.synced_at = time.perf_counter()
            self._say("synced", self.synced_at)
            self._close_on_stdin()

    def _close_on_stdin(self) -> None:
        """Close the window once stdin yields a line or ends (read on a daemon thread: never blocks exit)."""
        loop = asyncio.get_running_loop()

        def wait() -> None:
            with contextlib.suppress(OSError, ValueError):  # stdin closed or not readable: close now
                sys.stdin.readline()
            loop.call_soon_threadsafe(self.window.close)

        threading.Thread(target=wait, name="startup-probe", daemon=True).start()
