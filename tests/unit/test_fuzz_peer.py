"""Hypothesis: arbitrary byte streams sent to a listening peer over a real socket.

Whatever arrives — random bytes, mutated v1 messages, random packets inside a genuine BIP324
session — the connection is either dropped with a typed reason or its bytes are ignored until we
close it; no exception reaches the event loop, no task is left behind, and the listener keeps
serving a well-behaved peer afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.p2p.messages import MsgGetHeaders, MsgPing, MsgVerack, MsgVersion, encode_message
from core.p2p.peer_events import DisconnectKind, HandshakeFailed, PeerDisconnected
from core.p2p.transport import V1Transport, V2Transport
from core.p2p.v2_transport import V2_MESSAGE_IDS
from tests.unit.peer_harness import MAGIC, Node, expect_still_serving, read_until_closed, run

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

K = DisconnectKind
#: How a fuzzed connection may end: dropped for its bytes, or closed by us after they were ignored.
ENDINGS = {
    K.TRANSPORT_ERROR,
    K.MALFORMED_MESSAGE,
    K.PROTOCOL_VIOLATION,
    K.OBSOLETE_VERSION,
    K.REMOTE_CLOSED,
    K.IO_ERROR,
}
V1_STREAM = b"".join(
    V1Transport(MAGIC).frame(*encode_message(m))
    for m in (MsgVersion(nonce=5, user_agent="/fuzz/"), MsgVerack(), MsgPing(9), MsgGetHeaders())
)
COMMANDS = st.sampled_from([*V2_MESSAGE_IDS[1:], "version", "verack", "wtxidrelay", "sendaddrv2", "junk"])


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """Flip, insert, delete or truncate a few bytes of `data`."""
    base = bytearray(data)
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(base)))
        if kind == 0 and pos < len(base):
            base[pos] ^= draw(st.integers(1, 255))
        elif kind == 1:
            base[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 2:
            del base[pos : pos + draw(st.integers(1, 8))]
        else:
            del base[pos:]
    return bytes(base)


STREAMS = st.one_of(
    st.binary(max_size=3000),
    mutated(V1_STREAM),
    st.binary(max_size=200).map(lambda tail: V1_STREAM[:16] + tail),  # a v1 prefix, then noise
)


async def write_all(writer: asyncio.StreamWriter, data: bytes, chunk: int) -> None:
    """Send `data` in chunks, then half-close; the other side may already have hung up."""
    with contextlib.suppress(ConnectionError):
        for i in range(0, len(data), chunk):
            writer.write(data[i : i + chunk])
            await writer.drain()
        writer.write_eof()


async def expect_ending(node: Node) -> None:
    event = await node.expect((HandshakeFailed, PeerDisconnected))  # type: ignore[arg-type]
    assert event.reason.kind in ENDINGS, event.reason


@FUZZ
@given(data=STREAMS, v2=st.booleans(), chunk=st.integers(1, 700))
def test_fuzzed_bytes_to_listener(data: bytes, v2: bool, chunk: int) -> None:
    async def scenario() -> None:
        a = Node(v2_transport=v2)
        listener = await a.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        await write_all(writer, data, chunk)
        await read_until_closed(reader)
        await expect_ending(a)
        writer.close()
        await expect_still_serving(listener)
        await listener.close()

    run(scenario)


PACKETS = st.lists(
    st.one_of(
        st.tuples(st.just("packet"), COMMANDS, st.binary(max_size=300)),
        st.tuples(st.just("decoy"), st.integers(0, 100)),
        st.tuples(st.just("raw"), st.binary(min_size=1, max_size=100)),
    ),
    max_size=6,
)


@FUZZ
@given(packets=PACKETS)
def test_fuzzed_packets_inside_a_v2_session(packets: list[tuple]) -> None:
    async def scenario() -> None:
        a = Node()
        listener = await a.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        t = V2Transport(MAGIC, initiator=True)
        writer.write(t.start())
        while not t.handshake_complete:  # a genuine BIP324 handshake, done by hand
            data = await asyncio.wait_for(reader.read(4096), 10)
            assert data
            t.feed(data)
            writer.write(t.pending_output())
        out = bytearray()
        for item in packets:
            if item[0] == "packet":
                out += t.frame(item[1], item[2])
            elif item[0] == "decoy":
                out += t.send_decoy(item[1])
            else:
                out += item[1]  # desynchronises the stream: only errors can follow
        await write_all(writer, bytes(out), 512)
        await read_until_closed(reader)
        await expect_ending(a)
        writer.close()
        await expect_still_serving(listener)
        await listener.close()

    run(scenario)
