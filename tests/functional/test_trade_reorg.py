"""A trade through a chain reorganisation (two sandbox nodes, the three parties' own light nodes and a
real relay): the deposit confirms on one branch, a longer branch without it wins, and every party sees
the deposit unconfirmed again — the buyer back to waiting and unable to mark it paid, the seller's T1
cancelled — until it confirms again on the new branch; then the trade completes with every balance
exact to the satoshi."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.trade.contract import PayoutKind
from core.trade.errors import NotAllowedError
from core.trade.offer import Side
from core.trade.protocol_types import State
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.trade_support import (
    AMOUNT,
    BUYER_FUNDS,
    SELLER_FUNDS,
    TIMEOUT,
    OpenTrade,
    check_final,
    deposit_fee,
    world,
)
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
T1 = 6


def test_deposit_reorganised_away_then_confirmed_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w, sandbox(tmp_path, "d", connect=(("127.0.0.1", w.sbx.port),)) as d:
            s, b, a = w.seller, w.buyer, w.arbitrator
            await w.fund(s, SELLER_FUNDS)
            await w.fund(b, BUYER_FUNDS)
            await w.mine()
            await s.settled(SELLER_FUNDS)
            await b.settled(BUYER_FUNDS)
            start = {p.name: p.balance() for p in w.parties}
            await d.wait_for(lambda: d.tip.hash == w.sbx.tip.hash, TIMEOUT)
            for peer in list(d.peers):  # cut d off: its branch will not have the deposit
                await peer.close("fork")

            offer = await s.e.create_offer(
                Side.SELL, 100_000, 500_000, "EUR", ("sepa",), "IBAN DE00 1234 seller", price=Decimal("50000"),
                arbitrator=a.e.keys.arbitrator_ref, t1_blocks=T1, confirmations=1,
            )
            await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
            trade = await b.e.take(offer.id, AMOUNT, "sepa", "IBAN DE00 5678 buyer")
            await s.wait_state(trade, State.DEPOSIT_BROADCAST)
            deposit = s.ctx(trade).deposit_txid
            first = await w.mine(after=(deposit,))
            await b.wait_state(trade, State.DEPOSIT_CONFIRMED)
            await s.wait_state(trade, State.DEPOSIT_CONFIRMED)
            assert s.ctx(trade).deposit_height == first
            assert not in_mempool(d, bytes(Txid.from_hex(deposit)))

            # d's longer branch (two blocks, no deposit) wins; the sandbox returns the deposit to its mempool.
            branch = await d.generate(2)
            await d.connect("127.0.0.1", w.sbx.port)
            await w.sbx.wait_for(lambda: w.sbx.tip.hash == branch[-1].hash, TIMEOUT)
            await b.wait_state(trade, State.DEPOSIT_BROADCAST)
            await s.wait_state(trade, State.DEPOSIT_BROADCAST)
            assert s.ctx(trade).deposit_height == -1 and b.ctx(trade).deposit_height == -1
            assert "t1" not in {name for (tid, name, _h, _at) in s.e.store.timers() if tid == trade}
            assert "do not pay" in b.ctx(trade).notes[-1]
            with pytest.raises(NotAllowedError):
                await b.e.paid(trade, "too early")
            assert in_mempool(w.sbx, bytes(Txid.from_hex(deposit)))

            # Mined again on the new branch: confirmed again, T1 counted from there.
            again = await w.mine(after=(deposit,))
            await b.wait_state(trade, State.DEPOSIT_CONFIRMED)
            await s.wait_state(trade, State.DEPOSIT_CONFIRMED)
            await s.wait(lambda: s.ctx(trade).deposit_height == again)
            assert again == first + 2
            t1_timer = {name: h for (tid, name, h, _at) in s.e.store.timers() if tid == trade}
            assert t1_timer.get("t1") == again + T1 - 1

            # The trade goes on to the end, every satoshi accounted for.
            contract = s.ctx(trade).contract_obj()
            t = OpenTrade(trade, contract, start, b.deposit_cost(trade), s.deposit_cost(trade), deposit_fee(s.ctx(trade)))
            await b.e.paid(trade, "SEPA reference 7")
            await s.wait_state(trade, State.PAYMENT_SENT)
            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(trade, State.PAYOUT_BROADCAST)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await b.wait_state(trade, State.COMPLETED)
            await s.wait_state(trade, State.COMPLETED)
            await check_final(w, t, PayoutKind.RELEASE, b.ctx(trade).payout_txid)

    run(scenario)
