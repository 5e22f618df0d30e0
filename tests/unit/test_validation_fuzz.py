"""Hypothesis: random and mutated bytes into the coin and undo-data decoders; round trips of valid ones.

Only DecodeError may come out; whatever decodes re-serializes to the same bytes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.errors import DecodeError
from core.consensus.tx import TxOut
from core.validation.utxo import BlockUndo, Coin

coins = st.builds(
    Coin,
    st.builds(TxOut, st.integers(-(2**63), 2**63 - 1), st.binary(max_size=80)),
    st.integers(0, 2**31 - 1),
    st.booleans(),
)
UNDO_SEED = BlockUndo(
    (Coin(TxOut(5000, b"\x00\x14" + bytes(20)), 7, True), Coin(TxOut(1, b"\x51\x20" + bytes(32)), 300, False))
).serialize()


@settings(max_examples=300, deadline=None)
@given(coins)
def test_coin_round_trip(coin: Coin) -> None:
    assert Coin.parse(coin.serialize()) == coin


@settings(max_examples=200, deadline=None)
@given(st.lists(coins, max_size=8))
def test_undo_round_trip(spent: list[Coin]) -> None:
    undo = BlockUndo(tuple(spent))
    assert BlockUndo.parse(undo.serialize()) == undo
    assert undo.spent_scripts() == [c.txout.script_pubkey for c in spent]


def _decode(fn, data: bytes) -> None:
    try:
        obj = fn(data)
    except DecodeError:
        return
    assert obj.serialize() == data


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_only_decode_error(data: bytes) -> None:
    _decode(Coin.parse, data)
    _decode(BlockUndo.parse, data)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(UNDO_SEED) - 1), st.integers(0, 255), st.integers(0, len(UNDO_SEED)))
def test_mutated_undo_only_decode_error(pos: int, byte: int, cut: int) -> None:
    data = bytearray(UNDO_SEED)
    data[pos] = byte
    _decode(BlockUndo.parse, bytes(data[:cut]) if cut < pos else bytes(data))
