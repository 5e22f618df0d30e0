"""What peer connections report to their owner: disconnect reasons, typed events and the handler protocol.

A node (light client or sandbox) gives its peers one `PeerHandler`. Each peer awaits
`handler.on_message(peer, msg)` for every application message, one at a time and in order, so a
slow handler slows that peer's reading (TCP backpressure) and nothing else; if the peer is
disconnected meanwhile (timeout, socket error), the awaiting handler is cancelled. Lifecycle
changes arrive as `PeerEvent` dataclasses through the synchronous `handler.on_event(event)`;
it must not block (put the event in a queue if work has to be awaited). `QueueHandler` does
exactly that for owners and tests that prefer one `asyncio.Queue` of everything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import TYPE_CHECKING, Protocol

from core.p2p.errors import P2PError
from core.p2p.messages import Message

if TYPE_CHECKING:
    from core.p2p.peer import Peer


class DisconnectKind(Enum):
    """Why a connection ended (the cases Core logs when it sets fDisconnect)."""

    CLOSED_BY_US = auto()  # close() or cancellation by the owner
    REMOTE_CLOSED = auto()  # the peer closed the connection (EOF)
    IO_ERROR = auto()  # socket error (reset, broken pipe, ...)
    CONNECT_FAILED = auto()  # TCP connect failed or timed out
    DISCOURAGED = auto()  # the address is discouraged (BanMan)
    TRANSPORT_ERROR = auto()  # undecodable bytes: bad magic/checksum/command, oversize, decrypt, v2 handshake
    MALFORMED_MESSAGE = auto()  # a payload that does not decode as its command says
    PROTOCOL_VIOLATION = auto()  # e.g. wtxidrelay or sendaddrv2 after verack
    OBSOLETE_VERSION = auto()  # version below the minimum we accept
    MISSING_SERVICES = auto()  # an outbound peer lacks services we require
    SELF_CONNECTION = auto()  # our own nonce came back in a version message
    HANDSHAKE_TIMEOUT = auto()  # no completed version handshake in time
    PING_TIMEOUT = auto()  # a ping went unanswered for too long
    MISBEHAVING = auto()  # the owner called peer.misbehaving()
    HANDLER_ERROR = auto()  # the owner's on_message raised
    INBOUND_FULL = auto()  # no inbound slot left
    INTERNAL_ERROR = auto()  # a bug in the peer code itself (logged)


@dataclass(frozen=True, slots=True)
class DisconnectReason:
    """A disconnect's kind, a human-readable detail, and the p2p error that caused it, if any."""

    kind: DisconnectKind
    detail: str = ""
    error: P2PError | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.kind.name.lower()}: {self.detail}" if self.detail else self.kind.name.lower()


@dataclass(frozen=True, slots=True, eq=False)
class PeerConnected:
    """The version handshake with `peer` completed; messages from it will follow."""

    peer: Peer


@dataclass(frozen=True, slots=True, eq=False)
class PeerDisconnected:
    """A peer that had been announced with PeerConnected is gone."""

    peer: Peer
    reason: DisconnectReason


@dataclass(frozen=True, slots=True, eq=False)
class HandshakeFailed:
    """An inbound connection closed before its handshake completed (outbound ones raise instead)."""

    peer: Peer
    reason: DisconnectReason


@dataclass(frozen=True, slots=True)
class InboundRejected:
    """The listener refused a connection from `address` without creating a peer."""

    address: tuple[str, int]
    reason: DisconnectReason


@dataclass(frozen=True, slots=True, eq=False)
class MessageReceived:
    """A message from `peer`, as `QueueHandler` queues it."""

    peer: Peer
    message: Message


PeerEvent = PeerConnected | PeerDisconnected | HandshakeFailed | InboundRejected


class PeerHandler(Protocol):
    """What a node implements to receive its peers' messages and lifecycle events."""

    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Handle one application message; raising disconnects the peer (HANDLER_ERROR)."""
        ...

    def on_event(self, event: PeerEvent) -> None:
        """Take a lifecycle event; must not block. Exceptions are logged and ignored."""
        ...


class QueueHandler:
    """A PeerHandler putting every message (as MessageReceived) and event into one unbounded queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[PeerEvent | MessageReceived] = asyncio.Queue()

    async def on_message(self, peer: Peer, msg: Message) -> None:
        self.queue.put_nowait(MessageReceived(peer, msg))

    def on_event(self, event: PeerEvent) -> None:
        self.queue.put_nowait(event)
