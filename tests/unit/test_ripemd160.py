"""The pure-Python RIPEMD-160 fallback against the test strings of the RIPEMD-160 paper."""

from __future__ import annotations

import pytest

from core.crypto.ripemd160 import ripemd160

# (message, digest) from Dobbertin, Bosselaers, Preneel: "RIPEMD-160: A Strengthened Version of RIPEMD".
PAPER = [
    (b"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"),
    (b"a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"),
    (b"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"),
    (b"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
    (b"abcdefghijklmnopqrstuvwxyz", "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b"),
    (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "b0e20b6e3116640286ed3a87a5713079b21f5189",
    ),
    (b"1234567890" * 8, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"),
    (b"a" * 1_000_000, "52783243c1697bdbe16d37f97f68f08325dc1528"),
]


@pytest.mark.parametrize(("msg", "digest"), PAPER, ids=[f"paper{i}" for i in range(len(PAPER))])
def test_paper_vectors(msg: bytes, digest: str) -> None:
    assert ripemd160(msg).hex() == digest


def test_padding_boundaries_differ() -> None:
    """Lengths around the 55/56/64-byte padding boundaries all hash to distinct 20-byte digests."""
    digests = {ripemd160(b"x" * n) for n in range(50, 130)}
    assert len(digests) == 80
    assert all(len(d) == 20 for d in digests)
