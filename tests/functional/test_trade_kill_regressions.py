"""Regression tests for bugs the trade kill test found (see test_trade_kill.py): each fails on the old code."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from core.trade.contract import PayoutKind
from core.trade.messages import decode_message
from core.trade.offer import Side
from core.trade.protocol_types import State
from core.trade.store import TradeStore
from tests.functional.trade_kill_worker import BUYER_ACCOUNT, SELLER_ACCOUNT, T1_BLOCKS
from tests.functional.trade_support import (
    AMOUNT,
    TIMEOUT,
    check_final,
    open_trade,
    world,
)
from tests.unit.peer_harness import run

S = State

pytestmark = pytest.mark.slow


def test_a_message_deferred_before_a_kill_is_retried_on_start(tmp_path: Path) -> None:
    """Regression: a message that came one state too early is refused, recorded as seen and parked, and
    retried after the next state change. A kill right after that state change committed (before the
    retry ran) left it parked for good: the relay's copy is a duplicate from then on, and parked
    messages were retried only after a later state change — which never came (the seller waited for
    the buyer's "paid" forever). On start, the engine now retries every trade's parked messages."""

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w)
            trade = t.trade_id
            await s.stop()
            await b.e.paid(trade, "SEPA reference 9")
            await b.e.settle(TIMEOUT)  # "paid" is on the relay
            paid = next(m for m in b.e.store.messages(trade, ["payment_sent"]) if m.direction == "out")
            # What the killed seller left on disk: the deposit confirmed, and "paid" (which came while the
            # deposit was only broadcast) refused, seen and parked; its retry never ran.
            store = TradeStore(s.dir / "trade.sqlite")
            message = decode_message(paid.raw)
            store.commit(trade, incoming=message, incoming_status="rejected", incoming_reason="not allowed yet")
            assert store.park(trade, message.id, paid.raw, "deferred")
            assert store.trade(trade).state is S.DEPOSIT_CONFIRMED  # type: ignore[union-attr]
            store.close()
            await s.start()
            await s.wait_state(trade, S.PAYMENT_SENT)
            assert s.ctx(trade).paid_note == "SEPA reference 9" and s.e.store.parked(trade) == []
            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(trade, S.PAYOUT_BROADCAST)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.RELEASE, b.ctx(trade).payout_txid)

    run(scenario)


class Killed(Exception):
    """The app dies here: nothing after this point runs (the test restarts it from its files)."""


@pytest.mark.parametrize("dies_while", ["signing", "publishing"])
def test_an_offer_made_just_before_a_kill_is_published_on_start(tmp_path: Path, dies_while: str) -> None:
    """Regression (found by the seller's random kills): making an offer stores it as open, then signs its
    NIP-69 event and hands that to the relay pool. A kill in between left an open offer in "my offers"
    that no relay ever had: nobody could take it. On start, the engine hands every open offer of ours
    to the pool again (signing it first if it has no event yet)."""

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator

            def die(*_args: object, **_kw: object) -> None:
                raise Killed

            target = s.e.store if dies_while == "signing" else s.e.pool
            setattr(target, "set_offer_status" if dies_while == "signing" else "publish", die)
            with pytest.raises(Killed):
                await s.e.create_offer(Side.SELL, 100_000, 500_000, "EUR", ("sepa",), SELLER_ACCOUNT, price=Decimal("50000"),
                                       arbitrator=a.e.keys.arbitrator_ref, t1_blocks=T1_BLOCKS, confirmations=1)
            [(offer, _mine, status)] = s.e.store.offers(mine=True)
            assert status == "open"
            await s.restart()
            await b.wait(lambda: any(o.id == offer["id"] for o in b.e.offers()), timeout=20)
            trade = await b.e.take(offer["id"], AMOUNT, "sepa", BUYER_ACCOUNT)
            await s.wait_state(trade, S.CONTRACT_SIGNED)  # the maker answers the take of its published offer

    run(scenario)


def test_a_timer_due_as_the_app_is_killed_fires_after_the_start(tmp_path: Path) -> None:
    """Regression: a due timer was dropped in one transaction and its event applied in the next; a kill in
    between lost the timer for good — a take nobody answered stayed "take requested" forever (the same
    for the deposit timeout and T1, the seller's last-resort refund). A timer is now dropped in the
    commit of its event (or, if its event is refused, after that)."""

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            offer = await s.e.create_offer(Side.SELL, 100_000, 500_000, "EUR", ("sepa",), SELLER_ACCOUNT,
                                           price=Decimal("50000"), arbitrator=a.e.keys.arbitrator_ref, confirmations=1)
            await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
            await s.stop()  # the maker is away
            trade = await b.e.take(offer.id, AMOUNT, "sepa", BUYER_ACCOUNT)
            b.clock_offset = 16 * 60  # the take timed out
            commit = b.e.store.commit

            def dies_committing(trade_id: str, **kw: object) -> object:
                if kw.get("state") is S.FAILED_BEFORE_DEPOSIT:
                    raise Killed
                return commit(trade_id, **kw)  # type: ignore[arg-type]

            b.e.store.commit = dies_committing  # type: ignore[method-assign]
            with pytest.raises(Killed):
                await b.e.check_timers()
            await b.restart()
            await b.wait_state(trade, S.FAILED_BEFORE_DEPOSIT, timeout=20)
            assert b.e.store.timers(trade) == []

    run(scenario)


def test_a_receipt_completed_by_our_signature_is_kept_despite_a_kill(tmp_path: Path) -> None:
    """Regression: when our signature completed a trade's receipt (the other trader's half already in),
    the receipt went into the receipts (our reputation records) only after the effect's commit; a kill
    in between lost it — the effect was done. It is now stored before the commit (a re-run replaces it)."""

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w)
            trade = t.trade_id
            await b.e.paid(trade, "SEPA")
            await s.wait_state(trade, S.PAYMENT_SENT)
            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(trade, S.PAYOUT_BROADCAST)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            for p in (s, b):
                await p.wait(lambda p=p: len(p.e.store.receipts()) == 1)
            # The buyer rates: its new signature completes the receipt (the seller's half is in) — and the
            # app dies saving it (once).
            died = asyncio.Event()

            def dies_saving(*_args: object) -> None:
                died.set()
                raise Killed

            b.e.store.add_receipt = dies_saving  # type: ignore[method-assign]
            await b.e.rate(trade, 4)
            await asyncio.wait_for(died.wait(), TIMEOUT)
            await b.restart()
            await b.wait(lambda: b.e.store.receipts()[0]["buyer_rating"] == 4, timeout=20)
            await s.wait(lambda: s.e.store.receipts()[0]["buyer_rating"] == 4)

    run(scenario)


def test_an_offer_taken_just_before_a_kill_is_not_taken_twice(tmp_path: Path) -> None:
    """Regression: the maker records a take's new trade, then marks its offer taken (one take at a time);
    a kill in between left the offer "open" with a trade under way, and a second take arriving before the
    offer's status effect ran again started a second trade on the same offer. A trade of the offer under
    way now counts as taken."""

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            offer = await s.e.create_offer(Side.SELL, 100_000, 500_000, "EUR", ("sepa",), SELLER_ACCOUNT,
                                           price=Decimal("50000"), confirmations=1)
            await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
            await a.wait(lambda: any(o.id == offer.id for o in a.e.offers()))
            first = await b.e.take(offer.id, AMOUNT, "sepa", BUYER_ACCOUNT)
            await s.wait_state(first, S.CONTRACT_SIGNED)
            # What the kill left: the trade recorded, the offer still open (its status effect to run again);
            # another taker still sees the offer open.
            s.e.store.set_offer_status(offer.id, "open")
            a.e.store.put_offer(offer.to_json(), mine=False, status="open")
            second = await a.e.take(offer.id, 200_000, "sepa", "IBAN DE00 9999 other")
            await a.wait_state(second, S.FAILED_BEFORE_DEPOSIT)
            assert s.e.store.trade(second) is None and s.state(first) is S.CONTRACT_SIGNED

    run(scenario)
