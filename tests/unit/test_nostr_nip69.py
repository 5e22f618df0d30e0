"""NIP-69 order events: our offers round-trip, foreign orders parse read-only, bad tags are refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.errors import NostrError, OrderError
from core.trade.nostr.event import Event, check_tags
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip69 import (
    KIND_ORDER,
    Order,
    OrderSide,
    OrderStatus,
    build_order_event,
    order_filter,
    order_tags,
    parse_order,
    parse_order_tags,
)

MAKER = NostrKey.from_hex("21" * 32)
OFFER = Order(
    order_id="9f1c2b",
    side=OrderSide.SELL,
    currency="EUR",
    fiat_min=Decimal("50"),
    fiat_max=Decimal("500.5"),
    payment_methods=("SEPA", "Revolut"),
    premium=Decimal("-1.25"),
    amount_sat=0,
    network="signet",
    expires_at=1900000000,
    expiration=1900086400,
    name="alice",
    extra_tags=(("arbitrator", "ab" * 32),),
)

# The example event of the NIP-69 text (its signature is illustrative only, so it is read unverified).
NIP69_EXAMPLE: dict[str, Any] = {
    "id": "84fad0d29cb3529d789faeff2033e88fe157a48e071c6a5d1619928289420e31",
    "pubkey": "dbe0b1be7aafd3cfba92d7463edbd4e33b2969f61bd554d37ac56f032e13355a",
    "created_at": 1702548701,
    "kind": 38383,
    "tags": [
        ["d", "ede61c96-4c13-4519-bf3a-dcf7f1e9d842"], ["k", "sell"], ["f", "VES"], ["s", "pending"],
        ["amt", "0"], ["fa", "100"], ["pm", "face to face", "bank transfer"], ["premium", "1"],
        ["rating", '{"total_reviews":1,"total_rating":3.0,"last_rating":3,"max_rate":5,"min_rate":1}'],
        ["source", "https://t.me/p2plightning/xxxxxxx"], ["network", "mainnet"], ["layer", "lightning"],
        ["name", "Nakamoto"], ["g", "<geohash>"], ["bond", "0"], ["expires_at", "1719391096"],
        ["expiration", "1719995896"], ["y", "lnp2pbot"], ["z", "order"],
    ],
    "content": "",
    "sig": "7e8fe1eb644f33ff51d8805c02a0e1a6d034e6234eac50ef7a7e0dac68a0414f7910366204fa8217086f90eddaa37ded71e61f736d1838e37c0b73f6a16c4af2",
}


def test_our_offer_round_trips() -> None:
    event = build_order_event(MAKER, OFFER, created_at=1800000000)
    assert event.kind == KIND_ORDER and event.is_addressable
    tags = dict((t[0], t[1:]) for t in event.tags)
    assert tags["y"] == ("peerwallet",) and tags["layer"] == ("onchain",) and tags["z"] == ("order",)
    assert tags["fa"] == ("50", "500.5") and tags["premium"] == ("-1.25",) and tags["pm"] == ("SEPA", "Revolut")
    published = parse_order(Event.from_json(event.to_text()))
    assert published.order == OFFER and not published.read_only
    assert published.maker_xonly == MAKER.xonly and published.address == f"38383:{MAKER.xonly}:9f1c2b"


def test_fixed_amount_writes_one_value() -> None:
    fixed = Order("o", OrderSide.BUY, "USD", Decimal(100), Decimal(100), ("Zelle",), Decimal(0), 150000, "mainnet")
    assert ["fa", "100"] in order_tags(fixed)
    assert parse_order_tags(check_tags(order_tags(fixed))) == fixed


def test_foreign_example_is_read_only() -> None:
    published = parse_order(Event.from_json(NIP69_EXAMPLE, verify=False))
    order = published.order
    assert published.read_only and order.platform == "lnp2pbot" and order.layer == "lightning"
    assert order.payment_methods == ("face to face", "bank transfer")
    assert (order.fiat_min, order.fiat_max, order.amount_sat, order.premium) == (100, 100, 0, 1)
    assert order.is_expired(1719391096) and not order.is_expired(1719391095)


def test_comma_separated_methods_and_missing_optional_tags() -> None:
    tags = check_tags([["d", "x"], ["k", "buy"], ["f", "ARS"], ["s", "in-progress"], ["amt", "1000"],
                       ["fa", "1", "2"], ["pm", "MercadoPago, Uala"], ["robosats", "1"]])
    order = parse_order_tags(tags)
    assert order.payment_methods == ("MercadoPago", "Uala") and order.status is OrderStatus.IN_PROGRESS
    assert order.platform == "unknown" and order.extra_tags == (("robosats", "1"),)


def _tags_without(name: str) -> list[list[str]]:
    return [list(t) for t in order_tags(OFFER) if t[0] != name]


def _tags_with(name: str, *values: str) -> list[list[str]]:
    return [[name, *values] if t[0] == name else list(t) for t in order_tags(OFFER)]


BAD_TAGS = {
    **{f"missing {n}": _tags_without(n) for n in ("d", "k", "f", "s", "amt", "fa", "pm")},
    "bad side": _tags_with("k", "swap"),
    "bad status": _tags_with("s", "open"),
    "negative fiat": _tags_with("fa", "-5"),
    "fiat exponent": _tags_with("fa", "1e3"),
    "fiat range reversed": _tags_with("fa", "9", "1"),
    "three fiat values": _tags_with("fa", "1", "2", "3"),
    "amt not an integer": _tags_with("amt", "1.5"),
    "amt above 21M BTC": _tags_with("amt", str(21_000_000 * 10**8 + 1)),
    "amt leading zero": _tags_with("amt", "01"),
    "premium nan": _tags_with("premium", "NaN"),
    "empty methods": _tags_with("pm", " , "),
    "z not order": _tags_with("z", "info"),
    "duplicate d": [*order_tags(OFFER), ["d", "other"]],
    "expiration not a number": _tags_with("expiration", "soon"),
    "tag without value": _tags_with("f"),
}


@pytest.mark.parametrize("tags", BAD_TAGS.values(), ids=BAD_TAGS.keys())
def test_bad_orders_are_refused(tags: list[list[str]]) -> None:
    with pytest.raises(OrderError):
        parse_order_tags(check_tags(tags))


def test_build_refuses_bad_orders_and_wrong_kind() -> None:
    from dataclasses import replace

    for bad in (replace(OFFER, payment_methods=()), replace(OFFER, payment_methods=("a,b",)),
                replace(OFFER, fiat_min=Decimal(600)), replace(OFFER, extra_tags=(("pm", "x"),)),
                replace(OFFER, amount_sat=-1), replace(OFFER, order_id="")):
        with pytest.raises(OrderError):
            build_order_event(MAKER, bad)
    with pytest.raises(OrderError):
        parse_order(Event.sign(MAKER, 1, "", order_tags(OFFER)))


def test_filter() -> None:
    flt = order_filter(side=OrderSide.SELL, currencies=["EUR"], platforms=["peerwallet"],
                       statuses=[OrderStatus.PENDING], since=5, limit=10)
    assert flt == {"kinds": [38383], "#k": ["sell"], "#f": ["EUR"], "#y": ["peerwallet"], "#s": ["pending"],
                   "since": 5, "limit": 10}


tag_lists = st.lists(
    st.lists(
        st.sampled_from(["d", "k", "f", "s", "amt", "fa", "pm", "premium", "y", "z", "expiration", "x"])
        | st.text(max_size=12),
        min_size=1,
        max_size=4,
    ),
    max_size=20,
)


@settings(max_examples=400, deadline=None)
@given(tag_lists)
def test_fuzz_random_tags(tags: list[list[str]]) -> None:
    try:
        order = parse_order_tags(check_tags(tags))
    except NostrError:
        return
    order.validate()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_offer_tags(data: st.DataObject) -> None:
    tags = [list(t) for t in order_tags(OFFER)]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(tags) - 1))
        j = data.draw(st.integers(0, len(tags[i]) - 1))
        tags[i][j] = data.draw(st.text(max_size=12) | st.sampled_from(["", "-1", "1e9", "0.000000001", "sell"]))
    try:
        order = parse_order_tags(check_tags(tags))
    except OrderError:
        return
    order.validate()
