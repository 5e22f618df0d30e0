"""NIP-69 peer-to-peer order events (kind 38383, addressable by the "d" tag = order id).

`build_order_event` writes our offers (`y` = "peerwallet", `layer` = "onchain", `z` = "order");
`parse_order` reads any platform's order, so the offer book can show foreign orders read-only
(`PublishedOrder.read_only`). Payment methods are written one per tag value, as the NIP's example and
Mostro do; on reading, comma-separated values (the NIP's prose) are split too. Numbers are strict
decimal strings (fiat amounts and premium as Decimal, satoshis as int). Failures raise OrderError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.trade.errors import NostrError, OrderError
from core.trade.nostr.event import Event, Tags, check_tags
from core.trade.nostr.keys import NostrKey

KIND_ORDER = 38383
PLATFORM = "peerwallet"
LAYER_ONCHAIN = "onchain"
MAX_SATS = 21_000_000 * 100_000_000
#: Tags this module reads and writes; any other tag of an order is kept in `extra_tags`.
KNOWN_TAGS = frozenset(
    ("d", "k", "f", "s", "amt", "fa", "pm", "premium", "network", "layer", "y", "z", "name",
     "expires_at", "expiration", "source", "rating", "g", "bond")
)
_SINGLE = KNOWN_TAGS - {"pm"}
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,8})?")
_UINT = re.compile(r"0|[1-9][0-9]{0,18}")
_MAX_TEXT = 256


class OrderSide(StrEnum):
    """The maker's side: "buy" bitcoin or "sell" bitcoin."""

    BUY = "buy"
    SELL = "sell"


class OrderStatus(StrEnum):
    """Order status values of NIP-69's "s" tag."""

    PENDING = "pending"
    CANCELED = "canceled"
    IN_PROGRESS = "in-progress"
    SUCCESS = "success"
    EXPIRED = "expired"


def _decimal(text: str, what: str, *, signed: bool = False) -> Decimal:
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text) or (text.startswith("-") and not signed):
        raise OrderError(f"{what} must be a decimal number, got {text!r}")
    return Decimal(text)


def _uint(text: str, what: str, high: int) -> int:
    if not isinstance(text, str) or not _UINT.fullmatch(text) or int(text) > high:
        raise OrderError(f"{what} must be an integer in [0, {high}], got {text!r}")
    return int(text)


def _text(value: str, what: str) -> str:
    if not value or len(value) > _MAX_TEXT:
        raise OrderError(f"{what} must be 1..{_MAX_TEXT} characters")
    return value


