"""Proof-of-work rules: Core's src/test/pow_tests.cpp numbers, min-difficulty (testnet) and BIP94."""

import pytest

from core.chain.entry import HeaderEntry
from core.chain.generate import entry_chain
from core.chain.params import params_for
from core.chain.pow import (
    calculate_next_work_required,
    check_proof_of_work,
    derive_target,
    get_next_work_required,
    min_difficulty_walk_bits,
    permitted_difficulty_transition,
)
from core.consensus.block import BlockHeader, bits_to_target, target_to_bits
from core.consensus.hashes import BlockHash

MAIN = params_for("main")
TESTNET3 = params_for("test")
TESTNET4 = params_for("testnet4")
REGTEST = params_for("regtest")
LIMIT_BITS = 0x1D00FFFF


def lone_entry(height: int, time: int, bits: int) -> HeaderEntry:
    """Core's tests use a bare CBlockIndex: height, time and bits, no ancestors."""
    return HeaderEntry(BlockHeader(4, BlockHash(), bytes(32), time, bits, 0), BlockHash(), height, 0)


# (name, last retarget time, last height, last time, last bits, expected bits, invalid neighbour or None)
CORE_VECTORS = [
    ("get_next_work", 1261130161, 32255, 1262152739, 0x1D00FFFF, 0x1D00D86A, None),
    ("get_next_work_pow_limit", 1231006505, 2015, 1233061996, 0x1D00FFFF, 0x1D00FFFF, None),
    ("get_next_work_lower_limit_actual", 1279008237, 68543, 1279297671, 0x1C05A3F4, 0x1C0168FD, 0x1C0168FC),
    ("get_next_work_upper_limit_actual", 1263163443, 46367, 1269211443, 0x1C387F6F, 0x1D00E1FD, 0x1D00E1FE),
]


@pytest.mark.parametrize(("first_time", "height", "time", "bits", "expected", "invalid"), [v[1:] for v in CORE_VECTORS], ids=[v[0] for v in CORE_VECTORS])
def test_core_calculate_next_work_required(first_time: int, height: int, time: int, bits: int, expected: int, invalid: int | None) -> None:
    last = lone_entry(height, time, bits)
    assert calculate_next_work_required(last, first_time, MAIN) == expected
    assert permitted_difficulty_transition(MAIN, height + 1, bits, expected)
    if invalid is not None:
        # One step further than the x4 / /4 clamp allows is not a permitted transition.
        assert not permitted_difficulty_transition(MAIN, height + 1, bits, invalid)


@pytest.mark.parametrize(("first_time", "height", "time", "bits", "expected", "invalid"), [v[1:] for v in CORE_VECTORS], ids=[v[0] for v in CORE_VECTORS])
def test_core_vectors_through_get_next_work_required(first_time: int, height: int, time: int, bits: int, expected: int, invalid: int | None) -> None:
    # The same numbers, reached through a real 2016-entry period and the skip-pointer ancestor lookup.
    times = [first_time + i for i in range(2015)] + [time]
    chain = entry_chain(MAIN, times, [bits] * 2016)
    assert get_next_work_required(chain[-1], time + 600, MAIN) == expected


def test_permitted_transition_outside_retarget() -> None:
    assert permitted_difficulty_transition(MAIN, 1000, 0x1C05A3F4, 0x1C05A3F4)
    assert not permitted_difficulty_transition(MAIN, 1000, 0x1C05A3F4, 0x1C05A3F5)
    # Min-difficulty networks can change bits on any block.
    assert permitted_difficulty_transition(TESTNET3, 1000, 0x1C05A3F4, LIMIT_BITS)


def test_check_proof_of_work_core_cases() -> None:
    one = (1).to_bytes(32, "little")
    # CheckProofOfWork_test_negative_target: powLimit.GetCompact(true)
    assert not check_proof_of_work(one, LIMIT_BITS | 0x00800000, MAIN)
    # CheckProofOfWork_test_overflow_target
    assert not check_proof_of_work(one, ~0x00800000 & 0xFFFFFFFF, MAIN)
    # CheckProofOfWork_test_too_easy_target
    assert not check_proof_of_work(one, target_to_bits(MAIN.pow_limit * 2), MAIN)
    # CheckProofOfWork_test_biger_hash_than_target
    assert not check_proof_of_work((MAIN.pow_limit * 2).to_bytes(32, "little"), target_to_bits(MAIN.pow_limit), MAIN)
    # CheckProofOfWork_test_zero_target
    assert not check_proof_of_work(bytes(32), target_to_bits(0), MAIN)
    # ...and the positive cases: the genesis blocks meet their own bits.
    for name in ("main", "testnet4", "signet", "regtest"):
        p = params_for(name)
        assert check_proof_of_work(p.genesis_hash, p.genesis.header.bits, p)
    assert derive_target(LIMIT_BITS, MAIN.pow_limit) == 0xFFFF << 208


