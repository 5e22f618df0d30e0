"""Qt pieces shared by the `app` benchmarks: an offscreen QApplication, a coroutine run on a qasync loop (as
the app runs), a QTimer-based lag probe (how late Qt's own timers fire, beside LagProbe's asyncio view), and
an optional census of long event-loop callbacks (to find what holds the loop when a goal is missed).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QApplication

# isort: split
import qasync

T = TypeVar("T")


def qapp() -> QApplication:
    """The process's QApplication (made once)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(["peerwallet-bench"])
    assert isinstance(app, QApplication)
    return app


def run_qasync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh qasync loop over the QApplication (the app's own setup)."""
    app = qapp()
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        for _ in range(5):
            app.processEvents()
        loop.close()
        asyncio.set_event_loop(None)


@dataclass
class QtLagProbe:
    """A 5 ms precise QTimer; each tick records how late it fired (Qt's view of the same loop)."""

    interval_ms: int = 5
    lags_ms: list[float] = field(default_factory=list)
    #: (seconds since start, lag ms, what `label()` said) of every tick later than `note_ms`
    notes: list[tuple[float, float, str]] = field(default_factory=list)
    note_ms: float = 15.0
    label: Any = None  # a callable naming the current phase, for `notes`

    def __post_init__(self) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self.interval_ms)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._last = 0

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        lag = max(0.0, (now - self._last) / 1e6 - self.interval_ms)
        self.lags_ms.append(lag)
        self._last = now
        if lag >= self.note_ms:
            self.notes.append((now / 1e9, lag, str(self.label()) if self.label is not None else ""))

    def start(self) -> None:
        self._clock.start()
        self._last = 0
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def max_ms(self) -> float:
        return max(self.lags_ms, default=0.0)

    @property
    def p99_ms(self) -> float:
        if not self.lags_ms:
            return 0.0
        ordered = sorted(self.lags_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class SlowCallbacks:
    """While active, times every asyncio callback the loop runs (qasync runs each as a Handle) and keeps the
    ones over `threshold_ms`, by name. Diagnostic only: it adds a little overhead to every callback."""

    threshold_ms: float = 16.0
    slow: Counter[str] = field(default_factory=Counter)
    worst: dict[str, float] = field(default_factory=dict)

    def __enter__(self) -> SlowCallbacks:
        self._orig = asyncio.Handle._run
        probe = self

        def timed(handle: asyncio.Handle) -> None:
            before = _where(handle)
            t = time.perf_counter()
            try:
                probe._orig(handle)
            finally:
                ms = (time.perf_counter() - t) * 1000
                if ms >= probe.threshold_ms:
                    name = f"{_describe(handle)} {before} -> {_where(handle)}"
                    probe.slow[name] += 1
                    probe.worst[name] = max(probe.worst.get(name, 0.0), ms)

        asyncio.Handle._run = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.Handle._run = self._orig  # type: ignore[method-assign]

    def report(self) -> str:
        lines = [f"{n:5d}x  worst {self.worst[k]:7.1f} ms  {k}" for k, n in self.slow.most_common(25)]
        return "\n".join(lines) or "(no callback over the threshold)"


def _task(handle: asyncio.Handle) -> asyncio.Task[Any] | None:
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    return task if isinstance(task, asyncio.Task) else None


def _where(handle: asyncio.Handle) -> str:
    """Where a task's coroutine stands (innermost awaiting frame), or "" for a plain callback."""
    task = _task(handle)
    if task is None:
        return ""
    coro: Any = task.get_coro()
    frame = None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or frame
        coro = getattr(coro, "cr_await", None)
    if frame is None:
        return "(done)"
    return f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}"


def _describe(handle: asyncio.Handle) -> str:
    task = _task(handle)
    if task is not None:
        return f"task {getattr(task.get_coro(), '__qualname__', '?')}"
    return repr(getattr(handle, "_callback", None))[:160]


class StallSampler:
    """A watchdog thread: whenever the loop thread has not ticked for `stall_ms` (ticks come from a 5 ms
    QTimer), sample that thread's Python stack every 2 ms. The counts of the innermost project frames show
    what holds the loop, Qt's own work (painting, layout, timers outside asyncio) included. Diagnostic only.
    """

    def __init__(self, stall_ms: float = 12.0) -> None:
        import threading

        self.stall_ms = stall_ms
        self.samples: Counter[str] = Counter()
        self._main = threading.get_ident()
        self._beat = time.perf_counter()
        self._stop = threading.Event()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)
        self._thread = threading.Thread(target=self._watch, name="stall-sampler", daemon=True)

    def _tick(self) -> None:
        self._beat = time.perf_counter()

    def _watch(self) -> None:
        import sys
        import traceback

        while not self._stop.wait(0.002):
            if (time.perf_counter() - self._beat) * 1000 < self.stall_ms:
                continue
            frame = sys._current_frames().get(self._main)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [f for f in stack if "/main/" in f.filename and "/tests/bench/" not in f.filename]
            key = " < ".join(f"{f.filename.rsplit('/main/', 1)[-1]}:{f.lineno}({f.name})" for f in reversed(ours[-4:]))
            self.samples[key or f"{stack[-1].filename.rsplit('/', 1)[-1]}:{stack[-1].lineno}({stack[-1].name})"] += 1

    def __enter__(self) -> StallSampler:
        self._beat = time.perf_counter()
        self._timer.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._timer.stop()
        self._thread.join()

    def report(self, top: int = 30) -> str:
        total = sum(self.samples.values())
        lines = [f"{n:5d}  {k}" for k, n in self.samples.most_common(top)]
        return f"{total} samples (2 ms each) while the loop was stalled >= {self.stall_ms:g} ms:\n" + "\n".join(lines)


class GcPauses:
    """While active, records each garbage collection's generation and duration (ms)."""

    def __init__(self) -> None:
        import gc

        self._gc = gc
        self.pauses: list[tuple[int, float]] = []
        self._t = 0.0

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t) * 1000))

    def __enter__(self) -> GcPauses:
        self._gc.callbacks.append(self._cb)
        return self

    def __exit__(self, *exc: object) -> None:
        self._gc.callbacks.remove(self._cb)

    def report(self) -> str:
        by_gen = {g: [ms for gen, ms in self.pauses if gen == g] for g in (0, 1, 2)}
        return "garbage collections: " + ", ".join(
            f"gen{g} {len(v)}x max {max(v, default=0.0):.1f} ms" for g, v in by_gen.items()
        )
