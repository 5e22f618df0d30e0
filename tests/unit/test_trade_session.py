"""TradeSession: files per wallet, the scan target seen by the light node (a new seed's birthday still
settles through it), a wrong password leaving nothing open, watch-only wallets refused; the sandbox
bot trader's choice of offers."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.consensus.network import SANDBOX
from core.trade.errors import TradeError
from core.trade.offer import ArbitratorRef, Offer, Side
from core.trade.sandbox_bots import SANDBOX_PRICES, SandboxBotTrader, sandbox_price
from core.trade.session import TradeSession
from core.wallet.errors import WrongPassword
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet

WORDS = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def test_files_are_named_by_the_wallet_and_the_scan_target_settles_a_new_birthday(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, WORDS, password=None, birthday=None)
    try:
        session = TradeSession(wallet, tmp_path / "trades")
        target = session.scan_target
        assert target.scripts() == wallet.scripts()  # no open escrow yet
        session.scan_target.before_scan(500)  # FilterSync's call before it scans
        assert wallet.birthday_height() > 0 and target.birthday_height() == wallet.birthday_height()
        assert target.scan_resume_height() == wallet.scan_resume_height()
        # Named like the wallet file (as the CLI names them) plus the wallet id: a new seed saved as "w" later
        # would not inherit these trades.
        assert (tmp_path / "trades" / f"w-{wallet.info.wallet_id[:8]}.sqlite").exists()
        asyncio.run(session.close())
        asyncio.run(session.close())  # twice is fine
        with pytest.raises(TradeError):
            asyncio.run(session.start(None, ["ws://127.0.0.1:1"], None))
    finally:
        wallet.close()


def test_a_wrong_password_opens_nothing(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, WORDS, password="right", kdf=KdfParams(log2_n=10))
    session = TradeSession(wallet, tmp_path / "trades")
    try:
        with pytest.raises(WrongPassword):
            asyncio.run(session.start(None, ["ws://127.0.0.1:1"], "wrong"))
        assert session.engine is None and session.pool is None and session.outbox is None
    finally:
        asyncio.run(session.close())
        wallet.close()


def test_watch_only_wallets_cannot_trade(tmp_path: Path) -> None:
    seed = Wallet.create(tmp_path / "seed.sqlite", SANDBOX, WORDS, password=None)
    descriptors = (seed.info.receive_descriptor, seed.info.change_descriptor)
    seed.close()
    wallet = Wallet.create_watch_only(tmp_path / "w.sqlite", SANDBOX, descriptors=descriptors)
    try:
        with pytest.raises(TradeError, match="watch-only"):
            TradeSession(wallet, tmp_path / "trades")
    finally:
        wallet.close()


class _Engine:
    """Just enough of a TradeEngine for the bot's constructor and its offer choice."""

    def __init__(self) -> None:
        self.wallet = type("W", (), {"network": SANDBOX})()


def _offer(**changes: Any) -> Offer:
    base = Offer(
        id="ab" * 16, maker_nostr="cd" * 32, side=Side.SELL, min_sat=50_000, max_sat=100_000, currency="EUR",
        methods=("sepa",), network="sandbox", price=Decimal("60000"), t1_blocks=6, created_at=1, expires_at=100,
    )
    return dataclasses.replace(base, **changes)


def test_the_sandbox_bot_takes_offers_naming_its_arbitrator_or_none_and_priced_on_the_sandbox() -> None:
    ours = ArbitratorRef("11" * 32, "22" * 32)
    bot = SandboxBotTrader(_Engine(), ours)
    assert bot._wants(_offer(arbitrator=ours)) and bot._wants(_offer())
    assert not bot._wants(_offer(arbitrator=ArbitratorRef("33" * 32, "44" * 32)))
    assert not bot._wants(_offer(methods=("no_such_method",)))
    assert bot._wants(_offer(price=None, premium_pct=Decimal("2")))  # the sandbox has a market price for EUR
    assert not bot._wants(_offer(price=None, premium_pct=Decimal("2"), currency="JPY"))
    assert sandbox_price("EUR") == SANDBOX_PRICES["EUR"] and sandbox_price("JPY") is None
