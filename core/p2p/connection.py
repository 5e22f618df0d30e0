"""The I/O half of a peer: asyncio streams, the sans-I/O transport, the send queue and the close path.

`Connection` owns the task structure every peer shares. Its main task reads bytes, feeds the
transport (v1 or BIP324 v2) and hands each decoded message to `_process_message`, one at a time;
a writer task empties the send queue with backpressure (`drain` on the stream, and Core's
fPauseSend: no reading while more than `max_send_buffer` bytes wait to go out); a timer task is
supplied by the subclass. Every way a connection ends — EOF, undecodable bytes, a protocol
violation, a timeout, `close()` — records the first `DisconnectReason`, wakes the main task, and
the main task alone cleans up: it cancels and awaits the other tasks, aborts the socket, resolves
`wait_closed()` and emits PeerDisconnected (or HandshakeFailed for an inbound connection that
never completed its handshake). No exception leaves these tasks.

The protocol half (version handshake, pings, delivery to the owner) is `core.p2p.peer.Peer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from enum import StrEnum

from core.p2p.errors import P2PError, PeerClosedError
from core.p2p.messages import Message, UnknownMessage, decode_message, encode_message
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import (
    DisconnectKind,
    DisconnectReason,
    HandshakeFailed,
    PeerDisconnected,
    PeerEvent,
)
from core.p2p.transport import FallbackToV1, HandshakeComplete, NetMessage, V1Transport, V2Event, V2Transport

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 16
#: Messages decoded from one read are handled in one go for at most this long before the loop gets a
#: turn: 64 KiB can hold hundreds of small messages (cfilters of sparse blocks), ~30 ms of handling, and
#: the loop is also the window's (16 ms a frame).
YIELD_AFTER = 0.004

K = DisconnectKind


class TransportKind(StrEnum):
    """Which P2P transport a connection speaks."""

    V1 = "v1"
    V2 = "v2"


class Connection:
    """Streams + transport + tasks of one connection; subclasses supply the protocol hooks."""

    def __init__(
        self,
        ctx: PeerContext,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        inbound: bool,
        transport: V1Transport | V2Transport,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.ctx = ctx
        self.config: PeerConfig = ctx.config
        self.id = ctx.next_id()
        self.inbound = inbound
        peername = writer.get_extra_info("peername")
        self.address: tuple[str, int] = (str(peername[0]), int(peername[1])) if peername else ("", 0)
        self.connected_since = time.time()
        self.bytes_sent = 0
        self.bytes_recv = 0
        self.handshake_complete = False  # Core's fSuccessfullyConnected; set by the subclass
        self._reader = reader
        self._writer = writer
        self._transport = transport
        self._pending: list[tuple[str, bytes]] = []  # queued before the v2 transport could send
        self._send_buf: deque[bytes] = deque()
        self._send_size = 0
        self._send_wakeup = asyncio.Event()
        self._send_empty = asyncio.Event()
        self._send_empty.set()
        self._send_room = asyncio.Event()  # cleared while the send queue is over max_send_buffer
        self._send_room.set()
        self._closed: asyncio.Future[DisconnectReason] = loop.create_future()
        self._reason: DisconnectReason | None = None
        self._stop = False
        self._running = False
        self._finishing = False
        self._main: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._timer_task: asyncio.Task[None] | None = None

    # --- hooks for the protocol layer ------------------------------------------------------------

    def _begin(self) -> None:
        """Called once the tasks run, before the first read (send our version, ...)."""

    async def _process_message(self, msg: Message) -> None:
        """Handle one decoded message of a known type."""

    async def _timer_loop(self) -> None:
        """The timer task's body (timeouts, pings)."""

    def _on_finish(self) -> None:
        """Synchronous cleanup when the connection ends (cancel futures, forget nonces)."""

    # --- state -------------------------------------------------------------------------------------

    @property
    def kind(self) -> TransportKind:
        """The transport in use ("v1" or "v2"); an inbound peer reads "v2" until v1 is detected."""
        t = self._transport
        return TransportKind.V2 if isinstance(t, V2Transport) and not t.is_v1 else TransportKind.V1

    @property
    def session_id(self) -> bytes | None:
        """The BIP324 session id (compare out of band to rule out a man in the middle); None for v1."""
        t = self._transport
        return t.session_id if isinstance(t, V2Transport) and not t.is_v1 else None

    @property
    def is_closed(self) -> bool:
        """True once the connection is closed and its tasks have ended."""
        return self._closed.done()

    @property
    def close_reason(self) -> DisconnectReason | None:
        """Why the connection is closing or closed; None while it is open."""
        return self._reason

    @property
    def send_queue_size(self) -> int:
        """Bytes queued and not yet handed to the socket."""
        return self._send_size

    # --- owner API ---------------------------------------------------------------------------------

    def send(self, msg: Message) -> bool:
        """Queue `msg` for the peer; False (and nothing sent) once the connection is closing.

        Never blocks: await `drain()` to wait for the queue to empty. Raises MessageError for a
        message too large to encode (a bug in the caller).
        """
        if self._stop:
            return False
        command, payload = encode_message(msg)
        if self._pending or not self._can_send():
            self._pending.append((command, payload))
            return True
        try:
            self._queue_bytes(self._transport.frame(command, payload))
        except P2PError as e:
            self._disconnect(K.TRANSPORT_ERROR, str(e), e)
            return False
        return True

    async def drain(self) -> None:
        """Wait until every queued byte was handed to the socket; raises PeerClosedError if it closes."""
        await self._send_empty.wait()
        if self._stop:
            raise PeerClosedError(self._reason)

    def disconnect(self, detail: str = "closed by us") -> None:
        """Ask the connection to close (Core's fDisconnect); `wait_closed()` tells when it has."""
        self._disconnect(K.CLOSED_BY_US, detail)

    async def close(self, detail: str = "closed by us") -> DisconnectReason:
        """Close the connection, dropping unsent messages, and wait until all its tasks are done.

        Called from the handler (the connection's own task) it only requests the close.
        """
        self._disconnect(K.CLOSED_BY_US, detail)
        if asyncio.current_task() is self._main:
            assert self._reason is not None
            return self._reason
        return await self.wait_closed()

    async def wait_closed(self) -> DisconnectReason:
        """Wait until the connection is closed and all its tasks have ended; returns why it closed."""
        return await asyncio.shield(self._closed)

    # --- lifecycle ---------------------------------------------------------------------------------

    def _start(self) -> None:
        self._main = asyncio.get_running_loop().create_task(self._run(), name=f"peer-{self.id}")

    def _set_reason(self, kind: DisconnectKind, detail: str = "", error: P2PError | None = None) -> None:
        if self._reason is None:
            if error is not None:
                error = error.with_traceback(None)  # keep no frames alive
            self._reason = DisconnectReason(kind, detail, error)
            log.debug("peer %d (%s:%d): disconnecting, %s", self.id, *self.address, self._reason)

    def _disconnect(self, kind: DisconnectKind, detail: str = "", error: P2PError | None = None) -> None:
        self._set_reason(kind, detail, error)
        if self._stop:
            return
        self._stop = True
        main = self._main
        # The main task notices _stop itself when it asked or has not started yet; otherwise wake it.
        if main is None or main.done() or self._finishing or not self._running:
            return
        if asyncio.current_task() is not main:
            main.cancel()

    async def _run(self) -> None:
        self._running = True
        try:
            if not self._stop:
                loop = asyncio.get_running_loop()
                self._writer_task = loop.create_task(self._write_loop(), name=f"peer-{self.id}-writer")
                self._timer_task = loop.create_task(self._guarded_timer(), name=f"peer-{self.id}-timer")
                self._begin()
                await self._read_loop()
        except asyncio.CancelledError:
            self._set_reason(K.CLOSED_BY_US, "cancelled")
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the cancellation was only the wake-up: end normally
        except Exception as e:
            log.exception("peer %d: internal error", self.id)
            self._set_reason(K.INTERNAL_ERROR, repr(e))
        finally:
            self._finishing = True
            self._stop = True
            await self._finish()

    async def _finish(self) -> None:
        reason = self._reason or DisconnectReason(K.CLOSED_BY_US)
        tasks = [t for t in (self._writer_task, self._timer_task) if t is not None]
        for t in tasks:
            t.cancel()
        self._writer.transport.abort()
        self._send_buf.clear()
        self._pending.clear()
        self._send_empty.set()  # wake drain() so it sees the close
        self._send_room.set()
        try:
            self._on_finish()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):  # the socket's last error no longer matters
                await self._writer.wait_closed()
        finally:
            if not self._closed.done():
                self._closed.set_result(reason)
            if self.handshake_complete:
                self._emit(PeerDisconnected(self, reason))  # type: ignore[arg-type]
            elif self.inbound:
                self._emit(HandshakeFailed(self, reason))  # type: ignore[arg-type]

    def _emit(self, event: PeerEvent) -> None:
        try:
            self.ctx.handler.on_event(event)
        except Exception:
            log.exception("peer %d: event handler failed on %r", self.id, event)

    async def _guarded_timer(self) -> None:
        try:
            await self._timer_loop()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("peer %d: timer failed", self.id)
            self._disconnect(K.INTERNAL_ERROR, repr(e))

    # --- receiving ---------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while not self._stop:
            await self._send_room.wait()  # Core's fPauseSend: don't read while our replies pile up
            try:
                data = await self._reader.read(READ_CHUNK)
            except OSError as e:
                self._set_reason(K.IO_ERROR, str(e) or type(e).__name__)
                return
            if not data:
                self._set_reason(K.REMOTE_CLOSED, "connection closed by peer")
                return
            self.bytes_recv += len(data)
            try:
                events = self._transport.feed(data)
            except P2PError as e:
                self._set_reason(K.TRANSPORT_ERROR, str(e), e)
                return
            self._after_feed()
            budget = time.monotonic() + YIELD_AFTER
            for event in events:
                if self._stop:
                    return
                await self._send_room.wait()
                await self._on_transport_event(event)
                if time.monotonic() > budget:
                    await asyncio.sleep(0)
                    budget = time.monotonic() + YIELD_AFTER

    async def _on_transport_event(self, event: V2Event) -> None:
        if isinstance(event, NetMessage):
            try:
                msg = decode_message(event.command, event.payload)
            except P2PError as e:
                self._disconnect(K.MALFORMED_MESSAGE, str(e), e)
                return
            if not isinstance(msg, UnknownMessage):  # Core ignores message types it does not know
                await self._process_message(msg)
        elif isinstance(event, FallbackToV1):
            log.debug("peer %d: v1 peer detected", self.id)
        elif isinstance(event, HandshakeComplete):
            log.debug("peer %d: v2 session %s", self.id, event.session_id.hex())
        # A v2 packet with an unknown message id is ignored, as Core does.

    # --- sending -----------------------------------------------------------------------------------

    def _can_send(self) -> bool:
        t = self._transport
        return not isinstance(t, V2Transport) or t.can_send

    def _after_feed(self) -> None:
        """Queue the transport's handshake replies, then messages that waited for the v2 handshake."""
        t = self._transport
        if isinstance(t, V2Transport):
            self._queue_bytes(t.pending_output())
        if self._pending and self._can_send():
            pending, self._pending = self._pending, []
            for command, payload in pending:
                self._queue_bytes(t.frame(command, payload))

    def _queue_bytes(self, data: bytes) -> None:
        if not data or self._finishing:
            return
        self._send_buf.append(data)
        self._send_size += len(data)
        self._send_empty.clear()
        if self._send_size > self.config.max_send_buffer:
            self._send_room.clear()
        self._send_wakeup.set()

    async def _write_loop(self) -> None:
        writer = self._writer
        try:
            while True:
                await self._send_wakeup.wait()
                self._send_wakeup.clear()
                while self._send_buf:
                    data = b"".join(self._send_buf)
                    self._send_buf.clear()
                    writer.write(data)
                    self.bytes_sent += len(data)
                    await writer.drain()
                    self._send_size -= len(data)
                    if self._send_size <= self.config.max_send_buffer:
                        self._send_room.set()
                self._send_empty.set()
        except asyncio.CancelledError:
            raise
        except OSError as e:
            self._disconnect(K.IO_ERROR, str(e) or type(e).__name__)
        except Exception as e:
            log.exception("peer %d: writer failed", self.id)
            self._disconnect(K.INTERNAL_ERROR, repr(e))


async def wait_closed_quietly(writer: asyncio.StreamWriter) -> None:
    """Abort a stream and wait for its connection_lost; its error, if any, no longer matters."""
    writer.transport.abort()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
