"""The sandbox's trading counterparties, so a new user can go through whole trades offline: a bot trader
and a bot arbitrator, each a full party of its own (wallet, light node on the sandbox chain, relay pool,
TradeEngine), run in the app's process beside the user's.

The bot trader keeps a few offers open on both sides (one per `BotOffer`, published again once taken),
takes the offers other traders publish (at their minimum amount: start small) when they name the bot
arbitrator or none, answers the first chat message of each trade, and otherwise behaves as
`core.trade.bots.BotTrader` (pays instantly, releases after its checks, rates). Its wallet is paid
from the sandbox faucet whenever its spendable balance runs low. Sandbox prices are fixed
(`SANDBOX_PRICES`), so premium offers can be taken too. One example order marked as another platform's
(a Lightning order, as Mostro publishes them) shows how such orders appear: read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.consensus.hashes import tagged_hash
from core.mempool.feerate import FeeRate
from core.node.node import LightNode, LightNodeConfig
from core.sandbox.errors import SandboxError
from core.trade.bots import BotArbitrator, BotTrader
from core.trade.engine import TradeEngine
from core.trade.errors import TradeError
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip69 import Order, OrderSide, build_order_event
from core.trade.offer import PAYMENT_METHODS, ArbitratorRef, Offer, Side
from core.trade.reputation import trade_limit
from core.trade.session import TradeSession
from core.trade.updates import TradeUpdate
from core.trade.views import my_reputation, transcript
from core.wallet.bip39 import generate_mnemonic
from core.wallet.wallet import Wallet

log = logging.getLogger(__name__)

#: Fixed market prices on the sandbox (fiat per BTC), for offers priced by a premium.
SANDBOX_PRICES = {"EUR": Decimal("60000"), "USD": Decimal("65000"), "GBP": Decimal("51000"), "CHF": Decimal("57000")}
BOT_FEE_RATE = FeeRate.per_vb(2)
BOT_ACCOUNT = "Sandbox Bot · IBAN XX00 0000 0000 0000 01"
CHAT_REPLY = "Hi! I am the sandbox bot: I pay and release automatically, no real money moves here."
#: The bot trader is paid FUND_COINS coins of FUND_AMOUNT when its spendable balance is below LOW_BALANCE.
FUND_COINS, FUND_AMOUNT, LOW_BALANCE = 4, 2_000_000, 3_000_000
START_TIMEOUT = 120.0
FAUCET_ATTEMPTS = 10


@dataclass(frozen=True)
class BotOffer:
    """One offer the bot trader keeps open (its side: SELL means the bot sells bitcoin)."""

    side: Side
    currency: str
    price: Decimal
    min_sat: int
    max_sat: int
    methods: tuple[str, ...]


DEFAULT_OFFERS = (
    BotOffer(Side.SELL, "EUR", Decimal("60000"), 50_000, 400_000, ("sepa", "sepa_instant")),
    BotOffer(Side.SELL, "EUR", Decimal("61500"), 20_000, 200_000, ("revolut",)),
    BotOffer(Side.BUY, "EUR", Decimal("59000"), 50_000, 400_000, ("sepa", "wise")),
    BotOffer(Side.BUY, "USD", Decimal("64000"), 50_000, 200_000, ("zelle",)),
)


def sandbox_price(currency: str) -> Decimal | None:
    """The sandbox's market price of `currency` (None if it has none)."""
    return SANDBOX_PRICES.get(currency)


class SandboxBotTrader(BotTrader):
    """BotTrader that also keeps its offers open, takes other traders' offers and answers chat."""

    def __init__(self, engine: Any, arbitrator: ArbitratorRef, offers: tuple[BotOffer, ...] = DEFAULT_OFFERS) -> None:
        super().__init__(engine, account=BOT_ACCOUNT, methods=tuple(PAYMENT_METHODS))
        self.arbitrator = arbitrator
        self.specs = offers
        self._book_lock = asyncio.Lock()
        self._taking: set[str] = set()

    def start(self) -> None:
        super().start()
        self._spawn(self.maintain())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_update(self, update: TradeUpdate) -> None:
        super()._on_update(update)
        if update.what in ("book", "offer", "taken"):
            self._spawn(self.maintain())
        elif update.what == "chat" and update.trade_id:
            self._spawn(self._answer_chat(update.trade_id))

    async def maintain(self) -> None:
        """Publish the offers that are missing and take the others' offers we have not taken yet."""
        async with self._book_lock:
            try:
                await self._replenish()
                await self._take_new()
            except TradeError as e:  # a refused take or offer: the next book update tries again
                log.info("sandbox bot: %s", e)

    async def _replenish(self) -> None:
        e = self.engine
        mine = e.offers(mine=True)
        for spec in self.specs:
            if not any((o.side, o.currency, o.methods) == (spec.side, spec.currency, spec.methods) for o in mine):
                await e.create_offer(
                    spec.side, spec.min_sat, spec.max_sat, spec.currency, spec.methods, self.account, price=spec.price,
                    arbitrator=self.arbitrator, t1_blocks=6, confirmations=1, name="Sandbox bot",
                )

    def _wants(self, offer: Offer) -> bool:
        return (
            offer.arbitrator in (None, self.arbitrator)
            and any(m in self.methods for m in offer.methods)
            and (offer.price is not None or sandbox_price(offer.currency) is not None)
        )

    async def _take_new(self) -> None:
        e = self.engine
        taken = {row.ctx.offer.get("id") for row in e.store.trades()} | self._taking
        rep = my_reputation(e.store, e.keys.identity.xonly)
        for offer in e.offers(mine=False):
            if offer.id in taken or not self._wants(offer):
                continue
            method = next(m for m in offer.methods if m in self.methods)
            if offer.min_sat > trade_limit(rep, method):
                continue  # the maker would refuse us: start small
            self._taking.add(offer.id)
            await self.take(offer.id, offer.min_sat)

    async def _answer_chat(self, trade_id: str) -> None:
        row = self.engine.store.trade(trade_id)
        if row is None or row.final:
            return
        if any(m["from"] == row.ctx.my_nostr for m in transcript(self.engine.store, trade_id)):
            return
        with contextlib.suppress(TradeError):
            await self.engine.chat(trade_id, CHAT_REPLY)


