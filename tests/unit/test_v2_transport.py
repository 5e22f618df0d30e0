"""The sans-I/O transports: a v2 initiator and responder talking in memory, and v1 framing.

Covers delivery in several chunkings and orders, garbage edge cases, decoys (also before the
version packet), rekeying past 224 messages, v1 detection on the responder, the initiator's
v1-reconnect rule, and the typed errors for tampered, oversized or malformed input.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import pytest

from core.p2p.errors import (
    BadChecksum,
    BadCommand,
    BadMagic,
    DecryptError,
    HandshakeError,
    MessageTooLarge,
    TransportError,
)
from core.p2p.transport import (
    MAX_PROTOCOL_MESSAGE_LENGTH,
    V2_MESSAGE_IDS,
    FallbackToV1,
    HandshakeComplete,
    NetMessage,
    UnknownMessage,
    V1Transport,
    V2Transport,
)
from core.p2p.v2_cipher import BIP324Cipher
from core.p2p.v2_transport import RecvState

MAGIC = bytes.fromhex("fabfb5da")  # regtest
PRIV_A = bytes.fromhex("11" * 32)
PRIV_B = bytes.fromhex("22" * 32)

Chunker = Callable[[bytes], list[bytes]]


def whole(data: bytes) -> list[bytes]:
    return [data] if data else []


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(data: bytes, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(data):
        n = rng.randint(1, 100)
        out.append(data[pos : pos + n])
        pos += n
    return out


def deliver(transport: V2Transport, data: bytes, chunker: Chunker) -> list[object]:
    events: list[object] = []
    for chunk in chunker(data):
        events.extend(transport.feed(chunk))
    return events


def pump(
    a: V2Transport, b: V2Transport, chunker: Chunker, a_first: bool = True, first_a: bytes = b""
) -> tuple[list[object], list[object]]:
    """Move bytes both ways until neither side has anything to say; returns (a's events, b's)."""
    ev_a: list[object] = []
    ev_b: list[object] = []
    to_b = first_a + a.pending_output()
    to_a = b.pending_output()
    while to_a or to_b:
        if a_first:
            ev_b += deliver(b, to_b, chunker)
            ev_a += deliver(a, to_a, chunker)
        else:
            ev_a += deliver(a, to_a, chunker)
            ev_b += deliver(b, to_b, chunker)
        to_b, to_a = a.pending_output(), b.pending_output()
    return ev_a, ev_b


def connected(
    chunker: Chunker = whole, garbage_a: bytes = b"", garbage_b: bytes = b"", a_first: bool = True
) -> tuple[V2Transport, V2Transport]:
    a = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=garbage_a)
    b = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32), garbage=garbage_b)
    ev_a, ev_b = pump(a, b, chunker, a_first, first_a=a.start())
    assert ev_a == [HandshakeComplete(a.session_id)]
    assert ev_b == [HandshakeComplete(b.session_id)]
    assert a.session_id == b.session_id and a.session_id is not None
    assert a.handshake_complete and b.handshake_complete
    return a, b


# --- v2 handshake and messages -----------------------------------------------------------------


@pytest.mark.parametrize("chunker", [whole, bytewise, random_chunks], ids=["whole", "bytewise", "random"])
@pytest.mark.parametrize("a_first", [True, False], ids=["initiator-first", "responder-first"])
def test_handshake_and_messages_in_any_chunking(chunker: Chunker, a_first: bool) -> None:
    a, b = connected(chunker, garbage_a=os.urandom(100), garbage_b=os.urandom(3000), a_first=a_first)
    wire = a.frame("ping", b"\x01" * 8) + a.frame("sendaddrv2", b"") + a.frame("headers", b"\x00")
    assert deliver(b, wire, chunker) == [
        NetMessage("ping", b"\x01" * 8),
        NetMessage("sendaddrv2", b""),
        NetMessage("headers", b"\x00"),
    ]
    assert deliver(a, b.frame("pong", b"\x01" * 8), chunker) == [NetMessage("pong", b"\x01" * 8)]


def test_random_keys_and_garbage_by_default() -> None:
    a, b = V2Transport(MAGIC, True), V2Transport(MAGIC, False)
    first = a.start()
    assert 64 <= len(first) <= 64 + 4095 and first[:64] == a.ellswift
    ev_a, ev_b = pump(a, b, random_chunks, first_a=first)
    assert isinstance(ev_a[0], HandshakeComplete) and isinstance(ev_b[0], HandshakeComplete)


@pytest.mark.parametrize("size", [0, 1, 4095])
def test_garbage_sizes_on_both_sides(size: int) -> None:
    connected(random_chunks, garbage_a=b"\xaa" * size, garbage_b=b"\x55" * size)


def test_garbage_ending_in_a_partial_terminator_is_not_a_terminator() -> None:
    """Garbage ending with 15 of the terminator's 16 bytes; the real terminator comes right after."""
    probe_a = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32))
    probe_b = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    cipher = BIP324Cipher.initialize(PRIV_A, probe_a.ellswift, probe_b.ellswift, True, MAGIC)
    garbage = os.urandom(40) + cipher.send_garbage_terminator[:15]
    for chunker in (whole, bytewise):
        connected(chunker, garbage_a=garbage)


