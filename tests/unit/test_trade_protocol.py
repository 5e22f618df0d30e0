"""The trade state machine, walked from its tables: every row of every role's table advances to its
next state with a valid event, every (state, event) pair without a row raises ProtocolError, and
guards refuse forged, tampered and out-of-place events (contexts are immutable, so a refusal changes
nothing)."""

from __future__ import annotations

import dataclasses

import pytest

from core.trade.context import Role
from core.trade.contract import PayoutKind
from core.trade.errors import ProtocolError
from core.trade.messages import MsgKind
from core.trade.offer import Side
from core.trade.protocol import TABLES, step
from core.trade.protocol_types import Ev, Event, Op, State
from core.trade.rules_after import CHECKLIST
from core.wallet.psbt import psbt_from_base64, psbt_to_base64
from tests.unit.trade_fixture import ARBITRATOR, BUYER, NOW, SELLER, Fixture, key, msg, payout

MAKER_ONLY = {Ev.M_TAKE, Ev.M_CONTRACT_SIG}
TAKER_ONLY = {Ev.TAKE, Ev.M_ACCEPT, Ev.M_REJECT}


def fixture_for(role: Role, kind: Ev) -> Fixture:
    """A fixture where our role is maker or taker as the row requires."""
    if role is Role.ARBITRATOR:
        return Fixture(role)
    own_side = Side.BUY if role is Role.BUYER else Side.SELL
    other = Side.SELL if own_side is Side.BUY else Side.BUY
    if kind in MAKER_ONLY:
        return Fixture(role, own_side)
    if kind in TAKER_ONLY:
        return Fixture(role, other)
    return Fixture(role, Side.SELL)


ROWS = [(role, state, kind) for role, table in TABLES.items() for (state, kind) in table]
ILLEGAL = [(role, state, kind) for role, table in TABLES.items() for state in State for kind in Ev if (state, kind) not in table]


@pytest.mark.parametrize(("role", "state", "kind"), ROWS, ids=[f"{r.value}-{s.value}-{k.value}" for r, s, k in ROWS])
def test_every_row_advances(role: Role, state: State, kind: Ev) -> None:
    fx = fixture_for(role, kind)
    ctx = fx.ctx(state)
    new_state, new_ctx, effects = step(role, state, ctx, fx.event(kind))
    expected = TABLES[role][(state, kind)].next_state or state
    assert new_state is expected
    assert new_ctx.trade_id == ctx.trade_id and new_ctx.role is role
    assert all(isinstance(e.op, Op) for e in effects)


_EVENT_SOURCE = Fixture(Role.BUYER)


@pytest.mark.parametrize(("role", "state", "kind"), ILLEGAL, ids=[f"{r.value}-{s.value}-{k.value}" for r, s, k in ILLEGAL])
def test_every_other_pair_raises(role: Role, state: State, kind: Ev) -> None:
    ctx = Fixture(role).ctx(state)
    before = ctx.to_text()
    with pytest.raises(ProtocolError, match="not allowed"):
        step(role, state, ctx, _EVENT_SOURCE.event(kind))
    assert ctx.to_text() == before


def test_tables_cover_the_scenarios() -> None:
    """Each trader can reach every final state from OFFER_OPEN along the table's arrows."""
    for role in (Role.BUYER, Role.SELLER):
        reach = {State.OFFER_OPEN}
        while True:
            more = {t.next_state for (s, _), t in TABLES[role].items() if s in reach and t.next_state is not None}
            if more <= reach:
                break
            reach |= more
        assert {State.COMPLETED, State.COOP_CANCELLED, State.ARBITRATED, State.REFUNDED_AFTER_T1,
                State.FAILED_BEFORE_DEPOSIT} <= reach


# -- guards ----------------------------------------------------------------------------------------------


def refused(role: Role, state: State, fx: Fixture, event: Event) -> None:
    with pytest.raises(ProtocolError):
        step(role, state, fx.ctx(state), event)


def test_release_never_without_the_full_checklist() -> None:
    fx = Fixture(Role.SELLER)
    for missing in CHECKLIST:
        checklist = {item: item != missing for item in CHECKLIST}
        refused(Role.SELLER, State.PAYMENT_SENT, fx, Event(Ev.RECEIVED, {"checklist": checklist}, now=NOW))
    refused(Role.SELLER, State.PAYMENT_SENT, fx, Event(Ev.RECEIVED, {}, now=NOW))
    # "I paid" from the buyer changes the state but signs nothing: no SIGN_RELEASE effect.
    _, _, effects = step(Role.SELLER, State.DEPOSIT_CONFIRMED, fx.ctx(State.DEPOSIT_CONFIRMED), fx.event(Ev.M_PAYMENT_SENT))
    assert all(e.op is not Op.SIGN_RELEASE for e in effects)
    _, _, effects = step(Role.SELLER, State.PAYMENT_SENT, fx.ctx(State.PAYMENT_SENT), fx.event(Ev.RECEIVED))
    assert [e.op for e in effects if e.op is Op.SIGN_RELEASE] == [Op.SIGN_RELEASE]


