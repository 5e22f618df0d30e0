"""Fuzz the descriptor parser: random and mutated descriptor strings raise only WalletError subclasses."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from core.wallet.descriptors.checksum import INPUT_CHARSET, add_checksum
from core.wallet.descriptors.descriptor import Descriptor
from core.wallet.errors import WalletError

PUB = "03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
XONLY = PUB[2:]
XPUB = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
WIF = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
SEEDS = [
    f"wpkh([d34db33f/84h/0h/0h]{XPUB}/0/*)",
    f"sh(wsh(sortedmulti(1,{PUB},{XPUB}/<0;1>/*)))",
    f"tr({XONLY},{{pk({XPUB}/1/*),and_v(v:pk({WIF}),older(144))}})",
    f"tr({XONLY},multi_a(1,{PUB},{XPUB}/2h/*h))",
    f"pkh([deadbeef/1/2'/3/4']{PUB})",
    "addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j)",
    "raw(deadbeef)",
    f"rawtr({XONLY})",
]
_ALPHABET = INPUT_CHARSET + "Ü\x00"


def _try(text: str) -> None:
    try:
        desc = Descriptor.parse(text)
        # Whatever parses must also print, re-parse and derive (or refuse) with our errors only.
        Descriptor.parse(desc.to_string(private=True), require_checksum=True)
        desc.script_pubkey(0 if desc.is_range() else None)
    except WalletError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=200))
def test_random_text(text: str) -> None:
    _try(text)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["del", "ins", "sub", "dup"]), st.sampled_from(_ALPHABET)),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_mutated_descriptors(seed: str, edits: list[tuple[int, str, str]], checksum: bool) -> None:
    text = seed
    for pos, op, ch in edits:
        i = pos % (len(text) + 1)
        if op == "del":
            text = text[:i] + text[i + 1 :]
        elif op == "ins":
            text = text[:i] + ch + text[i:]
        elif op == "sub":
            text = text[:i] + ch + text[i + 1 :]
        else:
            text = text[:i] + text[i : i + 8] + text[i:]
    if checksum:
        with contextlib.suppress(WalletError):
            text = add_checksum(text)
    _try(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.sampled_from(["{", "(", "[", "<", "sh(", "wsh(", "}", ")"]))
def test_deep_nesting(depth: int, opener: str) -> None:
    _try(f"tr({XONLY}," + opener * depth + f"pk({XONLY})" + "}" * depth + ")")
    _try(opener * depth + "raw(00)")
