"""Settings of our side of peer connections, and the state a node's peers share.

Defaults are Bitcoin Core's (net.h / net_processing.cpp); tests shrink the timeouts.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.p2p.ban import Discouraged
from core.p2p.messages import MIN_PEER_PROTO_VERSION, PROTOCOL_VERSION
from core.p2p.messages.constants import MAX_SUBVERSION_LENGTH
from core.p2p.peer_events import PeerHandler
from core.p2p.services import ServiceFlags

#: Core's DEFAULT_CONNECT_TIMEOUT (5 s for the TCP connect).
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Core's DEFAULT_PEER_CONNECT_TIMEOUT: the version handshake must complete within 60 s.
DEFAULT_HANDSHAKE_TIMEOUT = 60.0
#: Core's PING_INTERVAL: a ping every 2 minutes.
PING_INTERVAL = 120.0
#: Core's TIMEOUT_INTERVAL: a ping unanswered for 20 minutes disconnects.
TIMEOUT_INTERVAL = 20 * 60.0
#: Core's DEFAULT_MAXSENDBUFFER (5000 KB): above it we stop reading from the peer until it drains.
DEFAULT_MAX_SEND_BUFFER = 5_000_000
#: Core's MAX_MONEY, bound of a sane feefilter value.
MAX_MONEY = 21_000_000 * 100_000_000


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """Our version-message fields, transport choice, timeouts and buffer limits."""

    #: Network magic (message start), e.g. regtest fabfb5da.
    magic: bytes
    #: Services we advertise; NODE_P2P_V2 is added when `v2_transport` is on (see local_services).
    services: ServiceFlags = ServiceFlags.NODE_NONE
    user_agent: str = "/Peerwallet:0.1.0/"
    #: Our best height, or a function returning it when a version message is built.
    start_height: int | Callable[[], int] = 0
    #: The version message's relay flag: False asks peers not to announce transactions (blocks-only).
    relay: bool = True
    protocol_version: int = PROTOCOL_VERSION
    min_peer_version: int = MIN_PEER_PROTO_VERSION
    #: Accept BIP324 inbound and use it outbound toward peers advertising NODE_P2P_V2 (Core's -v2transport).
    v2_transport: bool = True
    #: Send `sendheaders` once the handshake is done (BIP130).
    send_headers: bool = True
    #: If set, send `feefilter` with this rate (sat/kvB) once the handshake is done (BIP133).
    fee_filter: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    #: Seconds between automatic pings. None sends none and times none out (pings are still answered
    #: and `Peer.ping()` works).
    ping_interval: float | None = PING_INTERVAL
    ping_timeout: float = TIMEOUT_INTERVAL
    max_send_buffer: int = DEFAULT_MAX_SEND_BUFFER
    #: Opens outbound streams instead of a direct TCP connect (e.g. through a SOCKS5 proxy); it may raise
    #: OSError. The peer's address is then the one dialled, not the socket's (the proxy's).
    open_connection: Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] | None = (
        None
    )

    def __post_init__(self) -> None:
        if len(self.magic) != 4:
            raise ValueError("network magic must be 4 bytes")
        if len(self.user_agent.encode("utf-8", "surrogateescape")) > MAX_SUBVERSION_LENGTH:
            raise ValueError(f"user agent longer than {MAX_SUBVERSION_LENGTH} bytes")

    @property
    def local_services(self) -> ServiceFlags:
        """The services field of our version message."""
        extra = ServiceFlags.NODE_P2P_V2 if self.v2_transport else ServiceFlags.NODE_NONE
        return ServiceFlags(self.services | extra)

    def height(self) -> int:
        """The start height to announce now."""
        return self.start_height() if callable(self.start_height) else self.start_height


@dataclass(slots=True, eq=False)
class PeerContext:
    """What all peers of one node share: settings, the owner's handler, discouraged IPs, our nonces.

    `local_nonces` holds the version nonces of our outbound connections still in their handshake,
    so an inbound version carrying one of them reveals a connection to ourselves (Core's
    CheckIncomingNonce).
    """

    config: PeerConfig
    handler: PeerHandler
    discouraged: Discouraged = field(default_factory=Discouraged)
    local_nonces: set[int] = field(default_factory=set)
    _ids: itertools.count = field(default_factory=itertools.count)

    def next_id(self) -> int:
        """A fresh peer id (Core's NodeId), unique within this context."""
        return next(self._ids)
