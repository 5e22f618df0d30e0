"""Checks of untrusted filter-sync data against what we know: a block against its header (merkle root,
witness commitment), a filter against a block (BIP158: every output script is in it), and the
filter-header chain a list of filter hashes builds. Pure functions: they run on the worker thread."""

from __future__ import annotations

from collections.abc import Sequence

from core.consensus.block import WITNESS_COMMITMENT_HEADER, Block
from core.consensus.hashes import sha256d
from core.filters.basic import OP_RETURN, BlockFilter, FilterHeader, FilterType, compute_filter_header
from core.filters.errors import FilterError

__all__ = ["WITNESS_COMMITMENT_HEADER", "block_problem", "chain_filter_headers", "filter_consistent"]


def block_problem(block: Block, expected_hash: bytes) -> str:
    """Why `block` is not the block with `expected_hash` and its committed contents ("" if it is)."""
    if block.hash != expected_hash:
        return "unrequested block"
    if not block.txs:
        return "bad-blk-length"
    root, mutated = block.computed_merkle_root
    if root != block.header.merkle_root:
        return "bad-txnmrklroot"
    if mutated:
        return "bad-txns-duplicate"
    idx = block.witness_commitment_index()
    if idx is not None:
        witness = block.txs[0].vin[0].witness if block.txs[0].vin else ()
        if len(witness) != 1 or len(witness[0]) != 32:
            return "bad-witness-nonce-size"
        commitment = sha256d(block.witness_merkle_root() + witness[0])
        if block.txs[0].vout[idx].script_pubkey[6:38] != commitment:
            return "bad-witness-merkle-match"
    elif any(inp.witness for tx in block.txs for inp in tx.vin):
        return "unexpected-witness"
    return ""


def output_scripts(block: Block) -> list[bytes]:
    """The block's output scripts a BIP158 basic filter must contain (non-empty, not OP_RETURN)."""
    scripts = {bytes(o.script_pubkey) for tx in block.txs for o in tx.vout}
    return [s for s in scripts if s and s[0] != OP_RETURN]


def filter_consistent(block: Block, encoded: bytes) -> bool:
    """Does the encoded basic filter contain every output script of `block`? (Spent scripts cannot be
    checked without the previous outputs; a filter missing an output script is certainly wrong.)"""
    scripts = output_scripts(block)
    if not scripts:
        return True
    try:
        return len(BlockFilter(FilterType.BASIC, block.hash, encoded).match_set(scripts)) == len(scripts)
    except FilterError:
        return False


def chain_filter_headers(prev: bytes, filter_hashes: Sequence[bytes]) -> list[FilterHeader]:
    """The filter headers that `filter_hashes` build on top of `prev`."""
    out = []
    for fh in filter_hashes:
        prev = compute_filter_header(fh, prev)
        out.append(prev)
    return out
