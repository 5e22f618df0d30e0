"""The escrow chain watch (facts from blocks and the mempool, buffering before the engine attaches, the
rescan height, the scan target wrapping the wallet), how a spend of the escrow is classified, and
offers as NIP-69 events (ours checked against their tags and signer, others read-only), with
hypothesis fuzzing of the offer reader."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.trade.chain_watch import ChainWatch, EscrowOutput, EscrowSpend, TradeScanTarget, prepare_watch
from core.trade.context import Role
from core.trade.contract import PayoutKind
from core.trade.engine_effects import classify_spend
from core.trade.errors import NostrError, OfferError, TradeError
from core.trade.nostr.event import Event
from core.trade.nostr.nip69 import Order, OrderSide, build_order_event
from core.trade.offer import Side
from core.trade.offer_event import offer_event, read_offer_event
from core.trade.payout import decode_psbt, finalize_payout, sign_payout
from core.trade.protocol_types import Ev, State
from core.trade.store import TradeStore
from tests.unit.trade_fixture import (
    ARBITRATOR,
    BUYER,
    SELLER,
    Fixture,
    contract_of,
    key,
    offer,
    outpoint_of,
    payout,
)

C = contract_of(Side.SELL)


def _tx_paying(spk: bytes, value: int, tag: int = 7) -> Transaction:
    return Transaction(2, (TxIn(OutPoint(Txid(bytes([tag]) * 32), 0)),), (TxOut(value, spk),), 0)


def test_watch_reports_outputs_and_spends_and_buffers() -> None:
    watch = ChainWatch()
    watch.watch("t1", C.escrow_spk(), 150)
    assert watch.resume_height() == 149 and watch.scripts() == [C.escrow_spk()]
    deposit = _tx_paying(C.escrow_spk(), C.escrow_value)
    watch.transactions_seen([deposit])  # before the engine attached: buffered
    got: list[object] = []
    watch.attach(got.append)
    assert got == [EscrowOutput("t1", deposit, 0, None)]
    spend = Transaction(2, (TxIn(OutPoint(deposit.txid, 0)),), (TxOut(1000, b"\x51\x20" + bytes(32)),), 0)
    block = Block(BlockHeader(1, bytes(32), bytes(32), 0, 0, 0), (spend,))  # type: ignore[arg-type]
    watch.block_connected(151, block)
    assert got[-1] == EscrowSpend("t1", spend, 0, 151)
    watch.unwatch("t1")
    watch.transactions_seen([spend])
    assert len(got) == 2 and watch.resume_height() is None


class _Wallet:
    def __init__(self) -> None:
        self.blocks: list[int] = []

    def scripts(self) -> list[bytes]:
        return [b"\x00\x14" + bytes(20)]

    def birthday_height(self) -> int:
        return 100

    def scan_resume_height(self) -> int:
        return 180

    def scan_progress(self, height: int, block_hash: bytes) -> None:
        pass

    def block_connected(self, height: int, block: object) -> None:
        self.blocks.append(height)

    def block_disconnected(self, height: int, block_hash: bytes) -> None:
        pass


def test_scan_target_wraps_the_wallet(tmp_path: Path) -> None:
    fx = Fixture(Role.SELLER)
    store = TradeStore(tmp_path / "t.sqlite")
    ctx = dataclasses.replace(fx.ctx(State.DEPOSIT_CONFIRMED), watch_from=150)
    store.commit(fx.trade_id, state=State.DEPOSIT_CONFIRMED, ctx=ctx)
    done = dataclasses.replace(fx.ctx(State.COMPLETED), trade_id="ff" * 16, watch_from=10, payout_height=170)
    store.commit(done.trade_id, state=State.COMPLETED, ctx=done)
    watch = prepare_watch(store)
    target = TradeScanTarget(_Wallet(), watch)
    assert list(target.scripts()) == [b"\x00\x14" + bytes(20), C.escrow_spk()]
    assert target.scan_resume_height() == 149  # below the wallet's own 180: the escrow is re-checked
    assert target.birthday_height() == 100
    got: list[object] = []
    watch.attach(got.append)
    spend = Transaction(2, (TxIn(fx.outpoint),), (TxOut(1000, b"\x51\x20" + bytes(32)),), 0)
    watch.transactions_seen([spend])
    assert got == [EscrowSpend(fx.trade_id, spend, 0, None)]
    store.close()


def _finalized(kind: PayoutKind, signers: list, ruling: tuple[int, int] | None = None) -> Transaction:
    psbt = decode_psbt(payout(C, kind, signers[0], ruling))
    spec = C.payout_spec(kind, outpoint_of(C), ruling)
    for other in signers[1:]:
        sign_payout(psbt, other.trade_key, spec)
    return finalize_payout(psbt)


def test_spends_are_classified_from_the_witness() -> None:
    assert classify_spend(C, _finalized(PayoutKind.RELEASE, [SELLER, BUYER]), 0) is Ev.RELEASED
    assert classify_spend(C, _finalized(PayoutKind.CANCEL, [BUYER, SELLER]), 0) is Ev.CANCEL_PAID
    split = (C.escrow_value - 50_000, 50_000)
    assert classify_spend(C, _finalized(PayoutKind.RULING, [ARBITRATOR, BUYER], split), 0) is Ev.RULING_PAID
    assert classify_spend(C, _finalized(PayoutKind.RULING, [ARBITRATOR, SELLER], split), 0) is Ev.RULING_PAID
    assert classify_spend(C, _finalized(PayoutKind.REFUND, [SELLER]), 0) is Ev.REFUNDED


def test_offer_events() -> None:
    o = offer(Side.SELL)
    maker = key("seller/nostr")
    entry = read_offer_event(offer_event(maker, o))
    assert entry.offer == o and not entry.read_only
    with pytest.raises(OfferError):
        offer_event(key("someone"), o)
    # Content that disagrees with the tags, or signed by another key, is refused.
    good = offer_event(maker, o)
    other = dataclasses.replace(o, max_sat=300_000)
    forged = Event.sign(maker, good.kind, json.dumps(other.to_json()), good.tags, good.created_at)
    with pytest.raises(OfferError):
        read_offer_event(forged)
    stolen = Event.sign(key("thief"), good.kind, good.content, good.tags, good.created_at)
    with pytest.raises(OfferError):
        read_offer_event(stolen)
    # Another platform's order is shown read-only.
    foreign = Order("abc", OrderSide.BUY, "USD", Decimal(10), Decimal(100), ("zelle",), Decimal(1), 0, "mainnet",
                    platform="mostro", layer="lightning")
    entry = read_offer_event(build_order_event(key("mostro"), foreign))
    assert entry.read_only and entry.offer is None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_offer_reader(data: st.DataObject) -> None:
    maker = key("seller/nostr")
    good = offer_event(maker, offer(Side.SELL))
    obj = json.loads(good.content)
    name = data.draw(st.sampled_from(sorted(obj)))
    obj[name] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                                    st.lists(st.text(max_size=5), max_size=3)))
    content = data.draw(st.one_of(st.just(json.dumps(obj)), st.text(max_size=60)))
    tags = copy.deepcopy([list(t) for t in good.tags])
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(tags) - 1))
        tags[i] = [*tags[i][:1], data.draw(st.text(max_size=8))]
    event = Event.sign(maker, good.kind, content, tags, good.created_at)
    with contextlib.suppress(NostrError, OfferError, TradeError):
        read_offer_event(event)
