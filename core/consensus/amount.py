"""Amounts in integer satoshis."""

from __future__ import annotations

from typing import NewType

Sats = NewType("Sats", int)

COIN = 100_000_000
MAX_MONEY = 21_000_000 * COIN


def money_range(value: int) -> bool:
    """Core's MoneyRange."""
    return 0 <= value <= MAX_MONEY


def format_btc(value: int) -> str:
    """Satoshis as a decimal BTC string with 8 places, exact (no floats)."""
    sign = "-" if value < 0 else ""
    q, r = divmod(abs(value), COIN)
    return f"{sign}{q}.{r:08d}"
