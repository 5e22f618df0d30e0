"""The official NIP-44 v2 test vectors (paulmillr/nip44, see data/nip44.vectors.ORIGIN.md), one case each."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from core.trade.errors import Nip44Error
from core.trade.nostr import nip44
from core.trade.nostr.keys import NostrKey

VECTORS_FILE = Path(__file__).resolve().parent / "data" / "nip44.vectors.json"
#: The checksum the NIP-44 text publishes for the vector file.
PUBLISHED_SHA256 = "269ed0f69e4c192512cc779e78c555090cebc7c785b609e338a62afc3ce25040"
V2: dict[str, Any] = json.loads(VECTORS_FILE.read_text())["v2"]
VALID, INVALID = V2["valid"], V2["invalid"]
MESSAGE_KEYS = VALID["get_message_keys"]


def test_vector_file_is_the_published_one() -> None:
    assert hashlib.sha256(VECTORS_FILE.read_bytes()).hexdigest() == PUBLISHED_SHA256


@pytest.mark.parametrize("v", VALID["get_conversation_key"], ids=lambda v: v["conversation_key"][:12])
def test_valid_get_conversation_key(v: dict[str, str]) -> None:
    assert nip44.conversation_key(bytes.fromhex(v["sec1"]), v["pub2"]).hex() == v["conversation_key"]


@pytest.mark.parametrize("v", MESSAGE_KEYS["keys"], ids=lambda v: v["nonce"][:12])
def test_valid_get_message_keys(v: dict[str, str]) -> None:
    keys = nip44.message_keys(bytes.fromhex(MESSAGE_KEYS["conversation_key"]), bytes.fromhex(v["nonce"]))
    assert tuple(k.hex() for k in keys) == (v["chacha_key"], v["chacha_nonce"], v["hmac_key"])


@pytest.mark.parametrize("v", VALID["calc_padded_len"], ids=lambda v: str(v[0]))
def test_valid_calc_padded_len(v: list[int]) -> None:
    assert nip44.calc_padded_len(v[0]) == v[1]


@pytest.mark.parametrize("v", VALID["encrypt_decrypt"], ids=lambda v: v["payload"][:16])
def test_valid_encrypt_decrypt(v: dict[str, str]) -> None:
    sec1, sec2 = NostrKey.from_hex(v["sec1"]), NostrKey.from_hex(v["sec2"])
    conv = nip44.conversation_key(sec1, sec2.xonly)
    assert conv.hex() == v["conversation_key"]
    payload = nip44.encrypt(v["plaintext"], conv, bytes.fromhex(v["nonce"]))
    assert payload == v["payload"]
    conv_back = nip44.conversation_key(sec2, sec1.xonly)
    assert conv_back.hex() == v["conversation_key"]
    assert nip44.decrypt(payload, conv_back) == v["plaintext"]


@pytest.mark.parametrize("v", VALID["encrypt_decrypt_long_msg"], ids=lambda v: v["payload_sha256"][:12])
def test_valid_encrypt_decrypt_long_msg(v: dict[str, Any]) -> None:
    plaintext = v["pattern"] * v["repeat"]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == v["plaintext_sha256"]
    conv = bytes.fromhex(v["conversation_key"])
    payload = nip44.encrypt(plaintext, conv, bytes.fromhex(v["nonce"]))
    assert hashlib.sha256(payload.encode()).hexdigest() == v["payload_sha256"]
    assert nip44.decrypt(payload, conv) == plaintext


@pytest.mark.parametrize("length", INVALID["encrypt_msg_lengths"], ids=str)
def test_invalid_encrypt_msg_lengths(length: int) -> None:
    with pytest.raises(Nip44Error):
        nip44.encrypt("a" * length, bytes(range(32)), bytes(32))


@pytest.mark.parametrize("v", INVALID["get_conversation_key"], ids=lambda v: v["note"])
def test_invalid_get_conversation_key(v: dict[str, str]) -> None:
    with pytest.raises(Nip44Error):
        nip44.conversation_key(bytes.fromhex(v["sec1"]), v["pub2"])


@pytest.mark.parametrize("v", INVALID["decrypt"], ids=lambda v: v["note"])
def test_invalid_decrypt(v: dict[str, str]) -> None:
    with pytest.raises(Nip44Error):
        nip44.decrypt(v["payload"], bytes.fromhex(v["conversation_key"]))
