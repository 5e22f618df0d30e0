"""BIP341 wallet vectors, keyPathSpending: each signed input of fullySignedTx verifies through
verify_input (the whole taproot key-path rule set), and fails once its signature is altered."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.consensus.tx import Transaction, TxOut
from core.script.errors import ScriptError
from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.script.sighash import PrecomputedTxData

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
GROUPS = json.loads((VECTORS / "bip341_wallet_vectors.json").read_text())["keyPathSpending"]
CASES = [(g, spend) for g in GROUPS for spend in g["inputSpending"]]
IDS = [f"group{GROUPS.index(g)}-input{s['given']['txinIndex']}" for g, s in CASES]


@pytest.mark.parametrize(("group", "spend"), CASES, ids=IDS)
def test_key_path_spend_verifies(group: dict, spend: dict) -> None:
    tx = Transaction.from_hex(group["auxiliary"]["fullySignedTx"])
    spent = [TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"])) for u in group["given"]["utxosSpent"]]
    index = spend["given"]["txinIndex"]
    assert list(tx.vin[index].witness) == [bytes.fromhex(w) for w in spend["expected"]["witness"]]
    flags = STANDARD_SCRIPT_VERIFY_FLAGS
    assert verify_input(tx, index, spent, flags, PrecomputedTxData(tx, spent)) is None

    sig = bytearray(tx.vin[index].witness[0])
    sig[5] ^= 1
    vin = list(tx.vin)
    vin[index] = dataclasses.replace(vin[index], witness=(bytes(sig), *vin[index].witness[1:]))
    bad = dataclasses.replace(tx, vin=tuple(vin))
    assert verify_input(bad, index, spent, flags, PrecomputedTxData(bad, spent)) is ScriptError.SCHNORR_SIG
