"""Block headers and blocks: serialization, proof of work, merkle roots and the witness commitment."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property

from core.consensus.errors import DecodeError
from core.consensus.hashes import BlockHash, sha256d
from core.consensus.serialize import ByteReader, ser_compact_size
from core.consensus.tx import Transaction

HEADER_SIZE = 80
MAX_BLOCK_SERIALIZED_SIZE = 4_000_000
_HEADER = struct.Struct("<i32s32sIII")
_MIN_TX_SIZE = 60  # smallest serialized transaction (1 input, 1 output, empty scripts)

# BIP141 witness commitment: OP_RETURN PUSH36 aa21a9ed <32-byte commitment>
WITNESS_COMMITMENT_HEADER = bytes.fromhex("6a24aa21a9ed")


def bits_to_target(bits: int) -> tuple[int, bool, bool]:
    """Core's arith_uint256::SetCompact: returns (target, negative, overflow)."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        target = word >> (8 * (3 - size))
    else:
        target = word << (8 * (size - 3))
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return target, negative, overflow


def target_to_bits(target: int) -> int:
    """Core's arith_uint256::GetCompact (never sets the sign bit)."""
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    return compact | (size << 24)


def block_proof(bits: int) -> int:
    """Expected number of hashes for a block at `bits` (Core's GetBlockProof)."""
    target, negative, overflow = bits_to_target(bits)
    if negative or overflow or target == 0:
        return 0
    return (1 << 256) // (target + 1)


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """An 80-byte block header."""

    version: int
    prev_block: BlockHash
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return _HEADER.pack(self.version, self.prev_block, self.merkle_root, self.time, self.bits, self.nonce)

    @classmethod
    def read(cls, r: ByteReader) -> BlockHeader:
        return cls.parse(r.read(HEADER_SIZE))

    @classmethod
    def parse(cls, data: bytes) -> BlockHeader:
        if len(data) != HEADER_SIZE:
            raise DecodeError(f"block header must be 80 bytes, got {len(data)}")
        v, prev, root, t, bits, nonce = _HEADER.unpack(data)
        return cls(v, BlockHash(prev), root, t, bits, nonce)

    @property
    def hash(self) -> BlockHash:
        return BlockHash(sha256d(self.serialize()))

    def check_proof_of_work(self, pow_limit: int) -> bool:
        """Core's CheckProofOfWork: target in range and hash at or below it."""
        target, negative, overflow = bits_to_target(self.bits)
        if negative or overflow or target == 0 or target > pow_limit:
            return False
        return int.from_bytes(self.hash, "little") <= target


def merkle_root(hashes: list[bytes]) -> tuple[bytes, bool]:
    """Core's ComputeMerkleRoot: returns (root, mutated) where mutated flags CVE-2012-2459."""
    if not hashes:
        return bytes(32), False
    level = list(hashes)
    mutated = False
    while len(level) > 1:
        for i in range(0, len(level) - 1, 2):
            if level[i] == level[i + 1]:
                mutated = True
        if len(level) & 1:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0], mutated


@dataclass(frozen=True)
class Block:
    """A block: header and transactions."""

    header: BlockHeader
    txs: tuple[Transaction, ...] = field(default=())

    def serialize(self, with_witness: bool = True) -> bytes:
        body = (t.serialize() if with_witness else t.serialize_legacy() for t in self.txs)
        return self.header.serialize() + ser_compact_size(len(self.txs)) + b"".join(body)

    @classmethod
    def read(cls, r: ByteReader) -> Block:
        header = BlockHeader.read(r)
        n = r.count(_MIN_TX_SIZE)
        return cls(header, tuple(Transaction.read(r) for _ in range(n)))

    @classmethod
    def parse(cls, data: bytes) -> Block:
        if len(data) > MAX_BLOCK_SERIALIZED_SIZE:
            raise DecodeError(f"block of {len(data)} bytes exceeds {MAX_BLOCK_SERIALIZED_SIZE}")
        r = ByteReader(data)
        block = cls.read(r)
        r.expect_end("block")
        return block

    @property
    def hash(self) -> BlockHash:
        return self.header.hash

    @cached_property
    def computed_merkle_root(self) -> tuple[bytes, bool]:
        return merkle_root([t.txid for t in self.txs])

    def witness_merkle_root(self) -> bytes:
        """BIP141 witness root: the coinbase's wtxid counts as zero."""
        leaves = [bytes(32)] + [t.wtxid for t in self.txs[1:]]
        return merkle_root(leaves)[0]

    def witness_commitment_index(self) -> int | None:
        """Index of the coinbase output carrying the witness commitment (the last match), if any."""
        if not self.txs:
            return None
        found = None
        for i, out in enumerate(self.txs[0].vout):
            spk = out.script_pubkey
            if len(spk) >= 38 and spk[:6] == WITNESS_COMMITMENT_HEADER:
                found = i
        return found

    @property
    def weight(self) -> int:
        return len(self.serialize(False)) * 3 + len(self.serialize(True))