def test_short_ids_for_every_bip324_message_type_and_long_ids_otherwise() -> None:
    a, b = connected()
    for command in V2_MESSAGE_IDS[1:]:
        packet = a.frame(command, b"xy")
        assert len(packet) == 20 + 1 + 2  # one-byte id
        assert b.feed(packet) == [NetMessage(command, b"xy")]
    packet = a.frame("version", b"xy")
    assert len(packet) == 20 + 13 + 2  # 0x00 + 12-byte type
    assert b.feed(packet) == [NetMessage("version", b"xy")]
    assert len(V2_MESSAGE_IDS) == 29 and V2_MESSAGE_IDS[28] == "addrv2" and V2_MESSAGE_IDS[1] == "addr"


def test_decoys_are_ignored() -> None:
    a, b = connected()
    wire = a.send_decoy(0) + a.send_decoy(500) + a.frame("inv", b"\x00") + a.send_decoy(3)
    assert deliver(b, wire, bytewise) == [NetMessage("inv", b"\x00")]


def test_rekeying_after_many_messages_both_ways() -> None:
    """1000 packets each way crosses four rekeys of all four ciphers."""
    a, b = connected()
    rng = random.Random(1)
    for i in range(1000):
        payload = rng.randbytes(rng.randint(0, 70))
        if i % 7 == 0:
            assert b.feed(a.send_decoy(rng.randint(0, 20))) == []
        assert b.feed(a.frame("tx", payload)) == [NetMessage("tx", payload)]
        assert a.feed(b.frame("getdata", payload)) == [NetMessage("getdata", payload)]


class ManualInitiator:
    """An initiator driven by hand through BIP324Cipher, to send packets the transport never would."""

    def __init__(self, responder: V2Transport, garbage: bytes = b"") -> None:
        self.transport = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=garbage)
        self.garbage = garbage
        self.responder = responder
        assert responder.feed(self.transport.start()) == []
        reply = responder.pending_output()
        self.cipher = BIP324Cipher.initialize(PRIV_A, self.transport.ellswift, reply[:64], True, MAGIC)


def test_decoy_as_first_packet_carries_the_garbage_aad() -> None:
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    peer = ManualInitiator(responder, garbage=b"some garbage")
    c = peer.cipher
    wire = (
        c.send_garbage_terminator
        + c.encrypt(b"decoy", aad=peer.garbage, ignore=True)
        + c.encrypt(b"")  # version packet
        + c.encrypt(b"\x12" + b"\x00" * 8)  # ping, by short id 18
    )
    assert deliver(responder, wire, bytewise) == [
        HandshakeComplete(c.session_id),
        NetMessage("ping", b"\x00" * 8),
    ]


def test_version_packet_contents_are_ignored() -> None:
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    c = ManualInitiator(responder).cipher
    assert responder.feed(c.send_garbage_terminator + c.encrypt(b"future version data")) == [
        HandshakeComplete(c.session_id)
    ]


