"""Benchmark: full block validation into the SQLite chain state (ChainState.activate_best_chain).

Measures blocks/s connecting 1,000 empty regtest blocks, blocks/s and inputs/s over a 230-block chain
with eight signed P2WPKH/P2TR inputs a block, and inputs/s for one block spending 3,000 inputs (half
ECDSA, half Schnorr). Header acceptance and block building are outside the timings; each figure
includes script checks, UTXO reads and writes, undo data, the BIP158 index and one commit per block.
Run directly for a table: `python3 tests/bench/validation_bench.py`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.consensus.tx import TxOut  # noqa: E402
from tests.unit.validation_support import (  # noqa: E402
    REGTEST,
    ChainDriver,
    Key,
    Wallet,
    build_block,
    genesis_time,
    make_block,
    spend,
)

T0 = genesis_time()


def _activate(drv: ChainDriver, blocks) -> float:
    drv.tree.accept([b.header for b in blocks])
    for b in blocks:
        drv.cs.store_block(b)
    t = time.perf_counter()
    update = drv.cs.activate_best_chain()
    elapsed = time.perf_counter() - t
    assert len(update.connected) == len(blocks)
    return elapsed


def _empty(directory: Path) -> float:
    prev = REGTEST.genesis_hash
    blocks = []
    for h in range(1, 1001):
        b = make_block(prev, h, T0 + 600 * h)
        blocks.append(b)
        prev = b.hash
    drv = ChainDriver(directory)
    try:
        return len(blocks) / _activate(drv, blocks)
    finally:
        drv.close()


def _signed_chain(directory: Path) -> tuple[float, float]:
    keys = (Key.from_int(11), Key.from_int(12, taproot=True), Key.from_int(13), Key.from_int(14, taproot=True))
    wallet = Wallet(keys)
    prev = REGTEST.genesis_hash
    blocks = []
    for h in range(1, 231):
        b = build_block(wallet, prev, h, T0 + 600 * h, n_txs=4, inputs_per_tx=2)
        blocks.append(b)
        prev = b.hash
    drv = ChainDriver(directory)
    try:
        dt = _activate(drv, blocks)
    finally:
        drv.close()
    n_inputs = sum(len(tx.vin) for b in blocks for tx in b.txs[1:])
    return len(blocks) / dt, n_inputs / dt


def _big_block(directory: Path, n: int = 3000) -> float:
    keys = tuple(Key.from_int(100 + i, taproot=bool(i % 2)) for i in range(8))
    wallet = Wallet(keys)
    prev = REGTEST.genesis_hash
    blocks = []
    for h in range(1, 102):
        b = make_block(prev, h, T0 + 600 * h, payout=keys[0].script_pubkey)
        wallet.apply(b, h)
        blocks.append(b)
        prev = b.hash
    op, out, key = wallet.spendable(102)[0]
    per = (out.value - 100_000) // n
    fan = spend([(op, out, key)], [TxOut(per, keys[i % 8].script_pubkey) for i in range(n)])
    b102 = make_block(prev, 102, T0 + 600 * 102, (fan,), fees=out.value - per * n)
    wallet.apply(b102, 102)
    coins = [c for c in wallet.spendable(103) if c[0].txid == fan.txid]
    txs = []
    for i in range(0, n, 100):
        chunk = coins[i : i + 100]
        txs.append(spend(chunk, [TxOut(sum(c[1].value for c in chunk) - 10_000, keys[1].script_pubkey)]))
    b103 = make_block(b102.hash, 103, T0 + 600 * 103, txs, fees=10_000 * len(txs))
    drv = ChainDriver(directory)
    try:
        _activate(drv, [*blocks, b102])
        return n / _activate(drv, [b103])
    finally:
        drv.close()


def _metric(name: str, value: float, unit: str) -> dict:
    return {"metric": name, "value": round(value, 1), "unit": unit, "goal": None, "baseline": None, "ratio": None}


def run() -> list[dict]:
    """Metrics for tests/bench/run.py."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        empty = _empty(root / "empty")
        chain_blocks, chain_inputs = _signed_chain(root / "signed")
        big = _big_block(root / "big")
    return [
        _metric("connect empty regtest blocks", empty, "blocks/s"),
        _metric("connect blocks with 8 signed inputs", chain_blocks, "blocks/s"),
        _metric("inputs verified in those blocks", chain_inputs, "inputs/s"),
        _metric("inputs verified in one 3000-input block", big, "inputs/s"),
    ]


if __name__ == "__main__":
    from tests.bench.run import print_table

    print_table(run())
