"""Bitcoin P2P wire messages: one frozen dataclass per message type, and a registry to decode by command.

    msg = decode_message("ping", payload)        # -> MsgPing(nonce=...)
    command, payload = encode_message(MsgPong(msg.nonce))
"""

from core.p2p.messages.addr import MsgAddr, MsgAddrV2, MsgGetAddr
from core.p2p.messages.address import (
    BIP155Network,
    NetworkAddress,
    NetworkAddressV2,
    TimestampedAddress,
)
from core.p2p.messages.base import Message
from core.p2p.messages.constants import (
    MAX_ADDR_TO_SEND,
    MAX_GETCFHEADERS_SIZE,
    MAX_GETCFILTERS_SIZE,
    MAX_HEADERS_RESULTS,
    MAX_INV_SZ,
    MAX_LOCATOR_SZ,
    MAX_PROTOCOL_MESSAGE_LENGTH,
    MIN_PEER_PROTO_VERSION,
    PROTOCOL_VERSION,
)
from core.p2p.messages.control import (
    MsgFeeFilter,
    MsgPing,
    MsgPong,
    MsgSendAddrV2,
    MsgSendCmpct,
    MsgSendHeaders,
    MsgVerack,
    MsgVersion,
    MsgWtxidRelay,
)
from core.p2p.messages.data import MsgBlock, MsgGetBlocks, MsgGetHeaders, MsgHeaders, MsgTx
from core.p2p.messages.filters import (
    MsgCFCheckpt,
    MsgCFHeaders,
    MsgCFilter,
    MsgGetCFCheckpt,
    MsgGetCFHeaders,
    MsgGetCFilters,
)
from core.p2p.messages.inventory import Inv, InvType, MsgGetData, MsgInv, MsgMempool, MsgNotFound
from core.p2p.messages.registry import MESSAGE_TYPES, UnknownMessage, decode_message, encode_message

__all__ = [
    "MAX_ADDR_TO_SEND",
    "MAX_GETCFHEADERS_SIZE",
    "MAX_GETCFILTERS_SIZE",
    "MAX_HEADERS_RESULTS",
    "MAX_INV_SZ",
    "MAX_LOCATOR_SZ",
    "MAX_PROTOCOL_MESSAGE_LENGTH",
    "MESSAGE_TYPES",
    "MIN_PEER_PROTO_VERSION",
    "PROTOCOL_VERSION",
    "BIP155Network",
    "Inv",
    "InvType",
    "Message",
    "MsgAddr",
    "MsgAddrV2",
    "MsgBlock",
    "MsgCFCheckpt",
    "MsgCFHeaders",
    "MsgCFilter",
    "MsgFeeFilter",
    "MsgGetAddr",
    "MsgGetBlocks",
    "MsgGetCFCheckpt",
    "MsgGetCFHeaders",
    "MsgGetCFilters",
    "MsgGetData",
    "MsgGetHeaders",
    "MsgHeaders",
    "MsgInv",
    "MsgMempool",
    "MsgNotFound",
    "MsgPing",
    "MsgPong",
    "MsgSendAddrV2",
    "MsgSendCmpct",
    "MsgSendHeaders",
    "MsgTx",
    "MsgVerack",
    "MsgVersion",
    "MsgWtxidRelay",
    "NetworkAddress",
    "NetworkAddressV2",
    "TimestampedAddress",
    "UnknownMessage",
    "decode_message",
    "encode_message",
]
