"""The trade page's read models: one state and the single next action per (role, state, pending proposal),
payment details only after the deposit, warnings; the offer book from the user's side with filters."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from core.trade.book_view import book_rows, currencies, filter_rows, methods
from core.trade.context import Role, TradeContext
from core.trade.guide import guide
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip69 import Order, OrderSide, OrderStatus, build_order_event
from core.trade.offer import Side
from core.trade.offer_event import read_offer_event
from core.trade.protocol_types import State
from core.trade.store import TradeRow, TradeStore
from tests.unit.trade_fixture import DEPOSIT_HEIGHT, NOW, Fixture, offer

TIP = DEPOSIT_HEIGHT + 1  # two confirmations


def _row(role: Role, state: State, **changes: object) -> TradeRow:
    """A trade in `state` with no pending cancel, ruling or refund unless `changes` add them."""
    f = Fixture(role)
    ctx = f.ctx(state)
    cleared: dict[str, object] = {"cancel_psbt": "", "cancel_by": "", "ruling": None, "refund_available": False}
    ctx = dataclasses.replace(ctx, **{**cleared, **changes})  # type: ignore[arg-type]
    return TradeRow(f.trade_id, role, state, ctx, 0.0)


@pytest.mark.parametrize(
    ("role", "state", "changes", "action", "title"),
    [
        (Role.BUYER, State.DEPOSIT_BROADCAST, {}, "", "Deposit broadcast (0 of 1 confirmations)"),
        (Role.BUYER, State.DEPOSIT_CONFIRMED, {}, "paid", "Deposit confirmed: pay the seller now"),
        (Role.SELLER, State.DEPOSIT_CONFIRMED, {}, "", "Deposit confirmed: waiting for the buyer's payment"),
        (Role.BUYER, State.PAYMENT_SENT, {}, "", "Waiting for the seller to release"),
        (Role.SELLER, State.PAYMENT_SENT, {}, "received", "The buyer says they paid: check your account"),
        (Role.SELLER, State.PAYMENT_SENT, {"cancel_psbt": "x", "cancel_by": "buyer"}, "accept_cancel", None),
        (Role.BUYER, State.DISPUTE_OPEN, {"ruling": {"buyer_sat": 1, "seller_sat": 2}}, "accept_ruling", "The arbitrator ruled"),
        (Role.SELLER, State.DEPOSIT_CONFIRMED, {"refund_available": True}, "refund", None),
        (Role.BUYER, State.COMPLETED, {}, "rate", "Completed"),
        (Role.BUYER, State.COMPLETED, {"my_rating": 4}, "", "Completed"),
        (Role.ARBITRATOR, State.DISPUTE_OPEN, {}, "rule", "Dispute to rule on"),
        (Role.ARBITRATOR, State.DISPUTE_OPEN, {"ruling": {"buyer_sat": 1, "seller_sat": 2}}, "", "Ruling sent"),
    ],
)
def test_one_state_and_the_single_next_action(role: Role, state: State, changes: dict, action: str, title: str | None) -> None:
    if state is State.DEPOSIT_BROADCAST:
        changes = {**changes, "deposit_height": -1}
    g = guide(_row(role, state, **changes), TIP)
    assert g.action == action
    if title is not None:
        assert g.title == title
    assert bool(g.action_label) == bool(action)


def test_secondary_actions_and_confirmations() -> None:
    g = guide(_row(Role.BUYER, State.DEPOSIT_CONFIRMED), TIP)
    assert g.secondary == ("dispute", "cancel") and (g.confirmations, g.confirmations_needed) == (2, 1)
    g = guide(_row(Role.SELLER, State.PAYMENT_SENT, cancel_psbt="x", cancel_by="buyer"), TIP)
    assert g.secondary == ("decline_cancel", "dispute")
    assert guide(_row(Role.BUYER, State.COMPLETED), TIP).secondary == ()
    assert guide(_row(Role.BUYER, State.DEPOSIT_BROADCAST, deposit_height=-1), TIP).confirmations == -1


def test_payment_details_only_after_the_deposit_is_broadcast() -> None:
    assert not guide(_row(Role.BUYER, State.CONTRACT_SIGNED, peer_account="IBAN 1"), TIP).show_payment_details
    assert guide(_row(Role.BUYER, State.DEPOSIT_BROADCAST, peer_account="IBAN 1", deposit_height=-1), TIP).show_payment_details
    assert not guide(_row(Role.BUYER, State.DEPOSIT_BROADCAST, deposit_height=-1), TIP).show_payment_details  # none yet
    assert not guide(_row(Role.ARBITRATOR, State.DISPUTE_OPEN), TIP).show_payment_details


def test_warnings_for_reversible_methods_and_new_counterparties() -> None:
    g = guide(_row(Role.SELLER, State.DEPOSIT_CONFIRMED), TIP)  # by SEPA, with a peer without receipts
    assert g.peer_reputation is not None and g.peer_reputation.is_new
    assert len(g.warnings) == 1 and "First trade with this counterparty" in g.warnings[0] and "500,000 sat" in g.warnings[0]
    f = Fixture(Role.BUYER)
    before = TradeContext(f.trade_id, Role.BUYER, False, f.offer.to_json(), "aa" * 32, method="paypal", amount_sat=100_000)
    g = guide(TradeRow(f.trade_id, Role.BUYER, State.OFFER_OPEN, before, 0.0), TIP)
    assert g.peer_reputation is None and len(g.warnings) == 1 and "can be reversed" in g.warnings[0]
    assert guide(_row(Role.ARBITRATOR, State.DISPUTE_OPEN), TIP).warnings == ()


def test_the_book_from_the_users_side_with_filters(tmp_path: Path) -> None:
    store = TradeStore(tmp_path / "t.sqlite")
    sell, buy = offer(Side.SELL), offer(Side.BUY)
    store.put_offer(sell.to_json(), mine=False, status="open")
    store.put_offer(buy.to_json(), mine=True, status="open")
    taken = dataclasses.replace(sell, id="ee" * 16)
    store.put_offer(taken.to_json(), mine=False, status="taken")
    order = Order("x1", OrderSide.SELL, "USD", Decimal(100), Decimal(500), ("zelle",), Decimal(2), 0, "sandbox",
                  platform="mostro", layer="lightning", expires_at=NOW + 1000, name="someone")
    event = build_order_event(NostrKey.generate(), order, created_at=NOW)
    expired = build_order_event(NostrKey.generate(), dataclasses.replace(order, order_id="x2", expires_at=NOW - 1), created_at=NOW)
    other_net = build_order_event(NostrKey.generate(), dataclasses.replace(order, order_id="x3", network="mainnet"), created_at=NOW)
    book = {"a": read_offer_event(event), "b": read_offer_event(expired), "c": read_offer_event(other_net)}
    assert [r.key for r in book_rows(store, book, "main", NOW)] == ["c"]  # the rest is on the sandbox
    rows = book_rows(store, book, "sandbox", NOW)
    store.close()
    assert [(r.key, r.user_side, r.mine, r.read_only) for r in rows] == [
        (sell.id, Side.BUY, False, False), ("a", Side.BUY, False, True), (buy.id, Side.SELL, True, False),
    ]
    assert rows[0].fiat_min == Decimal("50.00") and rows[0].reversible == ("paypal",) and rows[1].platform == "mostro"
    assert currencies(rows) == ["EUR", "USD"] and methods(rows) == ["paypal", "sepa", "zelle"]
    assert [r.key for r in filter_rows(rows, side=Side.SELL)] == [buy.id]
    assert [r.key for r in filter_rows(rows, currency="USD")] == ["a"]
    assert [r.key for r in filter_rows(rows, method="sepa", amount_sat=150_000)] == [sell.id, buy.id]
    assert [r.key for r in filter_rows(rows, amount_sat=50_000)] == ["a"]  # unknown range kept
    assert OrderStatus.PENDING is book["a"].status
