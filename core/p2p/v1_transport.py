"""V1 (unencrypted) P2P framing, as a sans-I/O state machine.

Each message is a 24-byte header — network magic, 12-byte NUL-padded command, little-endian
payload length, first 4 bytes of SHA256d(payload) — followed by the payload. The transport does
no I/O: bytes from the socket go into `feed`, bytes for the socket come out of `frame`, so the
same object can be driven by asyncio streams, by tests, or by a fuzzer.

Where Bitcoin Core merely drops a message with a bad checksum or command, we raise and expect
the caller to disconnect: a light client loses nothing by being strict with a misbehaving peer.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from core.consensus.hashes import sha256d
from core.p2p.errors import BadChecksum, BadCommand, BadMagic, MessageTooLarge, TransportError
from core.p2p.messages.constants import MAX_PROTOCOL_MESSAGE_LENGTH

MESSAGE_START_SIZE = 4
COMMAND_SIZE = 12
CHECKSUM_SIZE = 4
HEADER_SIZE = MESSAGE_START_SIZE + COMMAND_SIZE + 4 + CHECKSUM_SIZE  # 24

_HEADER = struct.Struct("<4s12sI4s")


class NetMessage(NamedTuple):
    """One received message: its command (message type) and raw payload (Core's CNetMessage)."""

    command: str
    payload: bytes


def encode_command(command: str) -> bytes:
    """The 12-byte NUL-padded form of a command; raises BadCommand if it cannot be one."""
    try:
        raw = command.encode("ascii")
    except UnicodeEncodeError:
        raise BadCommand(f"invalid command {command!r}") from None
    if len(raw) > COMMAND_SIZE or not all(0x20 <= c <= 0x7E for c in raw):
        raise BadCommand(f"invalid command {command!r}")
    return raw.ljust(COMMAND_SIZE, b"\x00")


def decode_command(raw: bytes) -> str:
    """Core's IsCommandValid: printable ASCII, then only NUL padding; raises BadCommand otherwise."""
    name, _, padding = bytes(raw).partition(b"\x00")
    if any(padding) or not all(0x20 <= c <= 0x7E for c in name):
        raise BadCommand(f"invalid command bytes {bytes(raw).hex()}")
    return name.decode("ascii")


class V1Transport:
    """Framing of the v1 P2P protocol for one connection and one network magic.

    After `feed` has raised, the connection is unusable: every later `feed` raises TransportError.
    """

    __slots__ = ("_buf", "_failed", "magic")

    def __init__(self, magic: bytes) -> None:
        if len(magic) != MESSAGE_START_SIZE:
            raise ValueError("network magic must be 4 bytes")
        self.magic = bytes(magic)
        self._buf = bytearray()
        self._failed = False

    @property
    def failed(self) -> bool:
        """True once a decoding error was raised."""
        return self._failed

    def frame(self, command: str, payload: bytes) -> bytes:
        """The wire bytes of one message."""
        if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
            raise MessageTooLarge(f"payload of {len(payload)} bytes")
        header = _HEADER.pack(
            self.magic, encode_command(command), len(payload), sha256d(payload)[:CHECKSUM_SIZE]
        )
        return header + bytes(payload)

    def feed(self, data: bytes) -> list[NetMessage]:
        """Take received bytes; return every message they complete, in order.

        Raises BadMagic, BadCommand, MessageTooLarge or BadChecksum on a bad message.
        """
        if self._failed:
            raise TransportError("transport already failed")
        self._buf += data
        try:
            return self._drain()
        except TransportError:
            self._failed = True
            self._buf.clear()
            raise

    def _drain(self) -> list[NetMessage]:
        out: list[NetMessage] = []
        while True:
            buf = self._buf
            # Check the magic as soon as it is in, so a non-Bitcoin peer fails fast.
            if len(buf) >= MESSAGE_START_SIZE and buf[:MESSAGE_START_SIZE] != self.magic:
                raise BadMagic(f"message start {bytes(buf[:MESSAGE_START_SIZE]).hex()}")
            if len(buf) < HEADER_SIZE:
                return out
            _, raw_command, length, checksum = _HEADER.unpack_from(buf)
            command = decode_command(raw_command)
            if length > MAX_PROTOCOL_MESSAGE_LENGTH:
                raise MessageTooLarge(f"{command} announces {length} bytes")
            end = HEADER_SIZE + length
            if len(buf) < end:
                return out
            payload = bytes(buf[HEADER_SIZE:end])
            if sha256d(payload)[:CHECKSUM_SIZE] != checksum:
                raise BadChecksum(f"{command} checksum mismatch")
            del buf[:end]
            out.append(NetMessage(command, payload))
