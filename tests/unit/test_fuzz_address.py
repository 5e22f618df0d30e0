"""Hypothesis: random and mutated strings into every address/key decoder, random bytes into the
script→address encoder and the signature verifiers.

Decoders may only raise CryptoError subclasses (the address functions: AddressError); whatever
decodes must round-trip.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.network import ALL_NETWORKS
from core.crypto.base58 import b58check_decode, b58decode
from core.crypto.bech32 import bech32_decode, decode_segwit_address
from core.crypto.ecdsa import ecdsa_verify
from core.crypto.errors import AddressError, CryptoError
from core.crypto.schnorr import schnorr_verify
from core.crypto.wif import decode_wif, encode_wif
from core.script.address import address_to_script, decode_address, script_to_address

SEEDS = [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
    "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh",
    "BC1SW50QGDZ25J",
    "bc1pfeessrawgf",
    "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
    "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617",
    "cNEnbfF2fcxmmCLWqMAaq6fxJvVkwMbyU3kCbpQznz4Z1j6TZDGb",
]
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIlqpzry9x8gf2tvdw0s3jn54khce6mua7 \x00é"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A seed address or WIF with a few characters replaced, inserted, deleted or case-flipped."""
    s = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "swapcase"]))
        i = draw(st.integers(0, max(len(s) - 1, 0)))
        ch = draw(st.sampled_from(ALPHABET))
        if op == "replace" and s:
            s[i] = ch
        elif op == "insert":
            s.insert(i, ch)
        elif op == "delete" and s:
            del s[i]
        elif s:
            s[i] = s[i].swapcase()
    return "".join(s)


TEXT = st.one_of(st.text(max_size=120), st.text(alphabet=ALPHABET, max_size=100), mutated())


def _check_string(text: str) -> None:
    for net in ALL_NETWORKS:
        try:
            spk = address_to_script(text, net)
        except AddressError:
            pass
        else:
            assert address_to_script(script_to_address(spk, net) or "", net) == spk
        try:
            key = decode_wif(text, net)
        except CryptoError:
            pass
        else:
            assert encode_wif(key.secret, net, key.compressed) == text
    with contextlib.suppress(AddressError):
        decode_address(text)
    for decoder in (b58decode, b58check_decode, bech32_decode, lambda t: decode_segwit_address(None, t)):
        with contextlib.suppress(CryptoError):
            decoder(text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_fuzz_decoders(text: str) -> None:
    _check_string(text)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=50),
        st.builds(lambda op, p: bytes((op, len(p))) + p, st.sampled_from([0, *range(0x51, 0x61)]), st.binary(max_size=45)),
        st.builds(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac", st.binary(min_size=20, max_size=20)),
        st.builds(lambda h: b"\xa9\x14" + h + b"\x87", st.binary(min_size=20, max_size=20)),
    )
)
def test_fuzz_script_to_address(spk: bytes) -> None:
    for net in ALL_NETWORKS:
        addr = script_to_address(spk, net)
        if addr is not None:
            assert address_to_script(addr, net) == spk
            assert address_to_script(addr.upper() if addr[0] in "bt" else addr, net) == spk


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=70), st.binary(max_size=80), st.binary(max_size=40))
def test_fuzz_verifiers_never_raise(pubkey: bytes, sig: bytes, msg: bytes) -> None:
    assert ecdsa_verify(pubkey, sig, msg) in (True, False)
    assert schnorr_verify(pubkey[:32], msg, sig[:64]) in (True, False)


def test_seeds_decode() -> None:
    """The mutation seeds are themselves valid, so mutations start from real addresses and keys."""
    from core.consensus.network import MAINNET, TESTNET

    for seed in SEEDS:
        if seed[0] in "5Kc":
            decode_wif(seed, TESTNET if seed[0] == "c" else MAINNET)
        else:
            decode_address(seed)
