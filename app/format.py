"""How the window writes numbers: amounts, sizes, durations, fee rates, service flags.

Only presentation lives here (no Qt, no rounding of money: amounts are exact integers turned into
text with `core.consensus.amount.format_btc`).
"""

from __future__ import annotations

from core.consensus.amount import format_btc
from core.mempool.feerate import FeeRate
from core.p2p.services import service_names
from core.settings import Unit

NETWORK_TEXT = {"main": "Mainnet", "testnet4": "Testnet4", "signet": "Signet", "sandbox": "Sandbox"}
NARROW_SPACE = "\u202f"  # groups digits without letting a line break split a number


def amount(sats: int, unit: Unit = Unit.BTC) -> str:
    """"0.05000000 BTC" or "5 000 000 sat" (exact)."""
    if unit is Unit.SAT:
        return f"{sats:,}".replace(",", NARROW_SPACE) + " sat"
    return format_btc(sats) + " BTC"


def data_size(n: int) -> str:
    """Bytes as B / kB / MB / GB (decimal units, as Bitcoin Core's GUI shows traffic)."""
    value = float(n)
    for suffix in ("B", "kB", "MB", "GB"):
        if value < 1000 or suffix == "GB":
            return f"{n} B" if suffix == "B" else f"{value:.1f} {suffix}"
        value /= 1000
    raise AssertionError("unreachable")


def vsize(n: int) -> str:
    """Virtual bytes: "812 vB", "12.3 kvB", "1.25 MvB"."""
    if n < 1000:
        return f"{n} vB"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kvB"
    return f"{n / 1_000_000:.2f} MvB"


def duration(seconds: float) -> str:
    """"45 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s} s" if s else f"{m} min"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def fee_rate(rate: FeeRate) -> str:
    """"2.5 sat/vB" (Core's sat/vB form, trailing zeros trimmed)."""
    text = rate.sat_vb_str().removesuffix(" sat/vB")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} sat/vB"


def services(flags: int) -> str:
    """"NETWORK, WITNESS, COMPACT_FILTERS" — Core's names without the NODE_ prefix."""
    return ", ".join(part.removeprefix("NODE_") for part in service_names(flags).split("|"))


def bucket_label(low: int, high: int | None) -> str:
    """A fee histogram bucket's axis label, its lower bound as mempool.space draws them: "5", "2000+"."""
    return f"{low}+" if high is None else str(low)
