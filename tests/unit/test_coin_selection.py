"""Coin selection, in the manner of Bitcoin Core's coinselector_tests.cpp, plus property tests."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint
from core.mempool.feerate import FeeRate
from core.wallet.coin_selection import (
    Candidate,
    CoinSelectionParams,
    Recipient,
    SelectionAlgorithm,
    SelectionResult,
    _better,
    select_coins,
    send_max,
)
from core.wallet.coin_selection_algos import (
    CHANGE_LOWER,
    CHANGE_UPPER,
    TOTAL_TRIES,
    Pooled,
    generate_change_target,
    select_coins_bnb,
    select_coins_largest_first,
    select_coins_srd,
)
from core.wallet.errors import CoinSelectionError, InsufficientFunds, WalletError

CENT = 1_000_000
SPK = b"\x00\x14" + bytes(20)  # P2WPKH recipient
P2WPKH_WEIGHT = 272
_counter = iter(range(10**9))


def coin(value: int, depth: int = 6, frozen: bool = False, own_change: bool = False, weight: int = P2WPKH_WEIGHT):
    n = next(_counter)
    return Candidate(OutPoint(Txid(n.to_bytes(32, "little")), 0), value, weight, depth, frozen, own_change)


def pooled(values, fee: int = 0, long_term_fee: int = 0, weight: int = P2WPKH_WEIGHT) -> list[Pooled]:
    return [Pooled(coin(v + fee), fee, long_term_fee, v, weight) for v in values]


def amounts(outcome) -> list[int]:
    return sorted(p.selection_amount for p in outcome.selected)


def check_invariants(r: SelectionResult, params: CoinSelectionParams) -> None:
    """inputs - outputs - change == fee >= fee_rate x vsize; each coin once; no frozen coin; no dust change."""
    assert r.input_total - sum(r.outputs) - r.change == r.fee
    assert r.fee >= params.fee_rate.fee(r.vsize)
    assert len({c.outpoint for c in r.inputs}) == len(r.inputs)
    assert not any(c.frozen for c in r.inputs)
    assert r.change == 0 or r.change >= params.min_viable_change


# --- Branch and Bound ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expect"),
    [(1 * CENT, [1 * CENT]), (2 * CENT, [2 * CENT]), (10 * CENT, [1 * CENT, 2 * CENT, 3 * CENT, 4 * CENT])],
    ids=["one-cent", "two-cents", "all-coins"],
)
def test_bnb_exact_match(target, expect):
    out = select_coins_bnb(pooled([1 * CENT, 2 * CENT, 3 * CENT, 4 * CENT]), target, 0, 10**9)
    assert amounts(out) == expect
    assert out.completed


@pytest.mark.parametrize("target", [5 * CENT, 6 * CENT, 7 * CENT, 9 * CENT])
def test_bnb_finds_exact_sums(target):
    out = select_coins_bnb(pooled([1 * CENT, 2 * CENT, 3 * CENT, 4 * CENT]), target, 0, 10**9)
    assert sum(amounts(out)) == target


def test_bnb_uses_cost_of_change_window():
    pool = pooled([4 * CENT, 3 * CENT])
    assert select_coins_bnb(pool, 3 * CENT - 10, 5, 10**9).selected is None
    out = select_coins_bnb(pool, 3 * CENT - 10, 10, 10**9)
    assert amounts(out) == [3 * CENT]


def test_bnb_fails_when_impossible():
    pool = pooled([1 * CENT, 2 * CENT, 3 * CENT, 4 * CENT])
    assert select_coins_bnb(pool, 11 * CENT, 0, 10**9).selected is None  # more than everything
    assert select_coins_bnb(pool, CENT // 2, CENT // 4, 10**9).selected is None  # every coin overshoots
    assert select_coins_bnb([], 1, 0, 10**9).selected is None


def test_bnb_respects_max_weight():
    pool = pooled([1 * CENT, 2 * CENT, 3 * CENT])
    out = select_coins_bnb(pool, 6 * CENT, 0, 2 * P2WPKH_WEIGHT)
    assert out.selected is None and out.weight_exceeded
    out = select_coins_bnb(pool, 3 * CENT, 0, P2WPKH_WEIGHT)
    assert amounts(out) == [3 * CENT]


def _hard_case(n: int) -> tuple[list[Pooled], int]:
    """Core's make_hard_case: pairs of coins whose only exact sum needs a deep search."""
    values, target = [], 0
    for i in range(n):
        target += 1 << (n + i)
        values += [1 << (n + i), (1 << (n + i)) + (1 << (n - 1 - i))]
    return pooled(values), target


