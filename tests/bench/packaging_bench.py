"""Benchmark: the PyInstaller bundle against `python -m app`, in the same run.

- Cold start to the first shown window and to "synced" (embedded sandbox mined, wallet made and
  scanned) of `dist/peerwallet/peerwallet` and of `python -m app`, each a fresh process on an empty
  data directory, measured with the app's startup probe exactly as the `app` suite does
  (tests/bench/app_start_bench.py); medians of RUNS runs, alternating the two.
- `--version` of both (the bundle's bootloader and Python start, no Qt).
- The bundle folder's size, and the tar.gz's and .deb's when they were built.

Builds the bundle first (`python packaging/build.py bundle`, ~40 s) when dist/ has none.
Run directly: `python3 tests/bench/packaging_bench.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.app_start_bench import start_once

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
BUNDLE = DIST / "peerwallet" / "peerwallet"
RUNS = 3


def _mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def _version_seconds(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([*argv, "--version"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def run(runs: int = RUNS) -> list[dict]:
    """Start times of the bundle vs `python -m app`, and the sizes of what was built."""
    if not BUNDLE.exists():
        subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "bundle"], cwd=ROOT, check=True)
    bundle, source = [], []
    for _ in range(runs):
        for argv, out in (([str(BUNDLE)], bundle), ([sys.executable, "-m", "app"], source)):
            with tempfile.TemporaryDirectory(prefix="peerwallet-start-") as tmp:
                out.append(start_once([*argv, "--network", "sandbox", "--datadir", tmp]))
    b_shown, b_synced, b_rss = (statistics.median(x[i] for x in bundle) for i in range(3))
    s_shown, s_synced, s_rss = (statistics.median(x[i] for x in source) for i in range(3))
    b_ver = statistics.median(_version_seconds([str(BUNDLE)]) for _ in range(runs))
    s_ver = statistics.median(_version_seconds([sys.executable, "-m", "app"]) for _ in range(runs))
    rows = [
        {"metric": f"bundle: cold start to first window shown (median of {runs})", "value": round(b_shown, 3),
         "unit": "s", "goal": "<= 1.5", "baseline": round(s_shown, 3), "ratio": round(b_shown / s_shown, 2)},
        {"metric": "bundle: start to sandbox synced", "value": round(b_synced, 3), "unit": "s", "goal": None,
         "baseline": round(s_synced, 3), "ratio": round(b_synced / s_synced, 2)},
        {"metric": "bundle: RSS once synced", "value": round(b_rss, 1), "unit": "MiB", "goal": None,
         "baseline": round(s_rss, 1), "ratio": round(b_rss / s_rss, 2)},
        {"metric": "bundle: --version", "value": round(b_ver, 3), "unit": "s", "goal": "<= 0.5",
         "baseline": round(s_ver, 3), "ratio": round(b_ver / s_ver, 2)},
        {"metric": "bundle folder size", "value": round(_mib(BUNDLE.parent), 1), "unit": "MiB", "goal": "<= 150",
         "baseline": None, "ratio": None},
    ]
    for pattern, what in (("peerwallet-*-linux-*.tar.gz", "tar.gz size"), ("peerwallet_*.deb", ".deb size")):
        for f in sorted(DIST.glob(pattern)):
            rows.append({"metric": f"{what} ({f.name})", "value": round(_mib(f), 1), "unit": "MiB", "goal": None,
                         "baseline": None, "ratio": None})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    from tests.bench.run import print_table

    print_table(run(args.runs))


if __name__ == "__main__":
    main()
