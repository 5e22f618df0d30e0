"""The trade contract both traders sign before anything is funded, and what follows from it.

The contract covers everything TRADE.md lists: amounts and price, the fiat amount, currency and method,
salted hashes of both traders' payment accounts, every public key (identity, per-trade Nostr and escrow
keys of buyer and seller; the arbitrator's), where each trader's payouts go, the deposits, T1, the
required confirmations and the payout fee cap. Its canonical form is sorted-key compact JSON of ints and
strings only (Decimals as strings), hashed with a BIP340-style tagged hash; both traders sign that hash
with their per-trade escrow keys (BIP340). The deposit's outpoint, unknown at signing time, is covered
by a second signed statement, the deposit attestation.

Payout shares are pure functions of the contract (`payout_spec`), so both sides — and the
arbitrator — compute the exact outputs a payout PSBT must have before signing it.
"""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from core.consensus.errors import ConsensusError
from core.consensus.hashes import Txid, tagged_hash
from core.consensus.network import network_by_name
from core.consensus.tx import OutPoint
from core.trade.errors import ContractError, EscrowError, OfferError
from core.trade.escrow import EscrowTerms, escrow_spk
from core.trade.nostr.keys import verify_schnorr
from core.trade.offer import (
    MAX_MONEY,
    MIN_T1_BLOCKS,
    ArbitratorRef,
    Offer,
    Side,
    check_hex32,
    check_int,
    deposit_of,
    fiat_amount,
    parse_decimal,
)
from core.trade.payout import PayoutOutput, PayoutPath, PayoutSpec

