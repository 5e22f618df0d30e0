"""Peers over real sockets on 127.0.0.1: handshakes over v2 and v1, fallback, messages, pings, closing.

Two nodes live in one process: one listens (port 0), the other connects. Every test runs under
`peer_harness.run`, which fails on anything reaching the loop's exception handler and on tasks
left running; waits are on events, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from core.consensus.hashes import BlockHash
from core.p2p.errors import BadMagic, PeerClosedError, PeerConnectError
from core.p2p.messages import (
    Inv,
    InvType,
    Message,
    MsgFeeFilter,
    MsgGetHeaders,
    MsgInv,
    MsgPing,
    MsgPong,
    MsgSendAddrV2,
    MsgSendHeaders,
    MsgVerack,
    MsgVersion,
    MsgWtxidRelay,
    UnknownMessage,
)
from core.p2p.peer import Peer, TransportKind
from core.p2p.peer_events import (
    DisconnectKind,
    HandshakeFailed,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    QueueHandler,
)
from core.p2p.services import ServiceFlags
from tests.unit.message_samples import SAMPLES
from tests.unit.peer_harness import Node, RawV1Peer, run

K = DisconnectKind
P2P_V2 = ServiceFlags.NODE_P2P_V2
#: Messages the peer layer handles itself; everything else reaches the owner.
INTERNAL = (MsgVersion, MsgVerack, MsgWtxidRelay, MsgSendAddrV2, MsgPing, MsgPong)


async def pair(a: Node, b: Node, **connect_kw: object) -> tuple[Peer, Peer, object]:
    """`a` listens, `b` connects; returns (b's outbound peer, a's inbound peer, a's listener)."""
    listener = await a.listen()
    out = await b.connect(listener.port, **connect_kw)
    inbound = (await a.expect(PeerConnected)).peer
    assert (await b.expect(PeerConnected)).peer is out
    return out, inbound, listener


# --- handshake and transport selection ---------------------------------------------------------------


def test_v2_handshake_when_both_prefer_v2() -> None:
    async def scenario() -> None:
        a = Node(user_agent="/A:1/", start_height=7, services=ServiceFlags.NODE_NETWORK, relay=False)
        b = Node(user_agent="/B:2/", start_height=lambda: 42, fee_filter=1000)
        before = time.time()
        out, inbound, listener = await pair(a, b, prefer_v2=True)
        assert out.kind == inbound.kind == TransportKind.V2 == "v2"
        assert out.session_id is not None and len(out.session_id) == 32
        assert out.session_id == inbound.session_id
        # The remote's version fields, as each side saw them.
        assert (out.user_agent, out.start_height, out.relay) == ("/A:1/", 7, False)
        assert out.services == ServiceFlags.NODE_NETWORK | P2P_V2
        assert (inbound.user_agent, inbound.start_height, inbound.relay) == ("/B:2/", 42, True)
        assert inbound.services == P2P_V2
        assert out.version == inbound.version == 70016
        assert not out.inbound and inbound.inbound
        assert out.wtxid_relay and inbound.wtxid_relay and out.wants_addrv2 and inbound.wants_addrv2
        # sendheaders (both) and feefilter (from b) follow verack and are also handed to the owner.
        await b.expect_message(MsgSendHeaders)
        await a.expect_message(MsgSendHeaders)
        assert await a.expect_message(MsgFeeFilter) == MsgFeeFilter(1000)
        assert out.prefers_headers and inbound.prefers_headers and inbound.fee_filter == 1000
        assert before <= out.connected_since <= time.time()
        assert out.bytes_sent > 0 and out.bytes_recv > 0 and inbound.bytes_recv > 0
        assert out.address == ("127.0.0.1", listener.port)
        await out.close()
        await listener.close()

    run(scenario)


@pytest.mark.parametrize(
    ("b_v2", "remote_services", "prefer_v2", "expected"),
    [
        (False, P2P_V2, None, "v1"),  # our v2 is off: v1 even toward a v2 peer
        (True, ServiceFlags.NODE_NETWORK, None, "v1"),  # the address does not advertise v2
        (True, P2P_V2, None, "v2"),  # it does: v2
        (True, ServiceFlags.NODE_NONE, False, "v1"),  # explicitly v1
        (False, ServiceFlags.NODE_NONE, True, "v2"),  # explicitly v2
    ],
    ids=["v1-only-initiator", "no-v2-advertised", "v2-advertised", "prefer-v1", "prefer-v2"],
)
def test_transport_selection(b_v2: bool, remote_services: int, prefer_v2: bool | None, expected: str) -> None:
    async def scenario() -> None:
        a, b = Node(), Node(v2_transport=b_v2)
        out, inbound, listener = await pair(a, b, remote_services=remote_services, prefer_v2=prefer_v2)
        # The responder detected the initiator's transport from its first bytes.
        assert out.kind == inbound.kind == expected
        assert (out.session_id is None) == (expected == "v1")
        assert out.services & P2P_V2  # a has v2 on, whatever was used
        assert bool(inbound.services & P2P_V2) is b_v2
        await out.close()
        await listener.close()

    run(scenario)


def test_v2_initiator_falls_back_to_v1_against_v1_only_responder() -> None:
    async def scenario() -> None:
        a, b = Node(v2_transport=False), Node()
        listener = await a.listen()
        out = await b.connect(listener.port, prefer_v2=True)
        assert out.kind == "v1" and out.session_id is None
        # The responder dropped the v2 attempt as bytes with a foreign magic, then took the v1 redial.
        failed = await a.expect(HandshakeFailed)
        assert failed.reason.kind is K.TRANSPORT_ERROR and isinstance(failed.reason.error, BadMagic)
        inbound = (await a.expect(PeerConnected)).peer
        assert inbound.kind == "v1"
        await out.close()
        await listener.close()

    run(scenario)


def test_v2_attempt_closed_unanswered_is_retried_once_with_v1() -> None:
    async def scenario() -> None:
        # A server that closes every connection unanswered: the v2 attempt ends the way Core's
        # ShouldReconnectV1 recognises, so one v1 redial follows; when that fails too, we give up.
        seen = 0

        def on_accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal seen
            seen += 1
            w.close()

        server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        b = Node()
        with pytest.raises(PeerConnectError) as info:
            await b.connect(port, prefer_v2=True)
        assert info.value.reason.kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        assert seen == 2
        server.close()
        await server.wait_closed()

    run(scenario)


def test_connect_to_closed_port_fails_typed() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(PeerConnectError) as info:
            await Node().connect(port)
        assert info.value.reason.kind is K.CONNECT_FAILED

    run(scenario)


def test_cancelled_connect_ends_promptly() -> None:
    async def scenario() -> None:
        # A server that accepts and stays silent; the owner gives up as soon as the socket is up.
        # (On 3.11 asyncio.wait_for around the TCP connect swallowed this cancellation, and the
        # caller sat out the whole handshake timeout.)
        accepted = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []

        def on_accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            writers.append(w)
            accepted.set()

        server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
        b = Node(handshake_timeout=60.0)
        attempt = asyncio.ensure_future(Peer.connect(b.ctx, "127.0.0.1", server.sockets[0].getsockname()[1]))
        await asyncio.wait_for(accepted.wait(), 10)
        attempt.cancel()
        done, _ = await asyncio.wait({attempt}, timeout=10)
        assert attempt in done and attempt.cancelled()
        assert not b.ctx.local_nonces and not b.pending()
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()

    run(scenario)


# --- messages, pings, counters -----------------------------------------------------------------------


@pytest.mark.parametrize("prefer_v2", [True, False], ids=["v2", "v1"])
def test_messages_both_ways(prefer_v2: bool) -> None:
    app_messages = [m for m in SAMPLES if not isinstance(m, INTERNAL)]
    big = MsgInv(tuple(Inv(InvType.TX, bytes([i % 256, i // 256]) * 16) for i in range(50_000)))

    async def scenario() -> None:
        a, b = Node(), Node()
        out, inbound, listener = await pair(a, b, prefer_v2=prefer_v2)
        await a.expect_message(MsgSendHeaders)
        await b.expect_message(MsgSendHeaders)
        for msg in [*app_messages, big]:
            assert out.send(msg)
            assert inbound.send(msg)
        await out.drain()
        assert out.send_queue_size == 0
        got_a = [await a.expect(MessageReceived) for _ in range(len(app_messages) + 1)]
        got_b = [await b.expect(MessageReceived) for _ in range(len(app_messages) + 1)]
        assert [g.message for g in got_a] == [*app_messages, big]
        assert [g.message for g in got_b] == [*app_messages, big]
        assert all(g.peer is inbound for g in got_a) and all(g.peer is out for g in got_b)
        # One more round trip so every byte sent is known to be received: counters agree.
        out.send(MsgGetHeaders(locator=(BlockHash(bytes(32)),)))
        await a.expect_message(MsgGetHeaders)
        inbound.send(MsgGetHeaders())
        await b.expect_message(MsgGetHeaders)
        assert out.bytes_sent == inbound.bytes_recv > 1_800_000
        assert inbound.bytes_sent == out.bytes_recv
        await out.close()
        await listener.close()

    run(scenario)


def test_ping_pong_latency() -> None:
    async def scenario() -> None:
        a, b = Node(), Node()
        out, inbound, listener = await pair(a, b, prefer_v2=True)
        assert out.last_ping_time is None
        latency = await out.ping()
        assert 0 < latency < 10
        assert out.last_ping_time == latency and out.min_ping_time == latency
        second = await out.ping()
        assert out.min_ping_time == min(latency, second)
        await inbound.ping()
        assert inbound.last_ping_time is not None
        # Concurrent callers share the ping in flight.
        x, y = await asyncio.gather(out.ping(), out.ping())
        assert x == y
        await out.close()
        with pytest.raises(PeerClosedError):
            await out.ping()
        await listener.close()

    run(scenario)


def test_automatic_pings_and_ping_timeout() -> None:
    async def scenario() -> None:
        a = Node(ping_interval=0.01, ping_timeout=0.3)
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        peer = (await a.expect(PeerConnected)).peer
        # Pings come on their own; answered ones are measured, the next one follows.
        first = await raw.recv(MsgPing)
        raw.send(MsgPong(first.nonce))  # type: ignore[attr-defined]
        second = await raw.recv(MsgPing)
        assert second.nonce != first.nonce  # type: ignore[attr-defined]
        assert peer.last_ping_time is not None
        # This one goes unanswered: the peer is dropped once ping_timeout passes.
        gone = await a.expect(PeerDisconnected)
        assert gone.peer is peer and gone.reason.kind is K.PING_TIMEOUT
        await raw.read_until_closed()
        await raw.close()
        await listener.close()

    run(scenario)


def test_pings_answered_and_messages_before_verack_ignored() -> None:
    async def scenario() -> None:
        # v1 only: a v2 responder would take a first message other than version for a v2 key.
        a = Node(v2_transport=False)
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        raw.send(MsgPing(1))  # before version: ignored
        raw.send(MsgVersion(nonce=99, user_agent="/raw/"))
        raw.send(MsgPing(2))  # after version, before verack: ignored
        raw.send(MsgInv())  # likewise not delivered
        await raw.recv(MsgVerack)
        raw.send(MsgVerack())
        await a.expect(PeerConnected)
        raw.send(MsgPing(3))
        pong = await raw.recv(MsgPong)
        assert pong == MsgPong(3)
        raw.send(MsgVersion(nonce=5))  # redundant version and verack: ignored
        raw.send(MsgVerack())
        raw.send(MsgGetHeaders())
        await a.expect_message(MsgGetHeaders)
        assert not [e for e in a.pending() if isinstance(e, MessageReceived) and isinstance(e.message, MsgInv)]
        await raw.close()
        await a.expect(PeerDisconnected)
        await listener.close()

    run(scenario)


# --- closing -------------------------------------------------------------------------------------------


def test_close_cancels_all_tasks() -> None:
    async def scenario() -> None:
        baseline = asyncio.all_tasks()
        a, b = Node(), Node(ping_interval=60.0)
        out, inbound, listener = await pair(a, b, prefer_v2=True)
        assert len(asyncio.all_tasks()) > len(baseline)
        for _ in range(100):
            out.send(MsgGetHeaders())  # queued work is dropped on close
        reason = await out.close("test over")
        assert reason.kind is K.CLOSED_BY_US and reason.detail == "test over"
        assert out.is_closed and out.close_reason == reason
        assert not out.send(MsgGetHeaders())
        with pytest.raises(PeerClosedError):
            await out.drain()
        gone = await a.expect(PeerDisconnected)
        assert gone.peer is inbound and gone.reason.kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        await b.expect(PeerDisconnected)
        assert await out.close() == reason  # idempotent; the first reason stays
        await listener.close()
        assert not listener.serving and not listener.peers
        assert asyncio.all_tasks() == baseline

    run(scenario)


def test_listener_close_closes_inbound_peers() -> None:
    async def scenario() -> None:
        baseline = asyncio.all_tasks()
        a, b = Node(), Node()
        out, inbound, listener = await pair(a, b)
        assert listener.peers == {inbound}
        await listener.close()
        assert inbound.is_closed and inbound.close_reason.kind is K.CLOSED_BY_US  # type: ignore[union-attr]
        reason = await out.wait_closed()
        assert reason.kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        assert asyncio.all_tasks() == baseline

    run(scenario)


class ClosingHandler(QueueHandler):
    """Closes the peer from inside on_message (the peer's own task) and raises on `inv`."""

    async def on_message(self, peer: Peer, msg: Message) -> None:
        await super().on_message(peer, msg)
        if isinstance(msg, MsgGetHeaders):
            reason = await peer.close("handler closed it")
            assert reason.detail == "handler closed it"
        elif isinstance(msg, MsgInv):
            raise RuntimeError("handler bug")


@pytest.mark.parametrize("trigger", ["close", "raise"])
def test_handler_closing_or_raising(trigger: str) -> None:
    async def scenario() -> None:
        a, b = Node(), Node()
        a.handler = ClosingHandler()
        a.ctx.handler = a.handler
        out, _inbound, listener = await pair(a, b)
        out.send(MsgGetHeaders() if trigger == "close" else MsgInv())
        out.send(MsgFeeFilter(5))  # never delivered: the peer is closing
        gone = await a.expect(PeerDisconnected)
        if trigger == "close":
            assert gone.reason.kind is K.CLOSED_BY_US
        else:
            assert gone.reason.kind is K.HANDLER_ERROR and "handler bug" in gone.reason.detail
        assert not [e for e in a.pending() if isinstance(e, MessageReceived) and isinstance(e.message, MsgFeeFilter)]
        await out.wait_closed()
        await listener.close()

    run(scenario)


class QueueSizeRecorder(QueueHandler):
    """Records the peer's send-queue size each time a message is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    async def on_message(self, peer: Peer, msg: Message) -> None:
        self.sizes.append(peer.send_queue_size)
        await super().on_message(peer, msg)


def test_send_backpressure_pauses_reading() -> None:
    big = UnknownMessage("blob", bytes(2_000_000))  # cheap to encode and decode

    async def scenario() -> None:
        a = Node(v2_transport=False, max_send_buffer=100_000)
        a.handler = QueueSizeRecorder()
        a.ctx.handler = a.handler
        listener = await a.listen()
        raw = await RawV1Peer.open(listener.port)
        await raw.handshake()
        inbound = (await a.expect(PeerConnected)).peer
        for _ in range(12):  # 24 MB, more than loopback socket buffers hold
            inbound.send(big)
        assert inbound.send_queue_size > 100_000
        raw.send(MsgGetHeaders())  # arrives while a's queue is over its limit
        async def read_invs() -> list[Message]:
            return [await raw.recv(UnknownMessage) for _ in range(12)]

        reading = asyncio.ensure_future(read_invs())
        await a.expect_message(MsgGetHeaders)
        # Core's fPauseSend: the message was only processed once the queue was back under the limit.
        assert a.handler.sizes == [a.handler.sizes[0]] and a.handler.sizes[0] <= 100_000
        await inbound.drain()
        assert inbound.send_queue_size == 0
        assert await reading == [big] * 12
        await inbound.close()
        await raw.close()
        await listener.close()

    run(scenario)
