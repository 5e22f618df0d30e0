"""Guards and handlers of the trade state machine (the tables are in core.trade.protocol).

A guard checks an event against the context and raises (ProtocolError or a checking module's error,
which the machine turns into ProtocolError); a handler returns the new context and the effects. Both
are pure: no I/O, no keys, no clock (the event carries `now` and the tip height). Everything that
needs a key, the wallet or the network is an effect the engine executes after persisting the step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.consensus.tx import OutPoint, Transaction
from core.crypto.schnorr import schnorr_verify
from core.errors import PeerwalletError
from core.mempool.feerate import FeeRate
from core.script.sighash import SIGHASH_DEFAULT, PrecomputedTxData, taproot_sighash
from core.trade.context import Role, TradeContext
from core.trade.contract import (
    Contract,
    PartyTerms,
    PayoutKind,
    account_hash,
    build_contract,
    trade_id_for,
)
from core.trade.deposit import DepositContribution, check_deposit_psbt
from core.trade.errors import ContractError, ProtocolError, PsbtCheckError
from core.trade.escrow import escrow_scripts
from core.trade.messages import MsgKind, verify_identity
from core.trade.offer import Side, parse_decimal
from core.trade.payout import PayoutSpec, decode_psbt, payout_leaf
from core.trade.protocol_types import Effect, Event, Op, Timer
from core.trade.reputation import check_limit, decode_receipts, reputation_of

Guard = Callable[[TradeContext, Event], None]
Handler = Callable[[TradeContext, Event], tuple[TradeContext, list[Effect]]]
#: The deposit must pay at least this rate (Core's default minimum relay fee).
MIN_DEPOSIT_RATE = FeeRate.per_kvb(1000)
#: A premium-priced take may differ this much (relative) from the maker's own market price.
PRICE_TOLERANCE = Decimal("0.01")


def _r(ctx: TradeContext, **changes: Any) -> TradeContext:
    return dataclasses.replace(ctx, **changes)


def send(kind: MsgKind, body: dict[str, Any], to: str = "peer") -> Effect:
    """Send a wire message to the peer trader ("peer"), the arbitrator, or "buyer"/"seller"."""
    return Effect(Op.SEND, {"to": to, "kind": kind.value, "body": body})


def notify(what: str, **extra: Any) -> Effect:
    return Effect(Op.NOTIFY, {"what": what, **extra})


def body(ev: Event) -> dict[str, Any]:
    if ev.msg is None:
        raise ProtocolError("not a message event")
    return dict(ev.msg.body)


def my_side(ctx: TradeContext) -> Side:
    return ctx.role.side


# -- generic checks --------------------------------------------------------------------------------------


def check_sender(ctx: TradeContext, ev: Event) -> None:
    """A message must be for this trade and us, from the peer (or the arbitrator where it may speak)."""
    msg = ev.msg
    if msg is None:
        return
    if msg.trade_id != ctx.trade_id or msg.recipient != ctx.my_nostr:
        raise ProtocolError("message is for another trade or key")
    if ctx.role is Role.ARBITRATOR:
        if ctx.contract is not None:
            c = ctx.contract_obj()
            if msg.sender not in (c.buyer.nostr, c.seller.nostr):
                raise ProtocolError("message from someone who is not a trader of this contract")
        return
    arbitrator = None
    if ctx.contract is not None and (c := ctx.contract_obj()).arbitrator is not None:
        arbitrator = c.arbitrator.nostr
    if msg.kind in (MsgKind.RULING,):
        if msg.sender != arbitrator:
            raise ProtocolError("only the contract's arbitrator rules")
    elif msg.kind is MsgKind.CHAT and msg.sender == arbitrator and arbitrator is not None:
        return
    elif ctx.peer_nostr and msg.sender != ctx.peer_nostr:
        raise ProtocolError("message from a key that is not the other trader's")


def _signed_by(psbt: Any, spec: PayoutSpec, xonly_hex: str) -> bool:
    """True if the payout PSBT carries a valid tapscript signature by `xonly_hex` for the spec's leaf."""
    leaf = payout_leaf(escrow_scripts(spec.terms), spec.path)
    xonly = bytes.fromhex(xonly_hex)
    sig = psbt.inputs[0].tap_script_sigs.get((xonly, leaf.leaf_hash))
    utxo = psbt.inputs[0].witness_utxo
    if sig is None or len(sig) != 64 or utxo is None:
        return False
    digest = taproot_sighash(psbt.tx, 0, SIGHASH_DEFAULT, PrecomputedTxData(psbt.tx, [utxo]), ext_flag=1, leaf_hash=leaf.leaf_hash)
    try:
        return digest is not None and schnorr_verify(xonly, digest, sig)
    except PeerwalletError:
        return False


