"""Bitcoin Core's base58 encode/decode vectors, read in place; one test case per entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.crypto.base58 import b58decode, b58encode

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
CASES = json.loads((VECTORS / "core_base58_encode_decode.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("hex_data", "text"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_base58_round_trip(hex_data: str, text: str) -> None:
    data = bytes.fromhex(hex_data)
    assert b58encode(data) == text
    assert b58decode(text) == data
