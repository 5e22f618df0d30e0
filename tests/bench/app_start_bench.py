"""Benchmark: cold start of the app to its first shown window, and its memory once the sandbox is synced.

Each run is a fresh `python -m app --network sandbox --datadir <empty dir>` with QT_QPA_PLATFORM=offscreen and
PEERWALLET_STARTUP_PROBE=1 (app/startup_probe.py): the app prints `time.perf_counter()` after the main
window's first paint and again when the node first reports synced. On Linux that clock is shared by all
processes, so "shown" minus our own reading just before spawning the process is the cold-start time,
interpreter start and every import included. At "synced" (the embedded sandbox mined, a wallet created
and funded, the node synced and the wallet scanned) VmRSS is read from /proc/<pid>/status, the app's and
that of its child processes (the sandbox node, which also runs the trade bots, and the local relay);
then a line
on stdin makes the app close its window and shut down in order.

Same-run baseline: a bare `python -c` that imports PySide6 and shows an empty QMainWindow, timed and
measured the same way, so the ratio is what the app adds. Medians of RUNS runs.
Run directly: `python3 tests/bench/app_start_bench.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 3
TIMEOUT = 60.0
PREFIX = "peerwallet-startup"

#: The baseline: PySide6 and an empty main window, reporting like app/startup_probe.py does.
BARE = r"""
import sys, threading, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1280, 800)
done = threading.Event()

def shown():
    t = time.perf_counter()
    print(f"peerwallet-startup shown {t:.6f}", flush=True)
    print(f"peerwallet-startup synced {t:.6f}", flush=True)  # nothing to sync
    threading.Thread(target=lambda: (sys.stdin.readline(), done.set()), daemon=True).start()

class FirstPaint(QObject):
    painted = False
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            QTimer.singleShot(0, shown)
        return False

probe = FirstPaint()
window.installEventFilter(probe)
poll = QTimer()
poll.timeout.connect(lambda: app.quit() if done.is_set() else None)
poll.start(20)
window.show()
app.exec()
"""


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _children_rss_mib(pid: int) -> float:
    """The summed RSS of `pid`'s child processes (the app's sandbox node with its trade bots, its relay)."""
    total = 0.0
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            with contextlib.suppress(OSError, AssertionError):  # exited meanwhile
                total += _rss_mib(int(child))
    return total


def start_once(argv: list[str]) -> tuple[float, float, float, float]:
    """(seconds to first shown window, seconds to synced, RSS MiB at synced, children's RSS MiB at synced)
    of one fresh process."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PEERWALLET_STARTUP_PROBE="1", PYTHONUNBUFFERED="1")
    errfile = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (a file, not a pipe: a chatty stderr cannot block the app)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errfile, text=True)
    shown = synced = rss = kids = None
    try:
        assert proc.stdout is not None and proc.stdin is not None
        deadline = time.monotonic() + TIMEOUT
        for line in proc.stdout:
            if time.monotonic() > deadline:
                break
            parts = line.split()
            if len(parts) != 3 or parts[0] != PREFIX:
                continue
            if parts[1] == "shown":
                shown = float(parts[2]) - t0
            elif parts[1] == "synced":
                synced = float(parts[2]) - t0
                rss, kids = _rss_mib(proc.pid), _children_rss_mib(proc.pid)
                proc.stdin.write("\n")
                proc.stdin.flush()
                break
        proc.stdin.close()
        rc = proc.wait(30)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        errfile.seek(0)
        err = errfile.read()
        errfile.close()
    if shown is None or synced is None or rss is None or kids is None or rc != 0:
        raise AssertionError(f"{argv[1:3]}: no startup report (exit {rc}): {err[-2000:]}")
    return shown, synced, rss, kids


def run(runs: int = RUNS) -> list[dict]:
    """Median cold start, time to synced and RSS of the app against the bare-window baseline."""
    bare = [start_once([sys.executable, "-c", BARE]) for _ in range(runs)]
    app = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="peerwallet-start-") as tmp:
            app.append(start_once([sys.executable, "-m", "app", "--network", "sandbox", "--datadir", tmp]))
    shown, synced, rss, kids = (statistics.median(x[i] for x in app) for i in range(4))
    b_shown, b_rss = statistics.median(x[0] for x in bare), statistics.median(x[2] for x in bare)
    return [
        {"metric": f"cold start to first window shown (median of {runs})", "value": round(shown, 3), "unit": "s",
         "goal": "<= 1.5", "baseline": round(b_shown, 3), "ratio": round(shown / b_shown, 2)},
        {"metric": "start to sandbox synced (wallet made, funded, scanned)", "value": round(synced, 3), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": "RSS once synced: the app's own process", "value": round(rss, 1), "unit": "MiB",
         "goal": None, "baseline": round(b_rss, 1), "ratio": round(rss / b_rss, 2)},
        {"metric": "RSS once synced: its children (sandbox node with trade bots, local relay)", "value": round(kids, 1),
         "unit": "MiB", "goal": None, "baseline": None, "ratio": None},
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.bench.run import print_table

    print_table(run(args.runs))


if __name__ == "__main__":
    main()
