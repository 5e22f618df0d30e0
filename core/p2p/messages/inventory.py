"""Inventory messages: `inv`, `getdata`, `notfound` (lists of typed hashes, Core's CInv) and `mempool`."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from core.consensus.hashes import BlockHash, Hash256, Txid, Wtxid
from core.consensus.serialize import ByteReader, ser_compact_size
from core.p2p.errors import MessageError
from core.p2p.messages.base import EmptyMessage, Message, Readable, check_count, check_hash, pack, read_count
from core.p2p.messages.constants import MAX_INV_SZ

#: Set on a TX or BLOCK inv type in `getdata` to ask for the witness serialization (BIP144).
MSG_WITNESS_FLAG = 1 << 30
_INV = struct.Struct("<I32s")


class InvType(IntEnum):
    """Inventory types (Core's GetDataMsg)."""

    ERROR = 0
    TX = 1
    BLOCK = 2
    FILTERED_BLOCK = 3
    CMPCT_BLOCK = 4
    WTX = 5
    WITNESS_TX = TX | MSG_WITNESS_FLAG
    WITNESS_BLOCK = BLOCK | MSG_WITNESS_FLAG


_HASH_TYPE: dict[int, type[Hash256]] = {
    InvType.TX: Txid,
    InvType.WITNESS_TX: Txid,
    InvType.WTX: Wtxid,
    InvType.BLOCK: BlockHash,
    InvType.WITNESS_BLOCK: BlockHash,
    InvType.FILTERED_BLOCK: BlockHash,
    InvType.CMPCT_BLOCK: BlockHash,
}


def inv_type(value: int) -> InvType | int:
    """The InvType for a known value, else the value itself (Core ignores types it does not know)."""
    try:
        return InvType(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True, repr=False)
class Inv(Readable):
    """One inventory entry: a type and a hash, typed as Txid/Wtxid/BlockHash where the type says which."""

    type: InvType | int
    hash: Hash256

    SIZE = 36

    def __post_init__(self) -> None:
        if not 0 <= self.type <= 0xFFFFFFFF:
            raise MessageError(f"inv type {self.type} out of range")
        check_hash("inv hash", self.hash)
        object.__setattr__(self, "type", inv_type(self.type))
        object.__setattr__(self, "hash", _HASH_TYPE.get(self.type, Hash256)(self.hash))

    def serialize(self) -> bytes:
        return pack(_INV, self.type, self.hash)

    @classmethod
    def read(cls, r: ByteReader) -> Inv:
        return cls(r.u32(), Hash256(r.read(32)))

    def __str__(self) -> str:
        name = self.type.name if isinstance(self.type, InvType) else f"type{self.type}"
        return f"{name}:{self.hash}"


@dataclass(frozen=True, slots=True, repr=False)
class _InventoryMessage(Message):
    """Shared shape of inv/getdata/notfound: a counted list of at most MAX_INV_SZ entries."""

    inventory: tuple[Inv, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "inventory", tuple(self.inventory))
        check_count(self.COMMAND, len(self.inventory), MAX_INV_SZ)

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.inventory)) + b"".join(i.serialize() for i in self.inventory)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        n = read_count(r, MAX_INV_SZ, Inv.SIZE, cls.COMMAND)
        return cls(tuple(Inv.read(r) for _ in range(n)))


@dataclass(frozen=True, slots=True, repr=False)
class MsgInv(_InventoryMessage):
    """`inv`: announces transactions or blocks the peer has."""

    COMMAND: ClassVar[str] = "inv"


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetData(_InventoryMessage):
    """`getdata`: requests the listed objects."""

    COMMAND: ClassVar[str] = "getdata"


@dataclass(frozen=True, slots=True, repr=False)
class MsgNotFound(_InventoryMessage):
    """`notfound`: the listed objects of a `getdata` could not be served."""

    COMMAND: ClassVar[str] = "notfound"


@dataclass(frozen=True, slots=True, repr=False)
class MsgMempool(EmptyMessage):
    """`mempool` (BIP35): asks for an `inv` of the peer's mempool."""

    COMMAND: ClassVar[str] = "mempool"
