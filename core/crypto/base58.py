"""Base58 and Base58Check (Core's base58.cpp), with typed errors.

No library in our dependency set does base58, and it is a few lines. Decoding is strict: unlike
Core's DecodeBase58 we do not skip surrounding whitespace; callers strip user input themselves.
"""

from __future__ import annotations

from core.consensus.hashes import sha256d
from core.crypto.errors import Base58Error

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode bytes as base58; each leading zero byte becomes a leading '1'."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str, max_len: int | None = None) -> bytes:
    """Decode base58 text. Raises Base58Error on a character outside the alphabet, or when the
    result would exceed `max_len` bytes (Core's max_ret_len)."""
    if not isinstance(text, str):
        raise Base58Error("base58 input must be text")
    # Bound the work before big-int arithmetic: every base58 digit adds > 0.73 bytes of output,
    # so text longer than this can only decode to more than max_len bytes.
    if max_len is not None and len(text) > 2 * max_len + 2:
        raise Base58Error("base58 string too long")
    n = 0
    for pos, ch in enumerate(text):
        digit = _INDEX.get(ch)
        if digit is None:
            raise Base58Error(f"invalid base58 character {ch!r} at position {pos}")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    out = b"\x00" * zeros + body
    if max_len is not None and len(out) > max_len:
        raise Base58Error(f"base58 data longer than {max_len} bytes")
    return out


def b58check_encode(payload: bytes) -> str:
    """Base58Check: append the first 4 bytes of SHA256d(payload) and encode."""
    return b58encode(payload + sha256d(payload)[:4])


def b58check_decode(text: str, max_len: int | None = None) -> bytes:
    """Decode Base58Check text and return the payload (without checksum). `max_len` bounds the
    payload length. Raises Base58Error for bad characters, too short input or a bad checksum."""
    raw = b58decode(text, None if max_len is None else max_len + 4)
    if len(raw) < 4:
        raise Base58Error("base58check data too short for a checksum")
    payload, checksum = raw[:-4], raw[-4:]
    if sha256d(payload)[:4] != checksum:
        raise Base58Error("invalid checksum")
    return payload
