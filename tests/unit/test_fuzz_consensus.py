"""Hypothesis: random and mutated bytes into the transaction, block and header decoders.

Only DecodeError may come out; anything that decodes must re-serialize to the same bytes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.consensus.block import Block, BlockHeader
from core.consensus.errors import DecodeError
from core.consensus.hashes import Txid
from core.consensus.serialize import ByteReader
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut

SEGWIT_TX = Transaction(
    version=2,
    vin=(
        TxIn(
            OutPoint(Txid(bytes(range(32))), 1),
            b"",
            0xFFFFFFFD,
            (bytes(71), bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")),
        ),
    ),
    vout=(
        TxOut(1000, bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")),
        TxOut(2000, bytes.fromhex("5120") + bytes(32)),
    ),
    locktime=0,
).serialize()
LEGACY_TX = bytes.fromhex(
    "0100000001b14bdcbc3e01bdaad36cc08e81e69c82e1060bc14e518db2b49aa43ad90ba26000000000490047304402203f"
    "16c6f40162ab686621ef3000b04e75418a0c0cb2d8aebeac894ae360ac1e780220ddc15ecdfc3507ac48e1681a33eb6099"
    "6631bf6bf5bc0a0682c4db743ce7ca2b01ffffffff0140420f00000000001976a914660d4ef3a743e3e696ad990364e555"
    "c271ad504b88ac00000000"
)
SEEDS = [SEGWIT_TX, LEGACY_TX]


def test_seed_transactions_round_trip() -> None:
    for raw in SEEDS:
        tx = Transaction.parse(raw)
        assert tx.serialize() == raw
    tx = Transaction.parse(SEGWIT_TX)
    assert tx.has_witness() and len(tx.vin[0].witness) == 2
    assert tx.weight == tx.base_size * 3 + tx.size and tx.vsize < tx.size


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    base = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 2))
        pos = draw(st.integers(0, len(base)))
        if kind == 0 and base:
            base[min(pos, len(base) - 1)] = draw(st.integers(0, 255))
        elif kind == 1:
            base[pos:pos] = draw(st.binary(min_size=1, max_size=9))
        else:
            del base[pos : pos + draw(st.integers(1, 9))]
    return bytes(base)


def _decode_tx(data: bytes) -> None:
    try:
        tx = Transaction.parse(data)
    except DecodeError:
        return
    assert tx.serialize() == data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_tx_random(data: bytes) -> None:
    _decode_tx(data)


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_fuzz_tx_mutated(data: bytes) -> None:
    _decode_tx(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=80, max_size=80), st.one_of(st.binary(max_size=300), mutated()))
def test_fuzz_block(header: bytes, body: bytes) -> None:
    data = header + body
    try:
        block = Block.parse(data)
    except DecodeError:
        return
    assert block.serialize() == data
    assert BlockHeader.parse(header).serialize() == header


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_fuzz_compact_size(data: bytes) -> None:
    r = ByteReader(data)
    try:
        n = r.compact_size()
    except DecodeError:
        return
    from core.consensus.serialize import ser_compact_size

    assert ser_compact_size(n) == data[: r.pos]


def test_hostile_counts_rejected_before_allocation() -> None:
    # version + 0xfe-prefixed input count of 2^25: cannot fit in the bytes that follow
    raw = bytes.fromhex("01000000") + b"\xfe" + (1 << 25).to_bytes(4, "little") + bytes(10)
    try:
        Transaction.parse(raw)
    except DecodeError as e:
        assert "cannot fit" in str(e) or "exceeds" in str(e)
    else:
        raise AssertionError("hostile count accepted")
