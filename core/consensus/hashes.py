"""Hash functions and typed 32-byte hash values.

Hashes are kept as bytes in internal (little-endian) order, the order they have on the wire.
Bitcoin Core displays txids and block hashes byte-reversed; `str()` and `from_hex()` use that
display order so the two can never be confused.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Self


def sha256(data: bytes) -> bytes:
    """SHA-256."""
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """Double SHA-256 (Core's Hash)."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def ripemd160(data: bytes) -> bytes:
    """RIPEMD-160; falls back to a pure-Python version where OpenSSL lacks it."""
    try:
        return hashlib.new("ripemd160", data).digest()
    except ValueError:
        from core.crypto.ripemd160 import ripemd160 as _pure

        return _pure(data)


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256 (Core's Hash160)."""
    return ripemd160(hashlib.sha256(data).digest())


@lru_cache(maxsize=64)
def _tag_prefix(tag: str) -> bytes:
    t = hashlib.sha256(tag.encode()).digest()
    return t + t


def tagged_hash(tag: str, msg: bytes) -> bytes:
    """BIP340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || msg)."""
    return hashlib.sha256(_tag_prefix(tag) + msg).digest()


class Hash256(bytes):
    """A 32-byte hash in internal byte order; displayed reversed, as Bitcoin Core does."""

    __slots__ = ()

    def __new__(cls, data: bytes = bytes(32)) -> Self:
        if len(data) != 32:
            raise ValueError(f"{cls.__name__} needs 32 bytes, got {len(data)}")
        return super().__new__(cls, data)

    @classmethod
    def from_hex(cls, display_hex: str) -> Self:
        """Parse the display (byte-reversed) hex form."""
        raw = bytes.fromhex(display_hex)
        return cls(raw[::-1])

    def to_hex(self) -> str:
        """The display (byte-reversed) hex form."""
        return self[::-1].hex()

    def __str__(self) -> str:
        return self.to_hex()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_hex()})"

    def is_null(self) -> bool:
        return not any(self)


class Txid(Hash256):
    """Transaction id (hash of the serialization without witness)."""

    __slots__ = ()


class Wtxid(Hash256):
    """Witness transaction id (hash of the full serialization)."""

    __slots__ = ()


class BlockHash(Hash256):
    """Block header hash."""

    __slots__ = ()


ZERO_HASH = bytes(32)