def _fmt(value: Decimal) -> str:
    # Plain notation (never exponents) with trailing zeros of the fraction dropped.
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Order:
    """The content of a NIP-69 order. `fiat_min == fiat_max` for a fixed amount; `amount_sat` 0 means
    the amount follows from the price when taken. Timestamps are unix seconds."""

    order_id: str
    side: OrderSide
    currency: str
    fiat_min: Decimal
    fiat_max: Decimal
    payment_methods: tuple[str, ...]
    premium: Decimal
    amount_sat: int
    network: str
    status: OrderStatus = OrderStatus.PENDING
    layer: str = LAYER_ONCHAIN
    platform: str = PLATFORM
    expires_at: int | None = None
    expiration: int | None = None
    name: str | None = None
    source: str | None = None
    rating: str | None = None
    geohash: str | None = None
    bond: str | None = None
    extra_tags: Tags = field(default=())

    def validate(self) -> None:
        """Raise OrderError unless the fields can be written as a well-formed order."""
        _text(self.order_id, "order id")
        _text(self.currency, "currency")
        _text(self.network, "network")
        _text(self.layer, "layer")
        _text(self.platform, "platform")
        if not isinstance(self.side, OrderSide) or not isinstance(self.status, OrderStatus):
            raise OrderError("side and status must be OrderSide / OrderStatus")
        for amount in (self.fiat_min, self.fiat_max):
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise OrderError("fiat amounts must be finite non-negative Decimals")
        if self.fiat_min > self.fiat_max:
            raise OrderError("fiat_min above fiat_max")
        if not isinstance(self.premium, Decimal) or not self.premium.is_finite():
            raise OrderError("premium must be a finite Decimal")
        if type(self.amount_sat) is not int or not 0 <= self.amount_sat <= MAX_SATS:
            raise OrderError("amount_sat out of range")
        if not self.payment_methods:
            raise OrderError("at least one payment method is needed")
        for method in self.payment_methods:
            if "," in _text(method, "payment method"):
                raise OrderError("payment method names cannot contain commas")
        for stamp in (self.expires_at, self.expiration):
            if stamp is not None and (type(stamp) is not int or stamp < 0):
                raise OrderError("timestamps must be non-negative integers")
        for tag in self.extra_tags:
            if tag and tag[0] in KNOWN_TAGS:
                raise OrderError(f"extra tag {tag[0]!r} is a NIP-69 tag")
        try:
            check_tags([list(t) for t in self.extra_tags])
        except NostrError as exc:
            raise OrderError(str(exc)) from exc

    def is_expired(self, now: int) -> bool:
        """True once `expires_at` or `expiration` has passed, or the status says so."""
        stamps = [s for s in (self.expires_at, self.expiration) if s is not None]
        return self.status is OrderStatus.EXPIRED or any(s <= now for s in stamps)


def order_tags(order: Order) -> list[list[str]]:
    """The NIP-69 tags of `order` (validated first)."""
    order.validate()
    fiat = [_fmt(order.fiat_min)] if order.fiat_min == order.fiat_max else [_fmt(order.fiat_min), _fmt(order.fiat_max)]
    tags: list[list[str]] = [
        ["d", order.order_id],
        ["k", order.side.value],
        ["f", order.currency],
        ["s", order.status.value],
        ["amt", str(order.amount_sat)],
        ["fa", *fiat],
        ["pm", *order.payment_methods],
        ["premium", _fmt(order.premium)],
        ["network", order.network],
        ["layer", order.layer],
    ]
    optional = (("name", order.name), ("source", order.source), ("rating", order.rating),
                ("g", order.geohash), ("bond", order.bond))
    tags += [[name, value] for name, value in optional if value is not None]
    if order.expires_at is not None:
        tags.append(["expires_at", str(order.expires_at)])
    if order.expiration is not None:
        tags.append(["expiration", str(order.expiration)])
    tags += [["y", order.platform], ["z", "order"]]
    tags += [list(t) for t in order.extra_tags]
    return tags


def build_order_event(key: NostrKey, order: Order, content: str = "", created_at: int | None = None) -> Event:
    """Sign `order` as a kind-38383 event by `key` (the maker's per-offer key)."""
    return Event.sign(key, KIND_ORDER, content, order_tags(order), created_at)


@dataclass(frozen=True)
class PublishedOrder:
    """An order read from a relay: the order and the event that carried it."""

    order: Order
    event: Event

    @property
    def maker_xonly(self) -> str:
        """The maker's public key (the event's signer)."""
        return self.event.pubkey

    @property
    def read_only(self) -> bool:
        """True for another platform's order (shown, not taken, by this app)."""
        return self.order.platform != PLATFORM or self.order.layer != LAYER_ONCHAIN

    @property
    def address(self) -> str:
        """The NIP-01 address "38383:<pubkey>:<order id>" under which newer versions replace it."""
        return f"{KIND_ORDER}:{self.event.pubkey}:{self.order.order_id}"


def _single_tags(tags: Tags) -> dict[str, tuple[str, ...]]:
    seen: dict[str, tuple[str, ...]] = {}
    for tag in tags:
        if tag[0] in _SINGLE:
            if tag[0] in seen:
                raise OrderError(f"duplicate {tag[0]!r} tag")
            if len(tag) < 2:
                raise OrderError(f"{tag[0]!r} tag without a value")
            seen[tag[0]] = tag
    return seen


