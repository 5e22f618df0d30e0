"""Guards and handlers once the deposit exists: payment, payouts, cooperative cancel, disputes and the
arbitrator's ruling, the seller's refund after T1, what the chain shows, receipts and chat.

The one rule that matters most is here: the seller's release signature (SIGN_RELEASE) is produced only
by the seller's explicit "received" action with the whole checklist ticked; the buyer's "paid" message
only records a note.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.consensus.tx import Transaction
from core.errors import PeerwalletError
from core.trade.context import Role, TradeContext
from core.trade.contract import PayoutKind, SignedContract, account_hash
from core.trade.errors import ContractError, MessageError, ProtocolError
from core.trade.messages import MsgKind, message_from_json
from core.trade.nostr.keys import verify_schnorr
from core.trade.protocol_types import Effect, Event, Op, Timer
from core.trade.reputation import Receipt
from core.trade.rules import body, check_payout, notify, send

#: What the seller confirms before the release signature exists.
CHECKLIST = ("credited", "sender_matches", "not_reversible")


def _r(ctx: TradeContext, **changes: Any) -> TradeContext:
    return dataclasses.replace(ctx, **changes)


def _peer_escrow(ctx: TradeContext) -> str:
    c = ctx.contract_obj()
    return (c.seller if ctx.role is Role.BUYER else c.buyer).escrow


# -- payment -----------------------------------------------------------------------------------------


def h_paid(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """Buyer: "I paid" — a message and nothing else (it moves no coins)."""
    note = str(ev.data.get("note", ""))[:500]
    return _r(ctx, paid_note=note), [send(MsgKind.PAYMENT_SENT, {"note": note}), notify("paid")]


def h_payment_sent(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, paid_note=body(ev)["note"]), [notify("buyer_paid")]


def g_received(ctx: TradeContext, ev: Event) -> None:
    """Seller: every checklist item confirmed explicitly (money credited, sender matches, not reversible)."""
    checklist = ev.data.get("checklist") or {}
    missing = [item for item in CHECKLIST if checklist.get(item) is not True]
    if missing:
        raise ProtocolError(f"confirm the release checklist first: {', '.join(missing)}")


def h_received(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return ctx, [Effect(Op.SIGN_RELEASE), notify("releasing")]


def g_release(ctx: TradeContext, ev: Event) -> None:
    """Buyer: the release pays the contract's split from the escrow, fee within the cap, signed by the seller."""
    check_payout(ctx, PayoutKind.RELEASE, body(ev)["psbt"], ctx.contract_obj().seller.escrow)


