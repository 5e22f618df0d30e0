"""A deterministic trade for protocol tests: keys of the three parties, offers (seller-made and
buyer-made), the contract, a deposit built from made-up segwit coins, signed payouts, and for every
(role, state, event kind) a context in that state and a valid event — so tests can walk every row of
every table. Nothing here touches a wallet or the network."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from core.consensus.hashes import Txid, sha256
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.trade.context import Role, TradeContext
from core.trade.contract import (
    Contract,
    PartyTerms,
    PayoutKind,
    SignedContract,
    account_hash,
    build_contract,
    trade_id_for,
)
from core.trade.deposit import combine_deposit
from core.trade.escrow import TradeKey
from core.trade.messages import MsgKind, WireMessage, identity_message
from core.trade.nostr.keys import NostrKey
from core.trade.offer import ArbitratorRef, Offer, Side
from core.trade.payout import sign_payout
from core.trade.protocol_types import Ev, Event, State
from core.trade.reputation import Receipt
from core.trade.rules_after import CHECKLIST, receipt_core
from core.wallet.psbt import create_psbt, psbt_to_base64

S = State
NOW = 1_700_000_100
T1 = 10
DEPOSIT_HEIGHT = 200
PAYOUT_HEIGHT = DEPOSIT_HEIGHT + 3


def key(label: str) -> NostrKey:
    return NostrKey(sha256(label.encode()))


@dataclasses.dataclass(frozen=True)
class Party:
    """One party's keys and terms."""

    name: str
    identity: NostrKey
    nostr: NostrKey
    escrow: NostrKey
    account: str
    salt: bytes

    @property
    def trade_key(self) -> TradeKey:
        return TradeKey.from_secret(self.escrow.secret_bytes())

    def terms(self) -> PartyTerms:
        spk = (b"\x00\x14" + sha256(self.name.encode())[:20]).hex()
        return PartyTerms(self.identity.xonly, self.nostr.xonly, self.escrow.xonly, spk, account_hash(self.account, self.salt))


def party(name: str) -> Party:
    return Party(name, key(name + "/id"), key(name + "/nostr"), key(name + "/escrow"), f"IBAN of {name}", sha256(name.encode())[:16])


BUYER, SELLER, ARBITRATOR = party("buyer"), party("seller"), party("arbitrator")
ARB_REF = ArbitratorRef(ARBITRATOR.nostr.xonly, ARBITRATOR.escrow.xonly)
AMOUNT = 200_000


def offer(maker_side: Side) -> Offer:
    maker = SELLER if maker_side is Side.SELL else BUYER
    oid = sha256(maker_side.value.encode())[:16].hex()
    return Offer(
        id=oid, maker_nostr=maker.nostr.xonly, side=maker_side, min_sat=100_000, max_sat=400_000, currency="EUR",
        methods=("sepa", "paypal"), network="sandbox", price=Decimal("50000"), arbitrator=ARB_REF, t1_blocks=T1,
        confirmations=1, payout_fee_cap_sat=5_000, created_at=NOW - 100, expires_at=NOW + 86_400,
    ).validate()


def contract_of(maker_side: Side) -> Contract:
    o = offer(maker_side)
    maker, taker = (SELLER, BUYER) if maker_side is Side.SELL else (BUYER, SELLER)
    return build_contract(o, maker.terms(), taker.terms(), AMOUNT, Decimal("50000"), "sepa", NOW)


def trade_id_of(maker_side: Side) -> str:
    taker = BUYER if maker_side is Side.SELL else SELLER
    return trade_id_for(offer(maker_side).id, taker.nostr.xonly)


def _part(tag: int, value_in: int, change: int) -> Any:
    spk = b"\x00\x14" + bytes([tag]) * 20
    tx = Transaction(2, (TxIn(OutPoint(Txid(bytes([tag]) * 32), 0), b"", 0xFFFFFFFD),), (TxOut(change, spk),), 0)
    psbt = create_psbt(tx)
    psbt.inputs[0].witness_utxo = TxOut(value_in, spk)
    return psbt


def deposit_parts(c: Contract) -> tuple[Any, Any, Any]:
    """(seller part, buyer part, combined) — each side brings its funding and pays 1,000 sat of fee."""
    seller = _part(0x51, c.seller_funding + 51_000, 50_000)
    buyer = _part(0x42, c.buyer_deposit_sat + 21_000, 20_000)
    return seller, buyer, combine_deposit(seller, buyer, c.escrow_spk(), c.escrow_value)


