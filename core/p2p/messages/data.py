"""Chain data: `getheaders` / `getblocks` (block locators), `headers`, `block` and `tx`."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from core.consensus.block import HEADER_SIZE, Block, BlockHeader
from core.consensus.hashes import BlockHash
from core.consensus.serialize import ByteReader, ser_compact_size
from core.consensus.tx import Transaction
from core.p2p.errors import MessageError
from core.p2p.messages.base import Message, check_count, check_hash, pack, read_count, read_hashes, ser_hashes
from core.p2p.messages.constants import MAX_HEADERS_RESULTS, MAX_LOCATOR_SZ, PROTOCOL_VERSION

_I32 = struct.Struct("<i")


@dataclass(frozen=True, slots=True, repr=False)
class _LocatorMessage(Message):
    """getheaders/getblocks: a version (ignored by Core), a block locator and a stop hash (zero = no stop)."""

    version: int = PROTOCOL_VERSION
    locator: tuple[BlockHash, ...] = ()
    hash_stop: BlockHash = field(default_factory=BlockHash)

    def __post_init__(self) -> None:
        check_count(f"{self.COMMAND} locator", len(self.locator), MAX_LOCATOR_SZ)
        for h in self.locator:
            check_hash("locator hash", h)
        check_hash("hash_stop", self.hash_stop)
        object.__setattr__(self, "locator", tuple(BlockHash(h) for h in self.locator))
        object.__setattr__(self, "hash_stop", BlockHash(self.hash_stop))

    def serialize(self) -> bytes:
        return pack(_I32, self.version) + ser_hashes(self.locator) + self.hash_stop

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        version = r.i32()
        locator = read_hashes(r, BlockHash, MAX_LOCATOR_SZ, f"{cls.COMMAND} locator")
        return cls(version, locator, BlockHash(r.read(32)))


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetHeaders(_LocatorMessage):
    """`getheaders`: asks for up to MAX_HEADERS_RESULTS headers after the first locator hash the peer knows."""

    COMMAND: ClassVar[str] = "getheaders"


@dataclass(frozen=True, slots=True, repr=False)
class MsgGetBlocks(_LocatorMessage):
    """`getblocks`: asks for an `inv` of up to 500 blocks after the first locator hash the peer knows."""

    COMMAND: ClassVar[str] = "getblocks"


@dataclass(frozen=True, slots=True, repr=False)
class MsgHeaders(Message):
    """`headers`: up to MAX_HEADERS_RESULTS block headers, each followed by a transaction count of 0."""

    COMMAND: ClassVar[str] = "headers"

    headers: tuple[BlockHeader, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple(self.headers))
        check_count("headers", len(self.headers), MAX_HEADERS_RESULTS)

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.headers)) + b"".join(h.serialize() + b"\x00" for h in self.headers)

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        n = read_count(r, MAX_HEADERS_RESULTS, HEADER_SIZE + 1, "headers")
        headers = []
        for i in range(n):
            headers.append(BlockHeader.read(r))
            # Core skips this count without looking; a non-zero one means the peer sent something else
            # (a block body was expected here), so we refuse rather than guess.
            tx_count = r.compact_size()
            if tx_count != 0:
                raise MessageError(f"header {i} has transaction count {tx_count}, must be 0")
        return cls(tuple(headers))


@dataclass(frozen=True, slots=True, repr=False)
class MsgBlock(Message):
    """`block`: a full block, witness data included when it was requested with MSG_WITNESS_BLOCK."""

    COMMAND: ClassVar[str] = "block"

    block: Block

    def serialize(self) -> bytes:
        return self.block.serialize()

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(Block.read(r))


@dataclass(frozen=True, slots=True, repr=False)
class MsgTx(Message):
    """`tx`: one transaction (BIP144 witness serialization when it has witness data)."""

    COMMAND: ClassVar[str] = "tx"

    tx: Transaction

    def serialize(self) -> bytes:
        return self.tx.serialize()

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls(Transaction.read(r))
