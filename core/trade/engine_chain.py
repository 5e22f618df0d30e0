"""How the TradeEngine reads the chain: escrow facts from the chain watch become protocol events (the
deposit seen, then confirmed with the contract's confirmations; a spend classified as release, cancel,
ruling or refund, then confirmed), tip changes fire block-height timers, and wall-clock timers are
scheduled on the loop. Chain facts may repeat (rescans, mempool then block) or come late: a refused
one is only logged."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.trade.chain_watch import Disconnected, EscrowOutput, EscrowSpend, Fact
from core.trade.engine_effects import classify_spend
from core.trade.protocol_types import TIMER_EVENTS, Ev, State
from core.trade.updates import TradeUpdate

if TYPE_CHECKING:
    from core.trade.engine import TradeEngine


class ChainFacts:
    """The chain side of TradeEngine (mixed in)."""

    def _on_chain(self: TradeEngine, item: Fact | int) -> None:
        if isinstance(item, int):
            self._enqueue(lambda: self._on_tip(item))
        else:
            self._enqueue(lambda: self._on_fact(item))

    async def _on_fact(self: TradeEngine, fact: Fact) -> None:
        if isinstance(fact, Disconnected):
            await self._on_disconnected(fact.height)
            return
        row = self.store.trade(fact.trade_id)
        if row is None or row.ctx.contract is None:
            return
        contract = row.ctx.contract_obj()
        txid = str(fact.tx.txid)
        if isinstance(fact, EscrowOutput):
            if fact.tx.vout[fact.vout].value != contract.escrow_value:
                return  # someone paid the escrow address: not the deposit
            self.watch.watch(fact.trade_id, contract.escrow_spk(), -1, self.effects.outpoint(fact.tx, fact.vout))
            data = {"txid": txid, "vout": fact.vout, "tx": fact.tx.serialize().hex(), "height": fact.height or -1}
            if fact.height is not None:
                self._deposit_heights[fact.trade_id] = (txid, fact.vout, data["tx"], fact.height)
                if self.tip - fact.height + 1 >= contract.confirmations:
                    await self.try_apply(fact.trade_id, self.event(Ev.DEPOSIT_CONFIRMED, data))
                    return
            await self.try_apply(fact.trade_id, self.event(Ev.DEPOSIT_SEEN, data))
        elif isinstance(fact, EscrowSpend):
            kind = classify_spend(contract, fact.tx, fact.input_index)
            await self.try_apply(fact.trade_id, self.event(kind, {"txid": txid, "height": fact.height or -1}))
            if fact.height is not None:
                await self.try_apply(fact.trade_id, self.event(Ev.PAYOUT_CONFIRMED, {"txid": txid, "height": fact.height}))

    async def _on_disconnected(self: TradeEngine, height: int) -> None:
        """A reorganisation: deposits and payouts confirmed at `height` or above are unconfirmed again."""
        for trade_id, entry in list(self._deposit_heights.items()):
            if entry[3] >= height:
                del self._deposit_heights[trade_id]
        for row in self.store.trades():
            if row.ctx.deposit_height >= height:
                await self.try_apply(row.trade_id, self.event(Ev.DEPOSIT_REORGED, {"height": height}))
            if row.ctx.payout_height >= height:
                await self.try_apply(row.trade_id, self.event(Ev.PAYOUT_REORGED, {"height": height}))

    async def _on_tip(self: TradeEngine, height: int) -> None:
        for trade_id, (txid, vout, tx, dep_height) in list(self._deposit_heights.items()):
            row = self.store.trade(trade_id)
            waiting = row is not None and (
                row.state in (State.CONTRACT_SIGNED, State.DEPOSIT_BROADCAST, State.FAILED_BEFORE_DEPOSIT)
                or row.ctx.deposit_height < 0  # reorganised away after it had confirmed
            )
            if row is None or not waiting:
                self._deposit_heights.pop(trade_id, None)
                continue
            if height - dep_height + 1 >= row.ctx.contract_obj().confirmations:
                data = {"txid": txid, "vout": vout, "tx": tx, "height": dep_height}
                await self.try_apply(trade_id, self.event(Ev.DEPOSIT_CONFIRMED, data))
        await self._check_timers()
        self.emit(TradeUpdate("", None, "tip", {"height": height}))

    async def check_timers(self: TradeEngine) -> None:
        """Fire the timers that are due now (also run on every new tip and when a wall timer comes due)."""
        await self._check_timers()

    async def _check_timers(self: TradeEngine) -> None:
        now = self.clock()
        for trade_id, name in self.store.due_timers(self.tip if self.tip >= 0 else -1, now):
            # Dropped in the commit of its event: dropped first, a kill before that commit lost the timer.
            event = self.event(TIMER_EVENTS.get(name, Ev.TAKE_TIMEOUT), {"timer": name})
            if await self.try_apply(trade_id, event, drop_timer=name) is None:
                self.store.drop_timer(trade_id, name)  # refused in this state: nothing left for it to do
        walls = [at for (_t, _n, _h, at) in self.store.timers() if at is not None]
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle = None
        if walls and not self._closed:
            delay = max(min(walls) - now, 0.0) + 0.05
            self._timer_handle = asyncio.get_running_loop().call_later(delay, lambda: self._enqueue(self._check_timers))

