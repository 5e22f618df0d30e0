"""BIP324 ElligatorSwift decoding vectors: every 64-byte encoding maps to the listed X coordinate.

The CSV is read in place from ../shared/vectors; one test case per row.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.p2p.ellswift import ellswift_decode

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
ROWS = list(csv.DictReader((VECTORS / "bip324_ellswift_decode.csv").open(newline="", encoding="utf-8")))


@pytest.mark.parametrize("row", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_ellswift_decode(row: dict[str, str]) -> None:
    """libsecp256k1's decoding gives the vector's X coordinate (the comment names the branch taken)."""
    pubkey = ellswift_decode(bytes.fromhex(row["ellswift"]))
    assert len(pubkey) == 33 and pubkey[0] in (2, 3)
    assert pubkey[1:].hex() == row["x"], row["comment"]