def test_wrong_garbage_aad_fails_authentication() -> None:
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    peer = ManualInitiator(responder, garbage=b"real garbage")
    with pytest.raises(DecryptError):
        responder.feed(peer.cipher.send_garbage_terminator + peer.cipher.encrypt(b"", aad=b"other"))


@pytest.mark.parametrize(
    "contents",
    [b"", b"\x1d", b"\xff" + b"x", b"\x00short", b"\x00" + b"bad\x01command" + b"x", b"\x00" + bytes(12)],
    ids=["empty", "erlay-id", "id-255", "short-long-id", "unprintable", "empty-name"],
)
def test_undecodable_message_types_are_reported_not_fatal(contents: bytes) -> None:
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    c = ManualInitiator(responder).cipher
    responder.feed(c.send_garbage_terminator + c.encrypt(b""))
    assert responder.feed(c.encrypt(contents)) == [UnknownMessage(contents)]
    assert responder.feed(c.encrypt(b"\x0e\x00")) == [NetMessage("inv", b"\x00")]


# --- v2 failures -------------------------------------------------------------------------------


def test_tampered_ciphertext_raises_decrypt_error_and_kills_the_transport() -> None:
    a, b = connected()
    packet = bytearray(a.frame("ping", b"\x00" * 8))
    packet[-1] ^= 1
    with pytest.raises(DecryptError):
        b.feed(bytes(packet))
    assert b.failed and not b.can_send
    with pytest.raises(TransportError):
        b.feed(b"\x00")
    with pytest.raises(TransportError):
        b.frame("pong", b"")


def test_tampered_length_announcing_a_huge_packet_raises_message_too_large() -> None:
    a, b = connected()
    packet = bytearray(a.frame("ping", b"\x00" * 8))
    packet[2] ^= 0x80  # top bit of the little-endian 24-bit length: >= 8 MiB
    with pytest.raises(MessageTooLarge):
        b.feed(bytes(packet[:3]))


def test_missing_garbage_terminator_is_a_handshake_error() -> None:
    responder = V2Transport(MAGIC, False, privkey=PRIV_B, aux_rand=bytes(32))
    ManualInitiator(responder)
    assert responder.feed(bytes(4095 + 15)) == []
    with pytest.raises(HandshakeError):
        responder.feed(b"\x00")


def test_other_network_peers_cannot_complete_the_handshake() -> None:
    """The magic salts HKDF: the terminators differ, so the garbage scan never ends."""
    a = V2Transport(MAGIC, True, privkey=PRIV_A, aux_rand=bytes(32), garbage=b"")
    b = V2Transport(bytes.fromhex("f9beb4d9"), False, privkey=PRIV_B, aux_rand=bytes(32), garbage=b"")
    assert b.feed(a.start()) == []
    assert a.feed(b.pending_output()) == []
    assert b.feed(a.pending_output()) == []
    assert a.session_id != b.session_id
    with pytest.raises(HandshakeError):
        b.feed(bytes(4095 + 16))


def test_frame_before_the_peer_key_is_refused() -> None:
    a = V2Transport(MAGIC, True)
    with pytest.raises(TransportError):
        a.frame("ping", b"")
    with pytest.raises(TransportError):
        a.send_decoy(1)
    assert not a.can_send


def test_oversized_v2_payload_is_refused_when_sending() -> None:
    a, _ = connected()
    with pytest.raises(MessageTooLarge):
        a.frame("block", bytes(MAX_PROTOCOL_MESSAGE_LENGTH + 1))


# --- v1 detection and fallback -----------------------------------------------------------------


@pytest.mark.parametrize("chunker", [whole, bytewise], ids=["whole", "bytewise"])
def test_responder_detects_a_v1_peer_and_speaks_v1(chunker: Chunker) -> None:
    v1_peer = V1Transport(MAGIC)
    responder = V2Transport(MAGIC, False)
    wire = v1_peer.frame("version", b"\x01" * 100) + v1_peer.frame("verack", b"")
    events = deliver(responder, wire, chunker)
    assert events == [FallbackToV1(), NetMessage("version", b"\x01" * 100), NetMessage("verack", b"")]
    assert responder.is_v1 and responder.handshake_complete and responder.can_send
    assert responder.pending_output() == b""  # never sent a v2 key
    assert v1_peer.feed(responder.frame("verack", b"")) == [NetMessage("verack", b"")]
    assert not responder.should_reconnect_v1()