def h_release(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx = _r(ctx, release_psbt=body(ev)["psbt"])
    return ctx, [Effect(Op.BROADCAST_PAYOUT, {"kind": PayoutKind.RELEASE.value}), notify("released")]


def h_note(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """A message that only informs (e.g. the payout's txid): recorded, nothing else."""
    return ctx, []


# -- cooperative cancel ------------------------------------------------------------------------------


def h_cancel(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """Propose returning everything where it came from (the peer must co-sign)."""
    reason = str(ev.data.get("reason", ""))[:500]
    return ctx, [Effect(Op.PROPOSE_CANCEL, {"reason": reason})]


def g_cancel_propose(ctx: TradeContext, ev: Event) -> None:
    check_payout(ctx, PayoutKind.CANCEL, body(ev)["psbt"], _peer_escrow(ctx))


def h_cancel_propose(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx = _r(ctx, cancel_psbt=body(ev)["psbt"], cancel_by=ctx.role.other.value, cancel_declined="")
    return ctx.note(f"the other trader proposes to cancel: {body(ev)['reason']}"), [notify("cancel_proposed")]


def g_accept_cancel(ctx: TradeContext, ev: Event) -> None:
    if not ctx.cancel_psbt or ctx.cancel_by != ctx.role.other.value:
        raise ProtocolError("the other trader has not proposed a cancel")


def h_accept_cancel(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return ctx, [Effect(Op.BROADCAST_PAYOUT, {"kind": PayoutKind.CANCEL.value})]


def h_decline_cancel(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    g_accept_cancel(ctx, ev)
    reason = str(ev.data.get("reason", ""))[:500]
    return _r(ctx, cancel_psbt="", cancel_by=""), [send(MsgKind.CANCEL_DECLINE, {"reason": reason})]


def h_cancel_decline(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx = _r(ctx, cancel_psbt="", cancel_by="", cancel_declined=body(ev)["reason"] or "declined")
    return ctx.note("the other trader declined to cancel"), [notify("cancel_declined")]


# -- disputes ----------------------------------------------------------------------------------------


def g_dispute(ctx: TradeContext, ev: Event) -> None:
    if ctx.contract_obj().arbitrator is None:
        raise ProtocolError("this trade has no arbitrator (2-of-2 mode): cancel or wait for T1")


def h_dispute(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    reason = str(ev.data.get("reason", ""))[:500]
    ctx = _r(ctx, dispute_by=ctx.role.value, dispute_reason=reason)
    return ctx, [Effect(Op.OPEN_DISPUTE, {"reason": reason, "notes": str(ev.data.get("notes", ""))[:2000]}), notify("dispute")]


def h_peer_dispute(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    if ctx.dispute_by:  # both opened one: nothing new to send
        return ctx, []
    ctx = _r(ctx, dispute_by=ctx.role.other.value, dispute_reason=body(ev)["reason"])
    return ctx, [Effect(Op.SEND_EVIDENCE, {"notes": ""}), notify("dispute")]


def g_arb_dispute(ctx: TradeContext, ev: Event) -> None:
    """Arbitrator: a contract signed by both traders naming us, its deposit, opened by one of them."""
    b = body(ev)
    assert ev.msg is not None
    if b["contract"] is None:
        raise ProtocolError("a dispute brought to the arbitrator carries the signed contract")
    signed = SignedContract.from_json(b["contract"])
    c = signed.contract
    if c.arbitrator is None or c.arbitrator.nostr != ctx.my_nostr or c.trade_id != ctx.trade_id:
        raise ContractError("the contract does not name us as its arbitrator")
    if ev.msg.sender not in (c.buyer.nostr, c.seller.nostr):
        raise ProtocolError("the dispute does not come from a trader of the contract")
    try:
        tx = Transaction.parse(bytes.fromhex(b["deposit_tx"]))
    except (PeerwalletError, ValueError):
        raise ProtocolError("the deposit transaction does not parse") from None
    if sum(1 for o in tx.vout if o.script_pubkey == c.escrow_spk() and o.value == c.escrow_value) != 1:
        raise ProtocolError("the deposit does not fund the contract's escrow")


def h_arb_dispute(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    assert ev.msg is not None
    signed = SignedContract.from_json(b["contract"])
    c = signed.contract
    tx = Transaction.parse(bytes.fromhex(b["deposit_tx"]))
    vout = next(n for n, o in enumerate(tx.vout) if o.script_pubkey == c.escrow_spk())
    opener = Role.BUYER if ev.msg.sender == c.buyer.nostr else Role.SELLER
    ctx = _r(
        ctx, contract=c.to_json(), buyer_sig=signed.buyer_sig, seller_sig=signed.seller_sig, deposit_tx=b["deposit_tx"],
        deposit_txid=str(tx.txid), deposit_vout=vout, dispute_by=opener.value, dispute_reason=b["reason"],
        created_at=ev.now,
    )
    height = {"height": b["deposit_height"]}  # rescans (on restarts) start there: the deposit is re-checked
    return ctx, [Effect(Op.WATCH_ESCROW, height), Effect(Op.CHECK_DEPOSIT, height), notify("dispute")]


def g_evidence(ctx: TradeContext, ev: Event) -> None:
    """Arbitrator: a transcript of this trade's messages, each signed by a party of the contract."""
    b = body(ev)
    c = ctx.contract_obj()
    parties = {c.buyer.nostr, c.seller.nostr, *(() if c.arbitrator is None else (c.arbitrator.nostr,))}
    for item in b["transcript"]:
        try:
            msg = message_from_json(item)
        except MessageError as e:
            raise ProtocolError(f"a transcript message is not authentic: {e}") from None
        if msg.trade_id != ctx.trade_id or msg.sender not in parties:
            raise ProtocolError("a transcript message is from another trade or person")
    assert ev.msg is not None
    if b["account"]:
        party = c.buyer if ev.msg.sender == c.buyer.nostr else c.seller
        if not b["salt"] or account_hash(b["account"], bytes.fromhex(b["salt"])) != party.account_hash:
            raise ContractError("the payment account in the evidence does not match the contract")


def h_evidence(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    assert ev.msg is not None
    who = Role.BUYER if ev.msg.sender == ctx.contract_obj().buyer.nostr else Role.SELLER
    item = {"from": who.value, **b}
    return _r(ctx, evidence=(*ctx.evidence, item)[-40:]), [notify("evidence")]


def g_rule(ctx: TradeContext, ev: Event) -> None:
    """Arbitrator: a split of exactly the escrow value, the deposit known."""
    ctx.deposit_outpoint()
    ctx.contract_obj().payout_split(PayoutKind.RULING, (ev.data.get("buyer_sat"), ev.data.get("seller_sat")))  # type: ignore[arg-type]


def h_rule(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    d = ev.data
    args = {"buyer_sat": d["buyer_sat"], "seller_sat": d["seller_sat"], "reason": str(d.get("reason", ""))[:500]}
    return ctx, [Effect(Op.SIGN_RULING, args), notify("ruled")]


def g_ruling(ctx: TradeContext, ev: Event) -> None:
    """Trader: the ruling pays the arbitrator's split from the escrow and carries the arbitrator's signature."""
    b = body(ev)
    c = ctx.contract_obj()
    assert c.arbitrator is not None  # check_sender let only the contract's arbitrator through
    check_payout(ctx, PayoutKind.RULING, b["psbt"], c.arbitrator.escrow, (b["buyer_sat"], b["seller_sat"]))


def h_ruling(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    ctx = _r(ctx, ruling={k: b[k] for k in ("buyer_sat", "seller_sat", "psbt", "reason")})
    return ctx.note(f"the arbitrator ruled: buyer {b['buyer_sat']} sat, seller {b['seller_sat']} sat"), [notify("ruling")]


def g_accept_ruling(ctx: TradeContext, ev: Event) -> None:
    if ctx.ruling is None:
        raise ProtocolError("there is no ruling to sign")
    if ctx.ruling_accepted or ctx.payout_txid:  # a second click must not queue a second broadcast
        raise ProtocolError("the ruling was accepted already: its payout is being broadcast")


def h_accept_ruling(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, ruling_accepted=True), [Effect(Op.BROADCAST_PAYOUT, {"kind": PayoutKind.RULING.value})]


# -- T1 ----------------------------------------------------------------------------------------------


def h_t1(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, refund_available=True).note("T1 has passed: you may take the escrow back alone"), [notify("refund_available")]


def h_t1_warning(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    text = "the seller can soon take the escrow back alone: open a dispute now if the trade is stuck"
    return ctx.note(text), [notify("t1_warning")]


def g_refund(ctx: TradeContext, ev: Event) -> None:
    if not ctx.refund_available:
        raise ProtocolError("the refund path opens only T1 blocks after the deposit confirmed")


def h_refund(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return ctx, [Effect(Op.REFUND_AFTER_T1)]


# -- what the chain shows ----------------------------------------------------------------------------


def spent(kind: PayoutKind) -> Any:
    """A handler for "the escrow was spent as `kind`" (seen in the mempool or a block)."""

    def handler(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
        d = ev.data
        ctx = _r(ctx, payout_txid=d["txid"], payout_kind=kind.value, payout_height=d.get("height", -1), refund_available=False)
        eff = [Timer.cancel("t1"), Timer.cancel("t1_warning"), notify("payout", kind=kind.value)]
        if ctx.maker:
            eff.append(Effect(Op.OFFER_STATUS, {"status": "success" if kind is PayoutKind.RELEASE else "canceled"}))
        return ctx, eff

    return handler


def g_payout_confirmed(ctx: TradeContext, ev: Event) -> None:
    if ev.data.get("txid") != ctx.payout_txid:
        raise ProtocolError("another transaction than the known payout confirmed")


def h_payout_confirmed(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    if ctx.payout_height == ev.data["height"]:
        return ctx, []  # a repeat (a rescan)
    return _r(ctx, payout_height=ev.data["height"]), [notify("payout_confirmed")]


def g_payout_reorged(ctx: TradeContext, ev: Event) -> None:
    if ctx.payout_height < 0 or ctx.payout_height < ev.data["height"]:
        raise ProtocolError("the payout was not in a disconnected block")


def h_payout_reorged(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """The payout is unconfirmed again (it is announced again until it confirms)."""
    ctx = _r(ctx, payout_height=-1)
    return ctx.note("a chain reorganisation took the payout's block away: it is unconfirmed again"), [notify("payout_reorged")]


def h_completed(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx, eff = h_payout_confirmed(ctx, ev)
    return ctx, [*eff, Effect(Op.SIGN_RECEIPT)]


# -- receipts ----------------------------------------------------------------------------------------


def receipt_core(ctx: TradeContext) -> Receipt:
    """The receipt both traders sign for this trade (needs the payout and the deposit height)."""
    c = ctx.contract_obj()
    if not ctx.payout_txid or ctx.deposit_height < 0:
        raise ProtocolError("the receipt needs the payout and the deposit height")
    return Receipt(c.contract_hash().hex(), c.buyer.identity, c.seller.identity, c.amount_sat, c.currency, ctx.payout_txid, ctx.deposit_height)


def _with_peer(ctx: TradeContext, b: dict[str, Any]) -> Receipt:
    base = Receipt(**ctx.receipt) if ctx.receipt else receipt_core(ctx)
    if ctx.role is Role.BUYER:
        return dataclasses.replace(base, seller_sig=b["sig"], seller_rating=b["rating"], seller_rating_sig=b["rating_sig"])
    return dataclasses.replace(base, buyer_sig=b["sig"], buyer_rating=b["rating"], buyer_rating_sig=b["rating_sig"])


def g_receipt_sig(ctx: TradeContext, ev: Event) -> None:
    """The peer's half of the receipt (its signature and any rating) verifies; ours may not exist yet."""
    _verify_half(_with_peer(ctx, body(ev)), ctx.role.other)


def _verify_half(r: Receipt, who: Role) -> None:
    key, sig, rating, rsig = (
        (r.buyer, r.buyer_sig, r.buyer_rating, r.buyer_rating_sig) if who is Role.BUYER
        else (r.seller, r.seller_sig, r.seller_rating, r.seller_rating_sig)
    )
    if len(sig) != 128 or not verify_schnorr(bytes.fromhex(key), r.digest(), bytes.fromhex(sig)):
        raise ProtocolError("receipt signature does not verify")
    if rating and (len(rsig) != 128 or not verify_schnorr(bytes.fromhex(key), r.rating_digest(rating), bytes.fromhex(rsig))):
        raise ProtocolError("rating signature does not verify")


def h_receipt_sig(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    r = _with_peer(ctx, body(ev))
    ctx = _r(ctx, receipt=r.to_json())
    return ctx, ([Effect(Op.SAVE_RECEIPT)] if r.is_complete() else [])


def g_rate(ctx: TradeContext, ev: Event) -> None:
    rating = ev.data.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ProtocolError("a rating is 1..5")


def h_rate(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, my_rating=ev.data["rating"]), [Effect(Op.SIGN_RECEIPT)]


# -- chat --------------------------------------------------------------------------------------------


def g_chat(ctx: TradeContext, ev: Event) -> None:
    text = ev.data.get("text")
    if not isinstance(text, str) or not 0 < len(text) <= 1000:
        raise ProtocolError("a chat message is 1..1000 characters")
    to = ev.data.get("to", "peer")
    allowed = ("buyer", "seller") if ctx.role is Role.ARBITRATOR else ("peer", "arbitrator")
    if to not in allowed or (to == "arbitrator" and (ctx.contract is None or ctx.contract_obj().arbitrator is None)):
        raise ProtocolError(f"chat goes to one of {', '.join(allowed)}")


def h_chat(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return ctx, [send(MsgKind.CHAT, {"text": ev.data["text"]}, to=ev.data.get("to", "peer"))]


def h_chat_in(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return ctx, [notify("chat")]