def test_bnb_stops_at_max_tries():
    pool, target = _hard_case(17)
    out = select_coins_bnb(pool, target, 1, 10**9)
    assert out.tries == TOTAL_TRIES and not out.completed
    pool, target = _hard_case(14)
    out = select_coins_bnb(pool, target, 1, 10**9)
    assert out.completed and out.tries < TOTAL_TRIES
    assert sum(amounts(out)) == target
    assert select_coins_bnb(pool, target, 1, 10**9, total_tries=50).tries == 50


def test_bnb_prefers_less_waste_by_fee_rate():
    # {4} and {2, 2'} and {3, 1} all hit 4 CENT exactly: input count decides the waste
    values = [4 * CENT, 3 * CENT, 2 * CENT, 2 * CENT, 1 * CENT]
    high = select_coins_bnb(pooled(values, fee=200, long_term_fee=100), 4 * CENT, 0, 10**9)
    assert amounts(high) == [4 * CENT]  # fees now above long-term: fewest inputs
    low = select_coins_bnb(pooled(values, fee=100, long_term_fee=200), 4 * CENT, 0, 10**9)
    assert len(low.selected) == 2  # fees now below long-term: consolidate


def test_bnb_skips_clones_but_still_uses_them():
    pool = pooled([5 * CENT] * 10)
    out = select_coins_bnb(pool, 15 * CENT, 0, 10**9)
    assert amounts(out) == [5 * CENT] * 3 and out.completed
    assert out.tries < 50


# --- SRD, largest first, change target ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10 * CENT), min_size=1, max_size=40), st.integers(1, 20 * CENT), st.integers(0, 2**32))
def test_srd_succeeds_whenever_funds_suffice(values, target, seed):
    out = select_coins_srd(pooled(values), target, 100, random.Random(seed), 10**9)
    if sum(values) >= target + CHANGE_LOWER + 100:
        assert out.selected is not None
        assert sum(amounts(out)) >= target + CHANGE_LOWER + 100
    else:
        assert out.selected is None


def test_srd_is_reproducible_with_a_seed():
    pool = pooled([i * 10_000 for i in range(1, 200)])
    a = select_coins_srd(pool, 3 * CENT, 0, random.Random(5), 10**9)
    b = select_coins_srd(pool, 3 * CENT, 0, random.Random(5), 10**9)
    assert a.selected == b.selected


def test_srd_drops_smallest_coins_over_max_weight():
    pool = pooled([10_000] * 50 + [CENT])
    out = select_coins_srd(pool, 500_000, 0, random.Random(1), 3 * P2WPKH_WEIGHT)
    assert out.selected is not None and CENT in amounts(out)
    assert len(out.selected) <= 3


def test_largest_first():
    pool = pooled([1 * CENT, 5 * CENT, 2 * CENT])
    assert amounts(select_coins_largest_first(pool, 4 * CENT, 50_000, 10**9)) == [5 * CENT]
    assert amounts(select_coins_largest_first(pool, 6 * CENT, 50_000, 10**9)) == [2 * CENT, 5 * CENT]
    # target + change target unreachable: the bare target still is
    assert amounts(select_coins_largest_first(pool, 8 * CENT - 10, 50_000, 10**9)) == [1 * CENT, 2 * CENT, 5 * CENT]
    assert select_coins_largest_first(pool, 8 * CENT + 1, 0, 10**9).selected is None


