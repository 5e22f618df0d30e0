"""Golomb-coded sets (BIP158): hashing to a range, encoding, bounds-checked decoding and fast matching.

A filter is a compact-size element count N followed by the sorted values `hash_to_range(e)` of its
elements, delta-coded with Golomb-Rice parameter P (unary quotient, P-bit remainder, MSB-first bits).
`hash_to_range` is SipHash-2-4 keyed with the first 16 bytes of the block hash, mapped into [0, N*M)
by `(h * F) >> 64`. Basic filters use P=19, M=784931.

Matching is the light client's hot loop (every block, every wallet script), so it runs in a tiny C
kernel built with cffi (`_gcs_build.py`, loaded by `kernel.py`): it decodes the stream word-at-a-time,
hashes the scripts with its own SipHash-2-4 and merge-joins both sorted sequences, ~0.1 ms for a
mainnet-size filter against 1,000 scripts versus ~50 ms for the pure-Python reference. Why this route:
the compiled kernel adds tens of KB to the installer where numba would add ~210 MB, and numpy cannot
vectorise the inherently sequential unary decode. SipHash comes from `siphashc` (C) on the Python
paths; only `siphash_ref` (the benchmark/test reference) is hand-written. When the extension is absent
a pure-Python decoder with `siphashc` hashing takes over (a few ms per filter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import siphashc

from core.consensus.errors import DecodeError
from core.consensus.serialize import MAX_SIZE, ByteReader, ser_compact_size
from core.filters.errors import FilterDecodeError, FilterError
from core.filters.kernel import CKernel, PackedScripts, get_kernel

BASIC_FILTER_P = 19
BASIC_FILTER_M = 784931
KEY_SIZE = 16
MAX_ELEMENTS = MAX_SIZE  # Core reads N with ReadCompactSize's range check
_U64 = 1 << 64


@dataclass(frozen=True, slots=True)
class GCSParams:
    """Core's GCSFilter::Params: SipHash key (first 16 bytes of the block hash), P and M."""

    key: bytes
    p: int = BASIC_FILTER_P
    m: int = BASIC_FILTER_M

    def __post_init__(self) -> None:
        check_params(self.key, self.p, self.m)

    @classmethod
    def from_block_hash(
        cls, block_hash: bytes, p: int = BASIC_FILTER_P, m: int = BASIC_FILTER_M
    ) -> GCSParams:
        """Params keyed by a block hash in internal byte order."""
        return cls(bytes(block_hash[:KEY_SIZE]), p, m)


def check_params(key: bytes, p: int, m: int) -> None:
    """Reject parameters the kernel and encoders are not built for (FilterError)."""
    if len(key) != KEY_SIZE:
        raise FilterError(f"SipHash key must be {KEY_SIZE} bytes, got {len(key)}")
    if not 1 <= p <= 32:
        raise FilterError(f"Golomb-Rice parameter P must be in 1..32, got {p}")
    if not 1 <= m < 1 << 32:
        raise FilterError(f"false-positive rate inverse M must be in 1..2^32-1, got {m}")


class ElementSet:
    """Query elements (wallet scripts) prepared once and matched against many filters.

    Holds the scripts in order (match results are indexes into `scripts`) and caches their layout for
    the C kernel, so per-block matching does no per-script Python work at all.
    """

    __slots__ = ("_packed", "scripts")

    def __init__(self, scripts: Iterable[bytes]) -> None:
        self.scripts: tuple[bytes, ...] = tuple(scripts)
        self._packed: tuple[CKernel, PackedScripts] | None = None

    def __len__(self) -> int:
        return len(self.scripts)

    def packed_for(self, kern: CKernel) -> PackedScripts:
        """The kernel layout of the scripts, built on first use."""
        cached = self._packed
        if cached is None or cached[0] is not kern:
            cached = (kern, kern.pack(self.scripts))
            self._packed = cached
        return cached[1]


def hash_to_range(key: bytes, element: bytes, f: int) -> int:
    """SipHash-2-4 of `element` mapped uniformly into [0, F) (Core's FastRange64)."""
    return (siphashc.siphash(key, element) * f) >> 64


def read_element_count(data: bytes, p: int) -> tuple[int, int]:
    """(N, offset of the Golomb-Rice stream); rejects counts the remaining bits cannot hold."""
    if not data:
        raise FilterDecodeError("empty filter: no element count")
    if data[0] < 0xFD:
        n, offset = data[0], 1
    else:
        r = ByteReader(data)
        try:
            n = r.compact_size(MAX_ELEMENTS)
        except DecodeError as e:
            raise FilterDecodeError(f"bad element count: {e}") from None
        offset = r.pos
    # Every element takes at least P+1 bits; a larger N is a lie we refuse before allocating for it.
    if n * (p + 1) > 8 * (len(data) - offset):
        raise FilterDecodeError(f"element count {n} cannot fit in {len(data) - offset} bytes")
    return n, offset


