"""P2P wire messages: round trips, known-good payloads from Core and the protocol docs, and caps."""

from __future__ import annotations

import ipaddress

import pytest

from core.consensus.hashes import BlockHash, Hash256, Txid, Wtxid
from core.filters.basic import FilterType
from core.p2p.errors import MessageDecodeError, MessageError, P2PError
from core.p2p.messages import (
    MAX_ADDR_TO_SEND,
    MAX_GETCFHEADERS_SIZE,
    MAX_HEADERS_RESULTS,
    MAX_INV_SZ,
    MAX_LOCATOR_SZ,
    MAX_PROTOCOL_MESSAGE_LENGTH,
    MESSAGE_TYPES,
    BIP155Network,
    Inv,
    InvType,
    MsgAddr,
    MsgAddrV2,
    MsgCFHeaders,
    MsgCFilter,
    MsgGetCFilters,
    MsgGetData,
    MsgHeaders,
    MsgInv,
    MsgPing,
    MsgVersion,
    NetworkAddress,
    NetworkAddressV2,
    UnknownMessage,
    decode_message,
    encode_message,
)
from core.p2p.messages.address import IPV4_IN_IPV6_PREFIX
from core.p2p.services import ServiceFlags
from tests.unit.message_samples import GENESIS_HASH, GENESIS_HEADER, SAMPLES

ALL_COMMANDS = {
    "version", "verack", "wtxidrelay", "sendaddrv2", "sendheaders", "sendcmpct", "ping", "pong",
    "feefilter", "getaddr", "addr", "addrv2", "inv", "getdata", "notfound", "mempool", "getheaders",
    "getblocks", "headers", "block", "tx", "getcfilters", "cfilter", "getcfheaders", "cfheaders",
    "getcfcheckpt", "cfcheckpt",
}  # fmt: skip

# developer.bitcoin.org's `version` example: a real Bitcoin Core 0.9.3 node (protocol 70002), relay=1.
CORE_093_VERSION = bytes.fromhex(
    "721101000100000000000000bc8f5e5400000000010000000000000000000000000000000000ffffc61b6409208d0100"
    "00000000000000000000000000000000ffffcb0071c0208d128035cbc97953f80f2f5361746f7368693a302e392e332f"
    "cf05050001"
)
# The Bitcoin wiki's `version` example (Satoshi 0.7.2, protocol 60002): it stops before the relay flag.
WIKI_072_VERSION = bytes.fromhex(
    "62ea0000010000000000000011b2d05000000000010000000000000000000000000000000000ffff0000000000000100"
    "00000000000000000000000000000000ffff0000000000003b2eb35d8ce617650f2f5361746f7368693a302e372e322f"
    "c03e0300"
)
# Bitcoin Core's src/test/netbase_tests.cpp fixtures: the same three addresses as addr and as addrv2.
CORE_ADDRV1 = bytes.fromhex(
    "03"
    "61bc6649" "0000000000000000" "00000000000000000000000000000001" "0000"
    "79627683" "0100000000000000" "00000000000000000000000000000001" "00f1"
    "ffffffff" "4804000000000000" "00000000000000000000000000000001" "f1f2"
)  # fmt: skip
CORE_ADDRV2 = bytes.fromhex(
    "03"
    "61bc6649" "00" "02" "10" "00000000000000000000000000000001" "0000"
    "79627683" "01" "02" "10" "00000000000000000000000000000001" "00f1"
    "ffffffff" "fd4804" "02" "10" "00000000000000000000000000000001" "f1f2"
)  # fmt: skip
# Core's net_tests.cpp cnetaddr_unserialize_v2 addresses and the names ToStringAddr gives them.
TORV3_KEY = bytes.fromhex("79bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f")
TORV3_NAME = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
I2P_HASH = bytes.fromhex("a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87")
I2P_NAME = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p"

HEADER_ENTRY = GENESIS_HEADER + b"\x00"
INV_ENTRY = (1).to_bytes(4, "little") + bytes(32)
ADDR_ENTRY = bytes(4) + bytes(8) + IPV4_IN_IPV6_PREFIX + bytes([1, 2, 3, 4]) + b"\x20\x8d"