class BotParty:
    """One bot's whole app: wallet (created on first start), light node, trade session and engine."""

    def __init__(self, name: str, folder: Path, sandbox: Any) -> None:
        self.name = name
        self.folder = folder
        self.sandbox = sandbox
        self.wallet: Wallet | None = None
        self.node: LightNode | None = None
        self.session: TradeSession | None = None

    @property
    def engine(self) -> TradeEngine:
        assert self.session is not None and self.session.engine is not None
        return self.session.engine

    async def start(self, relay_url: str) -> TradeEngine:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "wallet.sqlite"
        if path.exists():
            self.wallet = await Wallet.open_async(path)
        else:
            # birthday None: the new seed starts scanning at the tip the node first reaches.
            await asyncio.to_thread(
                lambda: Wallet.create(path, self.sandbox.params.network, generate_mnemonic(128), password=None, birthday=None).close()
            )
            self.wallet = await Wallet.open_async(path)
        self.session = TradeSession(self.wallet, self.folder / "trades")
        config = LightNodeConfig(
            self.folder / "node", connect=(("127.0.0.1", self.sandbox.port),), dns_seed=False, ping_interval=None,
            min_filter_peers=1,
        )
        self.node = LightNode(self.sandbox.params, config, scan_target=self.session.scan_target)
        await self.node.start()
        self.wallet.attach(self.node)
        await self.node.wait_synced(START_TIMEOUT)
        return await self.session.start(
            self.node, [relay_url], None, fee_rate=BOT_FEE_RATE, market_price=sandbox_price, retry_delay=0.5
        )

    async def fund(self) -> None:
        """Pay the bot from the faucet if it runs low, and wait until the coins are confirmed."""
        wallet = self.wallet
        assert wallet is not None
        if wallet.balance().spendable >= LOW_BALANCE:
            return
        target = wallet.balance().confirmed + FUND_COINS * FUND_AMOUNT
        for _ in range(FUND_COINS):
            script = wallet.new_address(label="sandbox faucet").script_pubkey
            for _attempt in range(FAUCET_ATTEMPTS):
                try:
                    await self.sandbox.faucet(script, FUND_AMOUNT)
                    break
                except SandboxError:  # the traffic holds every mature coin (or races for one): a block settles it
                    await self.sandbox.generate(1)
            else:
                raise TradeError("the sandbox faucet found no free coin to pay the bot")
        await self.sandbox.generate(1)
        await self.engine.wait_until(lambda: wallet.balance().confirmed >= target, START_TIMEOUT)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.wallet is not None:
            self.wallet.detach()
        if self.node is not None:
            await self.node.close()
        if self.wallet is not None:
            self.wallet.close()
        self.session = self.node = self.wallet = None


def example_foreign_order(key: NostrKey, lifetime: int = 7 * 24 * 3600) -> Any:
    """A NIP-69 order as another platform publishes one (Lightning, not ours to take), signed by `key`
    (the same key on every start: the new event replaces the last one on the relay)."""
    now = int(time.time())
    order = Order(
        "sandbox-example", OrderSide.SELL, "EUR", Decimal("20"), Decimal("200"), ("sepa", "revolut"), Decimal("3"), 0,
        "sandbox", platform="mostro", layer="lightning", expires_at=now + lifetime, expiration=now + lifetime,
        name="Example: another platform's order",
    )
    return build_order_event(key, order, "", now)


class SandboxBots:
    """The bot trader and the bot arbitrator (see the module docstring). `await start()`, `await close()`."""

    def __init__(self, folder: Path, sandbox: Any, relay_url: str, offers: tuple[BotOffer, ...] = DEFAULT_OFFERS) -> None:
        self.relay_url = relay_url
        self.offers = offers
        self.trader = BotParty("trader", folder / "trader", sandbox)
        self.arbitrator = BotParty("arbitrator", folder / "arbitrator", sandbox)
        self.trader_bot: SandboxBotTrader | None = None
        self.arbitrator_bot: BotArbitrator | None = None

    @property
    def arbitrator_ref(self) -> ArbitratorRef:
        """How offers name the bot arbitrator."""
        return self.arbitrator.engine.keys.arbitrator_ref

    async def start(self) -> None:
        """Start both parties (concurrently), fund the trader, then let them act."""
        await asyncio.gather(self.arbitrator.start(self.relay_url), self.trader.start(self.relay_url))
        self.arbitrator_bot = BotArbitrator(self.arbitrator.engine)
        self.arbitrator_bot.start()
        await self.trader.fund()
        self.trader_bot = SandboxBotTrader(self.trader.engine, self.arbitrator_ref, self.offers)
        self.trader_bot.start()
        keys = self.trader.engine.keys
        example_key = NostrKey.from_secret(tagged_hash("peerwallet/sandbox/example-order", bytes.fromhex(keys.identity.xonly)))
        await self.trader.engine.pool.publish(example_foreign_order(example_key))

    async def close(self) -> None:
        for bot in (self.trader_bot, self.arbitrator_bot):
            if bot is not None:
                await bot.close()
        self.trader_bot = self.arbitrator_bot = None
        for party in (self.trader, self.arbitrator):
            with contextlib.suppress(Exception):  # one bot failing to close must not keep the other open
                await party.close()
