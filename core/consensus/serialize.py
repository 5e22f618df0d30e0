"""Bitcoin wire serialization primitives: a bounds-checked reader and compact-size encoding.

Every length read from untrusted bytes is capped by the caller and by the bytes remaining, so
a hostile length prefix can never make us allocate more than the input we were given.
"""

from __future__ import annotations

import struct

from core.consensus.errors import DecodeError

MAX_SIZE = 0x02000000  # Core's MAX_SIZE: largest compact size accepted as a length

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")


class ByteReader:
    """Reads little-endian fields from a bytes buffer; raises DecodeError, never IndexError."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self._buf = bytes(data)
        self._pos = pos

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._buf) - self._pos

    def at_end(self) -> bool:
        return self._pos >= len(self._buf)

    def read(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._buf):
            raise DecodeError(f"truncated: need {n} bytes at offset {self._pos}, have {self.remaining}")
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def peek(self, n: int = 1) -> bytes:
        return self._buf[self._pos : self._pos + n]

    def _unpack(self, st: struct.Struct) -> int:
        end = self._pos + st.size
        if end > len(self._buf):
            raise DecodeError(f"truncated: need {st.size} bytes at offset {self._pos}, have {self.remaining}")
        (v,) = st.unpack_from(self._buf, self._pos)
        self._pos = end
        return v

    def u8(self) -> int:
        if self._pos >= len(self._buf):
            raise DecodeError(f"truncated: need 1 byte at offset {self._pos}")
        v = self._buf[self._pos]
        self._pos += 1
        return v

    def u16(self) -> int:
        return self._unpack(_U16)

    def u32(self) -> int:
        return self._unpack(_U32)

    def i32(self) -> int:
        return self._unpack(_I32)

    def u64(self) -> int:
        return self._unpack(_U64)

    def i64(self) -> int:
        return self._unpack(_I64)

    def compact_size(self, limit: int = MAX_SIZE) -> int:
        """Read a canonical compact size no larger than `limit`."""
        first = self.u8()
        if first < 0xFD:
            n = first
        elif first == 0xFD:
            n = self.u16()
            if n < 0xFD:
                raise DecodeError("non-canonical compact size")
        elif first == 0xFE:
            n = self.u32()
            if n < 0x10000:
                raise DecodeError("non-canonical compact size")
        else:
            n = self.u64()
            if n < 0x100000000:
                raise DecodeError("non-canonical compact size")
        if n > limit:
            raise DecodeError(f"size {n} exceeds limit {limit}")
        return n

    def count(self, min_item_size: int, limit: int = MAX_SIZE) -> int:
        """Read an element count, rejecting counts the remaining bytes cannot possibly hold."""
        n = self.compact_size(limit)
        if min_item_size > 0 and n * min_item_size > self.remaining:
            raise DecodeError(f"count {n} cannot fit in {self.remaining} remaining bytes")
        return n

    def var_bytes(self, limit: int = MAX_SIZE) -> bytes:
        """Read a compact-size length prefix and that many bytes."""
        return self.read(self.compact_size(limit))

    def expect_end(self, what: str) -> None:
        if not self.at_end():
            raise DecodeError(f"{self.remaining} trailing bytes after {what}")


def ser_compact_size(n: int) -> bytes:
    """Encode a compact size."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + _U16.pack(n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + _U32.pack(n)
    return b"\xff" + _U64.pack(n)


def ser_var_bytes(b: bytes) -> bytes:
    """Encode bytes with a compact-size length prefix."""
    return ser_compact_size(len(b)) + b


def u32le(n: int) -> bytes:
    return _U32.pack(n)


def i32le(n: int) -> bytes:
    return _I32.pack(n)


def u64le(n: int) -> bytes:
    return _U64.pack(n)


def i64le(n: int) -> bytes:
    return _I64.pack(n)
