"""Benchmark: header validation + storage, against python-bitcoinlib's header parsing and checks.

A regtest chain of real-PoW headers is generated once, then accepted into a HeaderTree backed by
its SQLite store in batches of 2,000 (what a peer's `headers` message carries): parsing, proof of
work, difficulty, MTP and timestamp rules, chain work, skip pointers and the durable write. In the
same run python-bitcoinlib deserialises the same headers and runs its CheckBlockHeader (parse,
PoW and timestamp only — a subset of our checks, with no storage) as the published-library baseline.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

from core.chain.generate import generate_headers
from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import params_for
from core.consensus.block import BlockHeader

GOAL = 100_000
BATCH = 2000


def _bitcoinlib_rate(raw: list[bytes], now: int) -> float:
    import bitcoin
    from bitcoin.core import CBlockHeader, CheckBlockHeader

    bitcoin.SelectParams("regtest")  # the library's own global chain selection
    t0 = time.perf_counter()
    for r in raw:
        CheckBlockHeader(CBlockHeader.deserialize(r), fCheckPoW=True, cur_time=now)
    return len(raw) / (time.perf_counter() - t0)


def run(count: int = 1_000_000) -> list[dict]:
    params = params_for("regtest")
    headers = generate_headers(HeaderTree(params), count, spacing=1)
    raw = [h.serialize() for h in headers]
    now = headers[-1].time + 60
    with tempfile.TemporaryDirectory() as tmp:
        tree = HeaderTree(params, HeaderStore(Path(tmp) / "headers.sqlite"))
        gc.collect()
        t0 = time.perf_counter()
        for i in range(0, count, BATCH):
            batch = tuple(BlockHeader.parse(r) for r in raw[i : i + BATCH])
            tree.accept(batch, now)
        ours = count / (time.perf_counter() - t0)
        assert tree.height == count
    base = _bitcoinlib_rate(raw[: min(count, 200_000)], now)
    return [
        {
            "metric": f"validate+store {count:,} regtest headers (parse, PoW, difficulty, MTP, SQLite)",
            "value": round(ours),
            "unit": "headers/s",
            "goal": f">= {GOAL:,}",
            "baseline": round(base),
            "ratio": round(ours / base, 2),
        }
    ]
