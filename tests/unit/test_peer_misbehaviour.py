"""Peers that misbehave over real sockets: each is dropped with a typed reason, the listener keeps serving.

Covers bytes no transport accepts (oversize, bad checksum, foreign magic, garbage), malformed
payloads, protocol violations, timeouts, self-connections, discouragement and the inbound limit.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

from core.p2p.errors import (
    BadChecksum,
    BadMagic,
    DecryptError,
    HandshakeError,
    MessageDecodeError,
    MessageTooLarge,
    P2PError,
    PeerConnectError,
)
from core.p2p.messages import MsgGetHeaders, MsgPing, MsgPong, MsgSendAddrV2, MsgVersion, MsgWtxidRelay
from core.p2p.peer_events import (
    DisconnectKind,
    HandshakeFailed,
    InboundRejected,
    PeerConnected,
    PeerDisconnected,
)
from core.p2p.services import ServiceFlags
from core.p2p.transport import V1Transport, V2Transport
from tests.unit.peer_harness import MAGIC, Node, RawV1Peer, expect_still_serving, read_until_closed, run

K = DisconnectKind
VERSION_FRAME = V1Transport(MAGIC).frame("version", MsgVersion(nonce=1).serialize())


def _bad_checksum() -> bytes:
    frame = bytearray(VERSION_FRAME)
    frame[20] ^= 0xFF
    return bytes(frame)


def _oversize() -> bytes:
    return MAGIC + b"version".ljust(12, b"\x00") + struct.pack("<I", 4_000_001) + bytes(4)


def _foreign_magic() -> bytes:
    return bytes.fromhex("f9beb4d9") + VERSION_FRAME[4:]  # mainnet magic on our regtest listener


GARBAGE = bytes(range(256)) * 20  # 5120 bytes without a v1 prefix: a v2 key and no terminator


@pytest.mark.parametrize("v2", [True, False], ids=["v2-listener", "v1-listener"])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_oversize(), {True: MessageTooLarge, False: MessageTooLarge}),
        (_bad_checksum(), {True: BadChecksum, False: BadChecksum}),
        (_foreign_magic(), {True: HandshakeError, False: BadMagic}),
        (GARBAGE, {True: HandshakeError, False: BadMagic}),
    ],
    ids=["oversize", "bad-checksum", "foreign-magic", "garbage"],
)
def test_undecodable_bytes_drop_the_peer(v2: bool, data: bytes, expected: dict[bool, type[P2PError]]) -> None:
    async def scenario() -> None:
        a = Node(v2_transport=v2)
        listener = await a.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(data)
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.TRANSPORT_ERROR
        assert type(failed.reason.error) is expected[v2]
        await read_until_closed(reader)  # the socket was closed on us
        writer.close()
        await expect_still_serving(listener)
        await listener.close()

    run(scenario)


def test_bad_bytes_after_the_v2_handshake() -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        t = V2Transport(MAGIC, initiator=True)
        writer.write(t.start())
        while not t.handshake_complete:
            t.feed(await reader.read(4096))
            writer.write(t.pending_output())
        packet = bytearray(t.frame("version", MsgVersion(nonce=3).serialize()))
        packet[-1] ^= 1  # break the Poly1305 tag
        writer.write(bytes(packet))
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.TRANSPORT_ERROR and isinstance(failed.reason.error, DecryptError)
        await read_until_closed(reader)
        writer.close()
        await expect_still_serving(listener)
        await listener.close()

    run(scenario)


def test_malformed_messages() -> None:
    async def scenario() -> None:
        a = Node(v2_transport=False)
        listener = await a.listen()
        # Before the handshake: a version that does not parse.
        raw = await RawV1Peer.open(listener.port)
        raw.send_raw(raw.transport.frame("version", b"\x01\x02\x03"))
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.MALFORMED_MESSAGE
        assert isinstance(failed.reason.error, MessageDecodeError) and failed.reason.error.command == "version"
        await raw.read_until_closed()
        await raw.close()
        # After it: a ping with 3 payload bytes.
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        await a.expect(PeerConnected)
        raw.send_raw(raw.transport.frame("ping", b"abc"))
        gone = await a.expect(PeerDisconnected)
        assert gone.reason.kind is K.MALFORMED_MESSAGE and gone.reason.error.command == "ping"  # type: ignore[union-attr]
        await raw.read_until_closed()
        await raw.close()
        # Unknown commands are ignored, not punished.
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        peer = (await a.expect(PeerConnected)).peer
        raw.send_raw(raw.transport.frame("futurecmd", b"whatever"))
        raw.send(MsgGetHeaders())
        await a.expect_message(MsgGetHeaders)
        assert not peer.is_closed
        await raw.close()
        await a.expect(PeerDisconnected)
        await listener.close()

    run(scenario)


@pytest.mark.parametrize("late", [MsgWtxidRelay(), MsgSendAddrV2()], ids=["wtxidrelay", "sendaddrv2"])
def test_negotiation_after_verack_is_a_violation(late: MsgWtxidRelay | MsgSendAddrV2) -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        await a.expect(PeerConnected)
        raw.send(late)
        gone = await a.expect(PeerDisconnected)
        assert gone.reason.kind is K.PROTOCOL_VIOLATION and late.command in gone.reason.detail
        await raw.read_until_closed()
        await raw.close()
        await listener.close()

    run(scenario)


def test_obsolete_version_and_missing_services() -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        raw.send(MsgVersion(version=31799, nonce=8))
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.OBSOLETE_VERSION
        await raw.read_until_closed()
        await raw.close()
        # a advertises no NODE_NETWORK: an outbound peer requiring it gives up.
        b = Node()
        with pytest.raises(PeerConnectError) as info:
            await b.connect(listener.port, required_services=ServiceFlags.NODE_NETWORK)
        assert info.value.reason.kind is K.MISSING_SERVICES
        await a.expect(HandshakeFailed)
        await listener.close()

    run(scenario)


def test_handshake_timeout() -> None:
    async def scenario() -> None:
        a = Node(handshake_timeout=0.2)
        listener = await a.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.HANDSHAKE_TIMEOUT
        assert await read_until_closed(reader) == b""  # a v2 responder says nothing before our bytes
        writer.close()
        await listener.close()

    run(scenario)


@pytest.mark.parametrize("prefer_v2", [True, False], ids=["v2", "v1"])
def test_self_connection_detected(prefer_v2: bool) -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen()
        with pytest.raises(PeerConnectError) as info:
            await a.connect(listener.port, prefer_v2=prefer_v2)
        assert info.value.reason.kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.SELF_CONNECTION
        assert not a.ctx.local_nonces  # the outbound nonce is forgotten once the attempt ends
        await listener.close()

    run(scenario)


def test_misbehaving_peer_is_discouraged() -> None:
    async def scenario() -> None:
        a, b = Node(), Node()
        listener = await a.listen()
        out = await b.connect(listener.port)
        inbound = (await a.expect(PeerConnected)).peer
        inbound.misbehaving("sent junk")
        gone = await a.expect(PeerDisconnected)
        assert gone.reason.kind is K.MISBEHAVING and gone.reason.detail == "sent junk"
        assert a.ctx.discouraged.is_discouraged("127.0.0.1")
        assert (await out.wait_closed()).kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        # A new connection from the same IP is refused at accept.
        with pytest.raises(PeerConnectError):
            await b.connect(listener.port)
        rejected = await a.expect(InboundRejected)
        assert rejected.reason.kind is K.DISCOURAGED and rejected.address[0] == "127.0.0.1"
        assert not listener.peers
        # And a does not dial a discouraged address either: no connection reaches b's listener.
        b_listener = await b.listen()
        b.pending()
        b.backlog.clear()
        with pytest.raises(PeerConnectError) as info:
            await a.connect(b_listener.port)
        assert info.value.reason.kind is K.DISCOURAGED
        assert not b.pending() and not b_listener.peers
        a.ctx.discouraged.clear()
        peer = await a.connect(b_listener.port)
        await peer.close()
        await b_listener.close()
        await listener.close()

    run(scenario)


def test_inbound_limit() -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen(max_inbound=1)
        first = await Node().connect(listener.port)
        await a.expect(PeerConnected)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        rejected = await a.expect(InboundRejected)
        assert rejected.reason.kind is K.INBOUND_FULL
        await read_until_closed(reader)
        writer.close()
        await first.close()
        await a.expect(PeerDisconnected)
        second = await Node().connect(listener.port)  # the slot is free again
        await second.close()
        await listener.close()

    run(scenario)


def test_ping_from_raw_peer_answered_over_v1_fallback() -> None:
    async def scenario() -> None:
        a = Node()  # v2 listener, v1 peer: detected from the version prefix
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        peer = (await a.expect(PeerConnected)).peer
        assert peer.kind == "v1"
        raw.send(MsgPing(77))
        assert await raw.recv(MsgPong) == MsgPong(77)
        await raw.close()
        await a.expect(PeerDisconnected)
        await listener.close()

    run(scenario)
