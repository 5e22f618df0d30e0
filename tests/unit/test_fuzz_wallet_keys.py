"""Fuzz the mnemonic and extended-key parsers: random and mutated input raises only WalletError
subclasses (or parses)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import sha256d
from core.crypto.base58 import ALPHABET, b58encode
from core.wallet.bip32 import ExtendedKey, parse_path
from core.wallet.bip39 import mnemonic_to_seed, validate_mnemonic, wordlist
from core.wallet.errors import WalletError

XPRV = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
ZPUB = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
SETTINGS = settings(max_examples=300, deadline=None)


def _parse(text: str) -> None:
    try:
        key, _version = ExtendedKey.parse(text)
    except WalletError:
        return
    # Whatever parses must print back to the same text.
    assert key.to_string(_version.network, _version.slip132) == text


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_into_validate_mnemonic(text: str) -> None:
    try:
        validate_mnemonic(text)
    except WalletError:
        return


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(wordlist()), st.text(max_size=12)), max_size=25))
def test_word_soup_into_mnemonic(words: list[str]) -> None:
    text = " ".join(words)
    try:
        validate_mnemonic(text)
    except WalletError:
        return
    assert len(mnemonic_to_seed(text)) == 64


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_into_extended_key_parse(text: str) -> None:
    _parse(text)


@SETTINGS
@given(st.text(alphabet=ALPHABET, min_size=100, max_size=120))
def test_random_base58_into_extended_key_parse(text: str) -> None:
    _parse(text)


@SETTINGS
@given(st.sampled_from([XPRV, ZPUB]), st.integers(0, 110), st.sampled_from(ALPHABET))
def test_mutated_character_into_extended_key_parse(base: str, pos: int, ch: str) -> None:
    pos %= len(base)
    _parse(base[:pos] + ch + base[pos + 1 :])


@SETTINGS
@given(st.binary(min_size=0, max_size=90), st.sampled_from(["0488ade4", "0488b21e", "04b24746", "045f18bc", ""]))
def test_random_payload_with_valid_checksum(payload: bytes, version: str) -> None:
    # A valid checksum gets the input past base58check into the field checks of BIP32 vector 5.
    data = bytes.fromhex(version) + payload
    _parse(b58encode(data + sha256d(data)[:4]))


@SETTINGS
@given(st.sampled_from([XPRV, ZPUB]), st.integers(0, 77), st.integers(0, 255))
def test_mutated_byte_with_valid_checksum(base: str, pos: int, value: int) -> None:
    raw = bytearray(ExtendedKey.parse(base)[0].serialize(bytes.fromhex("0488ade4" if base == XPRV else "04b24746")))
    raw[pos] = value
    data = bytes(raw)
    _parse(b58encode(data + sha256d(data)[:4]))


@SETTINGS
@given(st.text(max_size=60))
def test_random_text_into_parse_path(text: str) -> None:
    try:
        steps = parse_path(text)
    except WalletError:
        return
    assert all(0 <= s <= 0xFFFFFFFF for s in steps)


@SETTINGS
@given(st.text(alphabet=st.characters(), max_size=40), st.text(alphabet=st.characters(), max_size=20))
def test_any_unicode_into_mnemonic_to_seed(words: str, passphrase: str) -> None:
    # Includes lone surrogates, which have no UTF-8 form.
    try:
        seed = mnemonic_to_seed(words, passphrase, check=False)
    except WalletError:
        return
    assert len(seed) == 64