def test_generate_change_target():
    rng = random.Random(3)
    assert generate_change_target(CHANGE_LOWER // 2, 100, rng) == CHANGE_LOWER + 100
    for payment in (30_000, 400_000, 5 * CENT):
        for _ in range(50):
            t = generate_change_target(payment, 100, rng) - 100
            assert CHANGE_LOWER <= t < min(2 * payment, CHANGE_UPPER)


# --- select_coins: waste, change, coin control ------------------------------------------------------

P = CoinSelectionParams(FeeRate.per_vb(10))


def test_result_covers_target_and_fee():
    coins = [coin(v) for v in (30_000, 200_000, 1_000_000, 7_000_000)]
    r = select_coins(coins, [Recipient(500_000, SPK)], P, random.Random(1))
    check_invariants(r, P)
    assert r.outputs == (500_000,)


def test_bnb_changeless_result_when_exact_match_exists():
    # one coin whose effective value pays the recipient and the overhead exactly: BnB, no change
    params = CoinSelectionParams(FeeRate.per_vb(10))
    vsize_no_change = 11 + 31 + 68  # version/locktime/counts + marker (10.5 -> rounded up), output, input
    value = 1_000_000 + params.fee_rate.fee(vsize_no_change)
    coins = [coin(value), coin(3 * CENT), coin(5 * CENT)]
    r = select_coins(coins, [Recipient(1_000_000, SPK)], params, random.Random(2))
    assert r.algorithm is SelectionAlgorithm.BNB and r.change == 0
    assert [c.value for c in r.inputs] == [value]
    check_invariants(r, params)


def test_waste_with_and_without_change():
    params = CoinSelectionParams(FeeRate.per_vb(20), long_term_fee_rate=FeeRate.per_vb(5))
    input_waste = params.fee_rate.fee(68) - params.long_term_fee_rate.fee(68)
    c = coin(5 * CENT)
    with_change = select_coins([], [Recipient(CENT, SPK)], params, random.Random(1), required=[c])
    assert with_change.change > 0
    assert with_change.waste == input_waste + params.cost_of_change
    # below min viable change: no change, the excess is waste
    r = with_change
    amount = CENT + r.change - params.min_viable_change + 1
    no_change = select_coins([], [Recipient(amount, SPK)], params, random.Random(1), required=[c])
    assert no_change.change == 0
    need_plain = params.fee_rate.fee(no_change.vsize)
    assert no_change.waste == input_waste + no_change.fee - need_plain
    # at a fee rate below the long-term rate, inputs lower the waste
    cheap = CoinSelectionParams(FeeRate.per_vb(1), long_term_fee_rate=FeeRate.per_vb(10))
    r = select_coins([], [Recipient(CENT, SPK)], cheap, random.Random(1), required=[c])
    cheap_input_waste = cheap.fee_rate.fee(68) - cheap.long_term_fee_rate.fee(68)
    assert cheap_input_waste < 0
    assert r.change > 0 and r.waste == cheap_input_waste + cheap.cost_of_change


def test_least_waste_wins_ties_to_more_inputs():
    a = SelectionResult((coin(1),), (1,), 0, 0, 4, 10, SelectionAlgorithm.BNB)
    b = SelectionResult((coin(1), coin(1)), (1,), 0, 0, 4, 10, SelectionAlgorithm.SRD)
    c = SelectionResult((coin(1),), (1,), 0, 0, 4, 9, SelectionAlgorithm.SRD)
    assert _better(b, a) and not _better(a, b)
    assert _better(c, b) and _better(a, None)


@pytest.mark.parametrize("delta", [-1, 0, 1], ids=["below-min-change", "at-min-change", "above-min-change"])
def test_change_boundary(delta):
    params = P
    c = coin(CENT)
    probe = select_coins([], [Recipient(500_000, SPK)], params, random.Random(1), required=[c])
    assert probe.change > 0
    # move the recipient so the change would land exactly `delta` sat off the minimum viable change
    amount = 500_000 + probe.change - params.min_viable_change - delta
    r = select_coins([], [Recipient(amount, SPK)], params, random.Random(1), required=[c])
    check_invariants(r, params)
    if delta < 0:
        assert r.change == 0
        assert r.fee == CENT - amount  # the would-be change went to fees
    else:
        assert r.change == params.min_viable_change + delta
        assert r.fee == params.fee_rate.fee(r.vsize)


def test_min_viable_change_is_above_dust_and_spend_fee():
    assert P.min_viable_change == max(P.discard_fee_rate.fee(68) + 1, 294 * 10 // 3)
    assert P.cost_of_change == P.fee_rate.fee(31) + P.discard_fee_rate.fee(68)


def test_required_inputs_always_included():
    big = coin(10 * CENT)
    small = coin(20_000)
    r = select_coins([big], [Recipient(5 * CENT, SPK)], P, random.Random(1), required=[small])
    assert small in r.inputs and big in r.inputs
    check_invariants(r, P)
    # the required coin alone covers it: nothing else is added
    r = select_coins([small], [Recipient(CENT, SPK)], P, random.Random(1), required=[big])
    assert r.inputs == (big,) and r.algorithm is SelectionAlgorithm.MANUAL


def test_required_only_shortfall():
    c = coin(CENT)
    with pytest.raises(InsufficientFunds) as e:
        select_coins([coin(10 * CENT)], [Recipient(CENT, SPK)], P, random.Random(1), required=[c], allow_other_inputs=False)
    assert e.value.shortfall > 0


def test_frozen_never_selected():
    frozen = coin(10 * CENT, frozen=True)
    ok = coin(2 * CENT)
    r = select_coins([frozen, ok], [Recipient(CENT, SPK)], P, random.Random(1))
    assert r.inputs == (ok,)
    with pytest.raises(InsufficientFunds):
        select_coins([frozen, ok], [Recipient(5 * CENT, SPK)], P, random.Random(1))
    with pytest.raises(CoinSelectionError):
        select_coins([ok], [Recipient(CENT, SPK)], P, random.Random(1), required=[frozen])


def test_insufficient_funds_reports_shortfall():
    params = CoinSelectionParams(FeeRate.per_vb(10))
    coins = [coin(100_000), coin(200_000)]
    overhead_fee = params.fee_rate.fee(11 + 31)  # counts, version, locktime, marker; one output
    effective = 300_000 - 2 * params.fee_rate.fee(68)
    with pytest.raises(InsufficientFunds) as e:
        select_coins(coins, [Recipient(300_000, SPK)], params, random.Random(1))
    assert e.value.shortfall == 300_000 + overhead_fee - effective
    assert isinstance(e.value, WalletError)


def test_unconfirmed_foreign_coins_are_not_spent_and_confirmed_preferred():
    unconfirmed = coin(10 * CENT, depth=0)
    change = coin(10 * CENT, depth=0, own_change=True)
    with pytest.raises(InsufficientFunds):
        select_coins([unconfirmed], [Recipient(CENT, SPK)], P, random.Random(1))
    r = select_coins([unconfirmed, change], [Recipient(CENT, SPK)], P, random.Random(1))
    assert r.inputs == (change,)
    deep = coin(3 * CENT, depth=6)
    r = select_coins([change, coin(5 * CENT, depth=1), deep], [Recipient(CENT, SPK)], P, random.Random(1))
    assert r.inputs == (deep,)


def test_several_recipients():
    coins = [coin(v) for v in (CENT, 2 * CENT, 4 * CENT)]
    rec = [Recipient(1_500_000, SPK), Recipient(2_000_000, b"\x51\x20" + bytes(32)), Recipient(700_000, SPK)]
    r = select_coins(coins, rec, P, random.Random(4))
    assert r.outputs == (1_500_000, 2_000_000, 700_000)
    check_invariants(r, P)


def test_subtract_fee_from_recipients():
    coins = [coin(CENT)]
    rec = [Recipient(300_000, SPK, subtract_fee=True), Recipient(200_000, SPK), Recipient(400_000, SPK, True)]
    r = select_coins(coins, rec, P, random.Random(1))
    check_invariants(r, P)
    assert r.outputs[1] == 200_000
    cut = (300_000 - r.outputs[0], 400_000 - r.outputs[2])
    assert sum(cut) == r.fee and cut[0] - cut[1] == r.fee % 2
    assert r.fee == P.fee_rate.fee(r.vsize)


def test_subtract_fee_sends_whole_coin():
    c = coin(CENT)
    r = select_coins([c], [Recipient(CENT, SPK, subtract_fee=True)], P, random.Random(1))
    assert r.change == 0 and r.outputs == (CENT - r.fee,)
    assert r.fee == P.fee_rate.fee(r.vsize)
    with pytest.raises(CoinSelectionError):
        select_coins([coin(1_000)], [Recipient(1_000, SPK, subtract_fee=True)], P, random.Random(1))


def test_candidate_for_script_type():
    op = OutPoint(Txid(bytes(32)), 1)
    c = Candidate.for_script_type(op, 5_000, "p2tr", depth=3)
    assert (c.input_weight, c.input_vsize, c.depth) == (230, 58, 3)
    assert Candidate.for_script_type(op, 5_000, "p2pkh").input_vsize == 148
    with pytest.raises(CoinSelectionError):
        Candidate.for_script_type(op, 5_000, "p2wsh")


def test_bad_requests():
    with pytest.raises(CoinSelectionError):
        select_coins([coin(CENT)], [], P, random.Random(1))
    with pytest.raises(CoinSelectionError):
        select_coins([coin(CENT)], [Recipient(100, SPK)], P, random.Random(1))  # dust
    c = coin(CENT)
    with pytest.raises(CoinSelectionError):
        select_coins([c, c], [Recipient(10_000, SPK)], P, random.Random(1))


def test_max_weight_exceeded():
    coins = [coin(1_000_000) for _ in range(10)]
    params = CoinSelectionParams(FeeRate.per_vb(1), max_tx_weight=4 * P2WPKH_WEIGHT)
    with pytest.raises(CoinSelectionError) as e:
        select_coins(coins, [Recipient(5_000_000, SPK)], params, random.Random(1))
    assert not isinstance(e.value, InsufficientFunds)


# --- send max -------------------------------------------------------------------------------------------


def test_send_max_spends_everything_but_frozen():
    coins = [coin(CENT), coin(2 * CENT), coin(50_000, depth=0, own_change=True), coin(5 * CENT, frozen=True)]
    r = send_max(coins, SPK, P)
    assert len(r.inputs) == 3 and r.change == 0
    assert r.outputs == (CENT + 2 * CENT + 50_000 - r.fee,)
    assert r.fee == P.fee_rate.fee(r.vsize)
    check_invariants(r, P)


def test_send_max_required_only_and_dust():
    a, b = coin(CENT), coin(2 * CENT)
    r = send_max([a, b], SPK, P, required=[b])
    assert r.inputs == (b,) and r.outputs == (2 * CENT - r.fee,)
    with pytest.raises(InsufficientFunds) as e:
        send_max([], SPK, P, required=[coin(1_300)])  # 1,300 - 1,100 fee: dust
    assert e.value.shortfall > 0
    with pytest.raises(InsufficientFunds):
        send_max([coin(CENT, frozen=True)], SPK, P)


# --- properties -----------------------------------------------------------------------------------------

coin_specs = st.tuples(
    st.integers(546, 5 * CENT),
    st.sampled_from([272, 230, 364, 592]),
    st.integers(0, 8),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(coin_specs, min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(1_000, CENT // 2), st.booleans()), min_size=1, max_size=3),
    st.integers(1, 200),
    st.integers(0, 3),
    st.integers(0, 2**32),
)
def test_any_selection_pays_exactly(specs, outs, sat_per_vb, n_required, seed):
    coins = [coin(v, depth=d, frozen=f, own_change=o, weight=w) for v, w, d, f, o in specs]
    required = [c for c in coins if not c.frozen][:n_required]
    params = CoinSelectionParams(FeeRate.per_vb(sat_per_vb))
    recipients = [Recipient(a, SPK, s) for a, s in outs]
    try:
        r = select_coins(coins, recipients, params, random.Random(seed), required=required)
    except InsufficientFunds as e:
        assert e.shortfall > 0
        return
    except CoinSelectionError:
        assert any(r.subtract_fee for r in recipients)  # only fee subtraction can leave a dust output
        return
    check_invariants(r, params)
    assert all(c in r.inputs for c in required)
    assert all(c.depth >= 1 or c.is_own_change or c in required for c in r.inputs)
    if not any(x.subtract_fee for x in recipients):
        assert r.outputs == tuple(a for a, _ in outs)
    assert r.weight <= params.max_tx_weight
