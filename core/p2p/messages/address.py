"""Peer addresses as carried by `version`, `addr` (Core's CAddress, v1 format) and `addrv2` (BIP155).

The v1 format stores every address as 16 IPv6 bytes; IPv4 travels IPv4-mapped (::ffff:a.b.c.d) and is
decoded back to an `IPv4Address`, so each address has exactly one value and one encoding. BIP155 adds a
network id and a variable-length address; ids we do not know are kept as plain ints with their bytes
(Core ignores such entries rather than rejecting the message, and so must a decoder that agrees with it).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum

from core.consensus.serialize import ByteReader, ser_compact_size, ser_var_bytes
from core.p2p.errors import MessageError
from core.p2p.messages.base import Readable, pack
from core.p2p.messages.constants import MAX_ADDRV2_SIZE
from core.p2p.services import ServiceFlags, service_names

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

IPV4_IN_IPV6_PREFIX = bytes(10) + b"\xff\xff"
_PORT = struct.Struct(">H")  # ports are big-endian on the wire, unlike every other integer
_V1 = struct.Struct("<Q16s")
_TIME = struct.Struct("<I")
_U64_MAX = (1 << 64) - 1


def _normalize_ip(ip: IPAddress | str) -> IPAddress:
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped  # one value per encoding: ::ffff:a.b.c.d is the IPv4 address
    return addr


def ip_from_v1(raw: bytes) -> IPAddress:
    """Decode the 16-byte v1 address field (IPv4-mapped bytes become an IPv4Address)."""
    if raw[:12] == IPV4_IN_IPV6_PREFIX:
        return ipaddress.IPv4Address(raw[12:])
    return ipaddress.IPv6Address(raw)


def ip_to_v1(ip: IPAddress) -> bytes:
    """Encode an IP address as the 16-byte v1 address field."""
    if isinstance(ip, ipaddress.IPv4Address):
        return IPV4_IN_IPV6_PREFIX + ip.packed
    return ip.packed


def _check_port(port: int) -> None:
    if not 0 <= port <= 0xFFFF:
        raise MessageError(f"port {port} out of range")


@dataclass(frozen=True, slots=True, repr=False)
class NetworkAddress(Readable):
    """Services, IP and port, without a timestamp: the form inside `version` (26 bytes)."""

    services: ServiceFlags
    ip: IPAddress
    port: int

    SIZE = 26

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", ServiceFlags(self.services))
        object.__setattr__(self, "ip", _normalize_ip(self.ip))
        _check_port(self.port)

    def serialize(self) -> bytes:
        return pack(_V1, self.services, ip_to_v1(self.ip)) + pack(_PORT, self.port)

    @classmethod
    def read(cls, r: ByteReader) -> NetworkAddress:
        services = r.u64()
        ip = ip_from_v1(r.read(16))
        port = _PORT.unpack(r.read(2))[0]
        return cls(ServiceFlags(services), ip, port)

    def __str__(self) -> str:
        host = f"[{self.ip}]" if self.ip.version == 6 else str(self.ip)
        return f"{host}:{self.port} ({service_names(self.services)})"


@dataclass(frozen=True, slots=True, repr=False)
class TimestampedAddress(Readable):
    """An `addr` entry: last-seen time (uint32 seconds) and a NetworkAddress (30 bytes)."""

    time: int
    address: NetworkAddress

    SIZE = 30

    def serialize(self) -> bytes:
        return pack(_TIME, self.time) + self.address.serialize()

    @classmethod
    def read(cls, r: ByteReader) -> TimestampedAddress:
        return cls(r.u32(), NetworkAddress.read(r))

    def __str__(self) -> str:
        return f"{self.address} time={self.time}"


class BIP155Network(IntEnum):
    """BIP155 network ids whose address sizes we check. TORv2 (3) is gone and treated as unknown."""

    IPV4 = 1
    IPV6 = 2
    TORV3 = 4
    I2P = 5
    CJDNS = 6


BIP155_ADDRESS_SIZE: dict[BIP155Network, int] = {
    BIP155Network.IPV4: 4,
    BIP155Network.IPV6: 16,
    BIP155Network.TORV3: 32,
    BIP155Network.I2P: 32,
    BIP155Network.CJDNS: 16,
}


def bip155_network(net_id: int) -> BIP155Network | int:
    """The BIP155Network for a known id, else the id itself (unknown ids are carried, not rejected)."""
    try:
        return BIP155Network(net_id)
    except ValueError:
        return net_id


def _torv3_host(pubkey: bytes) -> str:
    # Tor rend-spec-v3: onion address = base32(PUBKEY | CHECKSUM | VERSION) + ".onion"
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return base64.b32encode(pubkey + checksum + version).decode().lower() + ".onion"


@dataclass(frozen=True, slots=True, repr=False)
class NetworkAddressV2(Readable):
    """An `addrv2` entry (BIP155): time, services (compact size), network id, address bytes, port."""

    time: int
    services: ServiceFlags
    network: BIP155Network | int
    addr: bytes
    port: int

    def __post_init__(self) -> None:
        if not 0 <= self.services <= _U64_MAX:
            raise MessageError(f"services {self.services} out of range")
        object.__setattr__(self, "services", ServiceFlags(self.services))
        if not 0 <= self.network <= 0xFF:
            raise MessageError(f"network id {self.network} out of range")
        object.__setattr__(self, "network", bip155_network(self.network))
        if len(self.addr) > MAX_ADDRV2_SIZE:
            raise MessageError(f"address of {len(self.addr)} bytes exceeds {MAX_ADDRV2_SIZE}")
        net = self.network
        if isinstance(net, BIP155Network) and len(self.addr) != BIP155_ADDRESS_SIZE[net]:
            raise MessageError(
                f"BIP155 {net.name} address with length {len(self.addr)} (should be {BIP155_ADDRESS_SIZE[net]})"
            )
        object.__setattr__(self, "addr", bytes(self.addr))
        _check_port(self.port)

    def serialize(self) -> bytes:
        return b"".join(
            (
                pack(_TIME, self.time),
                ser_compact_size(self.services),
                bytes((self.network,)),
                ser_var_bytes(self.addr),
                pack(_PORT, self.port),
            )
        )

    @classmethod
    def read(cls, r: ByteReader) -> NetworkAddressV2:
        time = r.u32()
        services = r.compact_size(limit=_U64_MAX)  # a bit field, not a length: Core reads it unchecked
        net_id = r.u8()
        addr = r.var_bytes(limit=MAX_ADDRV2_SIZE)
        port = _PORT.unpack(r.read(2))[0]
        return cls(time, ServiceFlags(services), net_id, addr, port)

    @property
    def host(self) -> str:
        """The address as text: dotted IPv4, IPv6, a .onion or .b32.i2p name, or hex for unknown networks."""
        if self.network == BIP155Network.IPV4:
            return str(ipaddress.IPv4Address(self.addr))
        if self.network in (BIP155Network.IPV6, BIP155Network.CJDNS):
            return str(ipaddress.IPv6Address(self.addr))
        if self.network == BIP155Network.TORV3:
            return _torv3_host(self.addr)
        if self.network == BIP155Network.I2P:
            return base64.b32encode(self.addr).decode().lower().rstrip("=") + ".b32.i2p"
        return f"net{self.network}:{self.addr.hex()}"

    def __str__(self) -> str:
        net = self.network.name if isinstance(self.network, BIP155Network) else f"unknown({self.network})"
        host = f"[{self.host}]" if self.network in (BIP155Network.IPV6, BIP155Network.CJDNS) else self.host
        return f"{net} {host}:{self.port} ({service_names(self.services)}) time={self.time}"
