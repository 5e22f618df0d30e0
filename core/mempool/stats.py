"""Mempool statistics: totals and a fee-rate histogram (what getmempoolinfo and fee charts show)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from core.mempool.feerate import FeeRate

# Lower bounds of the histogram buckets in sat/vB (the ranges Core's proposed getmempoolinfo
# fee_histogram uses, with a 0 bucket for the sub-1 sat/vB rates Core now relays).
FEE_HISTOGRAM_FLOORS: tuple[int, ...] = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 25, 30, 40, 50, 60, 70, 80, 100, 120, 140, 170,
    200, 250, 300, 400, 500, 600, 700, 800, 1000, 1200, 1400, 1700, 2000, 2500, 3000, 4000, 5000,
    6000, 7000, 8000, 10000,
)  # fmt: skip


class _Entry(Protocol):
    fee: int
    vsize: int

    @property
    def fee_rate(self) -> FeeRate: ...


@dataclass(frozen=True, slots=True)
class HistogramBucket:
    """Transactions paying at least `floor` sat/vB and less than the next bucket's floor."""

    floor: int
    count: int
    vsize: int
    fees: int


@dataclass(frozen=True, slots=True)
class MempoolStats:
    count: int
    vsize: int
    total_fee: int
    min_fee: FeeRate  # what a new transaction must pay now (relay floor or the raised mempool minimum)
    histogram: tuple[HistogramBucket, ...]


def _bucket_index(rate: FeeRate) -> int:
    lo, hi = 0, len(FEE_HISTOGRAM_FLOORS) - 1
    while lo < hi:  # the last floor <= rate
        mid = (lo + hi + 1) // 2
        if FEE_HISTOGRAM_FLOORS[mid] <= rate.sat_per_vb:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fee_histogram(entries: Iterable[_Entry]) -> tuple[HistogramBucket, ...]:
    """Entries bucketed by their own fee rate, lowest bucket first; empty buckets left out."""
    counts = [[0, 0, 0] for _ in FEE_HISTOGRAM_FLOORS]
    for e in entries:
        b = counts[_bucket_index(e.fee_rate)]
        b[0] += 1
        b[1] += e.vsize
        b[2] += e.fee
    return tuple(
        HistogramBucket(floor, c, v, f) for floor, (c, v, f) in zip(FEE_HISTOGRAM_FLOORS, counts, strict=True) if c
    )
