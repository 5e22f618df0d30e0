"""Sandbox counterparties, so a new user can complete a whole trade offline: a bot trader and a bot
arbitrator, each driving its own TradeEngine (sandbox wallets only — they move no real money).

The bot trader makes a buy and a sell offer, can take offers, "pays" fiat instantly (there is none in
the sandbox) and marks paid, and releases when its trade is marked paid after the checks a careful
seller makes (the buyer's payment details arrived and match the contract's hash, the method is one the
bot accepts, and a payment was announced); it accepts cooperative cancels and rulings, takes a refund
when T1 passes, and rates completed trades. The bot arbitrator rules from the signed evidence: the
buyer gets the release split when the signed transcript shows the buyer announced a payment that the
seller did not dispute by a signed chat message, otherwise everyone gets back what they put in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from typing import Any

from core.trade.context import Role
from core.trade.contract import PayoutKind
from core.trade.errors import TradeError
from core.trade.offer import ArbitratorRef, Offer, Side
from core.trade.protocol_types import State
from core.trade.store import TradeRow
from core.trade.updates import TradeUpdate

log = logging.getLogger(__name__)
SANDBOX_NETWORKS = ("sandbox", "regtest")


class _Bot:
    """Reacts to its engine's updates (and to every open trade at start), one action at a time per trade."""

    def __init__(self, engine: Any) -> None:
        if engine.wallet.network.name not in SANDBOX_NETWORKS:
            raise TradeError("bots only trade on the sandbox (they would release real money)")
        self.engine = engine
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self.engine.add_listener(self._on_update)
        for row in self.engine.store.trades(open_only=False):
            self._kick(row.trade_id)

    async def close(self) -> None:
        self.engine.remove_listener(self._on_update)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_update(self, update: TradeUpdate) -> None:
        if update.trade_id and update.what not in ("tip", "book", "offer"):
            self._kick(update.trade_id)
        elif update.what == "tip":
            for row in self.engine.store.trades(open_only=True):
                self._kick(row.trade_id)

    def _kick(self, trade_id: str) -> None:
        if trade_id in self._busy:
            return
        self._busy.add(trade_id)
        task = asyncio.ensure_future(self._act(trade_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _act(self, trade_id: str) -> None:
        try:
            row = self.engine.store.trade(trade_id)
            if row is not None:
                await self.decide(row)
        except TradeError as e:  # not possible (any more): the next update decides again
            log.debug("bot on %s: %s", trade_id, e)
        finally:
            self._busy.discard(trade_id)

    async def decide(self, row: TradeRow) -> None:
        raise NotImplementedError


class BotTrader(_Bot):
    """A sandbox trader (see the module docstring)."""

    def __init__(self, engine: Any, *, account: str = "Sandbox Bot, IBAN XX00 0000", methods: tuple[str, ...] = ("sepa", "wise"),
                 rating: int = 5) -> None:
        super().__init__(engine)
        self.account = account
        self.methods = methods
        self.rating = rating

    async def make_offers(self, arbitrator: ArbitratorRef | None, *, currency: str = "EUR", price: Decimal = Decimal("50000"),
                          min_sat: int = 50_000, max_sat: int = 400_000, t1_blocks: int = 6) -> list[Offer]:
        """One offer to sell and one to buy."""
        return [
            await self.engine.create_offer(
                side, min_sat, max_sat, currency, self.methods, self.account, price=price, arbitrator=arbitrator,
                t1_blocks=t1_blocks, confirmations=1, name="sandbox bot",
            )
            for side in (Side.SELL, Side.BUY)
        ]

    async def take(self, offer_id: str, amount_sat: int) -> str:
        """Take someone's offer by the first method we both use."""
        offer = next(o for o in self.engine.offers(mine=False) if o.id == offer_id)
        method = next(m for m in offer.methods if m in self.methods)
        return str(await self.engine.take(offer_id, amount_sat, method, self.account))

    async def decide(self, row: TradeRow) -> None:
        e, ctx, state, tid = self.engine, row.ctx, row.state, row.trade_id
        if row.role is Role.BUYER and state is State.DEPOSIT_CONFIRMED:
            await e.paid(tid, "sandbox: paid instantly by the bot")  # there is no fiat in the sandbox
        elif row.role is Role.SELLER and state is State.PAYMENT_SENT and self._checks_pass(row):
            await e.received(tid, credited=True, sender_matches=True, not_reversible=True)
        elif ctx.cancel_psbt and ctx.cancel_by == ctx.role.other.value and state not in (State.COOP_CANCELLED,):
            await e.accept_cancel(tid)
        elif state is State.DISPUTE_OPEN and ctx.ruling is not None and not ctx.payout_txid:
            await e.accept_ruling(tid)
        elif ctx.refund_available and not ctx.payout_txid:
            await e.refund(tid)
        elif state is State.COMPLETED and not ctx.my_rating:
            await e.rate(tid, self.rating)

    def _checks_pass(self, row: TradeRow) -> bool:
        """The bot's equivalent of the seller's checklist."""
        ctx = row.ctx
        return bool(ctx.peer_account) and ctx.contract_obj().method in self.methods and bool(ctx.paid_note)


class BotArbitrator(_Bot):
    """A sandbox arbitrator (see the module docstring)."""

    async def decide(self, row: TradeRow) -> None:
        ctx = row.ctx
        if row.state is not State.DISPUTE_OPEN or ctx.deposit_height < 0 or not ctx.evidence:
            return
        contract = ctx.contract_obj()
        paid, disputed = False, False
        for item in ctx.evidence:
            for msg in item["transcript"]:
                sender = msg["from"]
                if msg["kind"] == "payment_sent" and sender == contract.buyer.nostr:
                    paid = True
                if msg["kind"] == "chat" and sender == contract.seller.nostr and "not received" in msg["body"]["text"].lower():
                    disputed = True
        kind = PayoutKind.RELEASE if paid and not disputed else PayoutKind.CANCEL
        buyer, seller = contract.payout_split(kind)
        await self.engine.rule(row.trade_id, buyer, seller, reason=f"sandbox bot ruling: {kind.value}")