def check_payout(ctx: TradeContext, kind: PayoutKind, psbt_b64: str, signer: str, ruling: tuple[int, int] | None = None) -> None:
    """A payout PSBT of `kind` is exactly as the contract says and carries `signer`'s valid signature."""
    spec = ctx.contract_obj().payout_spec(kind, ctx.deposit_outpoint(), ruling)
    psbt = decode_psbt(psbt_b64)
    spec.check(psbt)
    if not _signed_by(psbt, spec, signer):
        raise PsbtCheckError("the payout lacks a valid signature by its proposer")


# -- take and contract -------------------------------------------------------------------------------


def g_take(ctx: TradeContext, ev: Event) -> None:
    """Maker: a take that fits the offer, from a taker whose identity vouches for its keys, within limits."""
    b = body(ev)
    assert ev.msg is not None
    offer = ctx.offer_obj()
    if b["offer_id"] != offer.id or ev.msg.trade_id != trade_id_for(offer.id, ev.msg.sender):
        raise ProtocolError("the take names another offer or trade")
    if not ev.data.get("offer_open", False):
        raise ProtocolError("the offer is no longer open")
    offer.check_take(b["amount_sat"], b["method"], ev.now)
    price = parse_decimal(b["price"], "price")
    if offer.price is not None and price != offer.price:
        raise ProtocolError("the take's price is not the offer's")
    if offer.premium_pct is not None:
        mine = offer.price_for(ev.data.get("market_price"))
        if abs(price - mine) > mine * PRICE_TOLERANCE:
            raise ProtocolError(f"the take's price {price} is too far from {mine}")
    taker = PartyTerms.from_json(b["party"], "taker")
    if taker.nostr != ev.msg.sender:
        raise ProtocolError("the taker's terms name another key")
    if not verify_identity(taker.identity, ev.msg.trade_id, taker.nostr, taker.escrow, b["identity_sig"]):
        raise ProtocolError("the taker's identity does not vouch for its trade keys")
    check_limit(reputation_of(taker.identity, decode_receipts(b["receipts"])), b["method"], b["amount_sat"])
    build_contract(offer, ctx.my_party_obj(), taker, b["amount_sat"], price, b["method"], ev.now)


