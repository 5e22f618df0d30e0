"""Straightforward pure-Python Golomb-coded sets, written after Bitcoin Core's blockfilter.cpp.

This is the slow, obviously-correct reference: SipHash-2-4 in pure Python (`siphash_ref`), a bit-at-a-time
stream reader/writer, and Core's MatchInternal merge. It is not used for matching in production
(`core.filters.gcs` is); it is the oracle the tests compare the fast paths with and the same-run baseline
of the benchmark (tens of milliseconds per mainnet-size filter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.consensus.errors import DecodeError
from core.consensus.serialize import MAX_SIZE, ByteReader, ser_compact_size
from core.filters.errors import FilterDecodeError
from core.filters.siphash_ref import siphash24_key16


class BitStreamWriter:
    """Writes bits most-significant first, as Core's BitStreamWriter."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._byte = 0
        self._used = 0

    def write(self, value: int, nbits: int) -> None:
        for i in range(nbits - 1, -1, -1):
            self._byte = (self._byte << 1) | ((value >> i) & 1)
            self._used += 1
            if self._used == 8:
                self._out.append(self._byte)
                self._byte = 0
                self._used = 0

    def flush(self) -> bytes:
        """Pad the last byte with zero bits and return everything written."""
        if self._used:
            self._out.append(self._byte << (8 - self._used))
            self._byte = 0
            self._used = 0
        return bytes(self._out)


class BitStreamReader:
    """Reads bits most-significant first; running off the end raises FilterDecodeError."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._bitpos = 0

    def read(self, nbits: int) -> int:
        value = 0
        for _ in range(nbits):
            byte_index = self._bitpos >> 3
            if byte_index >= len(self._data):
                raise FilterDecodeError("filter stream truncated")
            bit = (self._data[byte_index] >> (7 - (self._bitpos & 7))) & 1
            value = (value << 1) | bit
            self._bitpos += 1
        return value

    @property
    def bytes_consumed(self) -> int:
        return (self._bitpos + 7) >> 3


def golomb_rice_encode(writer: BitStreamWriter, p: int, x: int) -> None:
    """Quotient in unary (ones then a zero), then the low `p` bits."""
    q = x >> p
    for _ in range(q):
        writer.write(1, 1)
    writer.write(0, 1)
    writer.write(x & ((1 << p) - 1), p)


def golomb_rice_decode(reader: BitStreamReader, p: int) -> int:
    q = 0
    while reader.read(1) == 1:
        q += 1
    return (q << p) + reader.read(p)


def hash_to_range(key: bytes, element: bytes, f: int) -> int:
    """Map an element uniformly into [0, F) with SipHash-2-4 and a 64x64->128 multiply (Core's FastRange64)."""
    return (siphash24_key16(key, element) * f) >> 64


def build(elements: Iterable[bytes], key: bytes, p: int, m: int) -> bytes:
    """Encode the set of `elements`: compact-size N, then Golomb-Rice coded sorted deltas."""
    unique = set(elements)
    f = len(unique) * m
    values = sorted(hash_to_range(key, e, f) for e in unique)
    writer = BitStreamWriter()
    last = 0
    for v in values:
        golomb_rice_encode(writer, p, v - last)
        last = v
    return ser_compact_size(len(values)) + writer.flush()


def decode(data: bytes, p: int) -> list[int]:
    """All N hashed values of an encoded filter, checked as Core's GCSFilter constructor does."""
    r = ByteReader(data)
    try:
        n = r.compact_size(MAX_SIZE)
    except DecodeError as e:
        raise FilterDecodeError(f"bad element count: {e}") from None
    reader = BitStreamReader(data[r.pos :])
    values = []
    last = 0
    for _ in range(n):
        last += golomb_rice_decode(reader, p)
        values.append(last)
    if reader.bytes_consumed != len(data) - r.pos:
        raise FilterDecodeError("encoded filter contains excess data")
    return values


def match_set(data: bytes, key: bytes, p: int, m: int, queries: Sequence[bytes]) -> set[int]:
    """Indexes of `queries` whose hashes occur in the filter, by Core's sorted merge (MatchInternal)."""
    values = decode(data, p)
    f = len(values) * m
    hashed = sorted((hash_to_range(key, q, f), i) for i, q in enumerate(queries))
    found: set[int] = set()
    vi = 0
    for h, i in hashed:
        while vi < len(values) and values[vi] < h:
            vi += 1
        if vi == len(values):
            break
        if values[vi] == h:
            found.add(i)
    return found


def match_any(data: bytes, key: bytes, p: int, m: int, queries: Sequence[bytes]) -> bool:
    """True if any of `queries` occurs in the filter."""
    return bool(match_set(data, key, p, m, queries))
