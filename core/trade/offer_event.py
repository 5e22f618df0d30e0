"""Offers as NIP-69 order events (kind 38383, `layer=onchain`, `y=peerwallet`).

The tags carry what any NIP-69 client shows (side, currency, fiat range, methods, premium, network,
status, expiry); the content carries our full offer as JSON (sat range, deposit, arbitrator, T1, fee
cap), and the two must agree. The event is signed by the offer's own key, which must be the offer's
`maker_nostr`. Orders from other platforms are shown read-only (`BookEntry.offer` is None).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from core.trade.errors import NostrError, OfferError
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip69 import (
    LAYER_ONCHAIN,
    PLATFORM,
    Order,
    OrderSide,
    OrderStatus,
    build_order_event,
    parse_order,
)
from core.trade.offer import Offer, fiat_amount

MAX_OFFER_JSON = 8_000
#: NIP-69 names networks as users do ("mainnet"); Core's names are used everywhere else.
NIP69_NETWORK = {"main": "mainnet", "test": "testnet", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest",
                 "sandbox": "sandbox"}


def offer_order(offer: Offer, status: OrderStatus = OrderStatus.PENDING) -> Order:
    """The NIP-69 view of `offer`."""
    if offer.price is not None:
        fiat_min, fiat_max = fiat_amount(offer.min_sat, offer.price), fiat_amount(offer.max_sat, offer.price)
        premium = Decimal(0)
    else:
        fiat_min = fiat_max = Decimal(0)
        premium = offer.premium_pct or Decimal(0)
    return Order(
        order_id=offer.id, side=OrderSide(offer.side.value), currency=offer.currency, fiat_min=fiat_min, fiat_max=fiat_max,
        payment_methods=offer.methods, premium=premium, amount_sat=0 if offer.min_sat != offer.max_sat else offer.min_sat,
        network=NIP69_NETWORK[offer.network], status=status, layer=LAYER_ONCHAIN, platform=PLATFORM, expires_at=offer.expires_at,
        expiration=offer.expires_at, name=offer.extra.get("name"),
    )


def offer_event(key: NostrKey, offer: Offer, status: OrderStatus = OrderStatus.PENDING, created_at: int | None = None) -> Event:
    """Sign the offer's order event with the offer's key."""
    if key.xonly != offer.maker_nostr:
        raise OfferError("an offer is signed by its own key")
    return build_order_event(key, offer_order(offer, status), json.dumps(offer.to_json(), sort_keys=True), created_at)


@dataclass(frozen=True)
class BookEntry:
    """An order seen on a relay: ours to take (`offer` set) or another platform's (read-only)."""

    order: Order
    event: Event
    offer: Offer | None

    @property
    def read_only(self) -> bool:
        return self.offer is None

    @property
    def status(self) -> OrderStatus:
        return self.order.status


def read_offer_event(event: Event) -> BookEntry:
    """Parse an order event; for ours, check that the content offer agrees with the tags and the signer.

    NostrError (OrderError) for a malformed order; an offer of ours that does not agree is OfferError."""
    published = parse_order(event)
    order = published.order
    if published.read_only:
        return BookEntry(order, event, None)
    if len(event.content) > MAX_OFFER_JSON:
        raise OfferError("offer content too large")
    try:
        offer = Offer.from_json(json.loads(event.content))
    except (ValueError, RecursionError):
        raise OfferError("offer content is not JSON") from None
    expected = offer_order(offer, order.status)
    if offer.maker_nostr != event.pubkey or offer.id != order.order_id:
        raise OfferError("the offer is not signed by its own key")
    if (expected.side, expected.currency, expected.payment_methods, expected.network, expected.fiat_min, expected.fiat_max) != (
        order.side, order.currency, order.payment_methods, order.network, order.fiat_min, order.fiat_max
    ):
        raise OfferError("the offer's tags and content disagree")
    return BookEntry(order, event, offer)


__all__ = ["BookEntry", "NostrError", "offer_event", "offer_order", "read_offer_event"]
