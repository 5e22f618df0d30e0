"""The P2P transports in one place: v1 framing and the BIP324 v2 encrypted transport.

Both are sans-I/O: `feed(bytes)` returns decoded messages/events and the bytes to write are
returned by `frame` (and, for v2, `start` / `pending_output`). The implementations live in
`v1_transport` and `v2_transport`; import from here.
"""

from core.p2p.v1_transport import MAX_PROTOCOL_MESSAGE_LENGTH, NetMessage, V1Transport
from core.p2p.v2_transport import (
    V2_MESSAGE_IDS,
    FallbackToV1,
    HandshakeComplete,
    UnknownMessage,
    V2Event,
    V2Transport,
)

Transport = V1Transport | V2Transport

__all__ = [
    "MAX_PROTOCOL_MESSAGE_LENGTH",
    "V2_MESSAGE_IDS",
    "FallbackToV1",
    "HandshakeComplete",
    "NetMessage",
    "Transport",
    "UnknownMessage",
    "V1Transport",
    "V2Event",
    "V2Transport",
]
