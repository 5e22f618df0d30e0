"""Fee estimates from synthetic blocks and mempools: values, coverage scaling, floor, basis, monotonicity."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import BlockHash
from core.mempool.feerate import FeeRate
from core.node.fee_estimator import TARGETS, FeeEstimator, MempoolSample, block_rate
from core.node.mempool_ledger import BlockFees, MempoolLedger
from tests.unit.node_tx_samples import block, funding_tx, spend


def _points(*groups: tuple[int, int, int]) -> list[tuple[int, int]]:
    """(count, vsize, sat/vB) groups -> (fee, vsize) points."""
    return [(vs * rate, vs) for n, vs, rate in groups for _ in range(n)]


def _block_fees(rates: list[int], vsize: int = 200, unknown: int = 0) -> BlockFees:
    known = tuple((r * vsize, vsize) for r in rates)
    return BlockFees(BlockHash(bytes(32)), len(rates) + unknown, vsize * (len(rates) + unknown), known)


def _by_target(ests):
    return {e.target: e for e in ests}


def test_mempool_only_fills_target_blocks_from_the_top() -> None:
    # 1.5M vB at 50, 1.5M vB at 20, 2M vB at 5 sat/vB: 5M vB in all, every fee known.
    pts = _points((1500, 1000, 50), (1500, 1000, 20), (2000, 1000, 5))
    est = _by_target(FeeEstimator().estimates(MempoolSample(5000, 5_000_000, pts)))
    assert est[1].fee_rate == FeeRate.per_vb(50)
    assert est[3].fee_rate == FeeRate.per_vb(20)
    assert est[6].fee_rate == est[24].fee_rate == FeeRate.per_vb(1)  # the mempool clears: the floor
    assert est[1].basis.startswith("mempool: 5,000 txs, 100% fee coverage")
    assert "highest: mempool 50.000 sat/vB" in est[1].basis
    assert est[1].sample_size == 5000


def test_unknown_fees_scale_the_threshold_by_coverage() -> None:
    # Only half the vsize is priced: 0.6M vB at 40, 0.4M vB at 10; 2M vB tracked in all.
    pts = _points((600, 1000, 40), (400, 1000, 10))
    est = FeeEstimator().estimate(1, MempoolSample(2000, 2_000_000, pts))
    assert est.fee_rate == FeeRate.per_vb(40)  # 1M vB x 50% coverage = 0.5M known vB: filled at 40
    assert "50% fee coverage" in est.basis
    est_full = FeeEstimator().estimate(1, MempoolSample(1000, 1_000_000, pts))
    assert est_full.fee_rate == FeeRate.per_vb(10)  # all priced: the whole 1M vB, down to 10
    est3 = FeeEstimator().estimate(3, MempoolSample(4000, 4_000_000, pts))  # 3M x 25% = 0.75M known
    assert est3.fee_rate == FeeRate.per_vb(10)
    assert "25% fee coverage" in est3.basis


def test_blocks_only_median_of_per_block_rates() -> None:
    fe = FeeEstimator()
    for rates in ([10, 20, 30, 40], [12, 22, 32, 42], [8, 18, 28, 38]):
        fe.add_block(_block_fees(rates, unknown=4))
    est = _by_target(fe.estimates(None))
    # Per block, half the known vsize paid at least the 2nd-highest rate: 30, 32, 28 -> median 30.
    assert est[1].fee_rate == FeeRate.per_vb(30)
    assert est[3].fee_rate == FeeRate.per_vb(20)  # 3/4 of the vsize: the 3rd-highest
    assert est[24].fee_rate == FeeRate.per_vb(10)  # 19/20: the lowest of each block, median 10
    assert "last 3 blocks: 12 of 24 txs with known fees (50% of vsize)" in est[1].basis
    assert "no mempool view" in est[1].basis and est[1].sample_size == 12


def test_block_rate_by_share() -> None:
    fees = _block_fees([5, 10, 15, 20])
    assert block_rate(fees, Fraction(1, 4)) == FeeRate.per_vb(20)
    assert block_rate(fees, Fraction(19, 20)) == FeeRate.per_vb(5)
    assert block_rate(fees, Fraction(1, 2)) == FeeRate.per_vb(15)
    assert block_rate(_block_fees([]), Fraction(1, 2)) is None


def test_combined_takes_the_higher_and_floor_follows_feefilter() -> None:
    fe = FeeEstimator()
    fe.add_block(_block_fees([60, 60, 60]))
    pts = _points((2000, 1000, 30))
    est = fe.estimate(1, MempoolSample(2000, 2_000_000, pts))
    assert est.fee_rate == FeeRate.per_vb(60) and "highest: blocks" in est.basis
    empty = FeeEstimator().estimate(6, MempoolSample(0, 0, []), min_fee_filter=5_000)
    assert empty.fee_rate == FeeRate.per_vb(5) and "highest: floor" in empty.basis
    assert FeeEstimator().estimate(6, None, min_fee_filter=100).fee_rate == FeeRate.per_vb(1)


def test_estimates_are_exact_fractions() -> None:
    pts = [(1001, 300)] * 4000  # 3.3366... sat/vB
    est = FeeEstimator().estimate(1, MempoolSample(4000, 1_200_000, pts))
    assert est.fee_rate == FeeRate(Fraction(1001, 300))
    assert isinstance(est.fee_rate.sat_per_vb, Fraction)


def test_estimates_from_ledger_blocks_with_known_prevouts() -> None:
    led = MempoolLedger()
    fund = funding_tx(1, [100_000, 200_000])
    led.on_block(block(1, [fund]))  # its outputs become known prevouts
    a = spend([(fund, 0)], [100_000 - 2_200])  # ~110 vB -> ~20 sat/vB
    b = spend([(fund, 1)], [200_000 - 5_500])
    out = led.on_block(block(2, [a, b, funding_tx(2, [5])]))
    assert out.fees.tx_count == 3 and len(out.fees.known) == 2
    assert {f for f, _ in out.fees.known} == {2_200, 5_500}
    fe = FeeEstimator()
    fe.add_block(out.fees)
    est = fe.estimate(1, None)
    assert est.fee_rate == FeeRate.from_fee(5_500, b.vsize)
    assert "2 of 3 txs with known fees" in est.basis


@settings(max_examples=200, deadline=None)
@given(
    mem=st.lists(st.tuples(st.integers(0, 10**6), st.integers(60, 100_000)), max_size=80),
    blocks=st.lists(st.lists(st.integers(0, 500), max_size=10), max_size=30),
    unknown=st.integers(0, 5_000_000),
    fee_filter=st.none() | st.integers(0, 50_000),
)
def test_estimates_monotonic_and_never_below_floor(mem, blocks, unknown, fee_filter) -> None:
    fe = FeeEstimator()
    for rates in blocks:
        fe.add_block(_block_fees(rates))
    vsize = sum(v for _, v in mem) + unknown
    ests = fe.estimates(MempoolSample(len(mem), vsize, mem), min_fee_filter=fee_filter)
    assert [e.target for e in ests] == list(TARGETS)
    floor = max(FeeRate.per_vb(1), FeeRate.per_kvb(fee_filter or 0))
    for shorter, longer in pairwise(ests):
        assert shorter.fee_rate >= longer.fee_rate
    assert all(e.fee_rate >= floor and e.basis for e in ests)
