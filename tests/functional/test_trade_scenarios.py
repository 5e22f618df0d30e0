"""TRADE.md's scenario matrix with three apps (buyer, seller, arbitrator: own wallets, light nodes and
engines) on the sandbox network and a real local relay. Each scenario ends in its expected state for
every party, every balance checked to the satoshi, and no coin lost but the two transactions' fees."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.mempool.feerate import FeeRate
from core.trade.contract import PayoutKind
from core.trade.errors import ProtocolError
from core.trade.protocol_types import State
from core.trade.reputation import reputation_of
from core.trade.views import transcript
from tests.functional.trade_support import check_final, open_trade, world
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def test_happy_path(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w)
            trade = t.trade_id
            # "I paid" moves nothing: the seller has no release yet, and cannot release without the checklist.
            await b.e.paid(trade, "SEPA reference 42")
            await s.wait_state(trade, State.PAYMENT_SENT)
            assert s.ctx(trade).release_psbt == "" and s.ctx(trade).paid_note == "SEPA reference 42"
            with pytest.raises(ProtocolError):
                await s.e.received(trade, credited=True, sender_matches=False, not_reversible=True)
            assert s.state(trade) is State.PAYMENT_SENT
            await s.e.chat(trade, "got it, releasing")
            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(trade, State.PAYOUT_BROADCAST)
            await s.wait_state(trade, State.PAYOUT_BROADCAST)
            # The payout pays too little fee for the buyer's taste: a CPFP child of its own output.
            child = await b.e.bump_payout(trade, FeeRate.per_vb(10))
            child_fee = b.w.transaction(child) and next(r.fee for r in b.w.history()[0] if r.txid == child)
            assert child_fee and child_fee > 0
            await w.mine(after=(b.ctx(trade).payout_txid, str(child)))
            await b.wait_state(trade, State.COMPLETED)
            await s.wait_state(trade, State.COMPLETED)
            await check_final(w, t, PayoutKind.RELEASE, b.ctx(trade).payout_txid, extra_fees={"buyer": child_fee})
            # Both signed the receipt; a rating re-signs it.
            await b.e.rate(trade, 5)
            for p in (b, s):
                await p.wait(lambda p=p: bool(p.e.store.receipts(p.e.keys.identity.xonly)))
            await s.wait(lambda: reputation_of(b.e.keys.identity.xonly, s.e.store.receipts()).trades == 1)
            await s.wait(lambda: s.e.store.receipts()[0]["buyer_rating"] == 5)
            assert a.e.store.trade(trade) is None  # the arbitrator never heard of it
            assert [m["body"]["text"] for m in transcript(b.e.store, trade)] == ["got it, releasing"]

    run(scenario)


def test_buyer_never_pays_cooperative_cancel(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w)
            trade = t.trade_id
            await s.e.cancel(trade, "no payment after a day")
            await b.wait(lambda: b.ctx(trade).cancel_by == "seller")
            await b.e.accept_cancel(trade)
            await b.wait_state(trade, State.COOP_CANCELLED)
            await s.wait_state(trade, State.COOP_CANCELLED)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.CANCEL, b.ctx(trade).payout_txid)

    run(scenario)


def test_buyer_never_pays_refund_after_t1(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w, t1=3)
            trade = t.trade_id
            with pytest.raises(ProtocolError):
                await s.e.refund(trade)  # not before T1
            await w.mine(1)
            assert not s.ctx(trade).refund_available
            await s.restart()  # the T1 timer is on disk
            await w.mine(1)  # deposit height + T1 - 1: the refund can be mined in the next block
            await s.wait(lambda: s.ctx(trade).refund_available)
            await s.e.refund(trade)
            await s.wait_state(trade, State.REFUNDED_AFTER_T1)
            await b.wait_state(trade, State.REFUNDED_AFTER_T1)
            await w.mine(after=(s.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.REFUND, s.ctx(trade).payout_txid)
            assert a.e.store.trade(trade) is None

    run(scenario)


def test_seller_vanishes_dispute_buyer_release(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w)
            trade = t.trade_id
            await b.e.chat(trade, "paid 200.00 EUR by SEPA")
            await b.e.paid(trade, "SEPA ref 7")
            await s.wait_state(trade, State.PAYMENT_SENT)
            await s.stop()  # the seller vanishes
            await b.e.dispute(trade, "the seller does not release", notes="bank statement: 200.00 EUR to DE00 1234")
            await a.wait_state(trade, State.DISPUTE_OPEN)
            await a.wait(lambda: a.ctx(trade).deposit_height >= 0 and len(a.ctx(trade).evidence) >= 1)
            evidence = a.ctx(trade).evidence
            assert evidence[0]["account"] == "IBAN DE00 5678 buyer" and "bank statement" in evidence[0]["notes"]
            texts = [m["body"].get("text") for e in evidence for m in e["transcript"]]
            assert "paid 200.00 EUR by SEPA" in texts
            split = t.contract.payout_split(PayoutKind.RELEASE)
            await a.e.rule(trade, *split, reason="the buyer's payment is proven")
            await a.wait_state(trade, State.ARBITRATED)
            await b.wait(lambda: b.ctx(trade).ruling is not None)
            await b.e.accept_ruling(trade)
            await b.wait_state(trade, State.ARBITRATED)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await s.start()  # back later: the chain tells what happened
            await s.wait_state(trade, State.ARBITRATED)
            await check_final(w, t, PayoutKind.RULING, b.ctx(trade).payout_txid, split)
            await a.wait(lambda: a.ctx(trade).payout_height > 0)

    run(scenario)


def test_false_payment_claim_dispute_seller_refund(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w)
            trade = t.trade_id
            await b.e.paid(trade, "paid, trust me")
            await s.wait_state(trade, State.PAYMENT_SENT)
            await s.e.dispute(trade, "nothing arrived", notes="account statement shows no payment")
            await b.wait_state(trade, State.DISPUTE_OPEN)
            await a.wait_state(trade, State.DISPUTE_OPEN)
            await a.wait(lambda: {e["from"] for e in a.ctx(trade).evidence} == {"buyer", "seller"})
            split = (0, t.contract.escrow_value)  # the lying buyer loses its deposit
            await a.e.rule(trade, *split, reason="no payment was made")
            await s.wait(lambda: s.ctx(trade).ruling is not None)
            await s.e.accept_ruling(trade)
            await s.wait_state(trade, State.ARBITRATED)
            await b.wait_state(trade, State.ARBITRATED)
            await w.mine(after=(s.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.RULING, s.ctx(trade).payout_txid, split)

    run(scenario)


def test_arbitrator_and_buyer_vanish_refund_after_t1(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w, t1=4)
            trade = t.trade_id
            await a.stop()
            await b.stop()
            await w.mine(3)
            await s.wait(lambda: s.ctx(trade).refund_available)
            await s.e.refund(trade)
            await s.wait_state(trade, State.REFUNDED_AFTER_T1)
            await w.mine(after=(s.ctx(trade).payout_txid,))
            await a.start()
            await b.start()
            await b.wait_state(trade, State.REFUNDED_AFTER_T1)
            await check_final(w, t, PayoutKind.REFUND, s.ctx(trade).payout_txid)

    run(scenario)


def test_two_of_two_small_trade_without_arbitrator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w, arbitrator=False)
            trade = t.trade_id
            assert t.contract.arbitrator is None
            with pytest.raises(ProtocolError, match="no arbitrator"):
                await b.e.dispute(trade, "help")
            await b.e.cancel(trade, "changed my mind")
            await s.wait(lambda: s.ctx(trade).cancel_by == "buyer")
            await s.e.accept_cancel(trade)
            await s.wait_state(trade, State.COOP_CANCELLED)
            await b.wait_state(trade, State.COOP_CANCELLED)
            await w.mine(after=(s.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.CANCEL, s.ctx(trade).payout_txid)

    run(scenario)