def _count(n: int) -> bytes:
    """Compact size encoding, written out here independently of the code under test."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _decode_error(command: str, payload: bytes) -> MessageDecodeError:
    with pytest.raises(MessageDecodeError) as info:
        decode_message(command, payload)
    assert info.value.command == command
    return info.value


# --- registry and round trips ------------------------------------------------------------------------


def test_registry_has_every_message_and_samples_cover_it() -> None:
    assert set(MESSAGE_TYPES) == ALL_COMMANDS
    assert {m.COMMAND for m in SAMPLES} == ALL_COMMANDS
    for command, cls in MESSAGE_TYPES.items():
        assert command == cls.COMMAND


@pytest.mark.parametrize("msg", SAMPLES, ids=[m.COMMAND for m in SAMPLES])
def test_round_trip(msg) -> None:
    payload = msg.serialize()
    assert type(msg).parse(payload) == msg
    command, encoded = encode_message(msg)
    assert (command, encoded) == (msg.COMMAND, payload)
    again = decode_message(command, encoded)
    assert type(again) is type(msg) and again == msg
    assert again.serialize() == payload
    assert repr(msg).startswith(type(msg).__name__ + "(")
    assert str(msg).startswith(msg.COMMAND + "(")


@pytest.mark.parametrize("msg", SAMPLES, ids=[m.COMMAND for m in SAMPLES])
def test_trailing_byte_rejected_except_version(msg) -> None:
    payload = msg.serialize() + b"\x00"
    if msg.COMMAND == "version":
        assert decode_message("version", payload) == msg  # Core ignores what follows the relay flag
    else:
        _decode_error(msg.COMMAND, payload)


@pytest.mark.parametrize("msg", SAMPLES, ids=[m.COMMAND for m in SAMPLES])
def test_every_truncation_rejected(msg) -> None:
    payload = msg.serialize()
    version_optional_ends = {46, 80, 80 + 1 + len("/Satoshi:27.0.0/"), len(payload) - 1}
    for cut in range(len(payload)):
        if msg.COMMAND == "version" and cut in version_optional_ends:
            continue  # old peers legitimately stop after these fields
        _decode_error(msg.COMMAND, payload[:cut])


# --- version ------------------------------------------------------------------------------------------


def test_version_from_core_093() -> None:
    msg = decode_message("version", CORE_093_VERSION)
    assert isinstance(msg, MsgVersion)
    assert msg.version == 70002
    assert msg.services == ServiceFlags.NODE_NETWORK
    assert msg.timestamp == 1415483324
    assert msg.addr_recv == NetworkAddress(ServiceFlags.NODE_NETWORK, ipaddress.ip_address("198.27.100.9"), 8333)
    assert msg.addr_from == NetworkAddress(ServiceFlags.NODE_NETWORK, ipaddress.ip_address("203.0.113.192"), 8333)
    assert msg.nonce == 0xF85379C9CB358012
    assert msg.user_agent == "/Satoshi:0.9.3/"
    assert msg.start_height == 329167
    assert msg.relay is True
    assert msg.serialize() == CORE_093_VERSION
    assert "/Satoshi:0.9.3/" in str(msg) and "NODE_NETWORK" in str(msg)


def test_version_without_relay_flag_defaults_to_relay() -> None:
    msg = decode_message("version", WIKI_072_VERSION)
    assert isinstance(msg, MsgVersion)
    assert (msg.version, msg.user_agent, msg.start_height) == (60002, "/Satoshi:0.7.2/", 212672)
    assert msg.nonce == 0x6517E68C5DB32E3B
    assert msg.addr_recv.ip == ipaddress.IPv4Address("0.0.0.0")
    assert msg.relay is True
    assert msg.serialize() == WIKI_072_VERSION + b"\x01"


def test_version_optional_groups() -> None:
    minimal = decode_message("version", CORE_093_VERSION[:46])
    assert isinstance(minimal, MsgVersion)
    assert (minimal.nonce, minimal.user_agent, minimal.start_height, minimal.relay) == (0, "", 0, True)
    # addr_from without its nonce is a truncated group, not an absent one
    _decode_error("version", CORE_093_VERSION[:46 + 26])
    assert decode_message("version", CORE_093_VERSION[:-1]).relay is True
    assert decode_message("version", CORE_093_VERSION[:-1] + b"\x02").relay is True  # any non-zero byte


def test_version_user_agent_cap() -> None:
    head = CORE_093_VERSION[: 46 + 26 + 8]
    ok = decode_message("version", head + _count(256) + b"a" * 256 + bytes(4))
    assert isinstance(ok, MsgVersion) and len(ok.user_agent) == 256
    _decode_error("version", head + _count(257) + b"a" * 257 + bytes(4))
    with pytest.raises(MessageError):
        MsgVersion(user_agent="a" * 257)


def test_version_non_utf8_user_agent_round_trips() -> None:
    head = CORE_093_VERSION[: 46 + 26 + 8]
    payload = head + _count(4) + b"/\xff\xfe/" + bytes(4) + b"\x01"
    msg = decode_message("version", payload)
    assert msg.serialize() == payload
    assert msg.sanitized_user_agent == "//"


# --- headers ------------------------------------------------------------------------------------------


def test_headers_with_genesis() -> None:
    payload = b"\x01" + GENESIS_HEADER + b"\x00"
    msg = decode_message("headers", payload)
    assert isinstance(msg, MsgHeaders) and len(msg.headers) == 1
    assert str(msg.headers[0].hash) == GENESIS_HASH
    assert msg.headers[0].time == 1231006505 and msg.headers[0].bits == 0x1D00FFFF
    assert encode_message(msg) == ("headers", payload)
    assert GENESIS_HASH in str(msg)


@pytest.mark.parametrize("tx_count", [b"\x01", b"\xfd\x00\x01"], ids=["one", "256"])
def test_headers_non_zero_tx_count_rejected(tx_count: bytes) -> None:
    err = _decode_error("headers", b"\x02" + HEADER_ENTRY + GENESIS_HEADER + tx_count)
    assert "transaction count" in err.reason


def test_headers_cap() -> None:
    msg = decode_message("headers", _count(MAX_HEADERS_RESULTS) + HEADER_ENTRY * MAX_HEADERS_RESULTS)
    assert len(msg.headers) == MAX_HEADERS_RESULTS
    over = MAX_HEADERS_RESULTS + 1
    err = _decode_error("headers", _count(over) + HEADER_ENTRY * over)
    assert "2001" in err.reason
    with pytest.raises(MessageError):
        MsgHeaders(msg.headers + msg.headers[:1])


# --- inventory ----------------------------------------------------------------------------------------


def test_inv_types() -> None:
    assert InvType.WITNESS_TX == 0x40000001 and InvType.WITNESS_BLOCK == 0x40000002
    assert [InvType.ERROR, InvType.TX, InvType.BLOCK, InvType.FILTERED_BLOCK] == [0, 1, 2, 3]
    assert (InvType.CMPCT_BLOCK, InvType.WTX) == (4, 5)
    payload = b"\x04" + b"".join(t.to_bytes(4, "little") + bytes([t & 0xFF]) * 32 for t in (1, 5, 0x40000002, 77))
    msg = decode_message("getdata", payload)
    assert isinstance(msg, MsgGetData)
    kinds = [type(i.hash) for i in msg.inventory]
    assert kinds == [Txid, Wtxid, BlockHash, Hash256]
    assert msg.inventory[3].type == 77 and not isinstance(msg.inventory[3].type, InvType)
    assert msg.serialize() == payload
    assert "WITNESS_BLOCK" in str(msg) and "type77" in str(msg)


@pytest.mark.parametrize("command", ["inv", "getdata", "notfound"])
def test_inv_cap(command: str) -> None:
    msg = decode_message(command, _count(MAX_INV_SZ) + INV_ENTRY * MAX_INV_SZ)
    assert len(msg.inventory) == MAX_INV_SZ
    over = MAX_INV_SZ + 1
    err = _decode_error(command, _count(over) + INV_ENTRY * over)
    assert "50001" in err.reason
    with pytest.raises(MessageError):
        MsgInv((Inv(InvType.TX, bytes(32)),) * over)


def test_inv_count_beyond_payload_rejected_before_reading() -> None:
    err = _decode_error("inv", _count(MAX_INV_SZ) + INV_ENTRY)
    assert "cannot fit" in err.reason


# --- addresses ----------------------------------------------------------------------------------------


def test_addr_and_addrv2_core_fixtures_agree() -> None:
    v1 = decode_message("addr", CORE_ADDRV1)
    v2 = decode_message("addrv2", CORE_ADDRV2)
    assert isinstance(v1, MsgAddr) and isinstance(v2, MsgAddrV2)
    assert v1.serialize() == CORE_ADDRV1 and v2.serialize() == CORE_ADDRV2
    expected = [
        (0x4966BC61, ServiceFlags.NODE_NONE, 0),
        (0x83766279, ServiceFlags.NODE_NETWORK, 0xF1),
        (0xFFFFFFFF, ServiceFlags.NODE_WITNESS | ServiceFlags.NODE_COMPACT_FILTERS | ServiceFlags.NODE_NETWORK_LIMITED, 0xF1F2),
    ]  # fmt: skip
    for a, b, (time, services, port) in zip(v1.addresses, v2.addresses, expected, strict=True):
        assert (a.time, a.address.services, a.address.port) == (time, services, port)
        assert (b.time, b.services, b.port) == (time, services, port)
        assert a.address.ip == ipaddress.IPv6Address("::1")
        assert b.network == BIP155Network.IPV6 and b.host == "::1"


def test_ipv4_mapped_addresses() -> None:
    entry = decode_message("addr", b"\x01" + ADDR_ENTRY).addresses[0].address
    assert entry.ip == ipaddress.IPv4Address("1.2.3.4") and entry.port == 8333
    assert str(entry) == "1.2.3.4:8333 (NODE_NONE)"
    mapped = NetworkAddress(ServiceFlags.NODE_NETWORK, ipaddress.IPv6Address("::ffff:1.2.3.4"), 8333)
    plain = NetworkAddress(ServiceFlags.NODE_NETWORK, ipaddress.IPv4Address("1.2.3.4"), 8333)
    assert mapped == plain and mapped.serialize() == plain.serialize()
    assert plain.serialize()[8:24] == IPV4_IN_IPV6_PREFIX + bytes([1, 2, 3, 4])
    assert str(NetworkAddress(ServiceFlags.NODE_NONE, ipaddress.ip_address("::1"), 1)) == "[::1]:1 (NODE_NONE)"


def test_addr_cap() -> None:
    assert len(decode_message("addr", _count(MAX_ADDR_TO_SEND) + ADDR_ENTRY * MAX_ADDR_TO_SEND).addresses) == 1000
    over = MAX_ADDR_TO_SEND + 1
    assert "1001" in _decode_error("addr", _count(over) + ADDR_ENTRY * over).reason
    v2_entry = bytes(4) + b"\x00\x01\x04" + bytes(4) + b"\x20\x8d"
    assert len(decode_message("addrv2", _count(1000) + v2_entry * 1000).addresses) == 1000
    _decode_error("addrv2", _count(over) + v2_entry * over)


def _addrv2(net: int, addr: bytes, services: bytes = b"\x00") -> bytes:
    return b"\x01" + bytes(4) + services + bytes([net]) + _count(len(addr)) + addr + b"\x20\x8d"


def test_addrv2_networks_and_names() -> None:
    tor = decode_message("addrv2", _addrv2(4, TORV3_KEY)).addresses[0]
    assert tor.network == BIP155Network.TORV3 and tor.host == TORV3_NAME
    i2p = decode_message("addrv2", _addrv2(5, I2P_HASH)).addresses[0]
    assert i2p.network == BIP155Network.I2P and i2p.host == I2P_NAME
    ipv4 = decode_message("addrv2", _addrv2(1, bytes([1, 2, 3, 4]))).addresses[0]
    assert ipv4.host == "1.2.3.4" and str(ipv4).startswith("IPV4 1.2.3.4:8333")
    cjdns = decode_message("addrv2", _addrv2(6, b"\xfc" + bytes(14) + b"\x01")).addresses[0]
    assert cjdns.host == "fc00::1"


@pytest.mark.parametrize(
    ("net", "size"),
    [(1, 5), (1, 3), (2, 15), (4, 0), (4, 33), (5, 31), (6, 17)],
    ids=["ipv4-5", "ipv4-3", "ipv6-15", "torv3-0", "torv3-33", "i2p-31", "cjdns-17"],
)
def test_addrv2_wrong_size_rejected(net: int, size: int) -> None:
    err = _decode_error("addrv2", _addrv2(net, bytes(size)))
    assert "should be" in err.reason


def test_addrv2_unknown_networks_carried() -> None:
    for net, addr in ((3, bytes(10)), (7, b"x"), (255, bytes(512))):  # 3 = retired TORv2
        payload = _addrv2(net, addr)
        entry = decode_message("addrv2", payload).addresses[0]
        assert entry.network == net and not isinstance(entry.network, BIP155Network)
        assert decode_message("addrv2", payload).serialize() == payload
        assert "unknown" in str(entry)
    _decode_error("addrv2", _addrv2(7, bytes(513)))


def test_addrv2_services_is_an_unchecked_compact_size() -> None:
    big = b"\xff" + (1 << 63 | 1).to_bytes(8, "little")
    entry = decode_message("addrv2", _addrv2(1, bytes(4), services=big)).addresses[0]
    assert entry.services == (1 << 63 | 1) and entry.services & ServiceFlags.NODE_NETWORK
    _decode_error("addrv2", _addrv2(1, bytes(4), services=b"\xfd\x01\x00"))  # non-canonical


# --- filters ------------------------------------------------------------------------------------------


def test_getcfilters_layout() -> None:
    stop = BlockHash(bytes(range(32)))
    msg = MsgGetCFilters(FilterType.BASIC, 0x01020304, stop)
    assert msg.serialize() == b"\x00\x04\x03\x02\x01" + bytes(range(32))


def test_cfilter_unknown_type_carried() -> None:
    payload = b"\x07" + bytes(32) + b"\x03abc"
    msg = decode_message("cfilter", payload)
    assert isinstance(msg, MsgCFilter) and msg.filter_type == 7 and msg.filter == b"abc"
    assert msg.serialize() == payload


def test_cfheaders_cap() -> None:
    head = b"\x00" + bytes(64)
    n = MAX_GETCFHEADERS_SIZE
    assert len(decode_message("cfheaders", head + _count(n) + bytes(32 * n)).filter_hashes) == n
    _decode_error("cfheaders", head + _count(n + 1) + bytes(32 * (n + 1)))
    with pytest.raises(MessageError):
        MsgCFHeaders(0, BlockHash(), bytes(32), (bytes(32),) * (n + 1))


def test_locator_cap() -> None:
    for command in ("getheaders", "getblocks"):
        ok = (70016).to_bytes(4, "little") + _count(MAX_LOCATOR_SZ) + bytes(32 * MAX_LOCATOR_SZ) + bytes(32)
        assert len(decode_message(command, ok).locator) == MAX_LOCATOR_SZ
        over = MAX_LOCATOR_SZ + 1
        _decode_error(command, (70016).to_bytes(4, "little") + _count(over) + bytes(32 * over) + bytes(32))


# --- control messages, unknown commands, limits ------------------------------------------------------


@pytest.mark.parametrize("command", ["verack", "wtxidrelay", "sendaddrv2", "sendheaders", "getaddr", "mempool"])
def test_empty_messages_take_no_payload(command: str) -> None:
    assert decode_message(command, b"").serialize() == b""
    _decode_error(command, b"\x00")


def test_sendcmpct_flag_must_be_boolean() -> None:
    assert decode_message("sendcmpct", b"\x01" + (2).to_bytes(8, "little")).announce is True
    _decode_error("sendcmpct", b"\x02" + (2).to_bytes(8, "little"))


def test_unknown_command_is_carried_not_raised() -> None:
    msg = decode_message("newthing", b"\x01\x02")
    assert msg == UnknownMessage("newthing", b"\x01\x02")
    assert encode_message(msg) == ("newthing", b"\x01\x02")
    assert "newthing" in str(msg)
    for bad in ("", "thirteenchars", "bad\x00cmd"):
        _decode_error(bad, b"")


def test_payload_size_limit() -> None:
    err = _decode_error("newthing", bytes(MAX_PROTOCOL_MESSAGE_LENGTH + 1))
    assert "exceeds" in err.reason
    _decode_error("block", bytes(MAX_PROTOCOL_MESSAGE_LENGTH + 1))
    with pytest.raises(MessageError):
        encode_message(MsgCFilter(0, BlockHash(), bytes(MAX_PROTOCOL_MESSAGE_LENGTH)))


def test_errors_belong_to_the_p2p_tree() -> None:
    err = _decode_error("ping", b"\x00")
    assert isinstance(err, P2PError) and isinstance(err, MessageError)
    assert str(err).startswith("ping: ")


def test_out_of_range_fields_refused_when_encoding() -> None:
    with pytest.raises(MessageError):
        MsgPing(1 << 64).serialize()
    with pytest.raises(MessageError):
        NetworkAddress(ServiceFlags.NODE_NONE, ipaddress.ip_address("1.2.3.4"), 65536)
    with pytest.raises(MessageError):
        NetworkAddressV2(0, ServiceFlags.NODE_NONE, 1, bytes(5), 0)
    with pytest.raises(MessageError):
        Inv(InvType.TX, bytes(31))