def test_v1_version_with_another_networks_magic_is_a_handshake_error() -> None:
    other = V1Transport(bytes.fromhex("f9beb4d9"))
    responder = V2Transport(MAGIC, False)
    with pytest.raises(HandshakeError):
        responder.feed(other.frame("version", b"\x00" * 50))


def test_partial_v1_prefix_then_mismatch_is_treated_as_v2() -> None:
    responder = V2Transport(MAGIC, False, garbage=b"")
    assert responder.feed(MAGIC + b"vers") == []
    assert responder.pending_output() == b"" and responder.recv_state is RecvState.KEY_MAYBE_V1
    assert responder.feed(b"X") == []
    assert responder.recv_state is RecvState.KEY
    assert responder.pending_output() == responder.ellswift


def test_initiator_reconnect_rule() -> None:
    a = V2Transport(MAGIC, True, garbage=b"")
    assert not a.should_reconnect_v1()  # nothing handed out yet
    a.start()
    assert a.should_reconnect_v1()  # peer closed without a byte: probably v1-only
    a.feed(b"\x00")
    assert not a.should_reconnect_v1()  # it answered, so it was not a v1 peer
    assert not V2Transport(MAGIC, False).should_reconnect_v1()


# --- v1 framing --------------------------------------------------------------------------------


def test_v1_round_trip_in_any_chunking() -> None:
    t = V1Transport(MAGIC)
    wire = t.frame("ping", b"\x07" * 8) + t.frame("verack", b"") + t.frame("tx", b"\x01" * 300)
    expected = [NetMessage("ping", b"\x07" * 8), NetMessage("verack", b""), NetMessage("tx", b"\x01" * 300)]
    for chunker in (whole, bytewise, random_chunks):
        receiver = V1Transport(MAGIC)
        got: list[NetMessage] = []
        for chunk in chunker(wire):
            got += receiver.feed(chunk)
        assert got == expected
    assert wire[:24].hex() == "fabfb5da" + b"ping".hex() + "00" * 8 + "08000000" + wire[20:24].hex()


def test_v1_oversized_length_is_a_typed_error() -> None:
    header = bytearray(V1Transport(MAGIC).frame("block", b""))
    header[16:20] = (MAX_PROTOCOL_MESSAGE_LENGTH + 1).to_bytes(4, "little")
    with pytest.raises(MessageTooLarge):
        V1Transport(MAGIC).feed(bytes(header))
    with pytest.raises(MessageTooLarge):
        V1Transport(MAGIC).frame("block", bytes(MAX_PROTOCOL_MESSAGE_LENGTH + 1))


def test_v1_accepts_the_largest_allowed_payload() -> None:
    t = V1Transport(MAGIC)
    assert t.feed(t.frame("block", bytes(MAX_PROTOCOL_MESSAGE_LENGTH))) == [
        NetMessage("block", bytes(MAX_PROTOCOL_MESSAGE_LENGTH))
    ]


def test_v1_bad_magic_checksum_and_command() -> None:
    good = V1Transport(MAGIC).frame("ping", b"\x00" * 8)
    with pytest.raises(BadMagic):
        V1Transport(bytes.fromhex("f9beb4d9")).feed(good[:4])
    bad_sum = bytearray(good)
    bad_sum[-1] ^= 1
    with pytest.raises(BadChecksum):
        V1Transport(MAGIC).feed(bytes(bad_sum))
    bad_cmd = bytearray(good)
    bad_cmd[9] = 0x01  # after "ping\0": padding must be NUL
    with pytest.raises(BadCommand):
        V1Transport(MAGIC).feed(bytes(bad_cmd))
    with pytest.raises(BadCommand):
        V1Transport(MAGIC).frame("thirteen-char", b"")
    with pytest.raises(BadCommand):
        V1Transport(MAGIC).frame("pïng", b"")
    failed = V1Transport(MAGIC)
    with pytest.raises(BadChecksum):
        failed.feed(bytes(bad_sum))
    with pytest.raises(TransportError):
        failed.feed(good)