CONTRACT_VERSION = 1
CONTRACT_TAG = "peerwallet/trade/contract"
DEPOSIT_TAG = "peerwallet/trade/deposit"
ACCOUNT_TAG = "peerwallet/trade/account"
MAX_ACCOUNT_CHARS = 500
_SPK = re.compile(r"(?:[0-9a-f]{2}){1,42}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_METHOD = re.compile(r"[a-z0-9_-]{1,32}")
_TRADE_ID = re.compile(r"[0-9a-f]{32}")


class Signer(Protocol):
    """A key that signs 32-byte messages with BIP340 (core.trade.nostr.keys.NostrKey is one)."""

    xonly: str

    def sign_schnorr(self, msg32: bytes) -> bytes: ...


def canonical_json(obj: Any) -> bytes:
    """Sorted-key compact ASCII JSON: the one byte form every party hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def check_sig(value: object, what: str) -> bytes:
    """A 64-byte BIP340 signature from 128 lowercase hex digits, else ContractError."""
    if not isinstance(value, str) or len(value) != 128 or not re.fullmatch(r"[0-9a-f]{128}", value):
        raise ContractError(f"{what} must be 128 lowercase hex digits")
    return bytes.fromhex(value)


def account_hash(details: str, salt: bytes) -> str:
    """The salted hash of payment account details that the contract commits to (hex)."""
    if not isinstance(details, str) or not 0 < len(details) <= MAX_ACCOUNT_CHARS:
        raise ContractError(f"payment account details must be 1..{MAX_ACCOUNT_CHARS} characters")
    if len(salt) != 16:
        raise ContractError("account salt must be 16 bytes")
    return tagged_hash(ACCOUNT_TAG, salt + details.encode()).hex()


def new_salt() -> bytes:
    """A fresh random salt for `account_hash` (so a short account number cannot be guessed from it)."""
    return os.urandom(16)


@dataclass(frozen=True)
class PartyTerms:
    """One trader's part of the contract (all keys x-only hex; `payout_spk` hex)."""

    identity: str  # long-lived identity key: receipts and reputation
    nostr: str  # per-trade Nostr key: messages and chat signatures
    escrow: str  # per-trade escrow key: the tapscript leaves
    payout_spk: str  # where this trader's payouts go
    account_hash: str  # salted hash of the payment account (shown to the peer after the deposit)

    def to_json(self) -> dict[str, str]:
        return {
            "identity": self.identity, "nostr": self.nostr, "escrow": self.escrow,
            "payout_spk": self.payout_spk, "account_hash": self.account_hash,
        }

    @classmethod
    def from_json(cls, obj: Any, what: str) -> PartyTerms:
        if not isinstance(obj, dict) or set(obj) != _PARTY_KEYS:
            raise ContractError(f"{what} must have exactly the fields {sorted(_PARTY_KEYS)}")
        spk = obj["payout_spk"]
        if not isinstance(spk, str) or not _SPK.fullmatch(spk):
            raise ContractError(f"{what} payout script must be 1..42 bytes of lowercase hex")
        try:
            return cls(
                check_hex32(obj["identity"], f"{what} identity"), check_hex32(obj["nostr"], f"{what} nostr key"),
                check_hex32(obj["escrow"], f"{what} escrow key"), spk, check_hex32(obj["account_hash"], f"{what} account hash"),
            )
        except OfferError as e:
            raise ContractError(str(e)) from None


_PARTY_KEYS = frozenset({"identity", "nostr", "escrow", "payout_spk", "account_hash"})


class PayoutKind(enum.StrEnum):
    """Why the escrow is paid out, which fixes the split."""

    RELEASE = "release"  # buyer + seller: the buyer gets the amount, both get their deposits back
    CANCEL = "cancel"  # buyer + seller: everything goes back where it came from
    RULING = "ruling"  # arbitrator + one trader: the arbitrator's split
    REFUND = "refund"  # seller alone after T1: everything to the seller


KIND_PATH = {
    PayoutKind.RELEASE: PayoutPath.COOPERATIVE,
    PayoutKind.CANCEL: PayoutPath.COOPERATIVE,
    PayoutKind.RULING: PayoutPath.ARBITRATED,
    PayoutKind.REFUND: PayoutPath.REFUND_AFTER_T1,
}


@dataclass(frozen=True)
class Contract:
    """The agreed terms of one trade. `maker_side` is the offer's side."""

    trade_id: str
    offer_id: str
    network: str
    maker_side: Side
    buyer: PartyTerms
    seller: PartyTerms
    arbitrator: ArbitratorRef | None
    amount_sat: int
    price: Decimal
    fiat_amount: Decimal
    currency: str
    method: str
    buyer_deposit_sat: int
    seller_deposit_sat: int
    t1_blocks: int
    confirmations: int
    payout_fee_cap_sat: int
    created_at: int
    version: int = CONTRACT_VERSION

    @property
    def escrow_value(self) -> int:
        """The escrow output's value: the amount plus both deposits."""
        return self.amount_sat + self.buyer_deposit_sat + self.seller_deposit_sat

    @property
    def seller_funding(self) -> int:
        """What the seller puts into the escrow."""
        return self.amount_sat + self.seller_deposit_sat

    def party(self, side: Side) -> PartyTerms:
        """The terms of the trader on `side` (BUY = the buyer)."""
        return self.buyer if side is Side.BUY else self.seller

    def to_json(self) -> dict[str, Any]:
        """The JSON object whose canonical bytes are hashed."""
        return {
            "version": self.version,
            "trade_id": self.trade_id,
            "offer_id": self.offer_id,
            "network": self.network,
            "maker_side": self.maker_side.value,
            "buyer": self.buyer.to_json(),
            "seller": self.seller.to_json(),
            "arbitrator": None if self.arbitrator is None else self.arbitrator.to_json(),
            "amount_sat": self.amount_sat,
            "price": str(self.price),
            "fiat_amount": str(self.fiat_amount),
            "currency": self.currency,
            "method": self.method,
            "buyer_deposit_sat": self.buyer_deposit_sat,
            "seller_deposit_sat": self.seller_deposit_sat,
            "t1_blocks": self.t1_blocks,
            "confirmations": self.confirmations,
            "payout_fee_cap_sat": self.payout_fee_cap_sat,
            "created_at": self.created_at,
        }

    def canonical(self) -> bytes:
        """The canonical byte form (sorted-key compact JSON)."""
        return canonical_json(self.to_json())

    def contract_hash(self) -> bytes:
        """The 32-byte hash both traders sign."""
        return tagged_hash(CONTRACT_TAG, self.canonical())

    def validate(self) -> Contract:
        """Check every field; ContractError names the first bad one. Returns self."""
        try:
            if self.version != CONTRACT_VERSION:
                raise ContractError(f"unknown contract version {self.version!r}")
            if not isinstance(self.trade_id, str) or not _TRADE_ID.fullmatch(self.trade_id):
                raise ContractError("trade id must be 32 lowercase hex digits")
            if not isinstance(self.offer_id, str) or not _TRADE_ID.fullmatch(self.offer_id):
                raise ContractError("offer id must be 32 lowercase hex digits")
            if self.network not in MIN_T1_BLOCKS:
                raise ContractError(f"unknown network {self.network!r}")
            check_int(self.amount_sat, "amount", 1, MAX_MONEY)
            check_int(self.buyer_deposit_sat, "buyer deposit", 0, MAX_MONEY)
            check_int(self.seller_deposit_sat, "seller deposit", 0, MAX_MONEY)
            check_int(self.escrow_value, "escrow value", 1, MAX_MONEY)
            check_int(self.t1_blocks, "T1", MIN_T1_BLOCKS[self.network], 0xFFFF)
            check_int(self.confirmations, "confirmations", 1, 100)
            check_int(self.payout_fee_cap_sat, "payout fee cap", 1, self.escrow_value // 2)
            check_int(self.created_at, "creation time", 0, 2**40)
        except OfferError as e:
            raise ContractError(str(e)) from None
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0:
            raise ContractError("price must be a positive Decimal")
        if not isinstance(self.fiat_amount, Decimal) or not self.fiat_amount.is_finite() or self.fiat_amount <= 0:
            raise ContractError("fiat amount must be a positive Decimal")
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise ContractError("currency must be a three-letter code")
        if not isinstance(self.method, str) or not _METHOD.fullmatch(self.method):
            raise ContractError("payment method must be 1..32 of a-z 0-9 _ -")
        escrows = {self.buyer.escrow, self.seller.escrow}
        if self.arbitrator is not None:
            escrows.add(self.arbitrator.escrow)
        if len(escrows) != (2 if self.arbitrator is None else 3):
            raise ContractError("buyer, seller and arbitrator need distinct escrow keys")
        if self.buyer.nostr == self.seller.nostr or self.buyer.identity == self.seller.identity:
            raise ContractError("buyer and seller need distinct keys")
        return self

    @classmethod
    def from_json(cls, obj: Any) -> Contract:
        """Strictly decode `to_json` output; ContractError on anything unexpected."""
        if not isinstance(obj, dict) or set(obj) != _CONTRACT_KEYS:
            raise ContractError("contract must have exactly the contract fields")
        try:
            side = Side(obj["maker_side"])
        except (ValueError, TypeError):
            raise ContractError("maker side must be buy or sell") from None
        try:
            arbitrator = None if obj["arbitrator"] is None else ArbitratorRef.from_json(obj["arbitrator"])
            price = parse_decimal(obj["price"], "price")
            fiat = parse_decimal(obj["fiat_amount"], "fiat amount")
        except OfferError as e:
            raise ContractError(str(e)) from None
        for key in ("trade_id", "offer_id", "network", "currency", "method"):
            if not isinstance(obj[key], str):
                raise ContractError(f"{key} must be a string")
        for key in ("version", "amount_sat", "buyer_deposit_sat", "seller_deposit_sat", "t1_blocks",
                    "confirmations", "payout_fee_cap_sat", "created_at"):
            if isinstance(obj[key], bool) or not isinstance(obj[key], int):
                raise ContractError(f"{key} must be an integer")
        return cls(
            trade_id=obj["trade_id"], offer_id=obj["offer_id"], network=obj["network"], maker_side=side,
            buyer=PartyTerms.from_json(obj["buyer"], "buyer"), seller=PartyTerms.from_json(obj["seller"], "seller"),
            arbitrator=arbitrator, amount_sat=obj["amount_sat"], price=price, fiat_amount=fiat,
            currency=obj["currency"], method=obj["method"], buyer_deposit_sat=obj["buyer_deposit_sat"],
            seller_deposit_sat=obj["seller_deposit_sat"], t1_blocks=obj["t1_blocks"],
            confirmations=obj["confirmations"], payout_fee_cap_sat=obj["payout_fee_cap_sat"],
            created_at=obj["created_at"], version=obj["version"],
        ).validate()

    # -- signatures --------------------------------------------------------------------------------

    def sign(self, key: Signer) -> str:
        """A BIP340 signature of the contract hash by `key` (a trader's per-trade escrow key), hex."""
        if key.xonly not in (self.buyer.escrow, self.seller.escrow):
            raise ContractError("only the buyer's or the seller's escrow key signs the contract")
        return key.sign_schnorr(self.contract_hash()).hex()

    def verify(self, side: Side, sig_hex: str) -> None:
        """ContractError unless `sig_hex` is the `side` trader's signature of this contract."""
        sig = check_sig(sig_hex, "contract signature")
        if not verify_schnorr(bytes.fromhex(self.party(side).escrow), self.contract_hash(), sig):
            raise ContractError(f"the {'buyer' if side is Side.BUY else 'seller'}'s contract signature does not verify")

    # -- deposit attestation -----------------------------------------------------------------------

    def deposit_message(self, outpoint: OutPoint) -> bytes:
        """What a trader signs to attest the deposit outpoint of this contract."""
        return tagged_hash(DEPOSIT_TAG, self.contract_hash() + bytes(outpoint.txid) + outpoint.n.to_bytes(4, "little"))

    def sign_deposit(self, key: Signer, outpoint: OutPoint) -> str:
        """The deposit attestation signature (hex) by a trader's escrow key."""
        if key.xonly not in (self.buyer.escrow, self.seller.escrow):
            raise ContractError("only the buyer's or the seller's escrow key attests the deposit")
        return key.sign_schnorr(self.deposit_message(outpoint)).hex()

    def verify_deposit(self, side: Side, outpoint: OutPoint, sig_hex: str) -> None:
        """ContractError unless `sig_hex` attests `outpoint` for the `side` trader."""
        sig = check_sig(sig_hex, "deposit attestation")
        if not verify_schnorr(bytes.fromhex(self.party(side).escrow), self.deposit_message(outpoint), sig):
            raise ContractError("the deposit attestation does not verify")

    # -- payouts ---------------------------------------------------------------------------------

    def payout_split(self, kind: PayoutKind, ruling: tuple[int, int] | None = None) -> tuple[int, int]:
        """(buyer, seller) gross amounts of a payout before its fee; they sum to the escrow value."""
        if kind is PayoutKind.RELEASE:
            return self.amount_sat + self.buyer_deposit_sat, self.seller_deposit_sat
        if kind is PayoutKind.CANCEL:
            return self.buyer_deposit_sat, self.seller_funding
        if kind is PayoutKind.REFUND:
            return 0, self.escrow_value
        if ruling is None:
            raise ContractError("a ruling payout needs the arbitrator's split")
        buyer, seller = ruling
        for v in (buyer, seller):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ContractError("a ruling split is two non-negative whole satoshi amounts")
        if buyer + seller != self.escrow_value:
            raise ContractError(f"a ruling must split exactly the escrow value {self.escrow_value} sat")
        return buyer, seller

    def escrow_terms(self) -> EscrowTerms:
        """The escrow terms this contract fixes (every party derives the escrow address from them)."""
        try:
            return EscrowTerms(
                bytes.fromhex(self.buyer.escrow), bytes.fromhex(self.seller.escrow),
                None if self.arbitrator is None else bytes.fromhex(self.arbitrator.escrow),
                self.t1_blocks, network_by_name(self.network),
            )
        except (EscrowError, ConsensusError) as e:
            raise ContractError(f"the contract's escrow terms are unusable: {e}") from None

    def escrow_spk(self) -> bytes:
        """The escrow output script."""
        try:
            return escrow_spk(self.escrow_terms())
        except EscrowError as e:
            raise ContractError(str(e)) from None

    def payout_shares(self, kind: PayoutKind, ruling: tuple[int, int] | None = None) -> tuple[PayoutOutput, ...]:
        """The payout's shares (buyer's first, a side with nothing left out); the traders' shares pay the
        fee equally (core.trade.payout splits it, the first payer taking an odd satoshi)."""
        buyer, seller = self.payout_split(kind, ruling)
        return tuple(
            PayoutOutput(bytes.fromhex(spk), value, True)
            for value, spk in ((buyer, self.buyer.payout_spk), (seller, self.seller.payout_spk))
            if value > 0
        )

    def payout_spec(self, kind: PayoutKind, outpoint: OutPoint, ruling: tuple[int, int] | None = None) -> PayoutSpec:
        """Everything a payout PSBT of `kind` is built from and checked against."""
        path = KIND_PATH[kind]
        if path is PayoutPath.ARBITRATED and self.arbitrator is None:
            raise ContractError("this contract has no arbitrator")
        return PayoutSpec(
            outpoint, self.escrow_value, self.escrow_terms(), self.payout_shares(kind, ruling), path, self.payout_fee_cap_sat
        )


_CONTRACT_KEYS = frozenset(
    {
        "version", "trade_id", "offer_id", "network", "maker_side", "buyer", "seller", "arbitrator", "amount_sat",
        "price", "fiat_amount", "currency", "method", "buyer_deposit_sat", "seller_deposit_sat", "t1_blocks",
        "confirmations", "payout_fee_cap_sat", "created_at",
    }
)


@dataclass(frozen=True)
class SignedContract:
    """A contract with both traders' signatures."""

    contract: Contract
    buyer_sig: str
    seller_sig: str

    def verify(self) -> None:
        """ContractError unless both signatures verify."""
        self.contract.verify(Side.BUY, self.buyer_sig)
        self.contract.verify(Side.SELL, self.seller_sig)

    def to_json(self) -> dict[str, Any]:
        return {"contract": self.contract.to_json(), "buyer_sig": self.buyer_sig, "seller_sig": self.seller_sig}

    @classmethod
    def from_json(cls, obj: Any) -> SignedContract:
        """Decode and verify both signatures."""
        if not isinstance(obj, dict) or set(obj) != {"contract", "buyer_sig", "seller_sig"}:
            raise ContractError("a signed contract has contract, buyer_sig and seller_sig")
        signed = cls(Contract.from_json(obj["contract"]), obj["buyer_sig"], obj["seller_sig"])
        signed.verify()
        return signed


def outpoint_str(outpoint: OutPoint) -> str:
    """"txid:vout" in display order."""
    return f"{outpoint.txid}:{outpoint.n}"


def parse_outpoint(text: object) -> OutPoint:
    """OutPoint from "txid:vout" (ContractError otherwise)."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-f]{64}:(0|[1-9][0-9]{0,4})", text):
        raise ContractError("outpoint must be txid:vout")
    txid, n = text.split(":")
    return OutPoint(Txid.from_hex(txid), int(n))


def trade_id_for(offer_id: str, taker_nostr: str) -> str:
    """The trade id of a take: fixed by the offer and the taker's per-trade key, so both sides agree."""
    return tagged_hash("peerwallet/trade/id", bytes.fromhex(offer_id) + bytes.fromhex(taker_nostr))[:16].hex()


def build_contract(
    offer: Offer, maker: PartyTerms, taker: PartyTerms, amount_sat: int, price: Decimal, method: str, created_at: int
) -> Contract:
    """The contract of a take of `offer` (validated): what the maker proposes and the taker re-derives."""
    buyer, seller = (maker, taker) if offer.side is Side.BUY else (taker, maker)
    try:
        offer.validate()
        check_int(amount_sat, "amount", offer.min_sat, offer.max_sat)
    except OfferError as e:
        raise ContractError(str(e)) from None
    if method not in offer.methods:
        raise ContractError(f"payment method {method!r} is not offered")
    if maker.nostr != offer.maker_nostr:
        raise ContractError("the maker's key is not the offer's key")
    return Contract(
        trade_id=trade_id_for(offer.id, taker.nostr), offer_id=offer.id, network=offer.network, maker_side=offer.side,
        buyer=buyer, seller=seller, arbitrator=offer.arbitrator, amount_sat=amount_sat, price=price,
        fiat_amount=fiat_amount(amount_sat, price), currency=offer.currency, method=method,
        buyer_deposit_sat=deposit_of(amount_sat, offer.deposit_bp), seller_deposit_sat=deposit_of(amount_sat, offer.deposit_bp),
        t1_blocks=offer.t1_blocks, confirmations=offer.confirmations, payout_fee_cap_sat=offer.payout_fee_cap_sat,
        created_at=created_at,
    ).validate()
