"""One representative instance of every P2P message type, shared by the message and fuzz tests."""

from __future__ import annotations

import ipaddress

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid, Wtxid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.filters.basic import FilterHash, FilterHeader, FilterType
from core.p2p.messages import (
    BIP155Network,
    Inv,
    InvType,
    Message,
    MsgAddr,
    MsgAddrV2,
    MsgBlock,
    MsgCFCheckpt,
    MsgCFHeaders,
    MsgCFilter,
    MsgFeeFilter,
    MsgGetAddr,
    MsgGetBlocks,
    MsgGetCFCheckpt,
    MsgGetCFHeaders,
    MsgGetCFilters,
    MsgGetData,
    MsgGetHeaders,
    MsgHeaders,
    MsgInv,
    MsgMempool,
    MsgNotFound,
    MsgPing,
    MsgPong,
    MsgSendAddrV2,
    MsgSendCmpct,
    MsgSendHeaders,
    MsgTx,
    MsgVerack,
    MsgVersion,
    MsgWtxidRelay,
    NetworkAddress,
    NetworkAddressV2,
    TimestampedAddress,
)
from core.p2p.services import ServiceFlags

# Bitcoin's genesis block header (display hash 000000000019d6...8ce26f).
GENESIS_HEADER = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67"
    "768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


def _h(i: int) -> bytes:
    return bytes([i]) * 32


SEGWIT_TX = Transaction(
    version=2,
    vin=(TxIn(OutPoint(Txid(_h(7)), 1), b"", 0xFFFFFFFD, (bytes(71), bytes(33))),),
    vout=(TxOut(1000, bytes.fromhex("0014") + bytes(20)), TxOut(2000, bytes.fromhex("5120") + bytes(32))),
)
COINBASE_TX = Transaction(
    version=1,
    vin=(TxIn(OutPoint(Txid(bytes(32)), 0xFFFFFFFF), b"\x01\x01", 0xFFFFFFFF),),
    vout=(TxOut(50 * 10**8, b"\x51"),),
)
BLOCK = Block(BlockHeader.parse(GENESIS_HEADER), (COINBASE_TX, SEGWIT_TX))

SERVICES = ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS | ServiceFlags.NODE_P2P_V2

SAMPLES: list[Message] = [
    MsgVersion(
        version=70016,
        services=SERVICES,
        timestamp=1_700_000_000,
        addr_recv=NetworkAddress(ServiceFlags.NODE_NETWORK, ipaddress.ip_address("203.0.113.7"), 8333),
        addr_from=NetworkAddress(ServiceFlags.NODE_NONE, ipaddress.ip_address("::"), 0),
        nonce=0x0123456789ABCDEF,
        user_agent="/Satoshi:27.0.0/",
        start_height=850_000,
        relay=False,
    ),
    MsgVerack(),
    MsgWtxidRelay(),
    MsgSendAddrV2(),
    MsgSendHeaders(),
    MsgSendCmpct(announce=True, version=2),
    MsgPing(0xDEADBEEF),
    MsgPong(0xDEADBEEF),
    MsgFeeFilter(1000),
    MsgGetAddr(),
    MsgAddr(
        (
            TimestampedAddress(1_700_000_000, NetworkAddress(SERVICES, ipaddress.ip_address("1.2.3.4"), 8333)),
            TimestampedAddress(5, NetworkAddress(ServiceFlags(1 << 40), ipaddress.ip_address("2001:db8::1"), 1)),
        )
    ),
    MsgAddrV2(
        (
            NetworkAddressV2(1, SERVICES, BIP155Network.IPV4, bytes([1, 2, 3, 4]), 8333),
            NetworkAddressV2(2, ServiceFlags.NODE_NONE, BIP155Network.IPV6, bytes(15) + b"\x01", 8333),
            NetworkAddressV2(3, ServiceFlags(1 << 63), BIP155Network.TORV3, _h(9), 8333),
            NetworkAddressV2(4, SERVICES, BIP155Network.I2P, _h(10), 0),
            NetworkAddressV2(5, SERVICES, BIP155Network.CJDNS, b"\xfc" + bytes(15), 8333),
            NetworkAddressV2(6, SERVICES, 42, b"future network", 9),  # unknown ids are carried
        )
    ),
    MsgInv((Inv(InvType.TX, Txid(_h(1))), Inv(InvType.BLOCK, BlockHash(_h(2))), Inv(InvType.WTX, Wtxid(_h(3))))),
    MsgGetData((Inv(InvType.WITNESS_TX, _h(1)), Inv(InvType.WITNESS_BLOCK, _h(2)), Inv(99, _h(4)))),
    MsgNotFound((Inv(InvType.WTX, _h(3)),)),
    MsgMempool(),
    MsgGetHeaders(70016, (BlockHash(_h(5)), BlockHash(_h(6))), BlockHash(bytes(32))),
    MsgGetBlocks(70016, (BlockHash(_h(5)),), BlockHash(_h(8))),
    MsgHeaders((BlockHeader.parse(GENESIS_HEADER), BLOCK.header)),
    MsgBlock(BLOCK),
    MsgTx(SEGWIT_TX),
    MsgGetCFilters(FilterType.BASIC, 800_000, BlockHash(_h(11))),
    MsgCFilter(FilterType.BASIC, BlockHash(_h(12)), bytes.fromhex("0192a4e0")),
    MsgGetCFHeaders(FilterType.BASIC, 1, BlockHash(_h(13))),
    MsgCFHeaders(FilterType.BASIC, BlockHash(_h(13)), FilterHeader(_h(14)), (FilterHash(_h(15)), FilterHash(_h(16)))),
    MsgGetCFCheckpt(FilterType.BASIC, BlockHash(_h(17))),
    MsgCFCheckpt(FilterType.BASIC, BlockHash(_h(17)), (FilterHeader(_h(18)), FilterHeader(_h(19)))),
]
