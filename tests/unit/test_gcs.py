"""Golomb-coded sets: round trips, matching, the C kernel against the Python paths, decoder fuzzing.

The C kernel is taken from the in-place/installed build; when it is absent it is compiled into a
temporary directory for this test run, so the agreement tests always exercise real compiled code.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import tempfile
from functools import cache
from pathlib import Path

import pytest
import siphashc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.consensus.serialize import MAX_SIZE, ser_compact_size
from core.filters import gcs, kernel
from core.filters import reference as ref
from core.filters.errors import FilterDecodeError, FilterError
from core.filters.gcs import BASIC_FILTER_M as M
from core.filters.gcs import BASIC_FILTER_P as P
from core.filters.gcs import ElementSet, GCSParams
from core.filters.siphash_ref import siphash24_key16

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AGREE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def c_kernel() -> kernel.CKernel:
    """The built kernel, or one compiled now into a temporary directory (needs a C compiler)."""
    found = kernel.get_kernel()
    if found is not None:
        return found
    from core.filters._gcs_build import ffibuilder

    tmp = tempfile.mkdtemp(prefix="gcs-kernel-")
    so_path = Path(ffibuilder.compile(tmpdir=tmp))
    spec = importlib.util.spec_from_file_location(kernel.MODULE_NAME, so_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return kernel.CKernel(module)


def c_match(data: bytes, key: bytes, scripts: list[bytes], p: int = P, m: int = M) -> set[int]:
    kern = c_kernel()
    n, offset = gcs.read_element_count(data, p)
    return set(kern.match_scripts(data, offset, n, p, n * m, key, ElementSet(scripts).packed_for(kern)))


def c_decode(data: bytes, p: int = P) -> list[int]:
    n, offset = gcs.read_element_count(data, p)
    return c_kernel().decode(data, offset, n, p)


def py_decode(data: bytes, p: int = P) -> list[int]:
    n, offset = gcs.read_element_count(data, p)
    return gcs.python_decode(data, offset, n, p)


def outcome(fn, *args):
    """Result of fn, or the marker "error" for a FilterDecodeError; anything else propagates."""
    try:
        return fn(*args)
    except FilterDecodeError:
        return "error"


KEY = bytes(range(16))
scripts_st = st.lists(st.binary(min_size=0, max_size=40), max_size=60)
# (P, M) pairs with M / 2^P small enough that unary quotients stay short.
PM_PAIRS = [(P, M), (1, 1), (1, 2), (2, 3), (5, 50), (10, 1000), (20, 1 << 25), (32, (1 << 32) - 1), (32, 1)]


# ---- SipHash and hashing ----


def test_siphash_reference_paper_vector() -> None:
    # SipHash paper, appendix A: key 00..0f, message 00..0e.
    assert siphash24_key16(KEY, bytes(range(15))) == 0xA129CA6149BE45E5
    assert siphash24_key16(KEY, b"") == 0x726FDB47DD0E0E31


@FUZZ
@given(st.binary(min_size=16, max_size=16), st.binary(max_size=100))
def test_siphash_reference_matches_siphashc(key: bytes, data: bytes) -> None:
    assert siphash24_key16(key, data) == siphashc.siphash(key, data)


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=50), st.integers(1, MAX_SIZE))
@settings(max_examples=200, deadline=None)
def test_hash_to_range_in_range_and_matches_reference(key: bytes, element: bytes, n: int) -> None:
    f = n * M
    h = gcs.hash_to_range(key, element, f)
    assert 0 <= h < f
    assert h == ref.hash_to_range(key, element, f)


# ---- encode / decode ----


@AGREE
@given(st.integers(1, 32).flatmap(lambda p: st.tuples(st.just(p), st.lists(st.integers(0, (1 << p) * 300)))))
def test_encode_decode_round_trip_all_paths(case: tuple[int, list[int]]) -> None:
    p, values = case
    values.sort()
    stream = gcs.python_encode(values, p)
    assert c_kernel().encode(values, p) == stream
    data = ser_compact_size(len(values)) + stream
    assert py_decode(data, p) == values
    assert c_decode(data, p) == values
    assert ref.decode(data, p) == values
    if p == P:
        assert gcs.decode_filter(data) == values


def test_long_unary_runs_decode() -> None:
    # Quotients far longer than a 64-bit word exercise the "all ones" refill branch.
    values = [0, 5000, 5000, 70_000, 70_001]
    data = ser_compact_size(len(values)) + gcs.python_encode(values, 1)
    assert c_decode(data, 1) == values == py_decode(data, 1) == ref.decode(data, 1)


@AGREE
@given(st.binary(min_size=16, max_size=16), scripts_st)
def test_build_filter_matches_reference(key: bytes, elements: list[bytes]) -> None:
    built = gcs.build_filter(elements, GCSParams(key))
    assert built == ref.build(elements, key, P, M)
    assert gcs.decode_filter(built) == sorted(
        gcs.hash_to_range(key, e, len(set(elements)) * M) for e in set(elements)
    )


def test_encode_rejects_unsorted_and_out_of_range() -> None:
    with pytest.raises(FilterError):
        gcs.python_encode([5, 3], P)
    with pytest.raises(FilterError):
        c_kernel().encode([5, 3], P)
    with pytest.raises(FilterError):
        gcs.encode_values([1, 1 << 64])


def test_empty_filter() -> None:
    data = b"\x00"
    assert gcs.decode_filter(data) == []
    assert c_decode(data) == [] == py_decode(data)
    assert gcs.match_set(data, KEY, [b"abc", b""]) == set()
    assert not gcs.match_any(data, KEY, [b"abc"])
    assert gcs.build_filter([], GCSParams(KEY)) == data


# ---- matching ----


def _random_filter(rng: random.Random, count: int, key: bytes) -> tuple[list[bytes], bytes]:
    elements = [rng.randbytes(rng.choice((22, 25, 34))) for _ in range(count)]
    return elements, gcs.build_filter(elements, GCSParams(key))


def test_members_match_and_strangers_do_not() -> None:
    rng = random.Random(158)
    key = rng.randbytes(16)
    elements, data = _random_filter(rng, 2000, key)
    strangers = [rng.randbytes(25) for _ in range(200)]  # fixed seed: no false positive at 1/M
    queries = strangers[:100] + elements[::50] + strangers[100:]
    expect = set(range(100, 100 + len(elements[::50])))
    assert gcs.match_set(data, key, queries) == expect
    assert gcs.python_match_set(data, key, queries, P, M) == expect
    assert c_match(data, key, queries) == expect
    assert ref.match_set(data, key, P, M, queries) == expect
    assert gcs.match_any(data, key, ElementSet(queries))
    assert not gcs.match_any(data, key, strangers)
    assert not gcs.match_any(data, key, [])


def test_element_set_is_reusable_across_filters() -> None:
    rng = random.Random(7)
    wallet = ElementSet(rng.randbytes(22) for _ in range(300))
    for i in range(5):
        key = rng.randbytes(16)
        others = [rng.randbytes(22) for _ in range(500)]
        data = gcs.build_filter([*others, wallet.scripts[i * 10]], GCSParams(key))
        assert gcs.match_set(data, key, wallet) == {i * 10}
        assert gcs.match_set(data, key, list(wallet.scripts)) == {i * 10}


@AGREE
@given(
    st.binary(min_size=16, max_size=16),
    scripts_st,
    st.lists(st.binary(max_size=40), max_size=40),
    st.sampled_from(PM_PAIRS),
)
def test_c_kernel_and_python_paths_agree(
    key: bytes, elements: list[bytes], extra: list[bytes], pm: tuple[int, int]
) -> None:
    # Small M forces colliding values (zero deltas) and duplicate query hashes.
    p, m = pm
    uniq = set(elements)
    f = len(uniq) * m
    data = ser_compact_size(len(uniq)) + gcs.python_encode(
        sorted(gcs.hash_to_range(key, e, f) for e in uniq), p
    )
    queries = elements[: len(elements) // 2] + extra + elements[:3]
    expected = ref.match_set(data, key, p, m, queries)
    assert gcs.python_match_set(data, key, queries, p, m) == expected
    assert c_match(data, key, queries, p, m) == expected
    assert gcs.match_set(data, key, queries, p=p, m=m) == expected
    n, offset = gcs.read_element_count(data, p)
    hashes = [siphashc.siphash(key, q) for q in queries]
    assert set(c_kernel().match_hashes(data, offset, n, p, n * m, hashes)) == expected


def test_mainnet_size_filter_agreement() -> None:
    rng = random.Random(2024)
    key = rng.randbytes(16)
    elements, data = _random_filter(rng, 7500, key)
    wallet = [rng.randbytes(22) for _ in range(1000)] + elements[::700]
    expected = gcs.python_match_set(data, key, wallet, P, M)
    assert set(range(1000, len(wallet))) <= expected
    assert c_match(data, key, wallet) == expected
    assert c_decode(data) == py_decode(data)


def test_params_are_checked() -> None:
    with pytest.raises(FilterError):
        gcs.match_any(b"\x00", b"short", [b"x"])
    with pytest.raises(FilterError):
        GCSParams(KEY, p=0)
    with pytest.raises(FilterError):
        GCSParams(KEY, m=1 << 32)
    assert GCSParams.from_block_hash(bytes(range(32))).key == bytes(range(16))


# ---- malformed filters ----


@pytest.mark.parametrize(
    "data",
    [
        b"",  # no count
        b"\xfd\x05\x00" + bytes(20),  # non-canonical count
        b"\xfe" + (MAX_SIZE + 1).to_bytes(4, "little"),  # count over Core's MAX_SIZE
        b"\x05\x00",  # five elements cannot fit in one byte
        b"\x01\xff\xff\xff",  # unary run off the end
        b"\x01\x00\x00",  # remainder cut short (19 bits needed, 16 there)
        b"\x01\x00\x00\x00\x00",  # one element, then a whole excess byte
    ],
    ids=[
        "empty",
        "noncanonical-n",
        "n-over-max-size",
        "n-too-big",
        "unary-truncated",
        "remainder-truncated",
        "excess",
    ],
)
def test_malformed_filters_rejected_by_every_path(data: bytes) -> None:
    with pytest.raises(FilterDecodeError):
        gcs.decode_filter(data)
    with pytest.raises(FilterDecodeError):
        py_decode(data)
    with pytest.raises(FilterDecodeError):
        c_decode(data)
    with pytest.raises(FilterDecodeError):
        c_match(data, KEY, [b"a"])
    with pytest.raises(FilterDecodeError):
        ref.decode(data, P)
    with pytest.raises(FilterDecodeError):
        gcs.match_any(data, KEY, [b"a"])


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, val in edits:
        if not buf:
            buf.append(val)
            continue
        i = pos % len(buf)
        if kind == 0:
            buf[i] = val
        elif kind == 1:
            del buf[i]
        elif kind == 2:
            buf.insert(i, val)
        else:
            del buf[i:]
    return bytes(buf)


_SEED_FILTERS = [
    gcs.build_filter([bytes([i]) * (i + 1) for i in range(k)], GCSParams(KEY)) for k in (0, 1, 7, 40)
]
garbage_st = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from(_SEED_FILTERS),
        st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4
        ),
    ).map(lambda t: _mutate(*t)),
)


@FUZZ
@given(garbage_st, st.integers(1, 32))
def test_fuzz_decoders_agree_and_raise_only_filter_errors(data: bytes, p: int) -> None:
    c = outcome(lambda: c_decode(data, p))
    assert outcome(lambda: py_decode(data, p)) == c
    assert outcome(lambda: ref.decode(data, p)) == c


@FUZZ
@given(garbage_st, st.lists(st.binary(max_size=10), max_size=8), st.sampled_from([1, 7, M]))
def test_fuzz_c_matcher_on_garbage(data: bytes, queries: list[bytes], m: int) -> None:
    c = outcome(lambda: c_match(data, KEY, queries, P, m))
    assert outcome(lambda: gcs.python_match_set(data, KEY, queries, P, m)) == c
    assert outcome(lambda: ref.match_set(data, KEY, P, m, queries)) == c


# ---- fallback when the extension is missing ----


def test_missing_kernel_warns_once_and_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(kernel, "MODULE_NAME", "core.filters._no_such_kernel")
    monkeypatch.setattr(kernel, "_loaded", False)
    monkeypatch.setattr(kernel, "_kernel", None)
    rng = random.Random(3)
    elements, data = _random_filter(rng, 50, KEY)
    with caplog.at_level(logging.WARNING, logger=kernel.__name__):
        assert gcs.match_set(data, KEY, [b"nope", elements[4]]) == {1}
        assert gcs.decode_filter(data) == ref.decode(data, P)
        assert gcs.build_filter(elements, GCSParams(KEY)) == data
    assert kernel.get_kernel() is None
    assert len([r for r in caplog.records if "not built" in r.getMessage()]) == 1
