"""Benchmark: scrolling the Transactions page over a 100,000-transaction wallet, top to bottom.

The wallet file is built the way wallet_model_bench.py builds it (real transactions written straight into
the file). The real MainWindow (1280x800, offscreen) is shown on its Transactions page with that wallet open
(no node: scrolling reads only the wallet file). Then the history view is scrolled in steps of five pages
(`verticalScrollBar().setValue(value + 5 * pageStep)` and `processEvents()`, layout and painting of the new
viewport included; one page per step would take ~5,000 steps, the same work per step); whenever the view
reaches the end of the loaded rows it asks the lazy model for the next keyset page (`fetchMore`, 200 rows),
until all rows are loaded and the bar is at the bottom. Reported: ms per
step (median, p99, max; the goal is one frame, 16 ms), the same for the steps that loaded a page, and the
rows loaded. Run directly: `python3 tests/bench/app_scroll_bench.py [--txs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.app_qt import qapp  # noqa: E402  (sets offscreen Qt first)

# isort: split
from app.bridge import CoreBridge  # noqa: E402
from app.context import AppContext  # noqa: E402
from app.gc_policy import tenure  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.pages.transactions import TransactionsPage  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.wallet.wallet import Wallet  # noqa: E402
from tests.bench.wallet_model_bench import build  # noqa: E402

N_TXS = 100_000
FRAME_MS = 16.0
STEP_PAGES = 5  # pages per step: each step still repaints one full viewport; 100,000 rows in ~1,000 steps
TIME_LIMIT = 100.0  # seconds of scrolling at most (the row count then shows how far it got)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def scroll(page: TransactionsPage) -> tuple[list[float], list[float]]:
    """Scroll `page`'s history from top to bottom; (ms of every step, ms of the steps that fetched a page)."""
    app = qapp()
    table, model = page.table, page.model
    bar = table.verticalScrollBar()
    steps: list[float] = []
    fetching: list[float] = []
    deadline = time.perf_counter() + TIME_LIMIT
    while time.perf_counter() < deadline:
        value = bar.value()
        if value >= bar.maximum() and not model.canFetchMore():
            break
        pages = model.pages_read
        t = time.perf_counter()
        bar.setValue(min(value + STEP_PAGES * bar.pageStep(), bar.maximum()))
        app.processEvents()
        ms = (time.perf_counter() - t) * 1000
        steps.append(ms)
        if model.pages_read != pages:
            fetching.append(ms)
    return steps, fetching


def run(n_txs: int = N_TXS) -> list[dict]:
    """Build the wallet, show the window on Transactions, scroll to the bottom."""
    app = qapp()
    with tempfile.TemporaryDirectory(prefix="peerwallet-scrollbench-") as tmp:
        root = Path(tmp)
        ctx = AppContext("sandbox", root, settings=Settings())
        ctx.paths.network_dir.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        build(ctx.paths.wallet, n_txs, spend=True)
        build_s = time.perf_counter() - t
        ctx.wallet = Wallet.open(ctx.paths.wallet)
        try:
            bridge = CoreBridge(ctx)
            window = MainWindow(ctx, bridge)
            window.resize(1280, 800)
            window.show()
            page = window.show_page("transactions")
            assert isinstance(page, TransactionsPage)
            for _ in range(10):
                app.processEvents()
            tenure()  # as app/launch.py does once the window is shown
            t = time.perf_counter()
            steps, fetching = scroll(page)
            total_s = time.perf_counter() - t
            rows = page.model.rowCount()
            window.close()
            app.processEvents()
        finally:
            ctx.wallet.close()

    def row(metric: str, value: float, unit: str = "ms", goal: str | None = None) -> dict:
        return {"metric": metric, "value": round(value, 3), "unit": unit, "goal": goal, "baseline": None, "ratio": None}

    return [
        row(f"build {n_txs:,}-tx wallet (setup)", build_s, "s"),
        row(f"scroll history to the bottom, {len(steps):,} steps of {STEP_PAGES} pages: median", statistics.median(steps), goal=f"<= {FRAME_MS:g}"),
        row("  per step p99", _pct(steps, 0.99), goal=f"<= {FRAME_MS:g}"),
        row("  per step max", max(steps), goal=f"<= {FRAME_MS:g}"),
        row(f"  steps that fetched a page ({len(fetching)}): median", statistics.median(fetching) if fetching else 0.0,
            goal=f"<= {FRAME_MS:g}"),
        row("  steps that fetched a page: max", max(fetching, default=0.0), goal=f"<= {FRAME_MS:g}"),
        row("rows loaded at the bottom", rows, "rows", f"= {n_txs:,}"),
        row("whole scroll", total_s, "s"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--txs", type=int, default=N_TXS)
    args = ap.parse_args()
    from tests.bench.run import print_table

    print_table(run(args.txs))


if __name__ == "__main__":
    main()