def parse_order_tags(tags: Tags) -> Order:
    """Read an Order from event tags (mandatory: d, k, f, s, amt, fa, pm); OrderError otherwise."""
    single = _single_tags(tags)
    for name in ("d", "k", "f", "s", "amt", "fa"):
        if name not in single:
            raise OrderError(f"missing {name!r} tag")
    if "z" in single and single["z"][1] != "order":
        raise OrderError("'z' tag must be 'order'")

    def value(name: str) -> str | None:
        return single[name][1] if name in single else None

    try:
        side, status = OrderSide(single["k"][1]), OrderStatus(single["s"][1])
    except ValueError as exc:
        raise OrderError(f"bad side or status: {exc}") from exc
    fiat = single["fa"][1:]
    if len(fiat) not in (1, 2):
        raise OrderError("'fa' must hold one amount or a min and a max")
    fiat_min = _decimal(fiat[0], "fiat amount")
    fiat_max = _decimal(fiat[-1], "fiat amount")
    pm_tags = [t for t in tags if t[0] == "pm"]
    if len(pm_tags) != 1:
        raise OrderError("exactly one 'pm' tag is needed")
    methods = tuple(m.strip() for item in pm_tags[0][1:] for m in item.split(",") if m.strip())
    premium_text = value("premium")
    stamps = {n: _uint(v, n, 2**53 - 1) for n in ("expires_at", "expiration") if (v := value(n)) is not None}
    order = Order(
        order_id=single["d"][1],
        side=side,
        currency=single["f"][1],
        fiat_min=fiat_min,
        fiat_max=fiat_max,
        payment_methods=methods,
        premium=Decimal(0) if premium_text is None else _decimal(premium_text, "premium", signed=True),
        amount_sat=_uint(single["amt"][1], "amt", MAX_SATS),
        network=value("network") or "mainnet",  # NIP-69 orders without the tag predate it: mainnet
        status=status,
        layer=value("layer") or "lightning",  # ditto: the first platforms were Lightning-only
        platform=value("y") or "unknown",
        expires_at=stamps.get("expires_at"),
        expiration=stamps.get("expiration"),
        name=value("name"),
        source=value("source"),
        rating=value("rating"),
        geohash=value("g"),
        bond=value("bond"),
        extra_tags=tuple(t for t in tags if t[0] not in KNOWN_TAGS),
    )
    order.validate()
    return order


def parse_order(event: Event) -> PublishedOrder:
    """Read a kind-38383 event (already verified by Event.from_json) as an order of any platform."""
    if event.kind != KIND_ORDER:
        raise OrderError("not a NIP-69 order (kind 38383)")
    return PublishedOrder(parse_order_tags(event.tags), event)


def order_filter(
    *,
    side: OrderSide | None = None,
    currencies: Iterable[str] = (),
    platforms: Iterable[str] = (),
    statuses: Iterable[OrderStatus] = (),
    authors: Sequence[str] = (),
    since: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A NIP-01 filter for order events (network and layer are not single-letter tags: filter those
    after parse_order)."""
    flt: dict[str, Any] = {"kinds": [KIND_ORDER]}
    if side is not None:
        flt["#k"] = [side.value]
    if currencies := list(currencies):
        flt["#f"] = currencies
    if platforms := list(platforms):
        flt["#y"] = platforms
    if statuses := [s.value for s in statuses]:
        flt["#s"] = statuses
    if authors:
        flt["authors"] = list(authors)
    if since is not None:
        flt["since"] = since
    if limit is not None:
        flt["limit"] = limit
    return flt


__all__ = [
    "KIND_ORDER",
    "LAYER_ONCHAIN",
    "PLATFORM",
    "Order",
    "OrderSide",
    "OrderStatus",
    "PublishedOrder",
    "build_order_event",
    "order_filter",
    "order_tags",
    "parse_order",
    "parse_order_tags",
]
