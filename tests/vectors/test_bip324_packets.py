"""BIP324 packet encoding vectors: ECDH, key derivation, session id, terminators and ciphertexts.

Follows the BIP's own runner: `in_idx` packets with empty contents are encrypted first, so rows
with a large index exercise the rekeying of both the length and the contents ciphers. Each
packet is also decrypted by a cipher for the other side, to check the receive path too.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from coincurve import PrivateKey, PublicKey

from core.p2p.ellswift import ellswift_decode, ellswift_xdh_bip324
from core.p2p.v2_cipher import LENGTH_LEN, BIP324Cipher, derive_keys

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
ROWS = list(csv.DictReader((VECTORS / "bip324_packet_encoding.csv").open(newline="", encoding="utf-8")))
MAINNET_MAGIC = bytes.fromhex("f9beb4d9")  # the vectors are generated for mainnet


def _receive(peer: BIP324Cipher, packet: bytes, aad: bytes) -> tuple[bool, bytes]:
    length = peer.decrypt_length(packet[:LENGTH_LEN])
    assert len(packet) == LENGTH_LEN + 1 + length + 16
    return peer.decrypt(packet[LENGTH_LEN:], aad)


@pytest.mark.parametrize("row", ROWS, ids=[f"idx{r['in_idx']}-init{r['in_initiating']}" for r in ROWS])
def test_packet_encoding(row: dict[str, str]) -> None:
    initiating = row["in_initiating"] == "1"
    priv = bytes.fromhex(row["in_priv_ours"])
    ours = bytes.fromhex(row["in_ellswift_ours"])
    theirs = bytes.fromhex(row["in_ellswift_theirs"])

    # Our encoding decodes to our public key; theirs to the listed X; ECDH X matches.
    assert PrivateKey(priv).public_key.format()[1:].hex() == row["mid_x_ours"]
    assert ellswift_decode(ours)[1:].hex() == row["mid_x_ours"]
    their_pub = ellswift_decode(theirs)
    assert their_pub[1:].hex() == row["mid_x_theirs"]
    assert PublicKey(their_pub).multiply(priv).format()[1:].hex() == row["mid_x_shared"]

    ell_a, ell_b = (ours, theirs) if initiating else (theirs, ours)
    secret = ellswift_xdh_bip324(ell_a, ell_b, priv, initiating)
    assert secret.hex() == row["mid_shared_secret"]

    keys = derive_keys(secret, MAINNET_MAGIC)
    assert keys.initiator_l.hex() == row["mid_initiator_l"]
    assert keys.initiator_p.hex() == row["mid_initiator_p"]
    assert keys.responder_l.hex() == row["mid_responder_l"]
    assert keys.responder_p.hex() == row["mid_responder_p"]

    cipher = BIP324Cipher.initialize(priv, ours, theirs, initiating, MAINNET_MAGIC)
    assert cipher.send_garbage_terminator.hex() == row["mid_send_garbage_terminator"]
    assert cipher.recv_garbage_terminator.hex() == row["mid_recv_garbage_terminator"]
    assert cipher.session_id.hex() == row["out_session_id"]

    peer = BIP324Cipher.from_shared_secret(secret, not initiating, MAINNET_MAGIC)
    assert peer.session_id == cipher.session_id
    assert peer.recv_garbage_terminator == cipher.send_garbage_terminator
    for _ in range(int(row["in_idx"])):
        assert _receive(peer, cipher.encrypt(b""), b"") == (False, b"")

    contents = bytes.fromhex(row["in_contents"]) * int(row["in_multiply"])
    aad = bytes.fromhex(row["in_aad"])
    ignore = row["in_ignore"] == "1"
    ciphertext = cipher.encrypt(contents, aad, ignore)
    if row["out_ciphertext"]:
        assert ciphertext.hex() == row["out_ciphertext"]
    if row["out_ciphertext_endswith"]:
        assert ciphertext.hex().endswith(row["out_ciphertext_endswith"])
    assert _receive(peer, ciphertext, aad) == (ignore, contents)
