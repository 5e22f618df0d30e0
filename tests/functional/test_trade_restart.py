"""Apps quit at every step of a trade and started again from their files: each resumes in the state it
had (persisted before anything was sent), re-runs what was not done (pending effects, unsent messages,
timers), re-checks its escrow on chain, and the trade completes with exact balances."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.trade.context import Role
from core.trade.contract import PayoutKind
from core.trade.offer import Side
from core.trade.protocol import TABLES
from core.trade.protocol_types import State
from core.trade.store import TradeStore
from tests.functional.trade_support import (
    AMOUNT,
    BUYER_FUNDS,
    SELLER_FUNDS,
    OpenTrade,
    Party,
    check_final,
    deposit_fee,
    open_trade,
    world,
)
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def reachable(role: Role, state: State) -> set[State]:
    seen, todo = {state}, [state]
    while todo:
        here = todo.pop()
        for (src, _kind), t in TABLES[role].items():
            if src is here and t.next_state is not None and t.next_state not in seen:
                seen.add(t.next_state)
                todo.append(t.next_state)
    return seen


async def bounce(p: Party, trade: str) -> State | None:
    """Quit `p` (without waiting for anything in flight) and start it again: what is on disk is exactly
    the state it had, and after the start it is there or further along its table (never back)."""
    before = p.state(trade)
    ctx_before = p.ctx(trade).to_text() if before is not None else None
    await p.stop()
    store = TradeStore(p.dir / "trade.sqlite")
    row = store.trade(trade)
    store.close()
    assert (row is None and before is None) or (row is not None and row.state is before and row.ctx.to_text() == ctx_before)
    await p.start()
    after = p.state(trade)
    if before is not None:
        assert after is not None and after in reachable(p.ctx(trade).role, before)
    return after


def test_quit_and_restart_at_every_step(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            await w.fund(s, SELLER_FUNDS)
            await w.fund(b, BUYER_FUNDS)
            await w.mine()
            await s.settled(SELLER_FUNDS)
            await b.settled(BUYER_FUNDS)
            start = {p.name: p.balance() for p in w.parties}
            offer = await s.e.create_offer(
                Side.SELL, 100_000, 500_000, "EUR", ("sepa",), "IBAN DE00 1234 seller", price=Decimal("50000"),
                arbitrator=a.e.keys.arbitrator_ref, t1_blocks=3, confirmations=1,
            )
            await s.restart()  # the offer survives and is still served
            await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
            trade = await b.e.take(offer.id, AMOUNT, "sepa", "IBAN DE00 5678 buyer")
            assert await bounce(b, trade) is not None  # quit right after taking: the take is in the outbox
            await s.wait(lambda: s.state(trade) is not None)
            await bounce(s, trade)
            await b.wait_state(trade, State.DEPOSIT_BROADCAST)
            await s.wait_state(trade, State.DEPOSIT_BROADCAST)
            await bounce(b, trade)
            await w.mine(after=(s.ctx(trade).deposit_txid,))
            await b.wait_state(trade, State.DEPOSIT_CONFIRMED)
            await s.wait_state(trade, State.DEPOSIT_CONFIRMED)
            assert await bounce(s, trade) is State.DEPOSIT_CONFIRMED  # the rescan re-checks the escrow
            assert await bounce(b, trade) is State.DEPOSIT_CONFIRMED
            contract = s.ctx(trade).contract_obj()
            t = OpenTrade(trade, contract, start, b.deposit_cost(trade), s.deposit_cost(trade), deposit_fee(s.ctx(trade)))
            await b.e.paid(trade, "SEPA")
            await bounce(b, trade)
            await s.wait_state(trade, State.PAYMENT_SENT)
            await bounce(s, trade)
            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await bounce(s, trade)  # quit while signing the release: the effect re-runs on start
            await b.wait_state(trade, State.PAYOUT_BROADCAST)
            await bounce(b, trade)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await s.wait_state(trade, State.COMPLETED)
            await b.wait_state(trade, State.COMPLETED)
            assert await bounce(s, trade) is State.COMPLETED
            assert await bounce(b, trade) is State.COMPLETED
            await check_final(w, t, PayoutKind.RELEASE, b.ctx(trade).payout_txid)
            await s.wait(lambda: len(s.e.store.receipts()) == 1)
            await b.wait(lambda: len(b.e.store.receipts()) == 1)

    run(scenario)


def test_restarts_during_a_dispute(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            t = await open_trade(w)
            trade = t.trade_id
            await b.e.paid(trade, "SEPA")
            await s.wait_state(trade, State.PAYMENT_SENT)
            await s.e.dispute(trade, "nothing arrived")
            await bounce(s, trade)
            await a.wait_state(trade, State.DISPUTE_OPEN)
            await bounce(a, trade)
            await a.wait(lambda: a.ctx(trade).deposit_height >= 0)
            await b.wait_state(trade, State.DISPUTE_OPEN)
            split = (t.contract.buyer_deposit_sat, t.contract.seller_funding)  # everyone gets back what they put in
            await a.e.rule(trade, *split, reason="no proof either way")
            await bounce(a, trade)
            await b.wait(lambda: b.ctx(trade).ruling is not None)
            await bounce(b, trade)
            await b.e.accept_ruling(trade)
            await bounce(b, trade)
            await s.wait_state(trade, State.ARBITRATED)
            await w.mine(after=(s.ctx(trade).payout_txid or b.ctx(trade).payout_txid,))
            await check_final(w, t, PayoutKind.RULING, b.ctx(trade).payout_txid, split)
            for p in w.parties:
                assert await bounce(p, trade) is State.ARBITRATED

    run(scenario)


def test_take_timeout_fires_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            await w.fund(b, BUYER_FUNDS)
            await w.mine()
            offer = await s.e.create_offer(
                Side.SELL, 100_000, 500_000, "EUR", ("sepa",), "IBAN seller", price=Decimal("50000"),
                arbitrator=a.e.keys.arbitrator_ref, t1_blocks=3, confirmations=1,
            )
            await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
            await s.stop()  # the maker is away
            trade = await b.e.take(offer.id, AMOUNT, "sepa", "IBAN buyer")
            assert await bounce(b, trade) is State.TAKE_REQUESTED
            assert [name for _t, name, _h, _at in b.e.store.timers(trade)] == ["take"]
            b.clock_offset = 16 * 60  # a quarter of an hour later
            await b.e.check_timers()
            await b.wait_state(trade, State.FAILED_BEFORE_DEPOSIT)
            await s.start()  # the maker sees the take, then the taker's abort: its offer is open again
            await s.wait_state(trade, State.FAILED_BEFORE_DEPOSIT)
            await s.wait(lambda: s.e.store.offer(offer.id)[2] == "open")
            assert b.w.balance().frozen == 0 and s.w.balance().frozen == 0

    run(scenario)
