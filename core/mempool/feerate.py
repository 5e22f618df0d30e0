"""Fee rates as exact fractions of satoshis per virtual byte (Bitcoin Core's CFeeRate).

Core's policy constants are integers in sat per 1000 vbytes (`CFeeRate(100)` is 0.1 sat/vB) and, since
its FeeFrac rework, a rate built from a fee and a size is kept exact. Money never goes through floats
here: the rate is a Fraction. `fee(vsize)` rounds up like Core's GetFee, so a rate of 0.1 sat/vB asks
1 sat of a 1-vbyte transaction, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from core.consensus.amount import COIN
from core.mempool.errors import MempoolError


@dataclass(frozen=True, slots=True, order=True)
class FeeRate:
    """Satoshis per virtual byte, exact."""

    sat_per_vb: Fraction

    @classmethod
    def per_kvb(cls, sat_per_kvb: int) -> FeeRate:
        """The rate of `sat_per_kvb` satoshis per 1000 vbytes (Core's `CFeeRate(n)`)."""
        return cls(Fraction(sat_per_kvb, 1000))

    @classmethod
    def per_vb(cls, sat_per_vb: int) -> FeeRate:
        return cls(Fraction(sat_per_vb))

    @classmethod
    def from_fee(cls, fee: int, vsize: int) -> FeeRate:
        """The rate a transaction (or package) of `vsize` vbytes paying `fee` satoshis pays."""
        if vsize <= 0:
            raise MempoolError(f"fee rate of a size {vsize} transaction")
        return cls(Fraction(fee, vsize))

    @classmethod
    def zero(cls) -> FeeRate:
        return cls(Fraction(0))

    def fee(self, vsize: int) -> int:
        """The fee for `vsize` vbytes at this rate, rounded up (Core's GetFee / EvaluateFeeUp)."""
        # Integer ceiling of numerator * vsize / denominator: exact, without building a Fraction (hot in coin selection).
        rate = self.sat_per_vb
        return -((-rate.numerator * vsize) // rate.denominator)

    @property
    def sat_per_kvb(self) -> int:
        """The rate in whole sat per 1000 vbytes, rounded down (Core's GetFeePerK)."""
        n = self.sat_per_vb * 1000
        return n.numerator // n.denominator

    def __add__(self, other: FeeRate) -> FeeRate:
        return FeeRate(self.sat_per_vb + other.sat_per_vb)

    def __bool__(self) -> bool:
        return self.sat_per_vb != 0

    def __str__(self) -> str:
        """Core's CFeeRate::ToString() default: "0.00001000 BTC/kvB"."""
        k = self.sat_per_kvb
        sign = "-" if k < 0 else ""
        q, r = divmod(abs(k), COIN)
        return f"{sign}{q}.{r:08d} BTC/kvB"

    def sat_vb_str(self) -> str:
        """Core's ToString(FeeRateFormat::SAT_VB): "%d.%03d sat/vB", truncated."""
        k = self.sat_per_kvb
        sign = "-" if k < 0 else ""
        q, r = divmod(abs(k), 1000)
        return f"{sign}{q}.{r:03d} sat/vB"
