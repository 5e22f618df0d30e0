"""Bitcoin Core's sighash.json: legacy SignatureHash over random transactions and scripts.

Each entry is [raw_tx, script, input_index, hashType, expected sighash (display, byte-reversed hex)].
hashType is Core's signed int, so it can be negative or use bits beyond the low byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.consensus.tx import Transaction
from core.script.sighash import PrecomputedTxData, legacy_sighash

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def _load() -> list[list]:
    rows = json.loads((VECTORS / "core_sighash.json").read_text())
    return [row for row in rows if len(row) != 1]  # single-string rows are comments


CASES = _load()


@pytest.mark.parametrize(
    ("raw_tx", "script_hex", "input_index", "hash_type", "expected"),
    CASES,
    ids=[f"{i}-type{row[3]}" for i, row in enumerate(CASES)],
)
def test_core_sighash(raw_tx: str, script_hex: str, input_index: int, hash_type: int, expected: str) -> None:
    tx = Transaction.from_hex(raw_tx)
    script = bytes.fromhex(script_hex)
    assert legacy_sighash(tx, input_index, script, hash_type)[::-1].hex() == expected
    # The per-transaction cache must not change the result.
    assert legacy_sighash(tx, input_index, script, hash_type, PrecomputedTxData(tx))[::-1].hex() == expected
