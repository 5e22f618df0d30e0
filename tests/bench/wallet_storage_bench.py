"""Benchmark: the wallet file with 100,000 transactions — open, balance, a page of 100 history rows.

`run()` builds a synthetic wallet file (seeded RNG, rows inserted with executemany in one transaction):
100,000 transactions of ~250 raw bytes, each paying two outputs to the wallet and spending one older
wallet output, the newest 50 unconfirmed. It then times, in ms: opening the file (WalletDB.open, which
checks the schema version), open through the first balance and history page, the balance, the first history page and a page deep in the history (keyset
cursor after 90% of the rows). Baselines, measured in the same run on the same file: the balance as a
full scan of all outputs (NOT INDEXED) and the deep page fetched with OFFSET. Ratio = ours / baseline.
Run directly for a table: `python3 tests/bench/wallet_storage_bench.py [--txs N]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.wallet.storage.db import WalletDB  # noqa: E402
from core.wallet.storage.schema import HISTORY_KEY  # noqa: E402

N_TXS = 100_000
UNCONFIRMED = 50
GOAL_OPEN_MS = 2000.0
GOAL_BALANCE_MS = 50.0
GOAL_PAGE_MS = 20.0


def build(path: Path, n_txs: int = N_TXS, seed: int = 329) -> None:
    """Write a synthetic wallet file with n_txs transactions."""
    rng = random.Random(seed)
    with WalletDB.open(path) as db:
        ext = db.add_descriptor("wpkh(bench/0/*)#bench000", internal=False)
        chg = db.add_descriptor("wpkh(bench/1/*)#bench001", internal=True)
        n_addr = n_txs // 4
        addr_rows = [(d, i, b"\x00\x14" + rng.randbytes(20), 1) for d in (ext, chg) for i in range(n_addr)]
        tx_rows = []
        out_rows = []
        spend_rows = []
        live: list[tuple[bytes, int]] = []
        t0 = 1_600_000_000
        for i in range(n_txs):
            txid = rng.randbytes(32)
            confirmed = i < n_txs - UNCONFIRMED
            height = 100_000 + i // 3 if confirmed else None
            tx_rows.append((txid, rng.randbytes(250), height, rng.randbytes(32) if confirmed else None, t0 + i * 60, 200))
            for vout, d in ((0, ext), (1, chg)):
                idx = rng.randrange(n_addr)
                out_rows.append((txid, vout, rng.randrange(1_000, 10_000_000), addr_rows[idx][2], d, idx))
                live.append((txid, vout))
            if len(live) > 10:  # spend a random older output: ~half the outputs end up spent
                j = rng.randrange(len(live) - 2)
                live[j], live[-3] = live[-3], live[j]
                spent = live.pop(-3)
                spend_rows.append((txid, *spent))
        with db.transaction() as c:
            c.execute("UPDATE descriptors SET next_index = ?", (n_addr,))
            c.executemany("INSERT INTO addresses(descriptor_id, idx, script_pubkey, handed_out) VALUES (?,?,?,?)", addr_rows)
            c.executemany("INSERT INTO transactions(txid, raw, height, block_hash, time, fee) VALUES (?,?,?,?,?,?)", tx_rows)
            c.executemany(
                "INSERT INTO outputs(txid, vout, value, script_pubkey, descriptor_id, idx) VALUES (?,?,?,?,?,?)", out_rows
            )
            c.executemany("UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?", spend_rows)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.execute("ANALYZE")


def _ms(fn, repeat: int) -> float:  # median wall time in ms
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _row(metric: str, value: float, goal: float, baseline: float | None) -> dict:
    return {
        "metric": metric,
        "value": round(value, 3),
        "unit": "ms",
        "goal": f"<= {goal:g}",
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
    }


def run(n_txs: int = N_TXS) -> list[dict]:
    """Build the file and return the metric rows."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        t = time.perf_counter()
        build(path, n_txs)
        build_s = time.perf_counter() - t

        t = time.perf_counter()
        db = WalletDB.open(path)
        open_ms = (time.perf_counter() - t) * 1000
        db.balance()
        db.history_page(100)
        first_screen_ms = (time.perf_counter() - t) * 1000
        try:
            balance_ms = _ms(db.balance, 21)
            scan_ms = _ms(
                lambda: db.conn.execute(
                    "SELECT SUM(value) FROM outputs NOT INDEXED WHERE spent_by IS NULL AND frozen = 0"
                ).fetchone(),
                5,
            )
            first_ms = _ms(lambda: db.history_page(100), 21)
            cursor = None
            for _ in range(int(n_txs * 0.9) // 1000):  # walk to 90% with big pages to get a deep cursor
                _, cursor = db.history_page(1000, cursor)
            deep_ms = _ms(lambda: db.history_page(100, cursor), 21)
            offset = int(n_txs * 0.9) // 1000 * 1000
            offset_ms = _ms(
                lambda: db.conn.execute(
                    f"SELECT txid, height, time, fee FROM transactions ORDER BY {HISTORY_KEY} DESC, time DESC,"
                    " txid DESC LIMIT 100 OFFSET ?",
                    (offset,),
                ).fetchall(),
                5,
            )
        finally:
            db.close()
        size_mb = path.stat().st_size / 1e6
    return [
        {"metric": f"wallet build {n_txs:,} txs ({size_mb:.0f} MB)", "value": round(build_s, 2), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
        _row("wallet open", open_ms, GOAL_OPEN_MS, None),
        _row("wallet open + first balance + first page", first_screen_ms, GOAL_OPEN_MS, None),
        _row("wallet balance (vs full scan)", balance_ms, GOAL_BALANCE_MS, scan_ms),
        _row("history first page of 100", first_ms, GOAL_PAGE_MS, None),
        _row("history page of 100 at 90% (vs OFFSET)", deep_ms, GOAL_PAGE_MS, offset_ms),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--txs", type=int, default=N_TXS)
    args = ap.parse_args()
    from tests.bench.run import print_table

    print_table(run(args.txs))


if __name__ == "__main__":
    main()
