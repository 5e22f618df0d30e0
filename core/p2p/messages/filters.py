"""BIP157 compact block filter messages: getcfilters/cfilter, getcfheaders/cfheaders, getcfcheckpt/cfcheckpt.

The filter type is one byte; types other than BASIC are carried as plain ints so the caller can answer
or drop them (Core disconnects on a request for a type it does not serve — a policy, not a decoding rule).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from core.consensus.hashes import BlockHash
from core.consensus.serialize import ByteReader, ser_var_bytes
from core.filters.basic import FilterHash, FilterHeader, FilterType
from core.p2p.errors import MessageError
from core.p2p.messages.base import Message, check_count, check_hash, pack, read_hashes, ser_hashes
from core.p2p.messages.constants import MAX_CFCHECKPT_SIZE, MAX_GETCFHEADERS_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH

_TYPE_HEIGHT = struct.Struct("<BI")


def filter_type(value: int) -> FilterType | int:
    """The FilterType for a known value, else the value itself."""
    try:
        return FilterType(value)
    except ValueError:
        return value


def _check_type(value: int) -> FilterType | int:
    if not 0 <= value <= 0xFF:
        raise MessageError(f"filter type {value} out of range")
    return filter_type(value)


def _block_hash(what: str, h: bytes) -> BlockHash:
    check_hash(what, h)
    return BlockHash(h)


@dataclass(frozen=True, slots=True, repr=False)
class _RangeRequest(Message):
    """getcfilters/getcfheaders: filter type, first height and the hash of the last block wanted."""

    filter_type: FilterType | int = FilterType.BASIC
    start_height: int = 0
    stop_hash: BlockHash = field(default_factory=BlockHash)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_type", _check_type(self.filter_type))
        object.__setattr__(self, "stop_hash", _block_hash("stop_hash", self.stop_hash))

    def serialize(self) -> bytes:
        return pack(_TYPE_HEIGHT, self.filter_type, self.start_height) + self.stop_hash

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(r.u8(), r.u32(), BlockHash(r.read(32)))


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetCFilters(_RangeRequest):
    """`getcfilters`: asks for the filters of blocks start_height..stop_hash (at most MAX_GETCFILTERS_SIZE)."""

    COMMAND: ClassVar[str] = "getcfilters"


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetCFHeaders(_RangeRequest):
    """`getcfheaders`: asks for filter hashes of start_height..stop_hash (at most MAX_GETCFHEADERS_SIZE)."""

    COMMAND: ClassVar[str] = "getcfheaders"


@dataclass(frozen=True, slots=True, repr=False)
class MsgCFilter(Message):
    """`cfilter`: the encoded filter of one block."""

    COMMAND: ClassVar[str] = "cfilter"

    filter_type: FilterType | int
    block_hash: BlockHash
    filter: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_type", _check_type(self.filter_type))
        object.__setattr__(self, "block_hash", _block_hash("block_hash", self.block_hash))
        object.__setattr__(self, "filter", bytes(self.filter))

    def serialize(self) -> bytes:
        return bytes((self.filter_type,)) + self.block_hash + ser_var_bytes(self.filter)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        ftype = r.u8()
        block_hash = BlockHash(r.read(32))
        return cls(ftype, block_hash, r.var_bytes(limit=MAX_PROTOCOL_MESSAGE_LENGTH))


@dataclass(frozen=True, slots=True, repr=False)
class MsgCFHeaders(Message):
    """`cfheaders`: the filter header before the range and the filter hashes of the range's blocks."""

    COMMAND: ClassVar[str] = "cfheaders"

    filter_type: FilterType | int
    stop_hash: BlockHash
    prev_header: FilterHeader
    filter_hashes: tuple[FilterHash, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_type", _check_type(self.filter_type))
        object.__setattr__(self, "stop_hash", _block_hash("stop_hash", self.stop_hash))
        check_hash("prev_header", self.prev_header)
        object.__setattr__(self, "prev_header", FilterHeader(self.prev_header))
        check_count("cfheaders", len(self.filter_hashes), MAX_GETCFHEADERS_SIZE)
        for h in self.filter_hashes:
            check_hash("filter hash", h)
        object.__setattr__(self, "filter_hashes", tuple(FilterHash(h) for h in self.filter_hashes))

    def serialize(self) -> bytes:
        head = bytes((self.filter_type,)) + self.stop_hash + self.prev_header
        return head + ser_hashes(self.filter_hashes)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        ftype = r.u8()
        stop_hash = BlockHash(r.read(32))
        prev_header = FilterHeader(r.read(32))
        hashes = read_hashes(r, FilterHash, MAX_GETCFHEADERS_SIZE, "cfheaders")
        return cls(ftype, stop_hash, prev_header, hashes)


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetCFCheckpt(Message):
    """`getcfcheckpt`: asks for every 1000th filter header up to stop_hash."""

    COMMAND: ClassVar[str] = "getcfcheckpt"

    filter_type: FilterType | int = FilterType.BASIC
    stop_hash: BlockHash = field(default_factory=BlockHash)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_type", _check_type(self.filter_type))
        object.__setattr__(self, "stop_hash", _block_hash("stop_hash", self.stop_hash))

    def serialize(self) -> bytes:
        return bytes((self.filter_type,)) + self.stop_hash

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(r.u8(), BlockHash(r.read(32)))


@dataclass(frozen=True, slots=True, repr=False)
class MsgCFCheckpt(Message):
    """`cfcheckpt`: the filter headers at heights 1000, 2000, ... up to stop_hash."""

    COMMAND: ClassVar[str] = "cfcheckpt"

    filter_type: FilterType | int
    stop_hash: BlockHash
    headers: tuple[FilterHeader, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_type", _check_type(self.filter_type))
        object.__setattr__(self, "stop_hash", _block_hash("stop_hash", self.stop_hash))
        check_count("cfcheckpt", len(self.headers), MAX_CFCHECKPT_SIZE)
        for h in self.headers:
            check_hash("filter header", h)
        object.__setattr__(self, "headers", tuple(FilterHeader(h) for h in self.headers))

    def serialize(self) -> bytes:
        return bytes((self.filter_type,)) + self.stop_hash + ser_hashes(self.headers)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        ftype = r.u8()
        stop_hash = BlockHash(r.read(32))
        return cls(ftype, stop_hash, read_hashes(r, FilterHeader, MAX_CFCHECKPT_SIZE, "cfcheckpt"))
