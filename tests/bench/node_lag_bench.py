"""Benchmark: event-loop lag while headers are validated and filters scanned off the loop.

The light node runs header batches (2,000 at a time) and filter matching on a worker thread and
awaits them from the loop the window also uses. This drives that shape — 200,000 regtest headers
accepted into a stored HeaderTree and 5,000 mainnet-size filters matched against 1,000 wallet
scripts, each step awaited through a single-thread executor — while a 5 ms ticker measures lag.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.chain.generate import generate_headers
from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import params_for
from core.consensus.block import BlockHeader
from core.filters import gcs
from tests.bench.filters_bench import _filters
from tests.bench.looplag import LagProbe

SEED = 158


async def _drive(tree: HeaderTree, raw: list[bytes], now: int, filters: list, wallet: gcs.ElementSet) -> int:
    loop = asyncio.get_running_loop()
    matched = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync") as pool:
        for i in range(0, len(raw), 2000):
            chunk = raw[i : i + 2000]
            await loop.run_in_executor(
                pool, lambda c=chunk: tree.accept(tuple(BlockHeader.parse(r) for r in c), now)
            )

        def scan(batch: list) -> int:
            return sum(1 for data, key, _ in batch if gcs.match_set(data, key, wallet))

        for i in range(0, len(filters), 50):
            matched += await loop.run_in_executor(pool, scan, filters[i : i + 50])
    return matched


def run(headers: int = 200_000, n_filters: int = 5000) -> list[dict]:
    params = params_for("regtest")
    raw = [h.serialize() for h in generate_headers(HeaderTree(params), headers, spacing=1)]
    rng = random.Random(SEED)
    wallet_scripts = [b"\x00\x14" + rng.randbytes(20) for _ in range(1000)]
    filters = [f for batch in _filters(rng, n_filters, 7500, wallet_scripts) for f in batch]
    wallet = gcs.ElementSet(wallet_scripts)
    with tempfile.TemporaryDirectory() as tmp:
        tree = HeaderTree(params, HeaderStore(Path(tmp) / "h.sqlite"))

        async def main() -> tuple[LagProbe, int, float]:
            async with LagProbe() as probe:
                t0 = time.perf_counter()
                matched = await _drive(tree, raw, BlockHeader.parse(raw[-1]).time + 60, filters, wallet)
                elapsed = time.perf_counter() - t0
            return probe, matched, elapsed

        probe, matched, elapsed = asyncio.run(main())
    assert matched >= n_filters // 25, f"seed {SEED}: planted scripts not found"
    return [
        *probe.metrics(f"sync {headers:,} headers + scan {n_filters:,} filters off-loop"),
        {"metric": "that workload's wall time", "value": round(elapsed, 2), "unit": "s",
         "goal": None, "baseline": None, "ratio": None},
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.bench.run import print_table

    print_table(run())
