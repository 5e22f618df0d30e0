"""The trade store: one transaction per step (state, context, incoming message, outgoing messages,
timers, effects) — all or nothing — and what survives a reopen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.trade.context import Role
from core.trade.errors import TradeStoreError
from core.trade.messages import MsgKind, WireMessage
from core.trade.protocol import step
from core.trade.protocol_types import Effect, Ev, Op, State
from core.trade.store import MAX_PARKED_PER_TRADE, TradeStore
from tests.unit.trade_fixture import BUYER, NOW, SELLER, Fixture, msg


def signer(trade_id: str):
    def sign(eff: Effect, seq_for) -> WireMessage:
        return WireMessage.create(BUYER.nostr, trade_id, seq_for(SELLER.nostr.xonly), SELLER.nostr.xonly,
                                  MsgKind(eff.args["kind"]), eff.args["body"], NOW)
    return sign


def test_step_is_persisted_atomically(tmp_path: Path) -> None:
    fx = Fixture(Role.BUYER)
    store = TradeStore(tmp_path / "trade.sqlite")
    ctx = fx.ctx(State.DEPOSIT_CONFIRMED)
    store.commit(fx.trade_id, state=State.DEPOSIT_CONFIRMED, ctx=ctx)
    state, new_ctx, effects = step(Role.BUYER, State.DEPOSIT_CONFIRMED, ctx, fx.event(Ev.PAID))
    incoming = fx.event(Ev.M_CHAT).msg
    assert incoming is not None
    pending = store.commit(fx.trade_id, state=state, ctx=new_ctx, effects=[*effects, Effect(Op.SIGN_RELEASE)],
                           incoming=incoming, sign_send=signer(fx.trade_id))
    assert [p.effect.op for p in pending] == [Op.SIGN_RELEASE]
    row = store.trade(fx.trade_id)
    assert row is not None and row.state is State.PAYMENT_SENT and row.ctx == new_ctx
    out = store.pending_out()
    assert [m.kind for m in out] == ["payment_sent"] and '"seq":1' in out[0].raw
    assert store.expected_seq(fx.trade_id, incoming.sender, incoming.recipient) == incoming.seq + 1
    assert store.seen(incoming.id)

    # A failure inside the step (here: signing a second message) leaves nothing behind.
    def broken(eff: Effect, seq_for) -> WireMessage:
        seq_for(SELLER.nostr.xonly)
        raise RuntimeError("crash while signing")

    later = dataclasses.replace(new_ctx, paid_note="changed")
    with pytest.raises(RuntimeError):
        store.commit(fx.trade_id, state=State.DISPUTE_OPEN, ctx=later, effects=[Effect(Op.START_TIMER, {"name": "x", "height": 5, "at": None}),
                     Effect(Op.SEND, {"kind": "chat", "body": {"text": "x"}, "to": "peer"})], sign_send=broken)
    row = store.trade(fx.trade_id)
    assert row is not None and row.state is State.PAYMENT_SENT and row.ctx == new_ctx
    assert store.timers(fx.trade_id) == [] and len(store.pending_out()) == 1
    # The next outgoing message still gets sequence number 2 (the failed allocation rolled back).
    store.commit(fx.trade_id, effects=[Effect(Op.SEND, {"kind": "chat", "body": {"text": "y"}, "to": "peer"})], sign_send=signer(fx.trade_id))
    assert '"seq":2' in store.pending_out()[-1].raw
    store.close()

    reopened = TradeStore(tmp_path / "trade.sqlite")
    assert reopened.trade(fx.trade_id) is not None and len(reopened.pending_out()) == 2
    assert [p.effect.op for p in reopened.pending_effects()] == [Op.SIGN_RELEASE]
    assert reopened.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()


def test_timers_effects_parked_offers_receipts(tmp_path: Path) -> None:
    store = TradeStore(tmp_path / "t.sqlite")
    t = "aa" * 16
    store.commit(t, effects=[Effect(Op.START_TIMER, {"name": "t1", "height": 100, "at": None}),
                             Effect(Op.START_TIMER, {"name": "take", "height": None, "at": 1000.0})])
    assert store.due_timers(99, 999) == []
    assert sorted(store.due_timers(100, 1000)) == [(t, "t1"), (t, "take")]
    store.commit(t, effects=[Effect(Op.CANCEL_TIMER, {"name": "t1"})])
    assert store.due_timers(10_000, 0) == []
    pend = store.commit(t, effects=[Effect(Op.REFUND_AFTER_T1), Effect(Op.NOTIFY, {"what": "x"})])
    assert len(pend) == 1
    store.effect_failed(pend[0].id, "no peers", give_up=False)
    assert store.pending_effects(t)[0].attempts == 1
    store.commit(t, done_effect=pend[0].id)
    assert store.pending_effects() == []
    for i in range(MAX_PARKED_PER_TRADE):
        assert store.park(t, f"{i:064x}", "{}", "future")
    assert not store.park(t, "ff" * 32, "{}", "future")
    store.unpark(f"{0:064x}")
    assert len(store.parked(t)) == MAX_PARKED_PER_TRADE - 1
    assert store.next_key_index() == 0 and store.next_key_index() == 1
    fx = Fixture(Role.SELLER)
    store.put_offer(fx.offer.to_json(), mine=True, status="open", local={"key_index": 0})
    assert store.offer(fx.offer.id) == (fx.offer.to_json(), True, "open", {"key_index": 0})
    store.set_offer_status(fx.offer.id, "in-progress")
    assert store.offers(mine=True)[0][2] == "in-progress"
    store.add_receipt("r1", {"buyer": "b", "seller": "s"})
    assert store.receipts("s") == [{"buyer": "b", "seller": "s"}] and store.receipts("x") == []
    store.close()


def test_rejected_message_advances_its_channel(tmp_path: Path) -> None:
    store = TradeStore(tmp_path / "t.sqlite")
    m = msg(SELLER, BUYER, MsgKind.CHAT, {"text": "x"}, "aa" * 16, seq=1)
    store.record_rejected(m, "not allowed")
    assert store.expected_seq(m.trade_id, m.sender, m.recipient) == 2 and store.seen(m.id)
    assert store.messages(m.trade_id)[0].status == "rejected"
    with pytest.raises(TradeStoreError), store.transaction():
        store.commit(m.trade_id)
    store.close()


def test_a_refused_message_is_seen_and_parked_in_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a message refused in the current state (to retry after the next state change) was
    recorded as seen in one transaction and parked in a second; a kill in between left it seen — its
    relay copy a duplicate from then on — and not kept: lost. Both now happen in one transaction."""
    store = TradeStore(tmp_path / "t.sqlite")
    m = msg(BUYER, SELLER, MsgKind.PAYMENT_SENT, {"note": "paid"}, "aa" * 16, seq=1)

    def killed(*_args: object) -> bool:
        raise KeyboardInterrupt("killed while parking")

    monkeypatch.setattr(TradeStore, "_park", staticmethod(killed))
    with pytest.raises(KeyboardInterrupt):
        store.record_rejected(m, "not allowed yet", park="deferred")
    assert not store.seen(m.id) and store.expected_seq(m.trade_id, m.sender, m.recipient) == 1  # delivered again later
    monkeypatch.undo()
    store.record_rejected(m, "not allowed yet", park="deferred")
    assert store.seen(m.id) and store.expected_seq(m.trade_id, m.sender, m.recipient) == 2
    assert store.parked(m.trade_id) == [(m.id, m.to_text(), "deferred")]
    store.close()
