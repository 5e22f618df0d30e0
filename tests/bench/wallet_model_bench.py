"""Benchmark: the Wallet facade (what the app and CLI call) on big wallets.

Two synthetic wallets are built from a real seed (BIP84 on the sandbox network), rows written straight
into the file so building stays quick, every transaction a real parseable one paying the keychain's own
scripts:
- 100,000 transactions (two outputs each, about half of all outputs spent, the newest 50 unconfirmed):
  `Wallet.open` (keychain, tracker, gap window, the in-memory outpoint set), `balance()` (with the
  immature-coinbase check), `history(100)` first page and a page at 90% through the keyset cursor.
- 10,000 unspent coins: `draft()` of one payment (unspent query, candidates, Branch-and-Bound + SRD +
  largest-first, layout, PSBT with BIP32 origins); same-run baseline: `select_coins` alone on the same
  candidates, so the ratio shows what the facade adds.
Times are medians in ms. Run directly: `python3 tests/bench/wallet_model_bench.py [--txs N]`.
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

from core.consensus.hashes import Txid  # noqa: E402
from core.consensus.network import SANDBOX  # noqa: E402
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut  # noqa: E402
from core.mempool.feerate import FeeRate  # noqa: E402
from core.wallet.coin_selection import CoinSelectionParams, Recipient, select_coins  # noqa: E402
from core.wallet.keychain import KeychainKind  # noqa: E402
from core.wallet.spending import Payment  # noqa: E402
from core.wallet.wallet import Wallet  # noqa: E402

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
DEST = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
N_TXS = 100_000
N_COINS = 10_000
UNCONFIRMED = 50
GOALS = {"open": 2000.0, "balance": 50.0, "page": 20.0, "draft": 100.0}


def _ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _row(metric: str, value: float, goal: float | None, baseline: float | None = None) -> dict:
    return {
        "metric": metric,
        "value": round(value, 3),
        "unit": "ms",
        "goal": None if goal is None else f"<= {goal:g}",
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
    }


def build(path: Path, n_txs: int, spend: bool, seed: int = 84) -> None:
    """A wallet file with n_txs transactions paying its own scripts (see the module docstring)."""
    rng = random.Random(seed)
    w = Wallet.create(path, SANDBOX, MNEMONIC, password=None)
    try:
        n_addr = max(n_txs // 4, 1)
        kc = w.keychain
        scripts = {
            kind: kc.descriptor(kind).script_pubkey_range(0, n_addr + 20) for kind in (KeychainKind.RECEIVE, KeychainKind.CHANGE)
        }
        ids = {kind: w.tracker.descriptor_id(kind) for kind in scripts}
        tx_rows, out_rows, spend_rows = [], [], []
        live: list[tuple[bytes, int]] = []
        for i in range(n_txs):
            outs = []
            for kind in (KeychainKind.RECEIVE, KeychainKind.CHANGE):
                idx = rng.randrange(n_addr)
                outs.append((kind, idx, rng.randrange(10_000, 10_000_000)))
            tx = Transaction(
                2, (TxIn(OutPoint(Txid(rng.randbytes(32)), 0), b"", 0xFFFFFFFD),),
                tuple(TxOut(v, scripts[k][idx]) for k, idx, v in outs), 0,
            )
            txid = bytes(tx.txid)
            confirmed = i < n_txs - UNCONFIRMED
            height = 1000 + i // 3 if confirmed else None
            tx_rows.append((txid, tx.serialize(), height, rng.randbytes(32) if confirmed else None, 1_600_000_000 + i, 150))
            for vout, (kind, idx, value) in enumerate(outs):
                out_rows.append((txid, vout, value, scripts[kind][idx], ids[kind], idx))
                live.append((txid, vout))
            if spend and len(live) > 10:
                j = rng.randrange(len(live) - 2)
                live[j], live[-3] = live[-3], live[j]
                spend_rows.append((txid, *live.pop(-3)))
        with w.db.transaction() as c:
            # The address rows a real wallet has for its used window (the tracker saves them as it grows).
            c.executemany(
                "INSERT OR IGNORE INTO addresses(descriptor_id, idx, script_pubkey) VALUES (?, ?, ?)",
                ((ids[kind], i, spk) for kind in scripts for i, spk in enumerate(scripts[kind])),
            )
            c.executemany("INSERT INTO transactions(txid, raw, height, block_hash, time, fee) VALUES (?,?,?,?,?,?)", tx_rows)
            c.executemany(
                "INSERT INTO outputs(txid, vout, value, script_pubkey, descriptor_id, idx) VALUES (?,?,?,?,?,?)", out_rows
            )
            c.executemany("UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?", spend_rows)
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('tip_height', ?)", (1000 + n_txs // 3,))
        w.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        w.db.conn.execute("ANALYZE")
    finally:
        w.close()


def run(n_txs: int = N_TXS, n_coins: int = N_COINS) -> list[dict]:
    """Build both wallets and return the metric rows."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.sqlite"
        t = time.perf_counter()
        build(big, n_txs, spend=True)
        build_s = time.perf_counter() - t
        rows.append({"metric": f"build {n_txs:,}-tx wallet", "value": round(build_s, 1), "unit": "s",
                     "goal": None, "baseline": None, "ratio": None})
        opens = []
        for _ in range(3):
            t = time.perf_counter()
            w = Wallet.open(big)
            opens.append((time.perf_counter() - t) * 1000)
            w.close()
        w = Wallet.open(big)
        try:
            rows.append(_row(f"Wallet.open, {n_txs:,} txs", statistics.median(opens), GOALS["open"]))
            rows.append(_row("Wallet.balance()", _ms(w.balance, 21), GOALS["balance"]))
            rows.append(_row("Wallet.history(100), first page", _ms(lambda: w.history(100), 21), GOALS["page"]))
            cursor = None
            for _ in range(int(n_txs * 0.9) // 1000):
                _, cursor = w.history(1000, cursor)
            rows.append(_row("Wallet.history(100) at 90%", _ms(lambda: w.history(100, cursor), 21), GOALS["page"]))
        finally:
            w.close()

        coins_path = Path(tmp) / "coins.sqlite"
        build(coins_path, n_coins // 2, spend=False, seed=10)  # two unspent outputs per transaction
        w = Wallet.open(coins_path)
        try:
            rate = FeeRate.per_vb(5)
            payment = [Payment(DEST, 12_345_678)]
            draft_ms = _ms(lambda: w.draft(payment, rate, rng=random.Random(1)), 5)
            cands, _ = w._candidates()
            change = w._peek_change()[1]
            params = CoinSelectionParams(fee_rate=rate, change_script_pubkey=change)
            recipients = [Recipient(12_345_678, bytes.fromhex("0014d0c4a3ef09e997b6e99e397e518fe3e41a118ca1"))]
            select_ms = _ms(lambda: select_coins(cands, recipients, params, random.Random(1)), 5)
            rows.append(_row(f"Wallet.draft over {len(cands):,} coins (vs select_coins alone)", draft_ms, GOALS["draft"], select_ms))
        finally:
            w.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--txs", type=int, default=N_TXS)
    args = ap.parse_args()
    from tests.bench.run import print_table

    print_table(run(args.txs))


if __name__ == "__main__":
    main()
