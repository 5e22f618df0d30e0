"""A peer: the version handshake, pings and delivery of messages to the owner, over a `Connection`.

Outbound connections use BIP324 v2 when the remote advertises NODE_P2P_V2 (or when asked) and
redial with v1 when the v2 attempt ends the way Core's ShouldReconnectV1 recognises; inbound
ones tell v1 from v2 by the first bytes. The handshake follows Core's net_processing: the
outbound side sends version first and the inbound side answers it; wtxidrelay and sendaddrv2
go before verack; sendheaders and feefilter after. Other messages before verack are ignored,
as Core does; wtxidrelay or sendaddrv2 after verack disconnects. Pings go out every
`ping_interval` (Core: 2 min) and an unanswered one disconnects after `ping_timeout` (20 min).

Application messages reach the owner through `await ctx.handler.on_message(peer, msg)`;
lifecycle changes through `ctx.handler.on_event(...)` (see `core.p2p.peer_events`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from core.p2p.ban import normalize_ip
from core.p2p.connection import Connection, TransportKind, wait_closed_quietly
from core.p2p.errors import PeerClosedError, PeerConnectError
from core.p2p.messages import (
    Message,
    MsgFeeFilter,
    MsgPing,
    MsgPong,
    MsgSendAddrV2,
    MsgSendHeaders,
    MsgVerack,
    MsgVersion,
    MsgWtxidRelay,
    NetworkAddress,
)
from core.p2p.peer_config import MAX_MONEY, PeerContext
from core.p2p.peer_events import DisconnectKind, DisconnectReason, PeerConnected
from core.p2p.services import ServiceFlags
from core.p2p.transport import V1Transport, V2Transport

__all__ = ["WTXID_RELAY_VERSION", "Peer", "TransportKind"]

log = logging.getLogger(__name__)

#: BIP339: wtxidrelay is negotiated only when both sides speak at least this version.
WTXID_RELAY_VERSION = 70016

K = DisconnectKind


class Peer(Connection):
    """One peer. Create with `await Peer.connect(...)` (outbound) or `Peer.accept(...)` (inbound)."""

    def __init__(
        self,
        ctx: PeerContext,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        inbound: bool,
        transport: V1Transport | V2Transport,
        required_services: int = 0,
    ) -> None:
        super().__init__(ctx, reader, writer, inbound=inbound, transport=transport)
        loop = asyncio.get_running_loop()
        self.nonce = secrets.randbits(64) or 1  # our version nonce
        # What the peer told us (Core's CNode / Peer fields).
        self.remote_version: MsgVersion | None = None
        self.wtxid_relay = False
        self.wants_addrv2 = False
        self.prefers_headers = False
        self.fee_filter = 0
        self.last_ping_time: float | None = None
        self.min_ping_time: float | None = None
        self._required_services = ServiceFlags(required_services)
        self._ready: asyncio.Future[None] = loop.create_future()
        self._ping_nonce = 0
        self._ping_start = 0.0
        self._ping_waiter: asyncio.Future[float] | None = None

    # --- creation ----------------------------------------------------------------------------------

    @classmethod
    def accept(cls, ctx: PeerContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Peer:
        """Wrap an accepted connection and start its handshake (v2 or v1, detected from its first bytes)."""
        cfg = ctx.config
        transport = V2Transport(cfg.magic, initiator=False) if cfg.v2_transport else V1Transport(cfg.magic)
        peer = cls(ctx, reader, writer, inbound=True, transport=transport)
        peer._start()
        return peer

    @classmethod
    async def connect(
        cls,
        ctx: PeerContext,
        host: str,
        port: int,
        *,
        remote_services: int = 0,
        prefer_v2: bool | None = None,
        required_services: int = 0,
    ) -> Peer:
        """Open an outbound connection and complete the version handshake.

        v2 is tried when `prefer_v2` is True, or (when it is None) if our config enables v2 and
        `remote_services` (from the address book) has NODE_P2P_V2. A v2 attempt the peer closes
        before answering is redialled with v1 (Core's ShouldReconnectV1). Raises PeerConnectError
        with the DisconnectReason when no handshake completes.
        """
        if ctx.discouraged.is_discouraged(host):
            raise PeerConnectError(DisconnectReason(K.DISCOURAGED, f"{host} is discouraged"))
        if prefer_v2 is None:
            prefer_v2 = ctx.config.v2_transport and bool(remote_services & ServiceFlags.NODE_P2P_V2)
        peer = await cls._dial(ctx, host, port, v2=prefer_v2, required_services=required_services)
        if not peer.handshake_complete and peer._should_reconnect_v1():
            log.debug("peer %d: v2 handshake refused by %s:%d, retrying with v1", peer.id, host, port)
            peer = await cls._dial(ctx, host, port, v2=False, required_services=required_services)
        if not peer.handshake_complete:
            raise PeerConnectError(peer._closed.result())
        return peer

    @classmethod
    async def _dial(cls, ctx: PeerContext, host: str, port: int, *, v2: bool, required_services: int) -> Peer:
        """One connection attempt; returns once the handshake completed or the peer closed."""
        cfg = ctx.config
        opener = cfg.open_connection
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancellation that arrives
            # as the connect completes, leaving the caller waiting out a handshake it abandoned.
            async with asyncio.timeout(cfg.connect_timeout):
                if opener is None:
                    reader, writer = await asyncio.open_connection(host, port)
                else:
                    reader, writer = await opener(host, port)
        except (OSError, TimeoutError, ValueError, OverflowError) as e:
            detail = f"{host}:{port}: {e or type(e).__name__}"
            raise PeerConnectError(DisconnectReason(K.CONNECT_FAILED, detail)) from None
        peername = writer.get_extra_info("peername")
        if peername and opener is None and ctx.discouraged.is_discouraged(str(peername[0])):
            await wait_closed_quietly(writer)
            raise PeerConnectError(DisconnectReason(K.DISCOURAGED, f"{peername[0]} is discouraged"))
        transport = V2Transport(cfg.magic, initiator=True) if v2 else V1Transport(cfg.magic)
        peer = cls(
            ctx, reader, writer, inbound=False, transport=transport, required_services=required_services
        )
        if opener is not None:
            peer.address = (host, port)  # the socket's peer is the proxy (PeerConfig.open_connection)
        peer._start()
        try:
            await asyncio.wait({peer._ready, peer._closed}, return_when=asyncio.FIRST_COMPLETED)
            if not peer.handshake_complete:
                await asyncio.shield(peer._closed)  # let its tasks finish before a retry or the raise
        except asyncio.CancelledError:
            await peer.close("connect cancelled")
            raise
        return peer

    def _should_reconnect_v1(self) -> bool:
        t = self._transport
        reason = self._reason
        return (
            isinstance(t, V2Transport)
            and t.should_reconnect_v1()
            and reason is not None
            and reason.kind in (K.REMOTE_CLOSED, K.IO_ERROR)
        )

    @property
    def services(self) -> ServiceFlags:
        """The services the peer announced (NODE_NONE before its version)."""
        v = self.remote_version
        return v.services if v is not None else ServiceFlags.NODE_NONE

    @property
    def start_height(self) -> int:
        v = self.remote_version
        return v.start_height if v is not None else 0

    @property
    def user_agent(self) -> str:
        """The peer's user agent, reduced to characters safe to log or show."""
        v = self.remote_version
        return v.sanitized_user_agent if v is not None else ""

    @property
    def relay(self) -> bool:
        """The peer's version relay flag: False means it wants no transaction announcements."""
        v = self.remote_version
        return v.relay if v is not None else False

    @property
    def version(self) -> int:
        v = self.remote_version
        return v.version if v is not None else 0

    def __repr__(self) -> str:
        host, port = self.address
        direction = "inbound" if self.inbound else "outbound"
        return f"Peer(id={self.id}, {host}:{port}, {direction}, {self.kind})"

    # --- owner API ---------------------------------------------------------------------------------

    async def ping(self) -> float:
        """Ping now (or join the ping in flight) and return the round trip in seconds."""
        if self._stop or not self.handshake_complete:
            raise PeerClosedError(self._reason)
        waiter = self._start_ping()
        await asyncio.wait({waiter, self._closed}, return_when=asyncio.FIRST_COMPLETED)
        if waiter.done() and not waiter.cancelled():
            return waiter.result()
        raise PeerClosedError(self._reason)

    def misbehaving(self, detail: str) -> None:
        """Discourage the peer's IP (refused from now on) and disconnect it (Core's Misbehaving)."""
        self.ctx.discouraged.discourage(self.address[0])
        self._disconnect(K.MISBEHAVING, detail)

    # --- protocol hooks ----------------------------------------------------------------------------

    def _begin(self) -> None:
        t = self._transport
        if isinstance(t, V2Transport):
            self._queue_bytes(t.start())  # initiator: key + garbage; responder: nothing yet
        if not self.inbound:
            self.ctx.local_nonces.add(self.nonce)
            self._send_version()

    def _on_finish(self) -> None:
        if not self.inbound:
            self.ctx.local_nonces.discard(self.nonce)
        for fut in (self._ready, self._ping_waiter):
            if fut is not None and not fut.done():
                fut.cancel()

    async def _process_message(self, msg: Message) -> None:
        if self.remote_version is None:
            if isinstance(msg, MsgVersion):
                self._on_version(msg)
            return  # Core ignores everything before version
        if not self.handshake_complete:
            if isinstance(msg, MsgVerack):
                self._on_verack()
            elif isinstance(msg, MsgWtxidRelay):
                self.wtxid_relay = min(self.version, self.config.protocol_version) >= WTXID_RELAY_VERSION
            elif isinstance(msg, MsgSendAddrV2):
                self.wants_addrv2 = True
            return  # anything else before verack is ignored ("unsupported message prior to verack")
        if isinstance(msg, MsgPing):
            self.send(MsgPong(msg.nonce))
        elif isinstance(msg, MsgPong):
            self._on_pong(msg)
        elif isinstance(msg, MsgVersion | MsgVerack):
            pass  # redundant: Core ignores them
        elif isinstance(msg, MsgWtxidRelay | MsgSendAddrV2):
            self._disconnect(K.PROTOCOL_VIOLATION, f"{msg.command} received after verack")
        else:
            if isinstance(msg, MsgSendHeaders):
                self.prefers_headers = True
            elif isinstance(msg, MsgFeeFilter) and 0 <= msg.feerate <= MAX_MONEY:
                self.fee_filter = msg.feerate
            await self._deliver(msg)

    async def _deliver(self, msg: Message) -> None:
        try:
            await self.ctx.handler.on_message(self, msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("peer %d: handler failed on %s", self.id, msg.command)
            self._disconnect(K.HANDLER_ERROR, f"{msg.command}: {e!r}")

    def _on_version(self, msg: MsgVersion) -> None:
        cfg = self.config
        required = self._required_services
        if not self.inbound and (msg.services & required) != required:
            self._disconnect(K.MISSING_SERVICES, f"offers {msg.services}, we need {required}")
            return
        if msg.version < cfg.min_peer_version:
            self._disconnect(K.OBSOLETE_VERSION, f"version {msg.version} < {cfg.min_peer_version}")
            return
        if self.inbound and msg.nonce in self.ctx.local_nonces:
            self._disconnect(K.SELF_CONNECTION, "our own version nonce came back")
            return
        self.remote_version = msg
        if self.inbound:
            self._send_version()
        if min(msg.version, cfg.protocol_version) >= WTXID_RELAY_VERSION:
            self.send(MsgWtxidRelay())
        self.send(MsgSendAddrV2())
        self.send(MsgVerack())

    def _on_verack(self) -> None:
        cfg = self.config
        self.handshake_complete = True
        if not self.inbound:
            self.ctx.local_nonces.discard(self.nonce)
        if cfg.send_headers:
            self.send(MsgSendHeaders())
        if cfg.fee_filter is not None:
            self.send(MsgFeeFilter(cfg.fee_filter))
        self._ready.set_result(None)
        self._emit(PeerConnected(self))

    def _send_version(self) -> None:
        cfg = self.config
        ip = normalize_ip(self.address[0])
        # Core fills addr_recv with the address it sees for the peer (its "addrMe" there).
        addr = {"addr_recv": NetworkAddress(ServiceFlags.NODE_NONE, ip, self.address[1])} if ip else {}
        self.send(
            MsgVersion(
                version=cfg.protocol_version,
                services=cfg.local_services,
                timestamp=int(time.time()),
                nonce=self.nonce,
                user_agent=cfg.user_agent,
                start_height=cfg.height(),
                relay=cfg.relay,
                **addr,
            )
        )

    # --- pings -------------------------------------------------------------------------------------

    def _start_ping(self) -> asyncio.Future[float]:
        waiter = self._ping_waiter
        if waiter is not None and not waiter.done():
            return waiter
        loop = asyncio.get_running_loop()
        self._ping_nonce = secrets.randbits(64) or 1
        self._ping_start = loop.time()
        self._ping_waiter = waiter = loop.create_future()
        self.send(MsgPing(self._ping_nonce))
        return waiter

    def _on_pong(self, msg: MsgPong) -> None:
        waiter = self._ping_waiter
        if waiter is None or waiter.done() or msg.nonce != self._ping_nonce:
            return  # unsolicited or mismatched: Core logs and ignores it
        latency = asyncio.get_running_loop().time() - self._ping_start
        self.last_ping_time = latency
        self.min_ping_time = latency if self.min_ping_time is None else min(self.min_ping_time, latency)
        waiter.set_result(latency)

    async def _timer_loop(self) -> None:
        """Handshake timeout, then a ping every ping_interval; an unanswered ping times out."""
        cfg = self.config
        done, _ = await asyncio.wait({self._ready}, timeout=cfg.handshake_timeout)
        if not done:
            self._disconnect(K.HANDSHAKE_TIMEOUT, f"no version handshake within {cfg.handshake_timeout} s")
            return
        if self._ready.cancelled() or cfg.ping_interval is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            waiter = self._start_ping()
            started = self._ping_start
            done, _ = await asyncio.wait({waiter}, timeout=max(0.0, started + cfg.ping_timeout - loop.time()))
            if not done:
                self._disconnect(K.PING_TIMEOUT, f"no pong within {cfg.ping_timeout} s")
                return
            await asyncio.sleep(max(0.0, started + cfg.ping_interval - loop.time()))
