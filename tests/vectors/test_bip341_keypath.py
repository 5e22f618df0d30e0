"""BIP341 wallet test vectors, keyPathSpending: sighash intermediaries, key tweak and signature.

The BIP's vectors were produced with BIP340 auxiliary randomness of 32 zero bytes (as Bitcoin Core's
own test of these vectors signs), so the expected witness is reproducible exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.consensus.hashes import tagged_hash
from core.consensus.tx import Transaction, TxOut
from core.crypto.schnorr import schnorr_sign, schnorr_verify, xonly_pubkey_from_privkey
from core.crypto.taproot import taproot_tweak_pubkey, taproot_tweak_seckey, taptweak_hash
from core.script.sighash import SIGHASH_DEFAULT, PrecomputedTxData, taproot_sighash, taproot_sigmsg

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
_ZERO_AUX = bytes(32)


def _key_path_spending() -> list[dict]:
    return json.loads((VECTORS / "bip341_wallet_vectors.json").read_text())["keyPathSpending"]


KEY_PATH = _key_path_spending()
INPUT_CASES = [(group, spend) for group in KEY_PATH for spend in group["inputSpending"]]


def _tx_and_cache(group: dict) -> tuple[Transaction, PrecomputedTxData]:
    tx = Transaction.from_hex(group["given"]["rawUnsignedTx"])
    spent = [
        TxOut(utxo["amountSats"], bytes.fromhex(utxo["scriptPubKey"])) for utxo in group["given"]["utxosSpent"]
    ]
    return tx, PrecomputedTxData(tx, spent)


@pytest.mark.parametrize("group", KEY_PATH, ids=[f"group{i}" for i in range(len(KEY_PATH))])
def test_precomputed_hashes(group: dict) -> None:
    _, cache = _tx_and_cache(group)
    want = group["intermediary"]
    assert cache.sha_amounts is not None and cache.sha_scriptpubkeys is not None
    assert cache.sha_amounts.hex() == want["hashAmounts"]
    assert cache.sha_outputs.hex() == want["hashOutputs"]
    assert cache.sha_prevouts.hex() == want["hashPrevouts"]
    assert cache.sha_scriptpubkeys.hex() == want["hashScriptPubkeys"]
    assert cache.sha_sequences.hex() == want["hashSequences"]


_PRECOMPUTED_ATTR = {
    "hashAmounts": "sha_amounts",
    "hashOutputs": "sha_outputs",
    "hashPrevouts": "sha_prevouts",
    "hashScriptPubkeys": "sha_scriptpubkeys",
    "hashSequences": "sha_sequences",
}


@pytest.mark.parametrize(
    ("group", "spend"),
    INPUT_CASES,
    ids=[f"in{s['given']['txinIndex']}-type{s['given']['hashType']:#04x}" for _, s in INPUT_CASES],
)
def test_key_path_input(group: dict, spend: dict) -> None:
    tx, cache = _tx_and_cache(group)
    given, want = spend["given"], spend["intermediary"]
    index, hash_type = given["txinIndex"], given["hashType"]
    internal_priv = bytes.fromhex(given["internalPrivkey"])
    merkle_root = bytes.fromhex(given["merkleRoot"]) if given["merkleRoot"] is not None else None

    internal_pub = xonly_pubkey_from_privkey(internal_priv)
    assert internal_pub.hex() == want["internalPubkey"]
    assert taptweak_hash(internal_pub, merkle_root).hex() == want["tweak"]
    tweaked_priv = taproot_tweak_seckey(internal_priv, merkle_root)
    assert tweaked_priv.hex() == want["tweakedPrivkey"]

    msg = taproot_sigmsg(tx, index, hash_type, cache)
    assert msg is not None
    if "sigMsg" in want:
        assert msg.hex() == want["sigMsg"]
    # The message commits to exactly the precomputed hashes the vector lists.
    for name, attr in _PRECOMPUTED_ATTR.items():
        assert (getattr(cache, attr) in msg) == (name in want["precomputedUsed"]), name
    sighash = taproot_sighash(tx, index, hash_type, cache)
    assert sighash == tagged_hash("TapSighash", msg)
    assert sighash.hex() == want["sigHash"]

    sig = schnorr_sign(tweaked_priv, sighash, _ZERO_AUX)
    if hash_type != SIGHASH_DEFAULT:
        sig += bytes((hash_type,))
    assert [sig.hex()] == spend["expected"]["witness"]
    # The signature is valid for the output key the spent scriptPubKey commits to.
    output_key, _parity = taproot_tweak_pubkey(internal_pub, merkle_root)
    assert cache.spent_outputs is not None
    assert cache.spent_outputs[index].script_pubkey == b"\x51\x20" + output_key
    assert schnorr_verify(output_key, sighash, sig[:64])
