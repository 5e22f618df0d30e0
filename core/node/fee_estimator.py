"""Fee estimates for confirmation targets from what the light node itself saw — no fee server.

Two sources, combined conservatively (the higher wins, never below the floor):

(a) Recent blocks: the fee rates of the transactions they confirmed. A light node knows a
    transaction's fee only if it saw every prevout (in the mempool or in recent blocks), so each
    block contributes its known-fee transactions and the estimate states that coverage. Per
    block we take the rate that the best-paying share of its (known) vsize paid at least: half for
    the next block, 3/4 for 3, 9/10 for 6, 19/20 for 24 — the longer one can wait, the closer to
    the bottom of recent blocks one may bid — then the median over the last blocks.
(b) The mempool: the rate at which the best-paying `target` x 1,000,000 vbytes are filled (what
    the next `target` blocks would take if nothing else arrived). Only known-fee transactions have
    a rate, so the threshold is scaled by the coverage: unknown-fee vsize is assumed to pay like
    the known part.

The floor is the minimum relay fee (1 sat/vB) or the lowest feefilter of our peers, whichever is
higher, since a transaction below every peer's feefilter is relayed by none. Estimates are made
monotonic: a shorter target never gets a lower rate than a longer one. Rates are exact `FeeRate`s.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from core.mempool.feerate import FeeRate
from core.node.mempool_ledger import BlockFees

TARGETS = (1, 3, 6, 24)
BLOCK_VSIZE = 1_000_000  # MAX_BLOCK_WEIGHT / 4
MIN_RELAY = FeeRate.per_vb(1)
#: Share of a block's known vsize that paid at least the estimate, by target (see the module docstring).
_BLOCK_SHARE: tuple[tuple[int, Fraction], ...] = (
    (1, Fraction(1, 2)),
    (3, Fraction(3, 4)),
    (6, Fraction(9, 10)),
    (24, Fraction(19, 20)),
)


@dataclass(frozen=True, slots=True)
class FeeEstimate:
    """The fee rate to confirm within `target` blocks, why, and how many transactions support it."""

    target: int
    fee_rate: FeeRate
    basis: str
    sample_size: int


@dataclass(frozen=True, slots=True)
class MempoolSample:
    """The mempool as the view sees it: totals, and (fee, vsize) of the known-fee transactions."""

    count: int
    vsize: int
    points: Sequence[tuple[int, int]]

    @property
    def known_vsize(self) -> int:
        return sum(v for _, v in self.points)


def _share_for(target: int) -> Fraction:
    for t, share in _BLOCK_SHARE:
        if target <= t:
            return share
    return _BLOCK_SHARE[-1][1]


def _rate_key(point: tuple[int, int]) -> Fraction:
    return Fraction(point[0], point[1])


def _top_rate(points: Sequence[tuple[int, int]], vsize_needed: Fraction) -> FeeRate | None:
    """The rate of the transaction at which the best-paying `vsize_needed` vbytes are filled."""
    filled = 0
    for fee, vsize in sorted(points, key=_rate_key, reverse=True):
        filled += vsize
        if filled >= vsize_needed:
            return FeeRate.from_fee(fee, vsize)
    return None


def block_rate(fees: BlockFees, share: Fraction) -> FeeRate | None:
    """The rate above which `share` of the block's known-fee vsize paid (None without known fees)."""
    if not fees.known:
        return None
    return _top_rate(fees.known, share * fees.known_vsize)


class FeeEstimator:
    """Keeps per-block fee samples; `estimates(mempool)` gives one FeeEstimate per target."""

    def __init__(self, max_blocks: int = 24, window: int = 6) -> None:
        self._blocks: deque[BlockFees] = deque(maxlen=max(1, max_blocks))
        self.window = max(1, window)

    def add_block(self, fees: BlockFees) -> None:
        """Record the fees of a newly connected block (from MempoolView.on_block)."""
        self._blocks.append(fees)

    def _from_blocks(self, target: int) -> tuple[FeeRate | None, str, int]:
        n = min(len(self._blocks), max(self.window, target))
        recent = list(self._blocks)[len(self._blocks) - n :]
        share = _share_for(target)
        rates = [r for b in recent if (r := block_rate(b, share)) is not None]
        total = sum(b.tx_count for b in recent)
        known = sum(len(b.known) for b in recent)
        if not recent:
            return None, "no blocks seen", 0
        cov = sum(b.known_vsize for b in recent) / max(1, sum(b.vsize for b in recent))
        text = f"last {n} blocks: {known:,} of {total:,} txs with known fees ({cov:.0%} of vsize)"
        if not rates:
            return None, text, known
        return FeeRate(statistics.median_low([r.sat_per_vb for r in rates])), text, known

    @staticmethod
    def _from_mempool(target: int, mempool: MempoolSample | None) -> tuple[FeeRate | None, str, int]:
        if mempool is None:
            return None, "no mempool view", 0
        known_vsize = mempool.known_vsize
        cov = known_vsize / mempool.vsize if mempool.vsize else 1.0
        text = f"mempool: {mempool.count:,} txs, {cov:.0%} fee coverage"
        if mempool.vsize < target * BLOCK_VSIZE or not mempool.points:
            return None, text + f" (less than {target} block(s) of it)", len(mempool.points)
        # Unknown-fee vsize is assumed to pay like the known part: scale the threshold by coverage.
        needed = Fraction(target * BLOCK_VSIZE * known_vsize, mempool.vsize)
        return _top_rate(mempool.points, needed), text, len(mempool.points)

    def estimate(self, target: int, mempool: MempoolSample | None, min_fee_filter: int | None = None) -> FeeEstimate:
        """The estimate for one target, not yet made monotonic with the others."""
        floor = MIN_RELAY
        if min_fee_filter is not None and FeeRate.per_kvb(min_fee_filter) > floor:
            floor = FeeRate.per_kvb(min_fee_filter)
        m_rate, m_text, m_n = self._from_mempool(target, mempool)
        b_rate, b_text, b_n = self._from_blocks(target)
        candidates = [(floor, "floor")]
        if m_rate is not None:
            candidates.append((m_rate, "mempool"))
        if b_rate is not None:
            candidates.append((b_rate, "blocks"))
        rate, source = max(candidates, key=lambda c: c[0])
        basis = f"{m_text}; {b_text}; highest: {source} {rate.sat_vb_str()}"
        return FeeEstimate(target, rate, basis, m_n + b_n)

    def estimates(
        self,
        mempool: MempoolSample | None,
        targets: Sequence[int] = TARGETS,
        min_fee_filter: int | None = None,
    ) -> list[FeeEstimate]:
        """One estimate per target (ascending), a shorter target never cheaper than a longer one."""
        ests = [self.estimate(t, mempool, min_fee_filter) for t in sorted(set(targets))]
        out: list[FeeEstimate] = []
        best: FeeEstimate | None = None
        for e in reversed(ests):
            if best is not None and best.fee_rate > e.fee_rate:
                e = FeeEstimate(e.target, best.fee_rate, f"{e.basis}; raised to the {best.target}-block estimate",
                                e.sample_size)
            best = e
            out.append(e)
        return out[::-1]
