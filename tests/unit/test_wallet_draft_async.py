"""Drafts made off the loop (Wallet.draft_async: coins read from a read-only snapshot and selected in a
worker thread) equal the loop's own drafts where the selection is determined, and fail the same way."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint
from core.mempool.feerate import FeeRate
from core.script.address import script_to_address
from core.wallet.errors import InsufficientFunds, WalletError
from core.wallet.spending import Payment
from core.wallet.wallet import Wallet
from tests.bench.wallet_model_bench import build

DEST = script_to_address(b"\x00\x14" + bytes(range(20)), SANDBOX)
RATE = FeeRate.per_vb(3)


@pytest.fixture
def wallet(tmp_path: Path):
    build(tmp_path / "w.sqlite", 300, spend=True)
    w = Wallet.open(tmp_path / "w.sqlite")
    yield w
    w.close()


def test_coin_control_and_send_max_drafts_equal_the_loops(wallet: Wallet) -> None:
    assert DEST is not None
    coins = [c.outpoint for c in sorted(wallet.coins(), key=lambda c: -c.value)[:3]]
    for kw in ({"coins": coins, "send_max": True}, {"send_max": True}):
        pay = [Payment(DEST, 0)]
        on_loop = wallet.draft(pay, RATE, rng=random.Random(1), **kw)  # type: ignore[arg-type]
        off_loop = asyncio.run(wallet.draft_async(pay, RATE, **kw))  # type: ignore[arg-type]
        assert {i.outpoint for i in off_loop.inputs} == {i.outpoint for i in on_loop.inputs}
        assert off_loop.fee == on_loop.fee and off_loop.outputs == on_loop.outputs
    chosen = asyncio.run(wallet.draft_async([Payment(DEST, 10_000)], RATE, coins=coins[:1]))
    assert [i.outpoint for i in chosen.inputs] == coins[:1]
    assert chosen.fee_rate >= RATE and any(o.address == DEST and o.amount == 10_000 for o in chosen.outputs)


def test_off_loop_drafts_fail_with_the_same_typed_errors(wallet: Wallet) -> None:
    assert DEST is not None
    total = sum(c.value for c in wallet.coins())
    with pytest.raises(InsufficientFunds):
        asyncio.run(wallet.draft_async([Payment(DEST, total + 1)], RATE))
    with pytest.raises(WalletError, match="no recipients"):
        asyncio.run(wallet.draft_async([], RATE))
    frozen = wallet.coins()[0].outpoint
    wallet.set_frozen(frozen)
    for draft in (wallet.draft, lambda *a, **k: asyncio.run(wallet.draft_async(*a, **k))):
        with pytest.raises(WalletError, match="is frozen"):
            draft([Payment(DEST, 1_000)], RATE, coins=[frozen])
    spent = OutPoint(Txid(bytes(32)), 0)
    with pytest.raises(WalletError, match="not a spendable coin"):
        asyncio.run(wallet.draft_async([Payment(DEST, 1_000)], RATE, coins=[spent]))
