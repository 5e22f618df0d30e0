"""One trading party as its own process, for test_trade_kill (which SIGKILLs it at every step).

`python -m tests.functional.trade_kill_worker --dir D --name seller|buyer --port P --relay URL --mode M`
opens the party's files in D exactly as the in-process tests do (trade_support.Party: wallet, light node
on the sandbox at 127.0.0.1:P, relay pool, trade store, TradeEngine) and acts as its user would, one
step at a time: the seller makes an offer (once: an offer already in its store is kept), the buyer takes
`--offer` (once: a trade of that offer already in its store is kept); after that each party presses the
next action the trade page shows (`core.trade.guide`), except that in mode "dispute" the party opens a
dispute once the trade is marked paid instead of releasing (and later accepts the arbitrator's ruling).

Every line goes out flushed, after the fact it reports, so a line the test reads is true on disk:
`boot` (files about to open), `ready` (engine started, node synced), `state TRADE STATE` after every
committed state change, `fact output|spend TRADE TXID HEIGHT` for every escrow fact the chain watch
finds (the re-check of the escrow on chain after a start), `offer ID` and `trade ID` (made, or found
in the store after a restart), `action NAME TRADE`. After a step's line (a state change, the new offer,
the take, a user action) the process holds until the test writes a line to its stdin, so the test's SIGKILL lands
exactly there when it wants.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from core.chain.params import params_for
from core.trade.chain_watch import ChainWatch, EscrowOutput, EscrowSpend, Fact
from core.trade.errors import TradeError
from core.trade.guide import guide
from core.trade.offer import ArbitratorRef, Side
from core.trade.protocol_types import State
from core.trade.updates import TradeUpdate
from tests.functional.trade_support import AMOUNT, TIMEOUT, Party

SELLER_ACCOUNT = "IBAN DE00 1234 seller"
BUYER_ACCOUNT = "IBAN DE00 5678 buyer"
T1_BLOCKS = 10  # far beyond the blocks the test mines: no refund path opens


def say(*parts: object) -> None:
    print(*parts, flush=True)


def step(*parts: object) -> None:
    """Say a step and hold this whole process (the loop too) until the test answers: it either kills us
    right here — the step committed, nothing after it started — or lets us go on."""
    say(*parts)
    sys.stdin.readline()


class PrintedUpdates(list[TradeUpdate]):
    """Party.updates that prints every state change as the engine emits it (after its commit)."""

    def append(self, update: TradeUpdate) -> None:
        super().append(update)
        if update.what == "state" and update.trade_id and update.state is not None:
            step("state", update.trade_id, update.state.value)


def print_facts() -> None:
    """Print what the chain watch finds (this process only: the class is patched, not the code)."""
    original = ChainWatch._emit

    def emit(self: ChainWatch, item: Fact | int) -> None:
        if isinstance(item, EscrowOutput | EscrowSpend):
            kind = "output" if isinstance(item, EscrowOutput) else "spend"
            say("fact", kind, item.trade_id, item.tx.txid, -1 if item.height is None else item.height)
        original(self, item)

    ChainWatch._emit = emit  # type: ignore[method-assign]


class User:
    """Presses the next action of each trade, one at a time per trade, re-deciding after every update."""

    def __init__(self, party: Party, mode: str) -> None:
        self.p, self.mode = party, mode
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self.p.e.add_listener(lambda u: self.kick(u.trade_id) if u.trade_id and u.what not in ("book", "offer") else None)
        for row in self.p.e.store.trades():
            self.kick(row.trade_id)

    def kick(self, trade_id: str) -> None:
        if trade_id in self._busy:
            self._again.add(trade_id)  # decide again once the running action returns
            return
        self._busy.add(trade_id)
        task = asyncio.ensure_future(self._act(trade_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _act(self, trade_id: str) -> None:
        try:
            name = self.next_action(trade_id)
            if name:
                await self.press(trade_id, name)
                step("action", name, trade_id)  # committed; its effects (signing, broadcasting) not yet run
        except TradeError as e:  # refused in the state it reached meanwhile: the next update decides
            say("refused", trade_id, str(e).replace("\n", " ")[:200])
        finally:
            self._busy.discard(trade_id)
            if trade_id in self._again:
                self._again.discard(trade_id)
                self.kick(trade_id)

    def next_action(self, trade_id: str) -> str:
        row = self.p.e.store.trade(trade_id)
        if row is None:
            return ""
        if self.mode == "dispute" and row.state is State.PAYMENT_SENT and not row.ctx.dispute_by:
            return "dispute"
        action = guide(row, self.p.e.tip).action
        if action == "received" and self.mode == "dispute":
            return ""
        return action if action in ("paid", "received", "accept_ruling") else ""

    async def press(self, trade_id: str, name: str) -> None:
        e = self.p.e
        if name == "paid":
            await e.paid(trade_id, "SEPA reference 42")
        elif name == "received":
            await e.received(trade_id, credited=True, sender_matches=True, not_reversible=True)
        elif name == "dispute":
            await e.dispute(trade_id, f"the {self.p.name} opens a dispute", notes=f"{self.p.name}'s bank statement")
        elif name == "accept_ruling":
            await e.accept_ruling(trade_id)


async def make_offer(p: Party, arbitrator: str) -> None:
    """The seller's offer, made once (kept across restarts)."""
    mine = p.e.store.offers(mine=True)
    if mine:
        say("offer", mine[0][0]["id"])
        return
    nostr, _, escrow = arbitrator.partition(":")
    offer = await p.e.create_offer(
        Side.SELL, 100_000, 500_000, "EUR", ("sepa", "wise"), SELLER_ACCOUNT, price=Decimal("50000"),
        arbitrator=ArbitratorRef(nostr, escrow), t1_blocks=T1_BLOCKS, confirmations=1,
    )
    step("offer", offer.id)


async def take_offer(p: Party, offer_id: str) -> None:
    """The buyer's take, made once (a trade of this offer in the store is kept across restarts)."""
    for row in p.e.store.trades():
        if row.ctx.offer.get("id") == offer_id:
            say("trade", row.trade_id)
            return
    await p.e.wait_until(lambda: any(o.id == offer_id for o in p.e.offers()), TIMEOUT)
    step("trade", await p.e.take(offer_id, AMOUNT, "sepa", BUYER_ACCOUNT))


async def main(args: argparse.Namespace) -> None:
    print_facts()
    sbx = SimpleNamespace(port=args.port, params=params_for("sandbox"))  # what Party reads of the sandbox
    party = Party(args.name, Path(args.dir), sbx, args.relay, updates=PrintedUpdates())  # type: ignore[arg-type]
    say("boot")
    await party.start()
    say("ready")
    user = User(party, args.mode)
    user.start()
    if args.name == "seller":
        await make_offer(party, args.arbitrator)
    else:
        await take_offer(party, args.offer)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--name", choices=("seller", "buyer"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--relay", required=True)
    parser.add_argument("--mode", choices=("happy", "dispute"), required=True)
    parser.add_argument("--offer", default="", help="buyer: the offer to take")
    parser.add_argument("--arbitrator", default="", help="seller: NOSTR:ESCROW of the offer's arbitrator")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
