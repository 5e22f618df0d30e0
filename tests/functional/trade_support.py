"""Three trading parties on the sandbox network and a real local Nostr relay: each with its own wallet,
light node (scanning through TradeScanTarget), relay pool, trade store and TradeEngine. A party can be
stopped and started again from its files (a killed app coming back)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import Transaction
from core.mempool.feerate import FeeRate
from core.node.node import LightNode, LightNodeConfig
from core.sandbox.node import SandboxNode
from core.trade.chain_watch import TradeScanTarget, prepare_watch
from core.trade.context import TradeContext
from core.trade.contract import Contract, PayoutKind
from core.trade.engine import TradeEngine
from core.trade.nostr.outbox import OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.nostr.relay_process import LocalRelay
from core.trade.offer import Side
from core.trade.payout import decode_psbt, payout_amounts
from core.trade.protocol_types import State
from core.trade.store import TradeStore
from core.trade.trade_keys import TradeKeys
from core.trade.updates import TradeUpdate
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC

TIMEOUT = 60.0
ARBITRATOR_WORDS = "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"
WORDS = {"seller": MNEMONIC, "buyer": OTHER_MNEMONIC, "arbitrator": ARBITRATOR_WORDS}
RATE = FeeRate.per_vb(2)


@dataclass
class Party:
    """One trader's (or the arbitrator's) whole app."""

    name: str
    dir: Path
    sbx: SandboxNode
    relay_url: str
    wallet: Wallet | None = None
    node: LightNode | None = None
    pool: RelayPool | None = None
    outbox: OutboxStore | None = None
    store: TradeStore | None = None
    engine: TradeEngine | None = None
    updates: list[TradeUpdate] = field(default_factory=list)
    clock_offset: float = 0.0  # added to the wall clock the engine sees (wall-clock timers in tests)

    @property
    def e(self) -> TradeEngine:
        assert self.engine is not None
        return self.engine

    @property
    def w(self) -> Wallet:
        assert self.wallet is not None
        return self.wallet

    async def start(self) -> None:
        path = self.dir / "wallet.sqlite"
        if path.exists():
            self.wallet = Wallet.open(path)
        else:
            self.wallet = Wallet.create(path, SANDBOX, WORDS[self.name], template="bip84", password=None)
        self.store = TradeStore(self.dir / "trade.sqlite")
        watch = prepare_watch(self.store)
        cfg = LightNodeConfig(
            self.dir / "node", connect=(("127.0.0.1", self.sbx.port),), dns_seed=False, ping_interval=None, min_filter_peers=1
        )
        self.node = LightNode(self.sbx.params, cfg, scan_target=TradeScanTarget(self.wallet, watch))
        await self.node.start()
        self.wallet.attach(self.node)
        self.outbox = OutboxStore(self.dir / "nostr_outbox.sqlite")
        self.pool = RelayPool([self.relay_url], self.outbox, retry_delay=0.2)
        self.pool.start()
        keys = await TradeKeys.load(self.wallet, None)
        self.engine = TradeEngine(
            self.wallet, self.node, self.pool, self.store, keys, watch, fee_rate=RATE, clock=lambda: time.time() + self.clock_offset
        )
        self.engine.add_listener(self.updates.append)
        self.wallet.add_listener(lambda _e: self.engine.poke() if self.engine is not None else None)
        await self.engine.start()
        await self.node.wait_synced(TIMEOUT)

    async def stop(self) -> None:
        """Close everything, as if the app were quit (or killed: nothing here flushes anything extra)."""
        if self.engine is not None:
            await self.engine.close()
        if self.pool is not None:
            await self.pool.close()
        if self.outbox is not None:
            self.outbox.close()
        if self.wallet is not None:
            self.wallet.detach()
        if self.node is not None:
            await self.node.close()
        if self.wallet is not None:
            self.wallet.close()
        if self.store is not None:
            self.store.close()
        self.engine = self.pool = self.outbox = self.wallet = self.node = self.store = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- reading -------------------------------------------------------------------------------------

    def state(self, trade_id: str) -> State | None:
        row = self.e.store.trade(trade_id)
        return None if row is None else row.state

    async def wait_state(self, trade_id: str, *states: State, timeout: float = TIMEOUT) -> None:
        await self.wait(lambda: self.state(trade_id) in states, timeout)

    async def wait(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        """Wait on the engine's updates; on a timeout, fail with what this party last saw."""
        try:
            await self.e.wait_until(predicate, timeout)
        except TimeoutError:
            seen = [(u.trade_id[:8], u.what, dict(u.data)) for u in self.updates if u.what != "tip"][-15:]
            raise AssertionError(f"{self.name} timed out; last updates: {seen}") from None

    def balance(self) -> int:
        b = self.w.balance()
        return b.confirmed + b.unconfirmed + b.frozen

    async def settled(self, amount: int) -> None:
        """Wait until the whole balance is `amount` sat, confirmed (nothing unconfirmed)."""
        await self.wait(lambda: self.w.balance().unconfirmed == 0 and self.balance() == amount)

    def deposit_cost(self, trade_id: str) -> int:
        """What our side put into the deposit transaction: our share of the escrow plus our fee share."""
        part = decode_psbt(self.ctx(trade_id).my_part)
        return sum(i.witness_utxo.value for i in part.inputs) - part.tx.total_out()  # type: ignore[union-attr]

    def ctx(self, trade_id: str) -> TradeContext:
        row = self.e.store.trade(trade_id)
        assert row is not None
        return row.ctx


