"""Bech32 (BIP173) and Bech32m (BIP350) strings and segwit addresses, with typed errors.

Hand-written after the BIP reference code because no dependency of ours implements it. Error
messages follow Bitcoin Core's bech32.cpp / key_io.cpp wording where Core has one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.crypto.errors import Bech32Error

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(CHARSET)}
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
CHECKSUM_SIZE = 6
#: BIP173's length limit for a whole bech32 string.
MAX_LENGTH = 90
#: BIP141: witness programs are 2..40 bytes.
WITNESS_PROG_MIN = 2
WITNESS_PROG_MAX = 40


class Encoding(enum.Enum):
    """Which checksum constant a string uses."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


@dataclass(frozen=True, slots=True)
class DecodedBech32:
    """A decoded bech32/bech32m string: lower-case HRP and the 5-bit data values (no checksum)."""

    encoding: Encoding
    hrp: str
    data: tuple[int, ...]


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int], encoding: Encoding) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.value
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_encode(hrp: str, data: Iterable[int], encoding: Encoding) -> str:
    """Encode an HRP and 5-bit values as a bech32/bech32m string (lower case)."""
    values = list(data)
    hrp = hrp.lower()
    if not hrp or any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        raise Bech32Error("invalid human-readable part")
    if any(not 0 <= v < 32 for v in values):
        raise Bech32Error("data values must be 5-bit")
    values += _create_checksum(hrp, values, encoding)
    return hrp + "1" + "".join(CHARSET[v] for v in values)


def bech32_decode(text: str, max_length: int = MAX_LENGTH) -> DecodedBech32:
    """Decode a bech32 or bech32m string, telling which checksum it carries.

    Rejects mixed case, characters outside US-ASCII 33..126, strings over `max_length`, a missing
    or misplaced separator, data characters outside the charset, and a checksum that matches neither
    constant."""
    if not isinstance(text, str):
        raise Bech32Error("bech32 input must be text")
    if len(text) > max_length:
        raise Bech32Error("Bech32 string too long")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("Invalid character or mixed case")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("Invalid character or mixed case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + CHECKSUM_SIZE + 1 > len(text):
        raise Bech32Error("Invalid separator position")
    hrp = text[:pos]
    values = []
    for i, c in enumerate(text[pos + 1 :], start=pos + 1):
        v = _CHARSET_REV.get(c)
        if v is None:
            raise Bech32Error(f"Invalid Base 32 character at position {i}")
        values.append(v)
    const = _polymod(_hrp_expand(hrp) + values)
    for encoding in Encoding:
        if const == encoding.value:
            return DecodedBech32(encoding, hrp, tuple(values[:-CHECKSUM_SIZE]))
    raise Bech32Error("Invalid checksum")


def convertbits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroup bits (e.g. 8-bit bytes to 5-bit values). Without `pad`, leftover bits must be fewer
    than `frombits` and all zero, or Bech32Error is raised (BIP173's padding rule)."""
    acc = 0
    bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise Bech32Error("value out of range")
        acc = ((acc << frombits) | value) & ((1 << (frombits + tobits - 1)) - 1)
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise Bech32Error("Invalid padding in Bech32 data section")
    return out


def _plural(n: int) -> str:
    return "byte" if n == 1 else "bytes"


def check_witness_program(version: int, program: bytes) -> None:
    """Raise Bech32Error unless (version, program) obeys BIP141: version 0..16, program 2..40
    bytes, and a v0 program of exactly 20 or 32 bytes."""
    if not 0 <= version <= 16:
        raise Bech32Error("Invalid Bech32 address witness version")
    if version == 0 and len(program) not in (20, 32):
        raise Bech32Error(
            f"Invalid Bech32 v0 address program size ({len(program)} {_plural(len(program))}), per BIP141"
        )
    if not WITNESS_PROG_MIN <= len(program) <= WITNESS_PROG_MAX:
        raise Bech32Error(f"Invalid Bech32 address program size ({len(program)} {_plural(len(program))})")


def encode_segwit_address(hrp: str, version: int, program: bytes) -> str:
    """Encode a witness program as a segwit address: bech32 for v0, bech32m for v1+ (BIP350)."""
    check_witness_program(version, program)
    encoding = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    return bech32_encode(hrp, [version, *convertbits(program, 8, 5, pad=True)], encoding)


def decode_segwit_address(hrp: str | None, address: str) -> tuple[str, int, bytes]:
    """Decode a segwit address into (hrp, witness version, program).

    When `hrp` is given the address must use it. Applies every BIP173/BIP350 rule: length ≤ 90,
    no mixed case, version 0..16, program 2..40 bytes, v0 only 20 or 32 bytes, bech32 checksum
    for v0 and bech32m for v1+."""
    dec = bech32_decode(address)
    if hrp is not None and dec.hrp != hrp.lower():
        raise Bech32Error(
            f"Invalid or unsupported prefix for Segwit (Bech32) address (expected {hrp.lower()}, got {dec.hrp})."
        )
    if not dec.data:
        raise Bech32Error("Empty Bech32 data section")
    version = dec.data[0]
    if version > 16:
        raise Bech32Error("Invalid Bech32 address witness version")
    if version == 0 and dec.encoding is not Encoding.BECH32:
        raise Bech32Error("Version 0 witness address must use Bech32 checksum")
    if version != 0 and dec.encoding is not Encoding.BECH32M:
        raise Bech32Error("Version 1+ witness address must use Bech32m checksum")
    program = bytes(convertbits(dec.data[1:], 5, 8, pad=False))
    check_witness_program(version, program)
    return dec.hrp, version, program