def outpoint_of(c: Contract) -> OutPoint:
    tx = deposit_parts(c)[2].tx
    return OutPoint(tx.txid, next(n for n, o in enumerate(tx.vout) if o.script_pubkey == c.escrow_spk()))


def payout(c: Contract, kind: PayoutKind, signer: Party, ruling: tuple[int, int] | None = None) -> str:
    spec = c.payout_spec(kind, outpoint_of(c), ruling)
    psbt = spec.build(FeeRate.per_vb(2))
    sign_payout(psbt, signer.trade_key, spec)
    return psbt_to_base64(psbt)


def msg(sender: Party | NostrKey, recipient: Party | NostrKey, kind: MsgKind, body: dict[str, Any], trade_id: str, seq: int = 1) -> WireMessage:
    skey = sender.nostr if isinstance(sender, Party) else sender
    rkey = recipient.nostr if isinstance(recipient, Party) else recipient
    return WireMessage.create(skey, trade_id, seq, rkey.xonly, kind, body, NOW)


class Fixture:
    """Contexts and events for one role; `maker_side` picks which offer the trade is about."""

    def __init__(self, role: Role, maker_side: Side = Side.SELL) -> None:
        self.role = role
        self.side = maker_side
        self.offer = offer(maker_side)
        self.contract = contract_of(maker_side)
        self.trade_id = trade_id_of(maker_side)
        self.me = {Role.BUYER: BUYER, Role.SELLER: SELLER, Role.ARBITRATOR: ARBITRATOR}[role]
        self.peer = SELLER if role is Role.BUYER else BUYER
        self.maker = role is not Role.ARBITRATOR and (Side.BUY if role is Role.BUYER else Side.SELL) is maker_side
        self.seller_part, self.buyer_part, self.combined = deposit_parts(self.contract)
        self.outpoint = outpoint_of(self.contract)

    # -- contexts ----------------------------------------------------------------------------------

    def base(self) -> TradeContext:
        if self.role is Role.ARBITRATOR:
            return TradeContext(self.trade_id, self.role, False, {}, ARBITRATOR.nostr.xonly)
        c = self.contract
        return TradeContext(
            self.trade_id, self.role, self.maker, self.offer.to_json(), self.me.nostr.xonly, key_index=0, created_at=NOW,
            peer_nostr="" if self.maker else self.peer.nostr.xonly, amount_sat=c.amount_sat, price=str(c.price),
            method=c.method, my_party=self.me.terms().to_json(), my_account=self.me.account, my_salt=self.me.salt.hex(),
        )

    def ctx(self, state: State) -> TradeContext:
        """A context in `state` that satisfies the guards of every row of that state."""
        c = self.contract
        ctx = self.base()
        if self.role is Role.ARBITRATOR:
            if state is S.OFFER_OPEN:
                return ctx
            ctx = dataclasses.replace(
                ctx, contract=c.to_json(), buyer_sig=c.sign(BUYER.escrow), seller_sig=c.sign(SELLER.escrow),
                deposit_txid=str(self.outpoint.txid), deposit_vout=self.outpoint.n, deposit_tx=self.combined.tx.serialize().hex(),
                deposit_height=DEPOSIT_HEIGHT,
            )
            if state in (S.COMPLETED, S.COOP_CANCELLED, S.ARBITRATED, S.REFUNDED_AFTER_T1):
                ctx = dataclasses.replace(ctx, payout_txid="ab" * 32, payout_height=PAYOUT_HEIGHT)
            return ctx
        if state is S.OFFER_OPEN:
            return ctx
        ctx = dataclasses.replace(ctx, peer_nostr=self.peer.nostr.xonly, peer_party=self.peer.terms().to_json(), contract=c.to_json())
        if state in (S.TAKE_REQUESTED, S.FAILED_BEFORE_DEPOSIT):
            return dataclasses.replace(ctx, deposit_psbt=psbt_to_base64(self.combined)) if state is S.FAILED_BEFORE_DEPOSIT else ctx
        mine = self.buyer_part if self.role is Role.BUYER else self.seller_part
        ctx = dataclasses.replace(
            ctx, buyer_sig=c.sign(BUYER.escrow), seller_sig=c.sign(SELLER.escrow), my_part=psbt_to_base64(mine),
            my_part_amount=c.buyer_deposit_sat if self.role is Role.BUYER else c.seller_funding, my_part_fee=1_000,
            deposit_psbt=psbt_to_base64(self.combined),
            peer_part=psbt_to_base64(self.buyer_part) if self.role is Role.SELLER else "",
        )
        if state is S.CONTRACT_SIGNED:
            return ctx
        ctx = dataclasses.replace(
            ctx, deposit_txid=str(self.outpoint.txid), deposit_vout=self.outpoint.n, deposit_tx=self.combined.tx.serialize().hex(),
            deposit_signed=True, cancel_psbt=payout(c, PayoutKind.CANCEL, self.peer), cancel_by=self.peer_role.value,
        )
        if state is S.DEPOSIT_BROADCAST:
            return ctx
        ctx = dataclasses.replace(
            ctx, deposit_height=DEPOSIT_HEIGHT, refund_available=True, ruling={"buyer_sat": c.escrow_value - 1_000, "seller_sat": 1_000, "psbt": "x", "reason": ""},
        )
        if state in (S.PAYOUT_BROADCAST, S.COMPLETED, S.COOP_CANCELLED, S.ARBITRATED, S.REFUNDED_AFTER_T1):
            ctx = dataclasses.replace(ctx, payout_txid="ab" * 32)
        if state in (S.COMPLETED, S.COOP_CANCELLED, S.ARBITRATED, S.REFUNDED_AFTER_T1):
            ctx = dataclasses.replace(ctx, payout_height=PAYOUT_HEIGHT)
        return ctx

    @property
    def peer_role(self) -> Role:
        return Role.SELLER if self.role is Role.BUYER else Role.BUYER

    # -- events ------------------------------------------------------------------------------------

    def _m(self, kind: MsgKind, body: dict[str, Any], sender: Party | None = None, **data: Any) -> Event:
        return Event.message(msg(sender or self.peer, self.me, kind, body, self.trade_id), NOW, DEPOSIT_HEIGHT, **data)

    def event(self, kind: Ev) -> Event:
        """A valid event of `kind` for this fixture's contexts."""
        c, peer = self.contract, self.peer
        if self.role is Role.ARBITRATOR:
            peer = BUYER
        peer_sig_of_contract = c.sign(peer.escrow)
        chain = {"txid": str(self.outpoint.txid), "vout": self.outpoint.n, "tx": self.combined.tx.serialize().hex()}
        table: dict[Ev, Any] = {
            Ev.TAKE: lambda: Event(kind, {"identity_sig": self._identity(self.me), "receipts": []}, now=NOW),
            Ev.PAID: lambda: Event(kind, {"note": "sent by SEPA"}, now=NOW),
            Ev.RECEIVED: lambda: Event(kind, {"checklist": dict.fromkeys(CHECKLIST, True)}, now=NOW),
            Ev.CANCEL: lambda: Event(kind, {"reason": "changed my mind"}, now=NOW),
            Ev.ACCEPT_CANCEL: lambda: Event(kind, now=NOW),
            Ev.DECLINE_CANCEL: lambda: Event(kind, {"reason": "no"}, now=NOW),
            Ev.DISPUTE: lambda: Event(kind, {"reason": "no payment"}, now=NOW),
            Ev.RULE: lambda: Event(kind, {"buyer_sat": c.escrow_value - 10_000, "seller_sat": 10_000, "reason": "paid"}, now=NOW),
            Ev.ACCEPT_RULING: lambda: Event(kind, now=NOW),
            Ev.REFUND: lambda: Event(kind, now=NOW),
            Ev.CHAT: lambda: Event(kind, {"text": "hello", "to": "buyer" if self.role is Role.ARBITRATOR else "peer"}, now=NOW),
            Ev.RATE: lambda: Event(kind, {"rating": 5}, now=NOW),
            Ev.DEPOSIT_SEEN: lambda: Event(kind, {**chain, "height": -1}, now=NOW),
            Ev.DEPOSIT_CONFIRMED: lambda: Event(kind, {**chain, "height": DEPOSIT_HEIGHT}, now=NOW),
            Ev.PAYOUT_CONFIRMED: lambda: Event(kind, {"txid": "ab" * 32, "height": PAYOUT_HEIGHT + 1}, now=NOW),
            Ev.DEPOSIT_REORGED: lambda: Event(kind, {"height": DEPOSIT_HEIGHT}, now=NOW),
            Ev.PAYOUT_REORGED: lambda: Event(kind, {"height": PAYOUT_HEIGHT}, now=NOW),
            Ev.M_TAKE: lambda: self._m(MsgKind.TAKE, self._take_body(), offer_open=True),
            Ev.M_ACCEPT: lambda: self._m(MsgKind.ACCEPT, {
                "contract": c.to_json(), "sig": peer_sig_of_contract, "identity_sig": self._identity(peer), "receipts": []}),
            Ev.M_REJECT: lambda: self._m(MsgKind.REJECT, {"reason": "sorry"}),
            Ev.M_ABORT: lambda: self._m(MsgKind.ABORT, {"reason": "sorry"}),
            Ev.M_CONTRACT_SIG: lambda: self._m(MsgKind.CONTRACT_SIG, {"sig": peer_sig_of_contract}),
            Ev.M_DEPOSIT_PART: lambda: self._m(MsgKind.DEPOSIT_PART, {"psbt": psbt_to_base64(self.buyer_part)}),
            Ev.M_DEPOSIT_PSBT: lambda: self._m(MsgKind.DEPOSIT_PSBT, {"psbt": psbt_to_base64(self.combined)}),
            Ev.M_DEPOSIT_SIGNED: lambda: self._m(MsgKind.DEPOSIT_SIGNED, {
                "psbt": psbt_to_base64(self.combined), "attestation": c.sign_deposit(BUYER.escrow, self.outpoint)}),
            Ev.M_DEPOSIT_PUBLISHED: lambda: self._m(MsgKind.DEPOSIT_PUBLISHED, {
                "tx": chain["tx"], "attestation": c.sign_deposit(SELLER.escrow, self.outpoint), "account": SELLER.account,
                "salt": SELLER.salt.hex()}),
            Ev.M_PAYMENT_DETAILS: lambda: self._m(MsgKind.PAYMENT_DETAILS, {"account": BUYER.account, "salt": BUYER.salt.hex()}),
            Ev.M_PAYMENT_SENT: lambda: self._m(MsgKind.PAYMENT_SENT, {"note": "paid"}),
            Ev.M_RELEASE: lambda: self._m(MsgKind.RELEASE, {"psbt": payout(c, PayoutKind.RELEASE, SELLER)}),
            Ev.M_PAYOUT_PUBLISHED: lambda: self._m(MsgKind.PAYOUT_PUBLISHED, {"txid": "ab" * 32}),
            Ev.M_CANCEL_PROPOSE: lambda: self._m(MsgKind.CANCEL_PROPOSE, {"psbt": payout(c, PayoutKind.CANCEL, peer), "reason": "x"}),
            Ev.M_CANCEL_DECLINE: lambda: self._m(MsgKind.CANCEL_DECLINE, {"reason": "no"}),
            Ev.M_DISPUTE: lambda: self._m(MsgKind.DISPUTE, self._dispute_body()),
            Ev.M_EVIDENCE: lambda: self._m(MsgKind.EVIDENCE, {
                "part": 0, "transcript": [msg(BUYER, SELLER, MsgKind.CHAT, {"text": "paid!"}, self.trade_id).to_json()],
                "account": BUYER.account, "salt": BUYER.salt.hex(), "notes": "bank statement"}),
            Ev.M_RULING: lambda: self._m(MsgKind.RULING, self._ruling_body(), sender=ARBITRATOR),
            Ev.M_CHAT: lambda: self._m(MsgKind.CHAT, {"text": "hi"}),
            Ev.M_RECEIPT_SIG: lambda: self._m(MsgKind.RECEIPT_SIG, self._receipt_body()),
        }
        if kind in table:
            return table[kind]()
        return Event(kind, {"txid": "ab" * 32, "height": DEPOSIT_HEIGHT + 2}, now=NOW)  # spends and timers

    def _identity(self, who: Party) -> str:
        return who.identity.sign_schnorr(identity_message(self.trade_id, who.nostr.xonly, who.escrow.xonly)).hex()

    def _take_body(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer.id, "amount_sat": AMOUNT, "price": "50000", "method": "sepa",
            "party": self.peer.terms().to_json(), "identity_sig": self._identity(self.peer), "receipts": [],
        }

    def _dispute_body(self) -> dict[str, Any]:
        c = self.contract
        signed = SignedContract(c, c.sign(BUYER.escrow), c.sign(SELLER.escrow))
        return {"reason": "no payment", "contract": signed.to_json(), "deposit_tx": self.combined.tx.serialize().hex(),
                "deposit_height": DEPOSIT_HEIGHT}

    def _ruling_body(self) -> dict[str, Any]:
        c = self.contract
        split = (c.escrow_value - 10_000, 10_000)
        return {"buyer_sat": split[0], "seller_sat": split[1], "psbt": payout(c, PayoutKind.RULING, ARBITRATOR, split), "reason": "paid"}

    def _receipt_body(self) -> dict[str, Any]:
        r: Receipt = receipt_core(self.ctx(S.COMPLETED))
        return {"sig": r.signature_by(self.peer.identity), "rating": 4, "rating_sig": r.rating_by(self.peer.identity, 4)}
