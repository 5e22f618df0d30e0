"""Handshake and connection-control messages: version, verack, feature negotiation, ping/pong, feefilter."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from core.consensus.serialize import ByteReader, ser_var_bytes
from core.p2p.errors import MessageError
from core.p2p.messages.address import NetworkAddress
from core.p2p.messages.base import EmptyMessage, Message, pack, read_bool
from core.p2p.messages.constants import MAX_SUBVERSION_LENGTH, PROTOCOL_VERSION
from core.p2p.services import ServiceFlags

_VERSION_HEAD = struct.Struct("<iQq")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_SENDCMPCT = struct.Struct("<?Q")


def _null_address() -> NetworkAddress:
    # What Core puts in addr_from: a default CService (all-zero IPv6, port 0) and no services.
    return NetworkAddress(ServiceFlags.NODE_NONE, ipaddress.IPv6Address(0), 0)


@dataclass(frozen=True, slots=True, repr=False)
class MsgVersion(Message):
    """`version`: the first message each side sends.

    Fields after addr_recv are optional on the wire (old peers stop early); absent ones take Core's
    defaults (relay=True) and bytes after the relay flag are ignored, as Core does. A truncated
    optional group (e.g. addr_from without a nonce) is still an error.
    """

    COMMAND: ClassVar[str] = "version"
    CANONICAL: ClassVar[bool] = False

    version: int = PROTOCOL_VERSION
    services: ServiceFlags = ServiceFlags.NODE_NONE
    timestamp: int = 0
    addr_recv: NetworkAddress = field(default_factory=_null_address)
    addr_from: NetworkAddress = field(default_factory=_null_address)
    nonce: int = 0
    user_agent: str = ""
    start_height: int = 0
    relay: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", ServiceFlags(self.services))
        n = len(self._user_agent_bytes())
        if n > MAX_SUBVERSION_LENGTH:
            raise MessageError(f"user agent of {n} bytes exceeds {MAX_SUBVERSION_LENGTH}")

    def _user_agent_bytes(self) -> bytes:
        # surrogateescape keeps non-UTF-8 agents byte-exact; display code should sanitize.
        return self.user_agent.encode("utf-8", "surrogateescape")

    def serialize(self) -> bytes:
        return b"".join(
            (
                pack(_VERSION_HEAD, self.version, self.services, self.timestamp),
                self.addr_recv.serialize(),
                self.addr_from.serialize(),
                pack(_U64, self.nonce),
                ser_var_bytes(self._user_agent_bytes()),
                pack(_I32, self.start_height),
                b"\x01" if self.relay else b"\x00",
            )
        )

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        version = r.i32()
        services = ServiceFlags(r.u64())
        timestamp = r.i64()
        addr_recv = NetworkAddress.read(r)
        addr_from, nonce, user_agent, start_height, relay = _null_address(), 0, "", 0, True
        if not r.at_end():
            addr_from = NetworkAddress.read(r)
            nonce = r.u64()
        if not r.at_end():
            raw = r.var_bytes(limit=MAX_SUBVERSION_LENGTH)
            user_agent = raw.decode("utf-8", "surrogateescape")
        if not r.at_end():
            start_height = r.i32()
        if not r.at_end():
            relay = r.u8() != 0  # Core reads a bool: any non-zero byte is true
        return cls(version, services, timestamp, addr_recv, addr_from, nonce, user_agent, start_height, relay)

    @property
    def sanitized_user_agent(self) -> str:
        """The user agent reduced to Core's SAFE_CHARS (SanitizeString), safe to log or show."""
        return "".join(c for c in self.user_agent if c.isascii() and (c.isalnum() or c in " .,;-_/:?@()"))


@dataclass(frozen=True, slots=True, repr=False)
class MsgVerack(EmptyMessage):
    """`verack`: acknowledges the peer's version; the handshake is done when both sides sent one."""

    COMMAND: ClassVar[str] = "verack"


@dataclass(frozen=True, slots=True, repr=False)
class MsgWtxidRelay(EmptyMessage):
    """`wtxidrelay` (BIP339): announce transactions by wtxid; sent between version and verack."""

    COMMAND: ClassVar[str] = "wtxidrelay"


@dataclass(frozen=True, slots=True, repr=False)
class MsgSendAddrV2(EmptyMessage):
    """`sendaddrv2` (BIP155): send us `addrv2` instead of `addr`; sent between version and verack."""

    COMMAND: ClassVar[str] = "sendaddrv2"


@dataclass(frozen=True, slots=True, repr=False)
class MsgSendHeaders(EmptyMessage):
    """`sendheaders` (BIP130): announce new blocks with `headers` rather than `inv`."""

    COMMAND: ClassVar[str] = "sendheaders"


@dataclass(frozen=True, slots=True, repr=False)
class MsgPing(Message):
    """`ping` (BIP31): the peer must answer with a `pong` carrying the same nonce."""

    COMMAND: ClassVar[str] = "ping"

    nonce: int = 0

    def serialize(self) -> bytes:
        return pack(_U64, self.nonce)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(r.u64())


@dataclass(frozen=True, slots=True, repr=False)
class MsgPong(Message):
    """`pong`: the answer to a `ping`."""

    COMMAND: ClassVar[str] = "pong"

    nonce: int = 0

    def serialize(self) -> bytes:
        return pack(_U64, self.nonce)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(r.u64())


@dataclass(frozen=True, slots=True, repr=False)
class MsgFeeFilter(Message):
    """`feefilter` (BIP133): don't announce transactions paying less than `feerate` sat per 1000 vbytes."""

    COMMAND: ClassVar[str] = "feefilter"

    feerate: int = 0

    def serialize(self) -> bytes:
        return pack(_I64, self.feerate)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(r.i64())


@dataclass(frozen=True, slots=True, repr=False)
class MsgSendCmpct(Message):
    """`sendcmpct` (BIP152). A light client decodes and ignores it: we never ask for compact blocks."""

    COMMAND: ClassVar[str] = "sendcmpct"

    announce: bool = False
    version: int = 1

    def serialize(self) -> bytes:
        return pack(_SENDCMPCT, self.announce, self.version)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        announce = read_bool(r, "sendcmpct announce flag")
        return cls(announce, r.u64())
