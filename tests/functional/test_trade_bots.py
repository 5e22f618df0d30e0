"""The sandbox counterparties: a bot trader (makes offers, pays instantly, releases after its checks)
and a bot arbitrator. A user takes the bot's sell offer and completes a trade with it; then takes the
bot's buy offer, says the payment never arrived, and the bot arbitrator rules from the signed evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.trade.bots import BotArbitrator, BotTrader
from core.trade.contract import PayoutKind
from core.trade.offer import Side
from core.trade.protocol_types import State
from tests.functional.trade_support import OpenTrade, check_final, deposit_fee, world
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def test_user_trades_with_the_bots(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path, initial_blocks=110) as w:
            bot_party, user, arb_party = w.seller, w.buyer, w.arbitrator
            await w.fund(bot_party, 1_000_000, 500_000)
            await w.fund(user, 600_000)
            await w.mine()
            await bot_party.settled(1_500_000)
            await user.settled(600_000)
            bot, arbitrator = BotTrader(bot_party.e), BotArbitrator(arb_party.e)
            bot.start()
            arbitrator.start()
            try:
                sell, buy = await bot.make_offers(arb_party.e.keys.arbitrator_ref, t1_blocks=6)
                assert (sell.side, buy.side) == (Side.SELL, Side.BUY)
                await user.wait(lambda: {sell.id, buy.id} <= {o.id for o in user.e.offers()})

                # 1. The user buys from the bot: pays, marks paid, the bot releases.
                start = {p.name: p.balance() for p in w.parties}
                trade = await user.e.take(sell.id, 200_000, "sepa", "IBAN DE00 user")
                await user.wait_state(trade, State.DEPOSIT_BROADCAST)
                await w.mine(after=(user.ctx(trade).deposit_txid,))
                await user.wait_state(trade, State.DEPOSIT_CONFIRMED)
                contract = user.ctx(trade).contract_obj()
                t = OpenTrade(trade, contract, start, user.deposit_cost(trade), bot_party.deposit_cost(trade),
                              deposit_fee(user.ctx(trade)))
                await user.e.paid(trade, "paid 100.00 EUR")
                await user.wait_state(trade, State.PAYOUT_BROADCAST)
                await w.mine(after=(user.ctx(trade).payout_txid,))
                await user.wait_state(trade, State.COMPLETED)
                await check_final(w, t, PayoutKind.RELEASE, user.ctx(trade).payout_txid)
                await user.wait(lambda: bool(user.e.store.receipts()) and user.e.store.receipts()[0]["seller_rating"] == 5)

                # 2. The user sells to the bot, which "pays" at once; the user says nothing arrived.
                trade2 = await user.e.take(buy.id, 150_000, "sepa", "IBAN DE00 user")
                await user.wait_state(trade2, State.DEPOSIT_BROADCAST)
                await w.mine(after=(user.ctx(trade2).deposit_txid,))
                await user.wait_state(trade2, State.PAYMENT_SENT)  # the bot marked paid instantly
                await user.e.chat(trade2, "Not received anything on my account")
                await user.e.dispute(trade2, "no payment arrived")
                await user.wait(lambda: user.ctx(trade2).ruling is not None)
                ruling = user.ctx(trade2).ruling
                c2 = user.ctx(trade2).contract_obj()
                assert (ruling["buyer_sat"], ruling["seller_sat"]) == c2.payout_split(PayoutKind.CANCEL)
                await user.wait_state(trade2, State.ARBITRATED)  # the bot co-signed and broadcast it
                await w.mine(after=(user.ctx(trade2).payout_txid,))
                await arb_party.wait(lambda: arb_party.ctx(trade2).payout_height > 0)
            finally:
                await bot.close()
                await arbitrator.close()

    run(scenario)