# ---- pure-Python paths (fallback when the kernel is absent; also the tests' second opinion) ----


def python_encode(values: Sequence[int], p: int) -> bytes:
    """Golomb-Rice stream of sorted `values`, built as a string of bits (fast for pure Python)."""
    parts = []
    last = 0
    fmt = f"0{p}b"
    mask = (1 << p) - 1
    for v in values:
        d = v - last
        if d < 0:
            raise FilterError("values to encode are not sorted")
        last = v
        parts.append("1" * (d >> p) + "0" + format(d & mask, fmt))
    bits = "".join(parts)
    if not bits:
        return b""
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def python_decode(data: bytes, offset: int, n: int, p: int) -> list[int]:
    """The n cumulative values of the stream `data[offset:]`, via a string of bits and str.find."""
    body = data[offset:]
    # A leading sentinel 1 keeps the leading zero bits when going through int.
    bits = bin(int.from_bytes(body, "big") | (1 << (8 * len(body))))[3:]
    total = len(bits)
    find = bits.find
    pos = 0
    acc = 0
    values = []
    for _ in range(n):
        z = find("0", pos)
        end = z + 1 + p
        if z < 0 or end > total:
            raise FilterDecodeError("filter stream truncated")
        acc += ((z - pos) << p) | int(bits[z + 1 : end], 2)
        values.append(acc)
        pos = end
    if (pos + 7) // 8 != len(body):
        raise FilterDecodeError("encoded filter contains excess data")
    return values


def python_match_set(data: bytes, key: bytes, scripts: Sequence[bytes], p: int, m: int) -> set[int]:
    """Indexes of `scripts` in the filter: pure-Python decode, siphashc hashing, set intersection."""
    n, offset = read_element_count(data, p)
    values = set(python_decode(data, offset, n, p))
    f = n * m
    return {i for i, s in enumerate(scripts) if (siphashc.siphash(key, s) * f) >> 64 in values}


# ---- public API: the kernel when built, the Python path otherwise ----


def encode_values(values: Sequence[int], p: int = BASIC_FILTER_P) -> bytes:
    """Golomb-Rice stream (no count prefix) of sorted values in [0, 2^64)."""
    if values and not (values[0] >= 0 and values[-1] < _U64):
        raise FilterError("values to encode must lie in [0, 2^64)")
    kern = get_kernel()
    return kern.encode(values, p) if kern is not None else python_encode(values, p)


def build_filter(elements: Iterable[bytes], params: GCSParams) -> bytes:
    """Encoded filter of the set of `elements` (duplicates count once): N, then the coded values."""
    unique = set(elements)
    f = len(unique) * params.m
    key = params.key
    values = sorted((siphashc.siphash(key, e) * f) >> 64 for e in unique)
    return ser_compact_size(len(values)) + encode_values(values, params.p)


def decode_filter(data: bytes, p: int = BASIC_FILTER_P) -> list[int]:
    """All N sorted hashed values of an encoded filter; FilterDecodeError on any malformation."""
    if not 1 <= p <= 32:
        raise FilterError(f"Golomb-Rice parameter P must be in 1..32, got {p}")
    n, offset = read_element_count(data, p)
    kern = get_kernel()
    return kern.decode(data, offset, n, p) if kern is not None else python_decode(data, offset, n, p)


def match_set(
    data: bytes,
    key: bytes,
    scripts: Sequence[bytes] | ElementSet,
    *,
    p: int = BASIC_FILTER_P,
    m: int = BASIC_FILTER_M,
) -> set[int]:
    """Indexes into `scripts` of the elements the filter (probably) contains.

    The whole filter is decoded and validated even when nothing matches, so a malformed filter
    always raises FilterDecodeError, whichever path runs. Pass an ElementSet to reuse its kernel layout.
    """
    check_params(key, p, m)
    kern = get_kernel()
    if kern is None:
        seq = scripts.scripts if isinstance(scripts, ElementSet) else scripts
        return python_match_set(data, key, seq, p, m)
    elements = scripts if isinstance(scripts, ElementSet) else ElementSet(scripts)
    n, offset = read_element_count(data, p)
    return set(kern.match_scripts(data, offset, n, p, n * m, key, elements.packed_for(kern)))


def match_any(
    data: bytes,
    key: bytes,
    scripts: Sequence[bytes] | ElementSet,
    *,
    p: int = BASIC_FILTER_P,
    m: int = BASIC_FILTER_M,
) -> bool:
    """True if the filter (probably) contains any of `scripts` (false-positive rate ~1/M each)."""
    return bool(match_set(data, key, scripts, p=p, m=m))