def _tamper(psbt_b64: str, delta: int) -> str:
    psbt = psbt_from_base64(psbt_b64)
    out = psbt.tx.vout[0]
    vout = (dataclasses.replace(out, value=out.value + delta), *psbt.tx.vout[1:])
    psbt.tx = dataclasses.replace(psbt.tx, vout=vout)
    return psbt_to_base64(psbt)


def test_tampered_release_refused() -> None:
    fx = Fixture(Role.BUYER)
    good = fx.event(Ev.M_RELEASE)
    assert good.msg is not None
    for delta in (1, -1, 5_000):
        body = {"psbt": _tamper(good.msg.body["psbt"], delta)}
        refused(Role.BUYER, State.PAYMENT_SENT, fx, Event.message(msg(SELLER, BUYER, MsgKind.RELEASE, body, fx.trade_id), NOW))
    # Signed by the buyer's own key instead of the seller's: no valid seller signature.
    body = {"psbt": payout(fx.contract, PayoutKind.RELEASE, BUYER)}
    refused(Role.BUYER, State.PAYMENT_SENT, fx, Event.message(msg(SELLER, BUYER, MsgKind.RELEASE, body, fx.trade_id), NOW))
    # A cancel split presented as a release.
    body = {"psbt": payout(fx.contract, PayoutKind.CANCEL, SELLER)}
    refused(Role.BUYER, State.PAYMENT_SENT, fx, Event.message(msg(SELLER, BUYER, MsgKind.RELEASE, body, fx.trade_id), NOW))


def test_message_from_a_stranger_refused() -> None:
    fx = Fixture(Role.BUYER)
    stranger = key("stranger")
    refused(Role.BUYER, State.DEPOSIT_CONFIRMED, fx, Event.message(
        msg(stranger, BUYER, MsgKind.CANCEL_DECLINE, {"reason": "x"}, fx.trade_id), NOW))
    # A ruling must come from the contract's arbitrator, not the seller.
    ruling = fx.event(Ev.M_RULING)
    assert ruling.msg is not None
    forged = Event.message(msg(SELLER, BUYER, MsgKind.RULING, dict(ruling.msg.body), fx.trade_id), NOW)
    refused(Role.BUYER, State.DISPUTE_OPEN, fx, forged)
    # For another trade id, or addressed to another key.
    other = Event.message(msg(SELLER, BUYER, MsgKind.CHAT, {"text": "x"}, "00" * 16), NOW)
    refused(Role.BUYER, State.DEPOSIT_CONFIRMED, fx, other)
    wrong_to = Event.message(msg(SELLER, ARBITRATOR, MsgKind.CHAT, {"text": "x"}, fx.trade_id), NOW)
    refused(Role.BUYER, State.DEPOSIT_CONFIRMED, fx, wrong_to)


def test_take_limits_and_contract_mismatch() -> None:
    fx = Fixture(Role.SELLER, Side.SELL)
    body = fx._take_body()
    for change in ({"amount_sat": 300_000, "method": "paypal"}, {"amount_sat": 50_000}, {"method": "zelle"},
                   {"price": "49000"}, {"offer_id": "00" * 16}):
        ev = Event.message(msg(BUYER, SELLER, MsgKind.TAKE, {**body, **change}, fx.trade_id), NOW, offer_open=True)
        refused(Role.SELLER, State.OFFER_OPEN, fx, ev)
    closed = Event.message(msg(BUYER, SELLER, MsgKind.TAKE, body, fx.trade_id), NOW, offer_open=False)
    refused(Role.SELLER, State.OFFER_OPEN, fx, closed)
    bad_identity = {**body, "identity_sig": "00" * 64}
    refused(Role.SELLER, State.OFFER_OPEN, fx, Event.message(msg(BUYER, SELLER, MsgKind.TAKE, bad_identity, fx.trade_id), NOW, offer_open=True))
    # Within the start-small limit with a non-reversible method it is accepted.
    ok = Event.message(msg(BUYER, SELLER, MsgKind.TAKE, {**body, "amount_sat": 300_000}, fx.trade_id), NOW, offer_open=True)
    assert step(Role.SELLER, State.OFFER_OPEN, fx.ctx(State.OFFER_OPEN), ok)[0] is State.TAKE_REQUESTED
    # The taker refuses a contract that differs from its take.
    taker = Fixture(Role.BUYER, Side.SELL)
    accept = taker.event(Ev.M_ACCEPT)
    assert accept.msg is not None
    contract = dict(accept.msg.body["contract"], amount_sat=250_000)
    forged = {**accept.msg.body, "contract": contract}
    refused(Role.BUYER, State.TAKE_REQUESTED, taker, Event.message(msg(SELLER, BUYER, MsgKind.ACCEPT, forged, taker.trade_id), NOW))
    wrong_sig = {**accept.msg.body, "sig": taker.contract.sign(BUYER.escrow)}
    refused(Role.BUYER, State.TAKE_REQUESTED, taker, Event.message(msg(SELLER, BUYER, MsgKind.ACCEPT, wrong_sig, taker.trade_id), NOW))


