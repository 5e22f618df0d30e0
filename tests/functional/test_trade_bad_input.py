"""Bad input against a live trade: malformed, badly signed, forged, stranger's, replayed and
out-of-order messages reach the seller through the real relay and are rejected with the trade's
state and context unchanged; a tampered release PSBT from the seller is refused by the buyer. The trade
then completes normally (the message channels stay in step), balances exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.trade.contract import PayoutKind
from core.trade.engine import RUMOR_KIND
from core.trade.messages import MsgKind, WireMessage
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip59 import gift_wrap
from core.trade.protocol_types import State
from core.wallet.psbt import psbt_from_base64, psbt_to_base64
from tests.functional.trade_support import Party, World, check_final, open_trade, world
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def rejections(p: Party) -> int:
    return sum(1 for u in p.updates if u.what == "rejected")


async def inject(w: World, target: Party, trade: str, sender: NostrKey, content: str) -> None:
    """Publish a gift wrap to `target`'s key for `trade` and wait until the target rejected it."""
    before = rejections(target)
    ctx_before = target.ctx(trade).to_text()
    state_before = target.state(trade)
    event = gift_wrap(RUMOR_KIND, content, (), sender, target.ctx(trade).my_nostr)
    await w.arbitrator.pool.publish(event)  # any relay client will do: the relay is public
    await target.wait(lambda: rejections(target) > before)
    assert target.state(trade) is state_before and target.ctx(trade).to_text() == ctx_before


def test_bad_messages_rejected_state_unchanged(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            t = await open_trade(w)
            trade = t.trade_id
            buyer_key = (await b.e.keys.pair(b.ctx(trade).key_index)).nostr
            seller_xonly = s.ctx(trade).my_nostr
            expected = s.e.store.expected_seq(trade, buyer_key.xonly, seller_xonly)
            attacker = NostrKey.generate()

            def signed(key: NostrKey, seq: int, kind: MsgKind, body: dict) -> WireMessage:
                return WireMessage.create(key, trade, seq, seller_xonly, kind, body, 1_700_000_000)

            # Malformed: not JSON, not a message, a message with a missing field.
            await inject(w, s, trade, buyer_key, "not json")
            await inject(w, s, trade, buyer_key, '{"v":1}')
            good = signed(buyer_key, expected + 500, MsgKind.CHAT, {"text": "hi"})
            broken = good.to_json()
            del broken["ts"]
            await inject(w, s, trade, buyer_key, json.dumps(broken))
            # Badly signed: the buyer's message with its text changed after signing.
            tampered = dict(good.to_json(), body={"text": "send me the coins"})
            await inject(w, s, trade, buyer_key, json.dumps(tampered))
            # Forged: claims to be from the buyer, sealed by someone else.
            await inject(w, s, trade, attacker, good.to_text())
            # A stranger's own, well-signed message for this trade.
            await inject(w, s, trade, attacker, signed(attacker, 1, MsgKind.PAYMENT_SENT, {"note": "paid!"}).to_text())
            # Replay: an old sequence number of the buyer's channel with other content.
            await inject(w, s, trade, buyer_key, signed(buyer_key, 1, MsgKind.PAYMENT_SENT, {"note": "paid"}).to_text())
            # Out of order: far ahead of the channel (parked, never applied).
            await inject(w, s, trade, buyer_key, signed(buyer_key, expected + 1000, MsgKind.PAYMENT_SENT, {"note": "x"}).to_text())
            assert s.state(trade) is State.DEPOSIT_CONFIRMED
            # An exact duplicate of a real message is dropped silently (idempotent delivery).
            real = next(m for m in b.e.store.messages(trade) if m.direction == "out")
            dup = gift_wrap(RUMOR_KIND, real.raw, (), buyer_key, seller_xonly)
            await w.arbitrator.pool.publish(dup)

            # The trade goes on: the buyer pays; a tampered release is refused by the buyer.
            await b.e.paid(trade, "SEPA")
            await s.wait_state(trade, State.PAYMENT_SENT)
            assert s.ctx(trade).paid_note == "SEPA"
            seller_pair = await s.e.keys.pair(s.ctx(trade).key_index)
            sctx = s.ctx(trade)
            honest = await s.e.effects._signed_payout(sctx, PayoutKind.RELEASE)
            psbt = psbt_from_base64(psbt_to_base64(honest))
            vout = list(psbt.tx.vout)
            vout[0] = dataclasses.replace(vout[0], value=vout[0].value - 50_000)  # the buyer's output, shorter
            psbt.tx = dataclasses.replace(psbt.tx, vout=tuple(vout))
            before = rejections(b)
            s.e.send_now(trade, sctx, seller_pair.nostr, MsgKind.RELEASE, {"psbt": psbt_to_base64(psbt)})
            await b.wait(lambda: rejections(b) > before)
            assert b.state(trade) is State.PAYMENT_SENT and b.ctx(trade).release_psbt == ""
            assert "refused" in [u for u in b.updates if u.what == "rejected"][-1].data["reason"]

            await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(trade, State.PAYOUT_BROADCAST)
            await w.mine(after=(b.ctx(trade).payout_txid,))
            await s.wait_state(trade, State.COMPLETED)
            await b.wait_state(trade, State.COMPLETED)
            await check_final(w, t, PayoutKind.RELEASE, b.ctx(trade).payout_txid)
            statuses = {m.status for m in s.e.store.messages(trade) if m.direction == "in"}
            assert statuses <= {"applied", "rejected"}

    run(scenario)
