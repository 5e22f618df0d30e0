"""Hypothesis: random and mutated bytes into the v1 and v2 transports.

Whatever a peer sends, only P2PError subclasses may come out of `feed` — never IndexError,
struct.error or ValueError — and a transport that raised stays dead.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.p2p.errors import P2PError, TransportError
from core.p2p.transport import NetMessage, UnknownMessage, V1Transport, V2Transport
from core.p2p.v2_cipher import BIP324Cipher
from core.p2p.v2_transport import decode_contents

MAGIC = bytes.fromhex("fabfb5da")
PRIV_A = bytes.fromhex("33" * 32)
PRIV_B = bytes.fromhex("44" * 32)
V1_SEED = b"".join(
    V1Transport(MAGIC).frame(cmd, payload)
    for cmd, payload in (
        ("version", b"\x01" * 40),
        ("verack", b""),
        ("ping", b"\x02" * 8),
        ("tx", b"\x03" * 60),
    )
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """Flip, insert, delete or truncate a few bytes."""
    base = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(base)))
        if kind == 0 and base:
            base[min(pos, len(base) - 1)] ^= draw(st.integers(1, 255))
        elif kind == 1:
            base[pos:pos] = draw(st.binary(min_size=1, max_size=9))
        elif kind == 2:
            del base[pos : pos + draw(st.integers(1, 9))]
        else:
            del base[pos:]
    return bytes(base)


def split(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return [data[x:y] for x, y in itertools.pairwise(bounds)]


def feed_all(transport: V1Transport | V2Transport, chunks: list[bytes]) -> list[object]:
    """Feed chunks; on a P2PError check the transport stays dead. Other exceptions escape."""
    events: list[object] = []
    for chunk in chunks:
        try:
            events += transport.feed(chunk)
        except P2PError:
            with pytest.raises(TransportError):
                transport.feed(b"\x00")
            return events
    return events


@st.composite
def v1_streams(draw: st.DrawFn) -> list[bytes]:
    data = draw(st.one_of(st.binary(max_size=300), st.just(V1_SEED)))
    if draw(st.booleans()):
        data = mutate(draw, data)
    return split(draw, data)


@FUZZ
@given(v1_streams())
def test_v1_feed_raises_only_p2p_errors(chunks: list[bytes]) -> None:
    for message in feed_all(V1Transport(MAGIC), chunks):
        assert isinstance(message, NetMessage)


def _initiator_stream() -> tuple[bytes, bytes]:
    """A full initiator byte stream (handshake + messages) against a fixed responder key."""
    a = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=b"\x07" * 20)
    b = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32), garbage=b"")
    out = a.start()
    b.feed(out)
    a.feed(b.pending_output())
    out += a.pending_output() + a.frame("ping", b"\x00" * 8) + a.send_decoy(5) + a.frame("foo", b"bar")
    return out, b.ellswift


V2_SEED, _ = _initiator_stream()


@st.composite
def v2_streams(draw: st.DrawFn) -> list[bytes]:
    data = draw(st.one_of(st.binary(max_size=300), st.sampled_from([V2_SEED, V1_SEED])))
    if draw(st.booleans()):
        data = mutate(draw, data)
    return split(draw, data)


@FUZZ
@given(v2_streams())
def test_v2_responder_feed_raises_only_p2p_errors(chunks: list[bytes]) -> None:
    """Random bytes, or a real v2 initiator's (or v1 peer's) stream mutated, into a responder."""
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32), garbage=b"")
    feed_all(responder, chunks)


@FUZZ
@given(st.binary(max_size=300).map(lambda b: [b]))
def test_v2_initiator_feed_raises_only_p2p_errors(chunks: list[bytes]) -> None:
    initiator = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=b"")
    initiator.start()
    feed_all(initiator, chunks)


def _app_phase() -> tuple[V2Transport, BIP324Cipher]:
    """A responder past its handshake, and the hand-held initiator cipher that talks to it."""
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32), garbage=b"")
    initiator = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=b"")
    responder.feed(initiator.start())
    theirs = responder.pending_output()[:64]
    cipher = BIP324Cipher.initialize(PRIV_A, initiator.ellswift, theirs, True, MAGIC)
    responder.feed(cipher.send_garbage_terminator + cipher.encrypt(b""))
    assert responder.handshake_complete
    return responder, cipher


PACKETS = st.lists(st.tuples(st.binary(max_size=60), st.booleans()), min_size=1, max_size=4)


@FUZZ
@given(PACKETS, st.booleans(), st.data())
def test_v2_post_handshake_decrypt_raises_only_p2p_errors(
    packets: list[tuple[bytes, bool]], tamper: bool, data: st.DataObject
) -> None:
    """Valid packets (some decoys) decode exactly; mutated ones give P2PError and nothing else."""
    responder, cipher = _app_phase()
    wire = b"".join(cipher.encrypt(contents, ignore=ignore) for contents, ignore in packets)
    if tamper:
        wire = mutate(data.draw, wire)
    events = feed_all(responder, split(data.draw, wire))
    for event in events:
        assert isinstance(event, NetMessage | UnknownMessage)
    if not tamper:
        assert events == [decode_contents(c) for c, ignore in packets if not ignore]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40))
def test_decode_contents_never_raises(contents: bytes) -> None:
    assert isinstance(decode_contents(contents), NetMessage | UnknownMessage)
