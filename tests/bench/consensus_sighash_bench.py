"""Signature hashing cost per input: a 1-input transaction against a 1,000-input one.

BIP143 and BIP341 were designed so that hashing every input of a transaction is linear in its size;
with PrecomputedTxData built once per transaction, the per-input cost must stay flat as the input
count grows (goal: per-input cost at 1,000 inputs <= 1.5x the cost at 1 input).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.consensus.hashes import Txid, sha256
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    segwit_v0_sighash,
    taproot_sighash,
)

_GOAL_RATIO = 1.5
_BIG = 1000
_P2WPKH_SCRIPT_CODE = bytes.fromhex("76a914") + bytes(range(20)) + bytes.fromhex("88ac")


def _tx(n_inputs: int, spk_prefix: bytes, program_len: int) -> tuple[Transaction, list[TxOut]]:
    vin = tuple(
        TxIn(OutPoint(Txid(sha256(i.to_bytes(4, "little"))), i % 3), b"", 0xFFFFFFFD, (bytes(64),))
        for i in range(n_inputs)
    )
    vout = (
        TxOut(100_000, bytes.fromhex("0014") + bytes(20)),
        TxOut(250_000, bytes.fromhex("5120") + bytes([7]) * 32),
    )
    spent = [TxOut(10_000 + i, spk_prefix + bytes([i % 256]) * program_len) for i in range(n_inputs)]
    return Transaction(2, vin, vout, 0), spent


def _hash_all_segwit_v0(tx: Transaction, spent: list[TxOut]) -> None:
    cache = PrecomputedTxData(tx, spent)
    for i, out in enumerate(spent):
        segwit_v0_sighash(tx, i, _P2WPKH_SCRIPT_CODE, out.value, SIGHASH_ALL, cache)


def _hash_all_taproot(tx: Transaction, spent: list[TxOut]) -> None:
    cache = PrecomputedTxData(tx, spent)
    for i in range(len(spent)):
        taproot_sighash(tx, i, SIGHASH_DEFAULT, cache)


def _per_input_us(
    fn: Callable[[Transaction, list[TxOut]], None], n_inputs: int, spk: tuple[bytes, int], budget_s: float = 0.4
) -> float:
    """Best-of-several time, in µs per input, to hash every input of a fresh n-input transaction
    whose spent outputs are `spk` = (program prefix, program length).

    A fresh Transaction per round, so its cached serializations are not carried over."""
    best = float("inf")
    deadline = time.perf_counter() + budget_s
    rounds = 0
    while rounds < 5 or (time.perf_counter() < deadline and rounds < 2000):
        tx, spent = _tx(n_inputs, *spk)
        start = time.perf_counter()
        fn(tx, spent)
        best = min(best, time.perf_counter() - start)
        rounds += 1
    return best * 1e6 / n_inputs


def run() -> list[dict]:
    """Per-input sighash cost of segwit v0 and taproot, at 1 and at 1,000 inputs."""
    rows: list[dict] = []
    suites = (
        ("segwit_v0", _hash_all_segwit_v0, (b"\x00\x14", 20)),  # P2WPKH
        ("taproot", _hash_all_taproot, (b"\x51\x20", 32)),  # P2TR key path
    )
    for label, fn, spk in suites:
        small = _per_input_us(fn, 1, spk)
        big = _per_input_us(fn, _BIG, spk)
        rows.append(
            {
                "metric": f"sighash_{label}_per_input_1in",
                "value": round(small, 3),
                "unit": "us/input",
                "goal": None,
                "baseline": None,
                "ratio": None,
            }
        )
        rows.append(
            {
                "metric": f"sighash_{label}_per_input_{_BIG}in",
                "value": round(big, 3),
                "unit": "us/input",
                "goal": f"ratio <= {_GOAL_RATIO}",
                "baseline": round(small, 3),
                "ratio": round(big / small, 3),
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
