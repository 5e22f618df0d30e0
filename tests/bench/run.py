"""Benchmark driver: `python tests/bench/run.py NAME [--json]`.

Each suite is a module `tests/bench/<suite>_bench.py`-style set listed in SUITES, exposing `run()` that returns
a list of metric dicts {"metric", "value", "unit", "goal", "baseline", "ratio"}. Goals are compared against
figures measured in the same run because the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# suite name -> modules (under tests.bench) whose run() contribute metrics
SUITES: dict[str, list[str]] = {
    "consensus": ["consensus_verify_bench", "consensus_sighash_bench"],
    "filters": ["filters_bench"],
    "sandbox": ["sandbox_bench"],
    "node": ["node_headers_bench", "filters_bench", "node_lag_bench", "node_mempool_bench"],
    "validation": ["validation_bench"],
    "app": ["app_start_bench", "app_lag_bench", "app_scroll_bench", "app_coins_bench"],
    "packaging": ["packaging_bench"],
    "wallet": ["wallet_coinselect_bench", "wallet_storage_bench", "wallet_derive_bench", "wallet_model_bench"],
}


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def print_table(rows: list[dict]) -> None:
    """Print metrics as an aligned text table."""
    cols = ["metric", "value", "unit", "goal", "baseline", "ratio"]
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=sorted(SUITES))
    ap.add_argument("--json", action="store_true", help="print a JSON list of metric objects")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    for mod_name in SUITES[args.name]:
        mod = importlib.import_module(f"tests.bench.{mod_name}")
        for row in mod.run():
            rows.append({k: row.get(k) for k in ("metric", "value", "unit", "goal", "baseline", "ratio")})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
