"""Benchmark: the sandbox full node mining and validating a long chain of blocks full of signed spends.

Node A mines `blocks` blocks of ~20 transactions each (P2WPKH and P2TR key-path spends, every
transaction through A's mempool). Node B, fresh, then validates A's chain exactly as it would from a
peer: headers, then each block's checks, UTXO updates, every input's scripts and its BIP158 filter.
B's time gives blocks/s and inputs/s; filter construction is timed on its own over the same blocks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from core.chain.params import params_for
from core.consensus.tx import OutPoint, TxOut
from core.filters.basic import BlockFilter
from core.mempool.results import Accepted
from core.sandbox.chain_service import ChainService
from core.sandbox.coins import OwnedCoin

TXS_PER_BLOCK = 20


WARMUP = 120  # coinbase-only blocks first, so coinbases mature


def _mine_chain(a: ChainService, blocks: int) -> list:
    a_blocks = [a.mine_block()[0] for _ in range(WARMUP)]
    pool: deque[OwnedCoin] = deque(
        c for c in a.coins.spendable(a.tip.height) if c.coinbase
    )
    keys = a.traffic_keys
    for i in range(blocks):
        next_pool: list[OwnedCoin] = []
        for j in range(min(TXS_PER_BLOCK, len(pool))):
            coin = pool.popleft()
            dest = keys[(i + j) % len(keys)]
            change = keys[(i + j + 1) % len(keys)]
            tx = a.coins.create_payment([TxOut(100_000, dest.script_pubkey)], 2, change, a.tip.height, coins=[coin])
            result = a.accept_tx(tx)
            if not isinstance(result, Accepted):
                raise AssertionError(f"bench tx refused: {result}")
            next_pool.append(OwnedCoin(OutPoint(tx.txid, 1), tx.vout[1], None, False, change))
        block, outcome = a.mine_block()
        if outcome.reject:
            raise AssertionError(f"bench block refused: {outcome.reject}")
        a_blocks.append(block)
        pool.extend(next_pool)
    return a_blocks


def run(blocks: int = 5000) -> list[dict]:
    params = params_for("sandbox")
    with tempfile.TemporaryDirectory() as tmp:
        a = ChainService(params, Path(tmp) / "a")
        t0 = time.perf_counter()
        chain = _mine_chain(a, blocks)
        mine_s = time.perf_counter() - t0
        a.close()
        b = ChainService(params, Path(tmp) / "b")
        for blk in chain[:WARMUP]:
            b.accept_headers((blk.header,))
            b.process_block(blk)
        timed = chain[WARMUP:]
        inputs = sum(len(tx.vin) for blk in timed for tx in blk.txs[1:])
        t0 = time.perf_counter()
        for i in range(0, len(timed), 2000):
            b.accept_headers(tuple(blk.header for blk in timed[i : i + 2000]))
        for blk in timed:
            outcome = b.process_block(blk)
            if outcome.reject:
                raise AssertionError(f"validation refused block: {outcome.reject}")
        validate_s = time.perf_counter() - t0
        assert b.tip.hash == chain[-1].hash
        outputs: dict[OutPoint, bytes] = {}
        t_filter = 0.0
        for blk in chain:
            spent = [outputs.pop(i.prevout, b"") for tx in blk.txs[1:] for i in tx.vin]
            t1 = time.perf_counter()
            BlockFilter.build_basic(blk, spent)
            t_filter += time.perf_counter() - t1
            for tx in blk.txs:
                for n, o in enumerate(tx.vout):
                    outputs[OutPoint(tx.txid, n)] = o.script_pubkey
        b.close()
    n = len(chain) - WARMUP
    return [
        {"metric": f"mine {n} blocks of ~{TXS_PER_BLOCK} txs via the mempool (A, incl. signing)", "value": round(len(chain) / mine_s, 1), "unit": "blocks/s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": f"validate {n} blocks from scratch (B)", "value": round(n / validate_s, 1), "unit": "blocks/s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": f"validate {inputs} inputs (B)", "value": round(inputs / validate_s), "unit": "inputs/s",
         "goal": None, "baseline": None, "ratio": None},
        {"metric": f"BIP158 filter construction ({len(chain)} blocks)", "value": round(t_filter / n * 1000, 3), "unit": "ms/block",
         "goal": None, "baseline": None, "ratio": None},
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.bench.run import print_table

    print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
