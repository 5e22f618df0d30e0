"""Address gossip: `getaddr`, `addr` (v1 entries) and `addrv2` (BIP155 entries), each capped at 1,000."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from core.consensus.serialize import ByteReader, ser_compact_size
from core.p2p.messages.address import NetworkAddressV2, TimestampedAddress
from core.p2p.messages.base import EmptyMessage, Message, check_count, read_count
from core.p2p.messages.constants import MAX_ADDR_TO_SEND

# Smallest addrv2 entry: time(4) services(1) network(1) length(1) port(2), with an empty address.
_MIN_ADDRV2_SIZE = 9


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetAddr(EmptyMessage):
    """`getaddr`: asks the peer for addresses of other peers."""

    COMMAND: ClassVar[str] = "getaddr"


@dataclass(frozen=True, slots=True, repr=False)
class MsgAddr(Message):
    """`addr`: up to MAX_ADDR_TO_SEND timestamped addresses in the v1 (16-byte IPv6) format."""

    COMMAND: ClassVar[str] = "addr"

    addresses: tuple[TimestampedAddress, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", tuple(self.addresses))
        check_count("addr", len(self.addresses), MAX_ADDR_TO_SEND)

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.addresses)) + b"".join(a.serialize() for a in self.addresses)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        n = read_count(r, MAX_ADDR_TO_SEND, TimestampedAddress.SIZE, "addr")
        return cls(tuple(TimestampedAddress.read(r) for _ in range(n)))


@dataclass(frozen=True, slots=True, repr=False)
class MsgAddrV2(Message):
    """`addrv2` (BIP155): up to MAX_ADDR_TO_SEND addresses of any network, including Tor v3, I2P, CJDNS."""

    COMMAND: ClassVar[str] = "addrv2"

    addresses: tuple[NetworkAddressV2, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", tuple(self.addresses))
        check_count("addrv2", len(self.addresses), MAX_ADDR_TO_SEND)

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.addresses)) + b"".join(a.serialize() for a in self.addresses)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        n = read_count(r, MAX_ADDR_TO_SEND, _MIN_ADDRV2_SIZE, "addrv2")
        return cls(tuple(NetworkAddressV2.read(r) for _ in range(n)))
