"""BIP158 basic block filters: their elements, encoding, filter hashes and the filter-header chain.

A basic filter holds every output script of the block except empty ones and those starting with
OP_RETURN, plus every script the block's inputs spend (the coinbase spends none; empty spent
scripts are skipped too), as a set. Headers chain as `sha256d(filter_hash || prev_header)` from
an all-zero header before genesis, so a peer's filter can be checked against a header chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from core.consensus.block import Block
from core.consensus.hashes import BlockHash, Hash256, sha256d
from core.filters.gcs import (
    BASIC_FILTER_M,
    BASIC_FILTER_P,
    ElementSet,
    GCSParams,
    build_filter,
    decode_filter,
)
from core.filters.gcs import match_any as gcs_match_any
from core.filters.gcs import match_set as gcs_match_set

OP_RETURN = 0x6A


class FilterType(IntEnum):
    """BIP158 filter types (Core's BlockFilterType)."""

    BASIC = 0


class FilterHash(Hash256):
    """sha256d of an encoded filter; displayed reversed like other Core hashes."""

    __slots__ = ()


class FilterHeader(Hash256):
    """A link of the BIP157 filter-header chain; displayed reversed."""

    __slots__ = ()


ZERO_FILTER_HEADER = FilterHeader()  # the "previous header" of the genesis block's filter


def basic_filter_elements(block: Block, spent_scripts: Iterable[bytes]) -> set[bytes]:
    """Core's BasicFilterElements: non-empty, non-OP_RETURN output scripts and non-empty spent scripts."""
    elements: set[bytes] = set()
    for tx in block.txs:
        for out in tx.vout:
            spk = out.script_pubkey
            if spk and spk[0] != OP_RETURN:
                elements.add(bytes(spk))
    elements.update(bytes(s) for s in spent_scripts if s)
    return elements


def compute_filter_header(filter_hash: bytes, prev_header: bytes) -> FilterHeader:
    """BIP157 header: sha256d(filter_hash || previous filter header)."""
    return FilterHeader(sha256d(bytes(filter_hash) + bytes(prev_header)))


@dataclass(frozen=True, slots=True)
class BlockFilter:
    """An encoded filter of one block (Core's BlockFilter), keyed by that block's hash."""

    filter_type: FilterType
    block_hash: BlockHash
    encoded: bytes

    @classmethod
    def build_basic(cls, block: Block, spent_scripts: Iterable[bytes]) -> BlockFilter:
        """The basic filter of `block`, given the scripts of the outputs its inputs spend."""
        block_hash = block.hash
        elements = basic_filter_elements(block, spent_scripts)
        return cls(
            FilterType.BASIC, block_hash, build_filter(elements, GCSParams.from_block_hash(block_hash))
        )

    @property
    def params(self) -> GCSParams:
        return GCSParams.from_block_hash(self.block_hash, BASIC_FILTER_P, BASIC_FILTER_M)

    @property
    def filter_hash(self) -> FilterHash:
        return FilterHash(sha256d(self.encoded))

    def compute_header(self, prev_header: bytes) -> FilterHeader:
        """This filter's header, chained onto the previous block's filter header."""
        return compute_filter_header(self.filter_hash, prev_header)

    def decode(self) -> list[int]:
        """The sorted hashed values; raises FilterDecodeError if the encoding is malformed."""
        return decode_filter(self.encoded, self.params.p)

    def match_any(self, scripts: Sequence[bytes] | ElementSet) -> bool:
        """True if any of `scripts` (probably) appears in the block."""
        prm = self.params
        return gcs_match_any(self.encoded, prm.key, scripts, p=prm.p, m=prm.m)

    def match_set(self, scripts: Sequence[bytes] | ElementSet) -> set[int]:
        """Indexes of the `scripts` that (probably) appear in the block."""
        prm = self.params
        return gcs_match_set(self.encoded, prm.key, scripts, p=prm.p, m=prm.m)
