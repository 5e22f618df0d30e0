"""Fuzzing the PSBT codec: random and mutated bytes/base64 raise only PsbtError, and whatever
parses re-serializes to bytes that parse to the same serialization."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from core.wallet.errors import PsbtError
from core.wallet.psbt import parse_psbt, psbt_from_base64, serialize_psbt
from tests.unit import psbt_bip_vectors as v

_SEEDS = [base64.b64decode(b) for _, b in v.BIP174_VALID + v.BIP371_VALID + v.BIP174_SIGNER + v.BIP174_INVALID + v.BIP371_INVALID]
_SEEDS += [bytes.fromhex(h) for h in (v.COMBINED, v.FINALIZED, v.UNKNOWN_COMBINED)]


def _parse_or_psbt_error(data: bytes) -> None:
    try:
        psbt = parse_psbt(data)
    except PsbtError:
        return
    again = serialize_psbt(psbt)
    assert serialize_psbt(parse_psbt(again)) == again


def _text_or_psbt_error(text: str) -> None:
    try:
        psbt = psbt_from_base64(text)
    except PsbtError:
        return
    assert serialize_psbt(psbt) == serialize_psbt(parse_psbt(serialize_psbt(psbt)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _parse_or_psbt_error(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_with_magic(data: bytes) -> None:
    _parse_or_psbt_error(b"psbt\xff" + data)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[pos:]
    return bytes(data)


@settings(max_examples=500, deadline=None)
@given(_mutated())
def test_mutated_vectors(data: bytes) -> None:
    _parse_or_psbt_error(data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), _mutated().map(lambda b: base64.b64encode(b).decode())))
def test_base64_text(text: str) -> None:
    _text_or_psbt_error(text)


@settings(max_examples=200, deadline=None)
@given(_mutated(), st.integers(0, 40))
def test_mutated_base64_characters(data: bytes, cut: int) -> None:
    text = base64.b64encode(data).decode()
    _text_or_psbt_error(text[: max(len(text) - cut, 0)] + "=" * (cut % 3))