# --- testnet min-difficulty rule -----------------------------------------------------------------
REAL_A, REAL_B = 0x1C0FFFFF, 0x1C0FFFF0


def _min_difficulty_chain(params):
    # heights 0..2015 at REAL_A; 2016 (period start) REAL_B; 2017-2020 min; 2021 REAL_B; 2022-2023 min
    bits = [REAL_A] * 2016 + [REAL_B] + [LIMIT_BITS] * 4 + [REAL_B] + [LIMIT_BITS] * 2
    times = [1_700_000_000 + 600 * i for i in range(len(bits))]
    return entry_chain(params, times, bits)


def test_min_difficulty_after_twenty_minutes() -> None:
    chain = _min_difficulty_chain(TESTNET3)
    last = chain[-1]
    assert get_next_work_required(last, last.time + 1201, TESTNET3) == LIMIT_BITS
    # Exactly 20 minutes is not "more than": the last real difficulty applies.
    assert get_next_work_required(last, last.time + 1200, TESTNET3) == REAL_B


def test_min_difficulty_walk_back_skips_min_blocks() -> None:
    chain = _min_difficulty_chain(TESTNET3)
    assert get_next_work_required(chain[2020], chain[2020].time + 60, TESTNET3) == REAL_B
    assert get_next_work_required(chain[2015], chain[2015].time + 60, TESTNET3) != 0  # retarget height
    for e in chain:
        # The O(1) cache equals Core's step-by-step walk everywhere.
        assert e.pow_bits == min_difficulty_walk_bits(e, TESTNET3)


def test_min_difficulty_walk_back_stops_at_period_start() -> None:
    bits = [REAL_A] * 2016 + [LIMIT_BITS] * 5  # the period's first block itself is at the limit
    chain = entry_chain(TESTNET3, [1_700_000_000 + 600 * i for i in range(len(bits))], bits)
    assert get_next_work_required(chain[-1], chain[-1].time + 1, TESTNET3) == LIMIT_BITS
    assert min_difficulty_walk_bits(chain[-1], TESTNET3) == LIMIT_BITS


def test_no_min_difficulty_on_mainnet() -> None:
    chain = _min_difficulty_chain(MAIN)
    last = chain[2018]
    assert get_next_work_required(last, last.time + 100_000, MAIN) == last.bits


# --- BIP94 -----------------------------------------------------------------------------------
def _bip94_chain(params, spacing: int = 600):
    # Period 2016..4031: first block at REAL_A, every later one at min difficulty (a "block storm").
    bits = [REAL_A] * 2017 + [LIMIT_BITS] * 2015
    times = [1_714_777_860 + spacing * i for i in range(len(bits))]
    return entry_chain(params, times, bits)


def test_bip94_retarget_uses_first_block_bits() -> None:
    chain = _bip94_chain(TESTNET4)
    last = chain[-1]
    actual = last.time - chain[2016].time  # 2015 * 600, inside the clamp
    expected = target_to_bits(bits_to_target(REAL_A)[0] * actual // TESTNET4.pow_target_timespan)
    assert get_next_work_required(last, last.time + 600, TESTNET4) == expected == 0x1C0FFDF6
    # Without BIP94 (testnet3) the min-difficulty last block leaks into the new target.
    # testnet3 (no BIP94) retargets from the last block's min-difficulty bits: almost the pow limit.
    leaked = target_to_bits(bits_to_target(LIMIT_BITS)[0] * actual // TESTNET3.pow_target_timespan)
    assert get_next_work_required(_bip94_chain(TESTNET3)[-1], last.time + 600, TESTNET3) == leaked == 0x1D00FFDE


def test_bip94_retarget_clamps_timespan() -> None:
    chain = _bip94_chain(TESTNET4, spacing=1)  # far too fast: clamped to a quarter of two weeks
    expected = target_to_bits(bits_to_target(REAL_A)[0] // 4)
    assert get_next_work_required(chain[-1], chain[-1].time + 1, TESTNET4) == expected


def test_regtest_never_retargets() -> None:
    chain = entry_chain(REGTEST, [1_296_688_602 + i for i in range(144)], [0x207FFFFF] * 144)
    assert (chain[-1].height + 1) % REGTEST.difficulty_adjustment_interval == 0
    assert get_next_work_required(chain[-1], chain[-1].time + 1, REGTEST) == 0x207FFFFF
    assert calculate_next_work_required(chain[-1], chain[0].time - 10**6, REGTEST) == 0x207FFFFF
