"""Benchmark: event-loop lag of the app (window, bridge, pages, embedded sandbox, light node, wallet on one
qasync loop) while it syncs a long sandbox chain and scans its filters for a restored wallet.

Setup (not timed): a sandbox chain of `blocks` blocks is mined straight into the data directory the app's
embedded sandbox uses, every block carrying one signed payment to twenty strangers' scripts (so filters
have content), every `PAY_EVERY`-th one also paying the next receive address of a wallet restored from a
fixed mnemonic (so filters match and blocks are downloaded through the scan). Block times are spread over
the past, so no header is "too new".

Timed: AppContext + CoreBridge + MainWindow (the real pages) are built and shown, start-up objects tenured
as app/launch.py does (app/gc_policy.py); an idle second gives the baseline lag; then `ctx.start()` runs
(sandbox reopened, node started, headers, filter headers, filters, block downloads, the wallet's
transactions) until the node reports synced at the chain tip and the wallet holds every payment. Two
probes run throughout: LagProbe (a 5 ms asyncio sleep loop) and a 5 ms precise QTimer (Qt's own timers).
The machine's 1-minute load average is reported beside them: the machine is shared, and lag grows with
what else runs. `--slow` prints the asyncio callbacks that ran for 16 ms or more, a census of the loop
thread's stack while it was stalled, the late ticks with their sync stage and the garbage collections
(tests/bench/app_qt.py).

Run directly: `python3 tests/bench/app_lag_bench.py [--blocks N] [--slow]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.app_qt import GcPauses, QtLagProbe, SlowCallbacks, StallSampler, run_qasync  # noqa: E402  (sets offscreen Qt first)

# isort: split
from app.bridge import CoreBridge  # noqa: E402
from app.context import AppContext, SandboxOptions  # noqa: E402
from app.gc_policy import tenure  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from core.chain.params import params_for  # noqa: E402
from core.consensus.network import SANDBOX  # noqa: E402
from core.consensus.tx import OutPoint, TxOut  # noqa: E402
from core.mempool.results import Accepted  # noqa: E402
from core.node.events import SyncStage  # noqa: E402
from core.sandbox.chain_service import ChainService  # noqa: E402
from core.sandbox.coins import OwnedCoin  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.wallet.keychain import KeychainKind  # noqa: E402
from core.wallet.wallet import Wallet  # noqa: E402
from tests.bench.looplag import LagProbe  # noqa: E402

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
BLOCKS = 10_000
WARMUP = 110  # coinbase-only blocks first, so the faucet has mature coins
PAY_EVERY = 25  # a wallet payment in every 25th block
OUTPUTS_PER_BLOCK = 20  # outputs to strangers in each block (filter content)
SEED = 7
IDLE_S = 1.0
SYNC_TIMEOUT = 110.0


def build(root: Path, blocks: int) -> int:
    """The sandbox chain and the restored wallet file under `root` (the app's layout); returns how many
    wallet payments the chain holds."""
    params = params_for("sandbox")
    ctx = AppContext("sandbox", root, settings=Settings())  # only for its paths
    ctx.paths.network_dir.mkdir(parents=True, exist_ok=True)
    wallet = Wallet.create(ctx.paths.wallet, SANDBOX, MNEMONIC, password=None)
    n_pay = blocks // PAY_EVERY
    receive = wallet.keychain.descriptor(KeychainKind.RECEIVE).script_pubkey_range(0, n_pay)
    wallet.close()
    rng = random.Random(SEED)
    chain = ChainService(params, ctx.paths.sandbox)
    try:
        t = int(time.time()) - (WARMUP + blocks) * 2 - 600  # every block in the past
        for _ in range(WARMUP):
            t += 2
            chain.mine_block(now=t)
        # One transaction per block, each spending the previous one's change (the sandbox's own
        # coin-picking walks all its coins: quadratic over thousands of blocks).
        coin = next(c for c in chain.coins.spendable(chain.tip.height) if c.coinbase)
        paid = 0
        for i in range(blocks):
            outs = [TxOut(rng.randrange(1_000, 5_000), b"\x00\x14" + rng.randbytes(20)) for _ in range(OUTPUTS_PER_BLOCK)]
            if i % PAY_EVERY == PAY_EVERY - 1 and paid < n_pay:
                outs.insert(rng.randrange(len(outs) + 1), TxOut(1_000_000 + paid, receive[paid]))
                paid += 1
            tx = chain.coins.create_payment(outs, 2, chain.miner_key, chain.tip.height, coins=[coin])
            result = chain.accept_tx(tx)
            if not isinstance(result, Accepted):
                raise AssertionError(f"bench payment refused: {result}")
            chain.coins.add_unconfirmed(tx)
            t += 2
            _, outcome = chain.mine_block(now=t)
            if outcome.reject:
                raise AssertionError(f"bench block refused: {outcome.reject}")
            change = len(tx.vout) - 1
            coin = OwnedCoin(OutPoint(tx.txid, change), tx.vout[change], chain.tip.height, False, chain.miner_key)
    finally:
        chain.close()
    return paid


def _synced(ctx: AppContext, bridge: CoreBridge, tip: int, payments: int) -> bool:
    node, wallet = ctx.node, ctx.wallet
    if node is None or wallet is None or not hasattr(node, "filters"):
        return False
    last = bridge.last_sync
    return (
        last is not None and last.stage is SyncStage.SYNCED and node.filters.synced.is_set()
        and node.filters.scan_height >= tip and wallet.tx_count() >= payments
    )


async def _measure(root: Path, tip: int, payments: int, slow: SlowCallbacks | None, stalls: StallSampler | None) -> dict:
    opts = SandboxOptions(initial_blocks=0, traffic_interval=0.5, block_interval=None, traffic_seed=SEED, fund_new_wallet=False)
    ctx = AppContext("sandbox", root, settings=Settings(), sandbox=opts)
    errors: list[tuple[str, BaseException]] = []
    ctx.on_task_error = lambda exc, name: errors.append((name, exc))
    bridge = CoreBridge(ctx)
    window = MainWindow(ctx, bridge)
    window.resize(1280, 800)
    window.show()
    tenure()  # as app/launch.py does after showing the window and after ctx.start()
    out: dict = {}
    try:
        idle_q = QtLagProbe()
        idle_q.start()
        async with LagProbe() as idle:
            await asyncio.sleep(IDLE_S)
        idle_q.stop()
        qt = QtLagProbe(label=lambda: bridge.last_sync.stage.value if bridge.last_sync is not None else "start")
        qt.start()
        if slow is not None:
            slow.__enter__()
        if stalls is not None:
            stalls.__enter__()
        gc_pauses = GcPauses().__enter__()
        try:
            async with LagProbe() as probe:
                t0 = time.perf_counter()
                await ctx.start()
                tenure()
                started = time.perf_counter() - t0
                deadline = t0 + SYNC_TIMEOUT
                while not _synced(ctx, bridge, tip, payments):
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"not synced after {SYNC_TIMEOUT:.0f} s (last: {bridge.last_sync})")
                    await asyncio.sleep(0.02)
                elapsed = time.perf_counter() - t0
        finally:
            if slow is not None:
                slow.__exit__()
            if stalls is not None:
                stalls.__exit__()
            gc_pauses.__exit__()
            qt.stop()
        assert ctx.wallet is not None
        out = {"load": os.getloadavg()[0], "idle": idle, "idle_qt": idle_q, "probe": probe, "qt": qt, "elapsed": elapsed, "started": started,
               "txs": ctx.wallet.tx_count(), "gc": gc_pauses}
    finally:
        window.close()  # the app's order: the window flushes the bridge, then the core stops
        await ctx.close()
    if errors:
        raise AssertionError(f"app tasks failed: {errors}")
    return out


def _lag_rows(label: str, value_max: float, value_p99: float, base_max: float, base_p99: float) -> list[dict]:
    return [
        {"metric": f"{label}: max", "value": round(value_max, 2), "unit": "ms", "goal": "<= 50",
         "baseline": round(base_max, 2), "ratio": round(value_max / base_max, 2) if base_max else None},
        {"metric": f"{label}: p99", "value": round(value_p99, 2), "unit": "ms", "goal": "<= 16",
         "baseline": round(base_p99, 2), "ratio": round(value_p99 / base_p99, 2) if base_p99 else None},
    ]


def run(blocks: int = BLOCKS, show_slow: bool = False) -> list[dict]:
    """Build the chain, then sync the app against it; lag rows (baseline: the same app idle before start)."""
    with tempfile.TemporaryDirectory(prefix="peerwallet-lagbench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        payments = build(root, blocks)
        build_s = time.perf_counter() - t
        tip = WARMUP + blocks
        slow = SlowCallbacks() if show_slow else None
        stalls = StallSampler() if show_slow else None
        m = run_qasync(_measure(root, tip, payments, slow, stalls))
    if slow is not None and stalls is not None:
        print(f"asyncio callbacks >= {slow.threshold_ms:g} ms during the sync:\n{slow.report()}", file=sys.stderr)
        print(stalls.report(), file=sys.stderr)
        notes = "\n".join(f"  {t:6.2f} s  {lag:6.1f} ms  {what}" for t, lag, what in m["qt"].notes)
        print(f"Qt timer ticks late by >= 15 ms (time since start, lag, sync stage):\n{notes}", file=sys.stderr)
        print(m["gc"].report(), file=sys.stderr)
    if m["txs"] < payments:
        raise AssertionError(f"wallet found {m['txs']} of {payments} payments")
    what = f"app syncing {tip:,} sandbox blocks ({payments} wallet payments)"
    idle, idle_q, probe, qt = m["idle"], m["idle_qt"], m["probe"], m["qt"]
    return [
        {"metric": f"build the chain (setup, {tip:,} blocks)", "value": round(build_s, 1), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
        *_lag_rows(f"{what}: asyncio lag", probe.max_ms, probe.p99_ms, idle.max_ms, idle.p99_ms),
        *_lag_rows(f"{what}: Qt timer lag", qt.max_ms, qt.p99_ms, idle_q.max_ms, idle_q.p99_ms),
        {"metric": "start to synced and scanned (incl. ctx.start)", "value": round(m["elapsed"], 2), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": "  of which ctx.start() (sandbox reopen, node start)", "value": round(m["started"], 2), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": "machine load average (1 min, 2 cores) at the end of the sync", "value": round(m["load"], 2),
         "unit": "", "goal": None, "baseline": None, "ratio": None},
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=BLOCKS)
    ap.add_argument("--slow", action="store_true", help="print the slow asyncio callbacks and stalled stacks")
    args = ap.parse_args()
    from tests.bench.run import print_table

    print_table(run(args.blocks, args.slow))


if __name__ == "__main__":
    main()
