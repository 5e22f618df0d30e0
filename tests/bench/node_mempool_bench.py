"""Benchmark: the light node's mempool view parsing and accounting relayed transactions.

20,000 realistic transactions (1-3 P2WPKH inputs, 1-2 outputs; a third spend outputs of earlier
ones, so their fees are computable; one in twenty replaces an earlier one) are serialized, then
fed to `MempoolView.ingest_raw` in batches of 1,000, as a burst of `tx` messages would arrive:
parse (witness serialization), txid/wtxid hashing, vsize, replacement detection, fee where the
prevouts are known, histogram. The baseline in the same run is parsing alone with the same
parser (the share the accounting adds on top).
"""

from __future__ import annotations

import asyncio
import gc
import random
import time

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.node.mempool_view import MempoolView

GOAL = 5_000
BATCH = 1_000
_SPK = b"\x00\x14" + bytes(20)
_WITNESS = (bytes(71), bytes(33))


class _NoPeers:
    def peers(self) -> list:
        return []


def make_txs(count: int, seed: int = 1) -> list[bytes]:
    """Serialized transactions, a third of them spending earlier ones (so their fees are known)."""
    rng = random.Random(seed)
    txs: list[Transaction] = []
    for i in range(count):
        vin = []
        child = rng.random() < 0.33  # all inputs from earlier transactions: the fee is computable
        for _ in range(rng.choice((1, 1, 2, 3))):
            if txs and child:
                parent = txs[rng.randrange(max(0, len(txs) - 500), len(txs))]
                prev = OutPoint(parent.txid, rng.randrange(len(parent.vout)))
            elif txs and rng.random() < 0.05:
                prev = rng.choice(txs).vin[0].prevout  # a double spend: replaces that transaction
            else:
                prev = OutPoint(Txid(rng.randbytes(32)), rng.randrange(4))
            vin.append(TxIn(prev, b"", 0xFFFFFFFD, _WITNESS))
        vout = tuple(TxOut(rng.randrange(1_000, 50_000), _SPK) for _ in range(rng.choice((1, 2))))
        txs.append(Transaction(2, tuple(vin), vout, i))
    return [t.serialize() for t in txs]


def _parse_only(raws: list[bytes]) -> float:
    t0 = time.perf_counter()
    for r in raws:
        tx = Transaction.parse(r)
        _ = tx.txid, tx.wtxid
    return len(raws) / (time.perf_counter() - t0)


async def _view_rate(raws: list[bytes]) -> tuple[float, MempoolView]:
    loop = asyncio.get_running_loop()
    view = MempoolView(_NoPeers(), lambda fn, *a: loop.run_in_executor(None, fn, *a), stats_interval=0.0)
    t0 = time.perf_counter()
    for i in range(0, len(raws), BATCH):
        await view.ingest_raw(raws[i : i + BATCH])
    rate = len(raws) / (time.perf_counter() - t0)
    await view.close()
    return rate, view


def run(count: int = 20_000) -> list[dict]:
    raws = make_txs(count)
    gc.collect()
    ours, view = asyncio.run(_view_rate(raws))
    stats = view.stats()
    assert stats.count > count // 2 and stats.fee_known_count > 0 and stats.replacements > 0
    base = _parse_only(raws)
    return [
        {
            "metric": f"mempool view: parse + account {count:,} relayed txs "
            f"({stats.replacements:,} replacements, {stats.coverage:.0%} fee coverage)",
            "value": round(ours),
            "unit": "tx/s",
            "goal": f">= {GOAL:,}",
            "baseline": round(base),
            "ratio": round(ours / base, 2),
        }
    ]


if __name__ == "__main__":
    print(run())
