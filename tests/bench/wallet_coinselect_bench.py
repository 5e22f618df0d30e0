"""Benchmark: coin selection over a 10,000-coin wallet (goal: BnB + SRD within 100 ms).

`run()` builds 10,000 seeded random P2WPKH coins (1,000 sat to 5 BTC, log-uniform, like a busy wallet)
and times, in ms (best of a few rounds): Branch and Bound (which exhausts its 100,000 tries on a pool
this large) plus Single Random Draw on the priced pool, and the whole `select_coins` call (pricing,
three algorithms, exact change and fee). The same-run baseline is the "largest first" fallback alone,
the cheapest possible selection. Run directly for a table: `python3 tests/bench/wallet_coinselect_bench.py`.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.consensus.hashes import Txid  # noqa: E402
from core.consensus.tx import OutPoint  # noqa: E402
from core.mempool.feerate import FeeRate  # noqa: E402
from core.wallet.coin_selection import (  # noqa: E402
    Candidate,
    CoinSelectionParams,
    Recipient,
    _pool,
    select_coins,
)
from core.wallet.coin_selection_algos import (  # noqa: E402
    select_coins_bnb,
    select_coins_largest_first,
    select_coins_srd,
)

GOAL_MS = 100.0
N_COINS = 10_000
ROUNDS = 3
SPK = b"\x00\x14" + bytes(20)


def _wallet(rng: random.Random, n: int) -> list[Candidate]:
    lo, hi = math.log(1_000), math.log(500_000_000)
    return [
        Candidate(OutPoint(Txid(rng.randbytes(32)), rng.randrange(4)), int(math.exp(rng.uniform(lo, hi))), 272, depth=10)
        for _ in range(n)
    ]


def _best_ms(fn) -> float:
    best = math.inf
    for _ in range(ROUNDS):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) * 1000)
    return best


def run(n_coins: int = N_COINS) -> list[dict]:
    """Time BnB+SRD and the full selection over `n_coins` seeded random coins."""
    rng = random.Random(20240601)
    coins = _wallet(rng, n_coins)
    params = CoinSelectionParams(FeeRate.per_vb(20))
    pool = [p for p in (_pool(c, params, False) for c in coins) if p.selection_amount > 0]
    target = 123_456_789
    cost = params.cost_of_change
    max_w = params.max_tx_weight - 500

    def bnb_srd() -> None:
        select_coins_bnb(pool, target, cost, max_w)
        select_coins_srd(pool, target, params.change_fee, random.Random(7), max_w)

    ours = _best_ms(bnb_srd)
    base = _best_ms(lambda: select_coins_largest_first(pool, target, 50_000, max_w))
    full = _best_ms(lambda: select_coins(coins, [Recipient(target, SPK)], params, random.Random(7)))
    return [
        {
            "metric": f"coinselect_bnb_srd_{n_coins}_utxos",
            "value": round(ours, 2),
            "unit": "ms",
            "goal": GOAL_MS,
            "baseline": round(base, 2),
            "ratio": round(ours / base, 2),
        },
        {
            "metric": f"coinselect_select_coins_{n_coins}_utxos",
            "value": round(full, 2),
            "unit": "ms",
            "goal": GOAL_MS,
            "baseline": round(base, 2),
            "ratio": round(full / base, 2),
        },
    ]


if __name__ == "__main__":
    from tests.bench.run import print_table

    print_table(run())
