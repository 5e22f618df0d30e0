"""BIP340 test vectors, read in place; one test case per CSV row.

Rows with a secret key must sign to exactly the listed signature (and key); every row must
verify to the listed result.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.crypto.schnorr import schnorr_sign, schnorr_verify, xonly_pubkey_from_privkey

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
with (VECTORS / "bip340_vectors.csv").open(newline="", encoding="utf-8") as _f:
    ROWS = list(csv.DictReader(_f))


@pytest.mark.parametrize("row", ROWS, ids=[f"index{r['index']}" for r in ROWS])
def test_bip340(row: dict[str, str]) -> None:
    pubkey = bytes.fromhex(row["public key"])
    msg = bytes.fromhex(row["message"])
    sig = bytes.fromhex(row["signature"])
    expected = row["verification result"] == "TRUE"
    if row["secret key"]:
        seckey = bytes.fromhex(row["secret key"])
        assert xonly_pubkey_from_privkey(seckey) == pubkey
        assert schnorr_sign(seckey, msg, bytes.fromhex(row["aux_rand"])) == sig
    assert schnorr_verify(pubkey, msg, sig) is expected, row["comment"]