@dataclass
class World:
    """The sandbox, the relay and the three parties."""

    sbx: SandboxNode
    relay: LocalRelay
    seller: Party
    buyer: Party
    arbitrator: Party

    @property
    def parties(self) -> list[Party]:
        return [self.seller, self.buyer, self.arbitrator]

    async def mine(self, n: int = 1, *, after: tuple[str, ...] = ()) -> int:
        """Mine `n` blocks (once the transactions `after`, txids in hex, reached the sandbox's mempool) and
        wait until every party's engine and wallet follow the new tip."""
        for txid in after:
            key = bytes(Txid.from_hex(txid))
            await self.sbx.wait_for(lambda key=key: in_mempool(self.sbx, key), TIMEOUT)
        await self.sbx.generate(n)
        tip = self.sbx.chain.tip.height
        for p in self.parties:
            if p.engine is not None:  # a stopped party catches up when it starts again
                await p.wait(lambda p=p: p.e.tip == tip and p.w.tip_height == tip)
        return tip

    async def fund(self, party: Party, *amounts: int) -> None:
        for amount in amounts:
            await self.sbx.faucet(party.w.new_address().script_pubkey, amount)


@contextlib.asynccontextmanager
async def world(tmp: Path, *, initial_blocks: int = 101) -> AsyncIterator[World]:
    """A started world; every party stopped and the relay and the sandbox shut down at the end."""
    async with sandbox(tmp, "sbx", initial_blocks=initial_blocks) as sbx, LocalRelay(tmp / "relay") as relay:
        parties = [Party(name, tmp / name, sbx, relay.url) for name in ("seller", "buyer", "arbitrator")]
        try:
            for p in parties:
                await p.start()
            yield World(sbx, relay, *parties)
        finally:
            for p in parties:
                with contextlib.suppress(Exception):
                    await p.stop()


def payout_of(contract: Contract, kind: PayoutKind, tx: Transaction, ruling: tuple[int, int] | None = None) -> tuple[int, int, int]:
    """(buyer's output, seller's output, fee) of a payout, checked to be exactly the contract's split less the fee."""
    fee = contract.escrow_value - tx.total_out()
    assert 0 < fee <= contract.payout_fee_cap_sat
    expected = payout_amounts(contract.escrow_value, contract.payout_shares(kind, ruling), fee)
    assert tuple(tx.vout) == expected
    by_spk = {o.script_pubkey: o.value for o in tx.vout}
    return by_spk.get(bytes.fromhex(contract.buyer.payout_spk), 0), by_spk.get(bytes.fromhex(contract.seller.payout_spk), 0), fee


