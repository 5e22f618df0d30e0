"""Proof-of-work rules: Core's pow.cpp (GetNextWorkRequired, CalculateNextWorkRequired,
PermittedDifficultyTransition, CheckProofOfWork) including testnet's min-difficulty rule and BIP94.

Targets are plain Python ints, so arith_uint256 arithmetic is exact here; GetCompact/SetCompact come
from core.consensus.block (target_to_bits / bits_to_target).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from core.consensus.block import bits_to_target, target_to_bits

if TYPE_CHECKING:
    from core.chain.entry import HeaderEntry
    from core.chain.params import ChainParams


def derive_target(bits: int, pow_limit: int) -> int | None:
    """Core's DeriveTarget: the target `bits` encodes, or None if negative, zero, overflowing or above the limit."""
    target, negative, overflow = bits_to_target(bits)
    if negative or overflow or target == 0 or target > pow_limit:
        return None
    return target


@lru_cache(maxsize=4096)
def _cached_target(bits: int, pow_limit: int) -> int | None:
    # Few distinct bits values occur in a chain: caching SetCompact keeps the per-header check cheap.
    return derive_target(bits, pow_limit)


def check_proof_of_work(block_hash: bytes, bits: int, params: ChainParams) -> bool:
    """Core's CheckProofOfWork: `bits` in range for the network and the hash (internal byte order) at or below it."""
    target = _cached_target(bits, params.pow_limit)
    return target is not None and int.from_bytes(block_hash, "little") <= target


def calculate_next_work_required(last: HeaderEntry, first_block_time: int, params: ChainParams) -> int:
    """Core's CalculateNextWorkRequired: retarget from the period's timespan, clamped to x4 / /4 and capped
    at pow_limit. With BIP94 the base is the bits of the period's *first* block, which the min-difficulty
    exception can never touch."""
    if params.pow_no_retargeting:
        return last.header.bits
    timespan = params.pow_target_timespan
    actual = last.header.time - first_block_time
    if actual < timespan // 4:
        actual = timespan // 4
    if actual > timespan * 4:
        actual = timespan * 4
    if params.enforce_bip94:
        first = last.ancestor(last.height - (params.difficulty_adjustment_interval - 1))
        base_bits = first.header.bits  # type: ignore[union-attr]
    else:
        base_bits = last.header.bits
    new = bits_to_target(base_bits)[0] * actual // timespan
    if new > params.pow_limit:
        new = params.pow_limit
    return target_to_bits(new)


def get_next_work_required(last: HeaderEntry, block_time: int, params: ChainParams) -> int:
    """Core's GetNextWorkRequired: the bits a block with time `block_time` on top of `last` must have."""
    interval = params.difficulty_adjustment_interval
    if (last.height + 1) % interval != 0:
        if params.pow_allow_min_difficulty_blocks:
            # Testnet: a block more than 20 minutes after its parent MUST be min-difficulty; otherwise it
            # carries the bits of the last block that was not (entry.pow_bits caches that walk-back).
            if block_time > last.header.time + params.pow_target_spacing * 2:
                return params.pow_limit_bits
            return last.pow_bits
        return last.header.bits
    first = last.ancestor(last.height - (interval - 1))
    return calculate_next_work_required(last, first.header.time, params)  # type: ignore[union-attr]


def min_difficulty_walk_bits(entry: HeaderEntry, params: ChainParams) -> int:
    """Core's walk-back ("the last non-special-min-difficulty-rules block"), done step by step; used to
    fill `HeaderEntry.pow_bits` and by tests to check that cache."""
    walk = entry
    interval = params.difficulty_adjustment_interval
    while walk.prev is not None and walk.height % interval != 0 and walk.header.bits == params.pow_limit_bits:
        walk = walk.prev
    return walk.header.bits


def pow_bits_for(entry: HeaderEntry, params: ChainParams) -> int:
    """The `pow_bits` of a new entry in O(1) from its parent's."""
    bits = entry.header.bits
    prev = entry.prev
    if prev is None or entry.height % params.difficulty_adjustment_interval == 0 or bits != params.pow_limit_bits:
        return bits
    return prev.pow_bits


def permitted_difficulty_transition(params: ChainParams, height: int, old_bits: int, new_bits: int) -> bool:
    """Core's PermittedDifficultyTransition: could `new_bits` at `height` follow `old_bits` at all?
    Used on headers whose ancestors we do not keep (presync)."""
    if params.pow_allow_min_difficulty_blocks:
        return True
    if height % params.difficulty_adjustment_interval == 0:
        timespan = params.pow_target_timespan
        observed = bits_to_target(new_bits)[0]
        old = bits_to_target(old_bits)[0]
        largest = min(old * (timespan * 4) // timespan, params.pow_limit)
        # Round through the compact form, as the real retarget's result is.
        if bits_to_target(target_to_bits(largest))[0] < observed:
            return False
        smallest = min(old * (timespan // 4) // timespan, params.pow_limit)
        if bits_to_target(target_to_bits(smallest))[0] > observed:
            return False
    elif old_bits != new_bits:
        return False
    return True
