"""The offer book as the trade page lists it: this app's open offers (ours marked, the others' to take)
and other platforms' NIP-69 orders (read-only), each seen from the user's side — a maker selling
bitcoin is an offer the user BUYS from — and filtered by side, currency, payment method and amount."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.trade.nostr.nip69 import OrderSide, OrderStatus
from core.trade.offer import ArbitratorRef, Offer, Side, fiat_amount, payment_method
from core.trade.offer_event import NIP69_NETWORK, BookEntry
from core.trade.store import TradeStore


@dataclass(frozen=True)
class BookRow:
    """One line of the offer book."""

    key: str  # the offer id (another platform's order: its event address)
    offer: Offer | None  # None: another platform's order, shown read-only
    mine: bool
    platform: str
    user_side: Side  # what the user does by taking it: BUY bitcoin (the maker sells) or SELL
    currency: str
    price: Decimal | None  # fiat per BTC; None when priced by a premium over the market
    premium_pct: Decimal | None
    min_sat: int  # 0 when unknown (another platform's order)
    max_sat: int
    fiat_min: Decimal | None
    fiat_max: Decimal | None
    methods: tuple[str, ...]
    name: str
    arbitrator: ArbitratorRef | None
    deposit_bp: int
    t1_blocks: int
    expires_at: int

    @property
    def read_only(self) -> bool:
        return self.offer is None

    @property
    def reversible(self) -> tuple[str, ...]:
        """The methods whose payments can be reversed after a release."""
        return tuple(m for m in self.methods if payment_method(m).reversible)


def _offer_row(offer: Offer, mine: bool) -> BookRow:
    fiat = (fiat_amount(offer.min_sat, offer.price), fiat_amount(offer.max_sat, offer.price)) if offer.price else (None, None)
    return BookRow(
        offer.id, offer, mine, "peerwallet", offer.taker_side, offer.currency, offer.price, offer.premium_pct,
        offer.min_sat, offer.max_sat, fiat[0], fiat[1], offer.methods, offer.extra.get("name", ""), offer.arbitrator,
        offer.deposit_bp, offer.t1_blocks, offer.expires_at,
    )


def _foreign_row(key: str, entry: BookEntry) -> BookRow:
    o = entry.order
    user_side = Side.BUY if o.side is OrderSide.SELL else Side.SELL
    return BookRow(
        key, None, False, o.platform, user_side, o.currency, None, o.premium, o.amount_sat, o.amount_sat,
        o.fiat_min, o.fiat_max, o.payment_methods, o.name or "", None, 0, 0, o.expires_at or o.expiration or 0,
    )


def book_rows(store: TradeStore, book: Mapping[str, BookEntry], network: str, now: int | None = None) -> list[BookRow]:
    """Every open offer of this app on `network` (ours too) and every pending, unexpired order of other
    platforms on it: what the user can buy first, by currency, each by its best price for the user."""
    now = int(time.time()) if now is None else now
    rows = [
        _offer_row(Offer.from_json(obj), mine) for obj, mine, status in store.offers()
        if status == "open" and obj.get("expires_at", 0) > now and obj.get("network") == network
    ]
    rows += [
        _foreign_row(key, entry) for key, entry in book.items()
        if entry.read_only and entry.status is OrderStatus.PENDING and not entry.order.is_expired(now)
        and entry.order.network == NIP69_NETWORK.get(network, network)
    ]
    return sorted(rows, key=_order)


def _order(row: BookRow) -> tuple[int, str, bool, Decimal, str]:
    price = row.price if row.price is not None else Decimal(0)
    # Per currency the user buys cheapest first and sells to the highest bidder first; unpriced rows last.
    return (0 if row.user_side is Side.BUY else 1, row.currency, row.price is None,
            price if row.user_side is Side.BUY else -price, row.key)


def filter_rows(
    rows: Iterable[BookRow], *, side: Side | None = None, currency: str | None = None, method: str | None = None,
    amount_sat: int | None = None,
) -> list[BookRow]:
    """The rows matching every filter given (`side` is the user's side; an amount must fit the range,
    orders of unknown range are kept)."""
    out = []
    for r in rows:
        if side is not None and r.user_side is not side:
            continue
        if currency and r.currency != currency:
            continue
        if method and method not in r.methods:
            continue
        if amount_sat is not None and r.max_sat and not r.min_sat <= amount_sat <= r.max_sat:
            continue
        out.append(r)
    return out


def currencies(rows: Iterable[BookRow]) -> list[str]:
    """The currencies in the book, sorted."""
    return sorted({r.currency for r in rows})


def methods(rows: Iterable[BookRow]) -> list[str]:
    """The payment methods in the book, sorted."""
    return sorted({m for r in rows for m in r.methods})
