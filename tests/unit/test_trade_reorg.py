"""Chain reorganisations in the trade protocol: a deposit whose block is disconnected is unconfirmed again
(a buyer who has not paid goes back to waiting and may not mark it paid; T1 and the refund path start
over from the new confirmation), a disconnected payout is unconfirmed again, and a reorganisation above
the confirmed height changes nothing."""

from __future__ import annotations

import dataclasses

import pytest

from core.trade.context import Role
from core.trade.errors import NotAllowedError, ProtocolError
from core.trade.protocol import step
from core.trade.protocol_types import Ev, Event, Op, State
from tests.unit.trade_fixture import DEPOSIT_HEIGHT, NOW, PAYOUT_HEIGHT, Fixture

NEW_HEIGHT = DEPOSIT_HEIGHT + 2


def _timers(effects: list) -> dict[str, object]:
    out: dict[str, object] = {}
    for e in effects:
        if e.op is Op.START_TIMER:
            out[e.args["name"]] = e.args["height"]
        elif e.op is Op.CANCEL_TIMER:
            out[e.args["name"]] = "cancel"
    return out


def _reconfirmed(fx: Fixture) -> Event:
    ev = fx.event(Ev.DEPOSIT_CONFIRMED)
    return Event(Ev.DEPOSIT_CONFIRMED, {**ev.data, "height": NEW_HEIGHT}, now=NOW)


def test_buyer_who_has_not_paid_waits_again_and_cannot_mark_paid() -> None:
    fx = Fixture(Role.BUYER)
    state, ctx, eff = step(Role.BUYER, State.DEPOSIT_CONFIRMED, fx.ctx(State.DEPOSIT_CONFIRMED), fx.event(Ev.DEPOSIT_REORGED))
    assert state is State.DEPOSIT_BROADCAST and ctx.deposit_height == -1 and not ctx.refund_available
    assert _timers(eff) == {"t1": "cancel", "t1_warning": "cancel"}
    assert "do not pay" in ctx.notes[-1]
    with pytest.raises(NotAllowedError):
        step(Role.BUYER, state, ctx, fx.event(Ev.PAID))
    state, ctx, eff = step(Role.BUYER, state, ctx, _reconfirmed(fx))
    assert state is State.DEPOSIT_CONFIRMED and ctx.deposit_height == NEW_HEIGHT
    t1 = fx.contract.t1_blocks
    assert _timers(eff)["t1_warning"] == NEW_HEIGHT + t1 - max(t1 // 4, 1)  # counted from the new height
    step(Role.BUYER, state, ctx, fx.event(Ev.PAID))  # now paying is offered again


def test_seller_after_payment_keeps_its_state_and_t1_starts_over() -> None:
    fx = Fixture(Role.SELLER)
    before = fx.ctx(State.PAYMENT_SENT)
    assert before.refund_available
    state, ctx, eff = step(Role.SELLER, State.PAYMENT_SENT, before, fx.event(Ev.DEPOSIT_REORGED))
    assert state is State.PAYMENT_SENT and ctx.deposit_height == -1 and not ctx.refund_available
    assert _timers(eff) == {"t1": "cancel", "t1_warning": "cancel"}
    with pytest.raises(ProtocolError):
        step(Role.SELLER, state, ctx, fx.event(Ev.REFUND))  # the refund path waits for T1 from the new height
    state, ctx, eff = step(Role.SELLER, state, ctx, _reconfirmed(fx))
    assert state is State.PAYMENT_SENT and ctx.deposit_height == NEW_HEIGHT
    assert _timers(eff)["t1"] == NEW_HEIGHT + fx.contract.t1_blocks - 1
    # The same confirmation reported again changes nothing.
    again, ctx2, eff2 = step(Role.SELLER, state, ctx, _reconfirmed(fx))
    assert again is state and ctx2 == ctx and eff2 == []


def test_a_reorganisation_above_the_deposit_changes_nothing() -> None:
    for role in (Role.BUYER, Role.SELLER, Role.ARBITRATOR):
        fx = Fixture(role)
        state = State.DISPUTE_OPEN
        higher = Event(Ev.DEPOSIT_REORGED, {"height": DEPOSIT_HEIGHT + 1}, now=NOW)
        with pytest.raises(ProtocolError, match="not in a disconnected block"):
            step(role, state, fx.ctx(state), higher)
        unconfirmed = dataclasses.replace(fx.ctx(state), deposit_height=-1)
        with pytest.raises(ProtocolError):
            step(role, state, unconfirmed, fx.event(Ev.DEPOSIT_REORGED))


def test_a_disconnected_payout_is_unconfirmed_until_it_confirms_again() -> None:
    for role in (Role.BUYER, Role.SELLER, Role.ARBITRATOR):
        fx = Fixture(role)
        state, ctx, _ = step(role, State.COMPLETED, fx.ctx(State.COMPLETED), fx.event(Ev.PAYOUT_REORGED))
        assert state is State.COMPLETED and ctx.payout_height == -1
        confirmed = Event(Ev.PAYOUT_CONFIRMED, {"txid": ctx.payout_txid, "height": PAYOUT_HEIGHT + 1}, now=NOW)
        state, ctx, eff = step(role, state, ctx, confirmed)
        assert ctx.payout_height == PAYOUT_HEIGHT + 1 and [e.args.get("what") for e in eff] == ["payout_confirmed"]
        with pytest.raises(ProtocolError):
            step(role, state, ctx, Event(Ev.PAYOUT_REORGED, {"height": PAYOUT_HEIGHT + 2}, now=NOW))