def test_tampered_deposit_refused() -> None:
    fx = Fixture(Role.BUYER)
    good = fx.event(Ev.M_DEPOSIT_PSBT)
    assert good.msg is not None
    ours = {fx.contract.escrow_spk(), fx.buyer_part.tx.vout[0].script_pubkey}
    for delta in (-1, 1):
        # The escrow output and our change must be exact (the seller's change is the seller's business).
        psbt = psbt_from_base64(good.msg.body["psbt"])
        for i in [n for n, o in enumerate(psbt.tx.vout) if o.script_pubkey in ours]:
            p = psbt_from_base64(good.msg.body["psbt"])
            vout = list(p.tx.vout)
            vout[i] = dataclasses.replace(vout[i], value=vout[i].value + delta)
            p.tx = dataclasses.replace(p.tx, vout=tuple(vout))
            ev = Event.message(msg(SELLER, BUYER, MsgKind.DEPOSIT_PSBT, {"psbt": psbt_to_base64(p)}, fx.trade_id), NOW)
            refused(Role.BUYER, State.CONTRACT_SIGNED, fx, ev)
    # Signed once: a second deposit proposal is refused.
    signed = dataclasses.replace(fx.ctx(State.CONTRACT_SIGNED), deposit_signed=True)
    with pytest.raises(ProtocolError):
        step(Role.BUYER, State.CONTRACT_SIGNED, signed, good)


def test_payment_details_must_match_the_contract() -> None:
    fx = Fixture(Role.SELLER)
    ev = Event.message(msg(BUYER, SELLER, MsgKind.PAYMENT_DETAILS, {"account": "IBAN of mallory", "salt": BUYER.salt.hex()}, fx.trade_id), NOW)
    refused(Role.SELLER, State.DEPOSIT_CONFIRMED, fx, ev)


def test_refund_only_after_t1_and_ruling_needs_a_ruling() -> None:
    fx = Fixture(Role.SELLER)
    early = dataclasses.replace(fx.ctx(State.PAYMENT_SENT), refund_available=False)
    with pytest.raises(ProtocolError):
        step(Role.SELLER, State.PAYMENT_SENT, early, fx.event(Ev.REFUND))
    no_ruling = dataclasses.replace(fx.ctx(State.DISPUTE_OPEN), ruling=None)
    with pytest.raises(ProtocolError):
        step(Role.SELLER, State.DISPUTE_OPEN, no_ruling, fx.event(Ev.ACCEPT_RULING))
    ruled = fx.ctx(State.DISPUTE_OPEN)
    assert ruled.ruling is not None
    _, accepted, effects = step(Role.SELLER, State.DISPUTE_OPEN, ruled, fx.event(Ev.ACCEPT_RULING))  # once: fine
    assert accepted.ruling_accepted and [e.op for e in effects] == [Op.BROADCAST_PAYOUT]
    with pytest.raises(ProtocolError, match="accepted already"):  # twice (before the payout ran): refused
        step(Role.SELLER, State.DISPUTE_OPEN, accepted, fx.event(Ev.ACCEPT_RULING))
    broadcast = dataclasses.replace(ruled, payout_txid="ab" * 32)  # a context from before the flag existed
    with pytest.raises(ProtocolError, match="accepted already"):
        step(Role.SELLER, State.DISPUTE_OPEN, broadcast, fx.event(Ev.ACCEPT_RULING))
    arb = Fixture(Role.ARBITRATOR)
    for split in ((1, 1), (-5, arb.contract.escrow_value + 5), ("1", 2)):
        with pytest.raises(ProtocolError):
            step(Role.ARBITRATOR, State.DISPUTE_OPEN, arb.ctx(State.DISPUTE_OPEN),
                 Event(Ev.RULE, {"buyer_sat": split[0], "seller_sat": split[1]}, now=NOW))


def test_arbitrator_refuses_disputes_not_naming_it() -> None:
    arb = Fixture(Role.ARBITRATOR)
    good = arb.event(Ev.M_DISPUTE)
    assert good.msg is not None
    body = dict(good.msg.body)
    body["contract"] = dict(body["contract"], buyer_sig=arb.contract.sign(SELLER.escrow))
    bad = Event.message(msg(BUYER, ARBITRATOR, MsgKind.DISPUTE, body, arb.trade_id), NOW)
    refused(Role.ARBITRATOR, State.OFFER_OPEN, arb, bad)
    stranger = Event.message(msg(key("x"), ARBITRATOR, MsgKind.DISPUTE, dict(good.msg.body), arb.trade_id), NOW)
    refused(Role.ARBITRATOR, State.OFFER_OPEN, arb, stranger)
