"""Errors of the p2p package; every failure decoding peer bytes is one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import PeerwalletError

if TYPE_CHECKING:
    from core.p2p.peer_events import DisconnectReason


class P2PError(PeerwalletError):
    """Base of p2p-package errors."""


class EllSwiftError(P2PError):
    """An ElligatorSwift operation was given unusable input (wrong length, invalid private key)."""


class TransportError(P2PError):
    """The byte stream from a peer cannot be decoded; the connection must be dropped."""


class HandshakeError(TransportError):
    """The BIP324 handshake failed (no garbage terminator, v1 peer of another network, ...)."""


class BadMagic(TransportError):
    """A v1 message header starts with another network's magic bytes."""


class BadCommand(TransportError):
    """A message type (command) is not printable ASCII padded with NULs."""


class MessageTooLarge(TransportError):
    """A length field announces more than Core's MAX_PROTOCOL_MESSAGE_LENGTH."""


class BadChecksum(TransportError):
    """A v1 payload does not match the checksum in its header."""


class DecryptError(TransportError):
    """A BIP324 packet failed ChaCha20Poly1305 authentication."""


class MessageError(P2PError):
    """A message's contents break a protocol limit (too many entries, a field of the wrong size)."""


class MessageDecodeError(MessageError):
    """A payload that does not decode as the message its command names; `command` and `reason` say why."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


class PeerError(P2PError):
    """A peer connection could not be used (see `core.p2p.peer`)."""


class PeerConnectError(PeerError):
    """An outbound connection failed before its version handshake completed; `reason` says why."""

    def __init__(self, reason: DisconnectReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class PeerClosedError(PeerError):
    """The peer was disconnected while an operation (ping, drain) waited on it; `reason` says why."""

    def __init__(self, reason: DisconnectReason | None) -> None:
        super().__init__(str(reason) if reason is not None else "peer closed")
        self.reason = reason