def deposit_fee(ctx: TradeContext) -> int:
    """The deposit transaction's whole fee (both sides' shares)."""
    psbt = decode_psbt(ctx.deposit_psbt)
    return sum(i.witness_utxo.value for i in psbt.inputs) - psbt.tx.total_out()  # type: ignore[union-attr]


SELLER_FUNDS, BUYER_FUNDS, AMOUNT = 1_000_000, 300_000, 400_000


@dataclass
class OpenTrade:
    """A trade whose deposit is confirmed, with what each side had and paid so far."""

    trade_id: str
    contract: Contract
    start: dict[str, int]
    buyer_cost: int
    seller_cost: int
    deposit_fee: int


async def open_trade(w: World, *, t1: int = 3, arbitrator: bool = True, method: str = "sepa") -> OpenTrade:
    """Fund both traders, the seller offers, the buyer takes; returns once the deposit is confirmed."""
    s, b, a = w.seller, w.buyer, w.arbitrator
    await w.fund(s, SELLER_FUNDS)
    await w.fund(b, BUYER_FUNDS)
    await w.mine()
    await s.settled(SELLER_FUNDS)
    await b.settled(BUYER_FUNDS)
    start = {p.name: p.balance() for p in w.parties}
    offer = await s.e.create_offer(
        Side.SELL, 100_000, 500_000, "EUR", (method, "wise"), "IBAN DE00 1234 seller", price=Decimal("50000"),
        arbitrator=a.e.keys.arbitrator_ref if arbitrator else None, t1_blocks=t1, confirmations=1,
    )
    await b.wait(lambda: any(o.id == offer.id for o in b.e.offers()))
    trade = await b.e.take(offer.id, AMOUNT, method, "IBAN DE00 5678 buyer")
    await b.wait_state(trade, State.DEPOSIT_BROADCAST)
    await s.wait_state(trade, State.DEPOSIT_BROADCAST)
    await w.mine(after=(s.ctx(trade).deposit_txid,))
    await b.wait_state(trade, State.DEPOSIT_CONFIRMED)
    await s.wait_state(trade, State.DEPOSIT_CONFIRMED)
    contract = s.ctx(trade).contract_obj()
    fee = deposit_fee(s.ctx(trade))
    b_cost, s_cost = b.deposit_cost(trade), s.deposit_cost(trade)
    assert b_cost - contract.buyer_deposit_sat + s_cost - contract.seller_funding == fee  # the fee is the sum of both shares
    await b.settled(start["buyer"] - b_cost)
    await s.settled(start["seller"] - s_cost)
    # Payment details reached each side only now, and match what the other committed to.
    assert b.ctx(trade).peer_account == "IBAN DE00 1234 seller"
    await s.wait(lambda: s.ctx(trade).peer_account == "IBAN DE00 5678 buyer")
    return OpenTrade(trade, contract, start, b_cost, s_cost, fee)


async def check_final(w: World, t: OpenTrade, kind: PayoutKind, payout_txid: str, ruling: tuple[int, int] | None = None,
                      *, extra_fees: dict[str, int] | None = None) -> None:
    """After the payout confirmed: every balance to the satoshi, and nothing lost but the fees (the two
    transactions', and `extra_fees` a party paid, e.g. for a CPFP bump)."""
    extra = extra_fees or {}
    txid = Txid.from_hex(payout_txid)
    tx = w.seller.w.transaction(txid) or w.buyer.w.transaction(txid)
    assert tx is not None
    buyer_out, seller_out, fee = payout_of(t.contract, kind, tx, ruling)
    expected = {
        "buyer": t.start["buyer"] - t.buyer_cost + buyer_out - extra.get("buyer", 0),
        "seller": t.start["seller"] - t.seller_cost + seller_out - extra.get("seller", 0),
        "arbitrator": t.start["arbitrator"],
    }
    for p in w.parties:
        await p.settled(expected[p.name])
    assert sum(expected.values()) == sum(t.start.values()) - t.deposit_fee - fee - sum(extra.values())  # no coin lost
    for p in w.parties:  # nothing stays frozen or reserved
        assert p.w.balance().frozen == 0
