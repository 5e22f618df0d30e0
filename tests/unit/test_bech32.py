"""Bech32/Bech32m strings and segwit addresses against the examples listed in BIP173 and BIP350."""

from __future__ import annotations

import re

import pytest

from core.crypto.bech32 import (
    Encoding,
    bech32_decode,
    bech32_encode,
    convertbits,
    decode_segwit_address,
    encode_segwit_address,
)
from core.crypto.errors import Bech32Error

VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11" + "l" * 82 + "ludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
# (string, reason the BIP gives) → the message we must report.
INVALID_STRINGS = [
    ("\x201xj0phk", "Invalid character or mixed case"),
    ("\x7f1g6xzxy", "Invalid character or mixed case"),
    ("\x801vctc34", "Invalid character or mixed case"),
    ("an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", "too long"),
    ("qyrz8wqd2c9m", "Invalid separator position"),
    ("1qyrz8wqd2c9m", "Invalid separator position"),
    ("y1b0jsk6g", "Invalid Base 32 character"),
    ("lt1igcx5c0", "Invalid Base 32 character"),
    ("in1muywd", "Invalid separator position"),
    ("mm1crxm3i", "Invalid Base 32 character"),
    ("au1s5cgom", "Invalid Base 32 character"),
    ("M1VUXWEZ", "Invalid checksum"),
    ("16plkw9", "Invalid separator position"),
    ("1p2gdwpf", "Invalid separator position"),
]
VALID_ADDRESSES = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]
INVALID_ADDRESSES = [
    ("tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "prefix"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "must use Bech32m"),
    ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "must use Bech32m"),
    ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "must use Bech32m"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "must use Bech32 checksum"),
    ("tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "must use Bech32 checksum"),
    ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "Invalid Base 32 character"),
    ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version"),
    ("bc1pw5dgrnzv", "program size (1 byte)"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "program size (41 bytes)"),
    ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "v0 address program size (16 bytes)"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixed case"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "padding"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "padding"),
    ("bc1gmk9yu", "Empty Bech32 data section"),
]


@pytest.mark.parametrize("text", VALID_BECH32)
def test_valid_bech32(text: str) -> None:
    dec = bech32_decode(text)
    assert dec.encoding is Encoding.BECH32
    assert bech32_encode(dec.hrp, dec.data, Encoding.BECH32) == text.lower()


@pytest.mark.parametrize("text", VALID_BECH32M)
def test_valid_bech32m(text: str) -> None:
    dec = bech32_decode(text)
    assert dec.encoding is Encoding.BECH32M
    assert bech32_encode(dec.hrp, dec.data, Encoding.BECH32M) == text.lower()


@pytest.mark.parametrize(("text", "reason"), INVALID_STRINGS)
def test_invalid_strings(text: str, reason: str) -> None:
    with pytest.raises(Bech32Error, match=reason):
        bech32_decode(text)


@pytest.mark.parametrize(("address", "spk_hex"), VALID_ADDRESSES)
def test_valid_addresses(address: str, spk_hex: str) -> None:
    hrp, version, program = decode_segwit_address(None, address)
    spk = bytes.fromhex(spk_hex)
    assert spk[0] == (0 if version == 0 else 0x50 + version)
    assert spk[1] == len(program) and spk[2:] == program
    assert encode_segwit_address(hrp, version, program) == address.lower()
    assert decode_segwit_address(hrp.upper(), address)[2] == program


@pytest.mark.parametrize(("address", "reason"), INVALID_ADDRESSES)
def test_invalid_addresses(address: str, reason: str) -> None:
    hrp = "tb" if address.lower().startswith("tb") else "bc"
    with pytest.raises(Bech32Error, match=re.escape(reason)):
        decode_segwit_address(hrp, address)


def test_length_limit_is_90() -> None:
    ok = encode_segwit_address("bc", 16, bytes(40))  # 2 + 1 + 1 + 64 + 6 = 74 chars
    assert decode_segwit_address("bc", ok)[2] == bytes(40)
    long_hrp = "a" * 20
    too_long = bech32_encode(long_hrp, [1, *convertbits(bytes(40), 8, 5, pad=True)], Encoding.BECH32M)
    assert len(too_long) == 92
    with pytest.raises(Bech32Error, match="too long"):
        bech32_decode(too_long)


@pytest.mark.parametrize(("version", "size"), [(0, 19), (0, 21), (0, 33), (1, 1), (1, 41), (17, 20), (-1, 20)])
def test_encode_rejects_bad_programs(version: int, size: int) -> None:
    with pytest.raises(Bech32Error):
        encode_segwit_address("bc", version, bytes(size))


def test_convertbits_padding_rules() -> None:
    assert convertbits(b"\xff", 8, 5, pad=True) == [31, 28]
    assert convertbits([31, 28], 5, 8, pad=False) == [255]
    with pytest.raises(Bech32Error):
        convertbits([31, 31], 5, 8, pad=False)  # non-zero padding bits
    with pytest.raises(Bech32Error):
        convertbits([0, 0, 0], 5, 8, pad=False)  # 15 bits: 7 left over, more than 4 allowed
    with pytest.raises(Bech32Error):
        convertbits([32], 5, 8, pad=False)