def h_take(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    assert ev.msg is not None
    taker = PartyTerms.from_json(b["party"], "taker")
    price = parse_decimal(b["price"], "price")
    contract = build_contract(ctx.offer_obj(), ctx.my_party_obj(), taker, b["amount_sat"], price, b["method"], ev.now)
    ctx = _r(
        ctx, peer_nostr=ev.msg.sender, amount_sat=b["amount_sat"], price=b["price"], method=b["method"],
        peer_party=taker.to_json(), peer_receipts=tuple(b["receipts"]), contract=contract.to_json(),
    )
    return ctx, [
        Effect(Op.SEND_ACCEPT), Timer.start("take", at=ev.now + TAKE_TIMEOUT),
        Effect(Op.OFFER_STATUS, {"status": "in-progress"}), notify("taken"),
    ]


TAKE_TIMEOUT = 15 * 60
DEPOSIT_TIMEOUT = 60 * 60


def h_user_take(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """Taker: send the take prepared by the engine (our terms are in the context)."""
    party = ctx.my_party_obj()
    msg = {
        "offer_id": ctx.offer_obj().id, "amount_sat": ctx.amount_sat, "price": ctx.price, "method": ctx.method,
        "party": party.to_json(), "identity_sig": ev.data["identity_sig"], "receipts": list(ev.data.get("receipts", [])),
    }
    return ctx, [send(MsgKind.TAKE, msg), Timer.start("take", at=ev.now + TAKE_TIMEOUT)]


def _expected_contract(ctx: TradeContext, proposed: Contract) -> Contract:
    offer = ctx.offer_obj()
    maker = proposed.party(offer.side)
    return build_contract(
        offer, maker, ctx.my_party_obj(), ctx.amount_sat, parse_decimal(ctx.price, "price"), ctx.method, proposed.created_at
    )


def g_accept(ctx: TradeContext, ev: Event) -> None:
    """Taker: the maker's contract is exactly what our take implies, signed by the maker, who vouches."""
    b = body(ev)
    proposed = Contract.from_json(b["contract"])
    if proposed != _expected_contract(ctx, proposed):
        raise ContractError("the proposed contract differs from our take")
    if abs(proposed.created_at - ev.now) > 24 * 3600:
        raise ContractError("the contract's time is off by more than a day")
    offer = ctx.offer_obj()
    maker = proposed.party(offer.side)
    proposed.verify(offer.side, b["sig"])
    if not verify_identity(maker.identity, ctx.trade_id, maker.nostr, maker.escrow, b["identity_sig"]):
        raise ProtocolError("the maker's identity does not vouch for its trade keys")
    check_limit(reputation_of(maker.identity, decode_receipts(b["receipts"])), ctx.method, ctx.amount_sat)


def _sig_field(side: Side) -> str:
    return "buyer_sig" if side is Side.BUY else "seller_sig"


def _after_contract(ctx: TradeContext, ev: Event) -> list[Effect]:
    eff = [Timer.cancel("take"), Timer.start("deposit", at=ev.now + DEPOSIT_TIMEOUT), Effect(Op.WATCH_ESCROW)]
    if ctx.role is Role.BUYER:
        eff.append(Effect(Op.SEND_DEPOSIT_PART))
    return [*eff, notify("contract_signed")]


def h_accept(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    contract = Contract.from_json(b["contract"])
    maker_side = ctx.offer_obj().side
    ctx = _r(
        ctx, contract=contract.to_json(), peer_party=contract.party(maker_side).to_json(),
        peer_receipts=tuple(b["receipts"]), **{_sig_field(maker_side): b["sig"]},
    )
    return ctx, [Effect(Op.SEND_CONTRACT_SIG), *_after_contract(ctx, ev)]


def g_contract_sig(ctx: TradeContext, ev: Event) -> None:
    """Maker: the taker signed our contract."""
    ctx.contract_obj().verify(ctx.offer_obj().taker_side, body(ev)["sig"])


def h_contract_sig(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx = _r(ctx, **{_sig_field(ctx.offer_obj().taker_side): body(ev)["sig"]})
    return ctx, _after_contract(ctx, ev)


def h_reject(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    reason = ev.data.get("reason") or (body(ev).get("reason") if ev.msg else "") or "cancelled"
    eff = [Timer.cancel("take"), Timer.cancel("deposit"), Effect(Op.RELEASE_COINS), notify("failed", reason=reason)]
    if ctx.maker:
        eff.append(Effect(Op.OFFER_STATUS, {"status": "pending"}))
    return ctx.note(f"trade failed before the deposit: {reason}"), eff


def h_abort(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """We give up before the deposit (user or timeout): tell the peer."""
    reason = str(ev.data.get("reason") or ("timed out" if ev.kind.startswith("timer.") else "cancelled by the user"))
    ctx, eff = h_reject(ctx, ev)
    return ctx, [send(MsgKind.ABORT, {"reason": reason[:500]}), *eff]


# -- deposit ---------------------------------------------------------------------------------------------


def g_deposit_part(ctx: TradeContext, ev: Event) -> None:
    """Seller: the buyer's contribution funds at least the buyer's deposit from segwit coins."""
    psbt = decode_psbt(body(ev)["psbt"])
    contract = ctx.contract_obj()
    if any(i.witness_utxo is None for i in psbt.inputs) or len(psbt.inputs) != len(psbt.tx.vin) or not psbt.inputs:
        raise PsbtCheckError("the buyer's contribution lacks inputs or their witness UTXOs")
    net = sum(i.witness_utxo.value for i in psbt.inputs) - psbt.tx.total_out()  # type: ignore[union-attr]
    if net < contract.buyer_deposit_sat:
        raise PsbtCheckError(f"the buyer's contribution brings {net} sat, the deposit is {contract.buyer_deposit_sat}")


def h_deposit_part(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, peer_part=body(ev)["psbt"]), [Effect(Op.SEND_DEPOSIT_PSBT)]


def own_contribution(ctx: TradeContext) -> DepositContribution:
    if not ctx.my_part:
        raise ProtocolError("we have not contributed to the deposit yet")
    return DepositContribution(decode_psbt(ctx.my_part), ctx.my_part_amount, ctx.my_part_fee)


def g_deposit_psbt(ctx: TradeContext, ev: Event) -> None:
    """Buyer: the combined deposit spends our coins and pays our change exactly, and the escrow as agreed."""
    if ctx.deposit_signed:
        raise ProtocolError("we already signed a deposit for this trade")
    contract = ctx.contract_obj()
    psbt = decode_psbt(body(ev)["psbt"])
    check_deposit_psbt(psbt, own_contribution(ctx), contract.escrow_spk(), contract.escrow_value, MIN_DEPOSIT_RATE)


def h_deposit_psbt(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    return _r(ctx, deposit_psbt=body(ev)["psbt"]), [Effect(Op.SIGN_DEPOSIT)]


def _deposit_outpoint_of(ctx: TradeContext) -> OutPoint:
    contract = ctx.contract_obj()
    tx = decode_psbt(ctx.deposit_psbt).tx
    spk = contract.escrow_spk()
    found = [n for n, o in enumerate(tx.vout) if o.script_pubkey == spk]
    if len(found) != 1:
        raise ProtocolError("the deposit has no single escrow output")
    return OutPoint(tx.txid, found[0])


def g_deposit_signed(ctx: TradeContext, ev: Event) -> None:
    """Seller: the buyer signed our combined deposit (same transaction) and attests its outpoint."""
    if not ctx.deposit_psbt:
        raise ProtocolError("we have not proposed a deposit yet")
    b = body(ev)
    signed = decode_psbt(b["psbt"])
    if signed.tx.txid != decode_psbt(ctx.deposit_psbt).tx.txid:
        raise PsbtCheckError("the buyer signed another deposit transaction")
    ctx.contract_obj().verify_deposit(Side.BUY, _deposit_outpoint_of(ctx), b["attestation"])


def h_deposit_signed(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    return _r(ctx, peer_part=b["psbt"], buyer_attestation=b["attestation"]), [Effect(Op.BROADCAST_DEPOSIT)]


def g_deposit_published(ctx: TradeContext, ev: Event) -> None:
    """Buyer: the seller's deposit is the one we signed; its account matches the contract's hash."""
    b = body(ev)
    contract = ctx.contract_obj()
    try:
        tx = Transaction.parse(bytes.fromhex(b["tx"]))
    except (PeerwalletError, ValueError):
        raise ProtocolError("the deposit transaction does not parse") from None
    if not ctx.deposit_psbt or tx.txid != decode_psbt(ctx.deposit_psbt).tx.txid:
        raise ProtocolError("the published deposit is not the one we signed")
    contract.verify_deposit(Side.SELL, _deposit_outpoint_of(ctx), b["attestation"])
    if account_hash(b["account"], bytes.fromhex(b["salt"])) != contract.seller.account_hash:
        raise ContractError("the seller's payment account does not match the contract")


def h_deposit_published(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    op = _deposit_outpoint_of(ctx)
    ctx = _r(
        ctx, seller_attestation=b["attestation"], peer_account=b["account"], peer_salt=b["salt"], deposit_tx=b["tx"],
        deposit_txid=str(op.txid), deposit_vout=op.n,
    )
    return ctx, [notify("payment_details")]


def h_deposit_published_first(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx, eff = h_deposit_published(ctx, ev)
    return ctx, [*eff, *_buyer_details(ctx)]


def _buyer_details(ctx: TradeContext) -> list[Effect]:
    if ctx.role is not Role.BUYER:
        return []
    return [send(MsgKind.PAYMENT_DETAILS, {"account": ctx.my_account, "salt": ctx.my_salt})]


def g_deposit_seen(ctx: TradeContext, ev: Event) -> None:
    """Chain: the escrow output the contract fixes was funded by the deposit we agreed on."""
    if ctx.deposit_psbt and ev.data["txid"] != str(decode_psbt(ctx.deposit_psbt).tx.txid):
        raise ProtocolError("another transaction funds the escrow")


def h_deposit_seen(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    d = ev.data
    ctx = _r(ctx, deposit_txid=d["txid"], deposit_vout=d["vout"], deposit_tx=d.get("tx") or ctx.deposit_tx)
    return ctx, [Timer.cancel("deposit"), *_buyer_details(ctx), notify("deposit_broadcast")]


def h_deposit_confirmed(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    d = ev.data
    ctx = _r(ctx, deposit_txid=d["txid"], deposit_vout=d["vout"], deposit_tx=d.get("tx") or ctx.deposit_tx, deposit_height=d["height"])
    eff: list[Effect] = [Timer.cancel("deposit")]
    t1 = ctx.contract_obj().t1_blocks
    if ctx.role is Role.SELLER:  # the refund may be mined in block deposit_height + T1
        eff.append(Timer.start("t1", height=d["height"] + t1 - 1))
    elif ctx.role is Role.BUYER:
        eff.append(Timer.start("t1_warning", height=d["height"] + t1 - max(t1 // 4, 1)))
    return ctx, [*eff, notify("pay_now" if ctx.role is Role.BUYER else "deposit_confirmed")]


def g_deposit_reorged(ctx: TradeContext, ev: Event) -> None:
    """Chain: a disconnected block at `height` held our confirmed deposit."""
    if ctx.deposit_height < 0 or ctx.deposit_height < ev.data["height"]:
        raise ProtocolError("the deposit was not in a disconnected block")


def h_deposit_reorged(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """The deposit is unconfirmed again: its confirmations, T1 and the refund path start over once it is
    mined again. A buyer who has not paid yet must wait for it (the state goes back to DEPOSIT_BROADCAST)."""
    ctx = _r(ctx, deposit_height=-1, refund_available=False)
    text = "a chain reorganisation took the deposit's block away: it is unconfirmed again"
    if ctx.role is Role.BUYER:
        text += "; do not pay before it confirms again"
    eff = [Timer.cancel("t1"), Timer.cancel("t1_warning"), notify("deposit_reorged")]
    return ctx.note(text), eff


def h_deposit_reconfirmed(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """Chain: the deposit confirmed (again, after a reorganisation: T1 restarts from its new height)."""
    if ctx.deposit_height >= 0:
        return ctx, []  # a repeat (mempool then block, a rescan)
    ctx, eff = h_deposit_confirmed(ctx, ev)
    eff = [e for e in eff if e.op is not Op.NOTIFY]
    return ctx.note(f"the deposit confirmed again at height {ev.data['height']}"), [*eff, notify("deposit_confirmed")]


def h_deposit_confirmed_first(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    ctx, eff = h_deposit_confirmed(ctx, ev)
    return ctx, [*_buyer_details(ctx), *eff]


def g_payment_details(ctx: TradeContext, ev: Event) -> None:
    b = body(ev)
    if account_hash(b["account"], bytes.fromhex(b["salt"])) != ctx.contract_obj().buyer.account_hash:
        raise ContractError("the buyer's payment account does not match the contract")


def h_payment_details(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    b = body(ev)
    return _r(ctx, peer_account=b["account"], peer_salt=b["salt"]), [notify("payment_details")]


def h_arb_deposit(ctx: TradeContext, ev: Event) -> tuple[TradeContext, list[Effect]]:
    """Arbitrator: the deposit was found confirmed on chain."""
    return _r(ctx, deposit_height=ev.data["height"]), [notify("deposit_confirmed")]
