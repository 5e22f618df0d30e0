"""Accepting inbound peers: an asyncio server that turns each accepted socket into a `Peer`.

Connections from discouraged IPs and those beyond `max_inbound` are closed at once and
reported as `InboundRejected` events; everything else becomes a Peer whose handshake runs on its
own tasks and which reaches the owner as `PeerConnected` (or `HandshakeFailed`) through the
context's handler. Core evicts a worse inbound peer when full and lets discouraged peers take
spare slots; a light client or a local sandbox has no need for that, so both are simply refused.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from core.p2p.peer import Peer
from core.p2p.peer_config import PeerContext
from core.p2p.peer_events import DisconnectKind, DisconnectReason, InboundRejected

log = logging.getLogger(__name__)

#: Core's default of 125 connections minus its 11 outbound slots (8 full-relay, 2 block-relay, 1 feeler).
DEFAULT_MAX_INBOUND = 114


class PeerListener:
    """Listens on host:port (port 0 picks a free one) and accepts up to `max_inbound` peers at a time."""

    def __init__(
        self, ctx: PeerContext, host: str = "127.0.0.1", port: int = 0, *, max_inbound: int = DEFAULT_MAX_INBOUND
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.max_inbound = max_inbound
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._peers: set[Peer] = set()
        self._port = 0

    @property
    def port(self) -> int:
        """The bound port (0 before `start`)."""
        return self._port

    @property
    def peers(self) -> frozenset[Peer]:
        """Inbound peers not yet closed, handshaking or connected."""
        return frozenset(p for p in self._peers if not p.is_closed)

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> int:
        """Bind and start accepting; returns the bound port."""
        if self._server is not None:
            raise RuntimeError("listener already started")
        self._server = await asyncio.start_server(self._on_accept, self.host, self._requested_port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def close(self) -> None:
        """Stop accepting, close every inbound peer and wait until they and the server are done."""
        server = self._server
        if server is not None:
            server.close()
        peers = list(self._peers)
        if peers:
            await asyncio.gather(*(p.close("listener closed") for p in peers))
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> PeerListener:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain function rather than a coroutine: asyncio then creates no task per connection,
        # and the Peer's own tasks are the only ones.
        peername = writer.get_extra_info("peername")
        address = (str(peername[0]), int(peername[1])) if peername else ("", 0)
        self._peers = {p for p in self._peers if not p.is_closed}  # forget the closed ones
        reason: DisconnectReason | None = None
        if self.ctx.discouraged.is_discouraged(address[0]):
            reason = DisconnectReason(DisconnectKind.DISCOURAGED, f"{address[0]} is discouraged")
        elif len(self._peers) >= self.max_inbound:
            reason = DisconnectReason(DisconnectKind.INBOUND_FULL, f"{self.max_inbound} inbound peers")
        elif self._server is None or not self._server.is_serving():
            reason = DisconnectReason(DisconnectKind.CLOSED_BY_US, "listener closed")
        if reason is None:
            try:
                peer = Peer.accept(self.ctx, reader, writer)
            except Exception as e:  # must not escape into the server's callback
                log.exception("could not accept %s:%d", *address)
                reason = DisconnectReason(DisconnectKind.INTERNAL_ERROR, repr(e))
            else:
                self._peers.add(peer)
                return
        writer.transport.abort()
        try:
            self.ctx.handler.on_event(InboundRejected(address, reason))
        except Exception:
            log.exception("event handler failed on inbound rejection")
