"""ECDSA as Core uses it: lax DER parsing, low-S normalization before verify, CheckLowS, key helpers."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto.ecdsa import (
    check_low_s,
    ecdsa_sign,
    ecdsa_verify,
    is_compressed_or_uncompressed_pubkey,
    is_compressed_pubkey,
    is_valid_pubkey,
    parse_der_lax,
    pubkey_from_privkey,
)
from core.crypto.errors import CryptoError, InvalidKey

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G_COMPRESSED = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
KEY1 = (1).to_bytes(32, "big")
MSG = hashlib.sha256(b"Satoshi Nakamoto").digest()


def _int_der(v: int) -> bytes:
    b = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")  # strict: a leading 0 keeps it positive
    return b"\x02" + bytes((len(b),)) + b


def der(r: int, s: int) -> bytes:
    body = _int_der(r) + _int_der(s)
    return b"\x30" + bytes((len(body),)) + body


def test_rfc6979_known_signature() -> None:
    """Key 1, SHA256("Satoshi Nakamoto"): the widely published deterministic low-S signature."""
    sig = ecdsa_sign(KEY1, MSG)
    assert sig.hex() == (
        "3045022100934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
        "02202442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5"
    )
    pub = pubkey_from_privkey(KEY1)
    assert pub.hex() == G_COMPRESSED
    assert ecdsa_verify(pub, sig, MSG)
    assert check_low_s(sig)


def test_signature_verifies_with_independent_library() -> None:
    secret = hashlib.sha256(b"peerwallet").digest()
    sig = ecdsa_sign(secret, MSG)
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), pubkey_from_privkey(secret, False))
    pub.verify(sig, MSG, ec.ECDSA(Prehashed(hashes.SHA256())))  # raises if invalid


def test_high_s_is_normalized_for_verify_but_not_low() -> None:
    r, s = parse_der_lax(ecdsa_sign(KEY1, MSG)) or (0, 0)
    high = der(r, N - s)
    pub = pubkey_from_privkey(KEY1)
    assert ecdsa_verify(pub, high, MSG)
    assert not check_low_s(high)


def test_lax_der_forms_still_verify() -> None:
    r, s = parse_der_lax(ecdsa_sign(KEY1, MSG)) or (0, 0)
    pub = pubkey_from_privkey(KEY1)
    rb, sb = r.to_bytes(32, "big"), s.to_bytes(32, "big")
    variants = [
        # excess zero padding in R
        b"\x30\x46\x02\x22\x00\x00" + rb + _int_der(s),
        # long-form length bytes (0x81 NN) for R, with zero-padded length field
        b"\x30\x46\x02\x82\x00\x20" + rb + _int_der(s),
        # wrong sequence length and trailing garbage are ignored
        b"\x30\x00\x02\x20" + rb + b"\x02\x20" + sb + b"garbage",
        # R with its high bit set but no sign byte ("negative" in strict DER)
        b"\x30\x44\x02\x20" + rb + b"\x02\x20" + sb,
        # sequence length in long form
        b"\x30\x81\x44\x02\x20" + rb + b"\x02\x20" + sb,
    ]
    for v in variants:
        assert parse_der_lax(v) == (r, s), v.hex()
        assert ecdsa_verify(pub, v, MSG), v.hex()


@pytest.mark.parametrize(
    "sig",
    [b"", b"\x31", b"\x30", b"\x30\x06\x02\x01\x01\x02", b"\x30\x06\x03\x01\x01\x02\x01\x01",
     b"\x30\x06\x02\x05\x01\x02\x01\x01", b"\x30\x85\x00", b"\x30\x0b\x02\x89\x01" + bytes(8) + b"\x02\x01\x01"],
    ids=["empty", "tag", "no-length", "no-s-length", "r-tag", "r-too-long", "seq-len-overrun", "len-field-too-wide"],
)  # fmt: skip
def test_lax_der_rejects(sig: bytes) -> None:
    assert parse_der_lax(sig) is None
    assert not ecdsa_verify(bytes.fromhex(G_COMPRESSED), sig, MSG)
    assert not check_low_s(sig)


def test_lax_der_overflow_parses_as_zero() -> None:
    assert parse_der_lax(der(N, 1)) == (0, 0)  # R not below the order
    assert parse_der_lax(b"\x30\x26\x02\x21\x01" + bytes(32) + b"\x02\x01\x01") == (0, 0)  # 33-byte R
    assert not ecdsa_verify(bytes.fromhex(G_COMPRESSED), der(N, 1), MSG)


def test_lax_der_length_field_zero_padding_is_stripped() -> None:
    """A 9-byte length field of zeros is stripped to nothing first (so R is empty), as in the C code."""
    assert parse_der_lax(b"\x30\x0b\x02\x89" + bytes(9) + b"\x02\x01\x01") == (0, 1)


def test_hybrid_and_uncompressed_keys() -> None:
    secret = hashlib.sha256(b"hybrid").digest()
    sig = ecdsa_sign(secret, MSG)
    unc = pubkey_from_privkey(secret, compressed=False)
    odd = unc[64] & 1
    hybrid = bytes((6 + odd,)) + unc[1:]
    wrong_parity = bytes((7 - odd,)) + unc[1:]
    assert ecdsa_verify(unc, sig, MSG)
    assert ecdsa_verify(hybrid, sig, MSG)
    assert not ecdsa_verify(wrong_parity, sig, MSG)
    assert is_compressed_or_uncompressed_pubkey(unc) and not is_compressed_pubkey(unc)
    assert not is_compressed_or_uncompressed_pubkey(hybrid)
    assert is_valid_pubkey(hybrid) and not is_valid_pubkey(wrong_parity)


def test_verify_never_raises_on_bad_sizes() -> None:
    pub = bytes.fromhex(G_COMPRESSED)
    sig = ecdsa_sign(KEY1, MSG)
    assert not ecdsa_verify(pub, sig, MSG[:31])
    assert not ecdsa_verify(b"", sig, MSG)
    assert not ecdsa_verify(pub[:32], sig, MSG)
    assert not ecdsa_verify(b"\x04" + pub[1:], sig, MSG)  # 33 bytes with an uncompressed header


def test_pubkey_encoding_checks() -> None:
    assert is_compressed_pubkey(b"\x02" + bytes(32)) and is_compressed_pubkey(b"\x03" + bytes(32))
    assert not is_compressed_pubkey(b"\x04" + bytes(32))
    assert not is_compressed_pubkey(b"\x02" + bytes(33))
    assert is_compressed_or_uncompressed_pubkey(b"\x04" + bytes(64))
    assert not is_compressed_or_uncompressed_pubkey(b"\x04" + bytes(32))
    assert not is_compressed_or_uncompressed_pubkey(b"\x02" + bytes(64))
    assert not is_compressed_or_uncompressed_pubkey(b"\x02")


@pytest.mark.parametrize("secret", [bytes(32), N.to_bytes(32, "big"), b"\xff" * 32, bytes(31) + b"\x01" + b"\x00"])
def test_invalid_secrets(secret: bytes) -> None:
    with pytest.raises(InvalidKey):
        pubkey_from_privkey(secret)
    with pytest.raises(InvalidKey):
        ecdsa_sign(secret, MSG)


def test_sign_rejects_bad_digest() -> None:
    with pytest.raises(CryptoError):
        ecdsa_sign(KEY1, b"short")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_lax_parser(data: bytes) -> None:
    got = parse_der_lax(data)
    assert got is None or (0 <= got[0] < N and 0 <= got[1] < N)
    assert ecdsa_verify(bytes.fromhex(G_COMPRESSED), data, MSG) in (True, False)
    assert check_low_s(data) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, N - 1), st.integers(1, N - 1))
def test_fuzz_strict_der_round_trip(r: int, s: int) -> None:
    assert parse_der_lax(der(r, s)) == (r, s)
    assert check_low_s(der(r, s)) == (s <= N // 2)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_fuzz_sign_verify(secret: bytes, msg: bytes) -> None:
    try:
        sig = ecdsa_sign(secret, msg)
    except InvalidKey:
        return
    assert check_low_s(sig)
    assert ecdsa_verify(pubkey_from_privkey(secret, compressed=False), sig, msg)
    assert not ecdsa_verify(pubkey_from_privkey(secret), sig, bytes(32) if msg != bytes(32) else b"\x01" * 32)


@settings(max_examples=400, deadline=None)
@given(
    st.binary(min_size=0, max_size=34),
    st.binary(min_size=0, max_size=34),
    st.sampled_from([0x00, 0x44, 0x45, 0xFF]),
)
def test_plain_der_shortcut_matches_lax_parser(r: bytes, s: bytes, seq_len: int) -> None:
    """_lax_signature's plain-DER shortcut yields exactly the lax parser's normalized (R, S)."""
    from coincurve._libsecp256k1 import ffi, lib

    from core.crypto.ecdsa import _CTX, _HALF_ORDER, SECP256K1_ORDER, _lax_signature

    der = bytes((0x30, seq_len, 0x02, len(r))) + r + bytes((0x02, len(s))) + s
    got = _lax_signature(der)
    rs = parse_der_lax(der)
    if rs is None:
        assert got is None
        return
    want_r, want_s = rs
    if want_s > _HALF_ORDER:
        want_s = SECP256K1_ORDER - want_s
    out = ffi.new("unsigned char[64]")
    lib.secp256k1_ecdsa_signature_serialize_compact(_CTX, out, got)
    assert bytes(out) == want_r.to_bytes(32, "big") + want_s.to_bytes(32, "big")
