"""Recoverable without this app: the seller's app is gone; from the escrow export it saved (descriptor,
outpoint, value, T1, its key's path) and its BIP39 words alone, embit builds and signs the refund
after T1. The buyer's app sees the escrow spent as a refund; the seller's wallet, restored later, has
the coins."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.tx import Transaction
from core.mempool.results import Accepted, Rejected
from core.trade.protocol_types import State
from core.trade.views import export_escrow
from tests.functional.embit_support import spend_escrow, trade_key
from tests.functional.trade_support import WORDS, open_trade, world
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def test_refund_from_the_export_with_embit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w, t1=3)
            trade = t.trade_id
            export = export_escrow(s.ctx(trade))
            assert export["outpoint"] and export["our_key_path"].startswith("m/86'/1'/1000'/0/")
            dest = s.w.new_address().script_pubkey
            await s.stop()  # the app is gone; the export and the words remain
            index = int(export["our_key_path"].rsplit("/", 1)[1])
            txid, vout = export["outpoint"].split(":")
            fee = 1_000
            raw = spend_escrow(export["descriptor"], txid, int(vout), export["escrow_value"], dest, fee,
                               [trade_key(WORDS["seller"], index)], 1, export["t1_blocks"])
            refund = Transaction.parse(raw)
            assert isinstance(await w.sbx.submit_tx(refund), Rejected)  # not before T1
            await w.mine(export["t1_blocks"] - 1)
            assert isinstance(await w.sbx.submit_tx(refund), Accepted)
            await w.mine()
            await b.wait_state(trade, State.REFUNDED_AFTER_T1)
            await s.start()
            await s.wait_state(trade, State.REFUNDED_AFTER_T1)
            await s.settled(t.start["seller"] - t.seller_cost + t.contract.escrow_value - fee)
            await b.settled(t.start["buyer"] - t.buyer_cost)

    run(scenario)
