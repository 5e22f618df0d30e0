"""Shared scaffolding for the peer tests: a strict asyncio runner, test nodes and a raw v1 peer.

`run(scenario)` runs a coroutine in a fresh loop whose exception handler records anything
that reaches it (unhandled task exceptions, "never retrieved" futures, callback errors) and fails
the test, and checks that no task outlives the scenario. Every wait is bounded by TIMEOUT: the
tests synchronise on events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from core.p2p.listener import PeerListener
from core.p2p.messages import (
    Message,
    MsgVerack,
    MsgVersion,
    decode_message,
    encode_message,
)
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import MessageReceived, PeerEvent, QueueHandler
from core.p2p.transport import V1Transport

MAGIC = bytes.fromhex("fabfb5da")  # regtest
TIMEOUT = 10.0

E = TypeVar("E")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run `scenario` in a new loop; fail on anything the loop's exception handler saw or leftover tasks."""
    errors: list[dict[str, Any]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        baseline = asyncio.all_tasks()
        await scenario()
        leftover = asyncio.all_tasks() - baseline
        assert not leftover, f"tasks still running: {leftover}"
        gc.collect()  # surface "exception was never retrieved" from dropped futures now

    asyncio.run(main())
    gc.collect()
    assert not errors, f"loop exception handler was called: {errors}"


def config(**overrides: Any) -> PeerConfig:
    """A test config: regtest magic, no automatic pings, short timeouts unless overridden."""
    base: dict[str, Any] = {"magic": MAGIC, "ping_interval": None, "handshake_timeout": TIMEOUT}
    base.update(overrides)
    return PeerConfig(**base)


class Node:
    """A PeerContext with a QueueHandler, and helpers to await its events."""

    def __init__(self, cfg: PeerConfig | None = None, **overrides: Any) -> None:
        self.handler = QueueHandler()
        self.ctx = PeerContext(cfg or config(**overrides), self.handler)
        self.backlog: list[PeerEvent | MessageReceived] = []

    async def expect(self, cls: type[E], pred: Callable[[E], bool] = lambda _: True) -> E:
        """The first event of type `cls` matching `pred` (earlier non-matching ones stay in the backlog)."""
        for i, item in enumerate(self.backlog):
            if isinstance(item, cls) and pred(item):
                return self.backlog.pop(i)  # type: ignore[return-value]

        async def wait() -> E:
            while True:
                item = await self.handler.queue.get()
                if isinstance(item, cls) and pred(item):
                    return item
                self.backlog.append(item)

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def expect_message(self, cls: type[Message], peer: Peer | None = None) -> Message:
        """The next message of type `cls` (from `peer`, if given)."""
        got = await self.expect(
            MessageReceived, lambda m: isinstance(m.message, cls) and (peer is None or m.peer is peer)
        )
        return got.message

    def pending(self) -> list[PeerEvent | MessageReceived]:
        """Events received so far and not consumed by `expect`."""
        while not self.handler.queue.empty():
            self.backlog.append(self.handler.queue.get_nowait())
        return list(self.backlog)

    async def listen(self, **kw: Any) -> PeerListener:
        listener = PeerListener(self.ctx, **kw)
        await listener.start()
        return listener

    async def connect(self, port: int, **kw: Any) -> Peer:
        return await asyncio.wait_for(Peer.connect(self.ctx, "127.0.0.1", port, **kw), TIMEOUT)


class RawV1Peer:
    """A hand-driven v1 peer on a plain socket, for sending what a well-behaved Peer never would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.transport = V1Transport(MAGIC)
        self.inbox: list[Message] = []

    @classmethod
    async def open(cls, port: int) -> RawV1Peer:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
        return cls(reader, writer)

    def send(self, msg: Message) -> None:
        self.send_raw(self.transport.frame(*encode_message(msg)))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def recv(self, cls: type[Message] = Message) -> Message:
        """The next message of type `cls`, skipping others."""

        async def wait() -> Message:
            while True:
                while self.inbox:
                    msg = self.inbox.pop(0)
                    if isinstance(msg, cls):
                        return msg
                data = await self.reader.read(1 << 16)
                if not data:
                    raise ConnectionError("closed")
                self.inbox += [decode_message(m.command, m.payload) for m in self.transport.feed(data)]

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def handshake(self, version: MsgVersion | None = None) -> MsgVersion:
        """Send version, wait for the peer's version and verack, send verack; returns its version."""
        self.send(version or MsgVersion(nonce=12345, user_agent="/raw/"))
        theirs = await self.recv(MsgVersion)
        await self.recv(MsgVerack)
        self.send(MsgVerack())
        assert isinstance(theirs, MsgVersion)
        return theirs

    async def read_until_closed(self) -> bytes:
        """Everything the other side sends until it closes the connection (EOF or reset)."""
        return await read_until_closed(self.reader)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def expect_still_serving(listener: PeerListener) -> None:
    """A well-behaved peer can still connect to `listener` and complete a ping round trip."""
    peer = await Node().connect(listener.port, prefer_v2=True)
    assert await peer.ping() > 0
    await peer.close()


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Read until EOF or a connection reset, bounded by TIMEOUT."""

    async def wait() -> bytes:
        out = bytearray()
        while True:
            try:
                data = await reader.read(1 << 16)
            except ConnectionError:
                return bytes(out)
            if not data:
                return bytes(out)
            out += data

    return await asyncio.wait_for(wait(), TIMEOUT)
