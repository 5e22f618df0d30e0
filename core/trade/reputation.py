"""Reputation from trade receipts, and "start small" limits for counterparties without them.

A receipt states that two identities completed a trade (contract hash, amount, currency, payout txid,
completion height) and carries BOTH traders' BIP340 signatures by their identity keys: one side alone
cannot make one up. Each side may add a signed 0..5 rating of the other. A trader's reputation is the
set of receipts it presents; anyone can verify them. Sybil rings can still sign receipts for each other,
so the limits count distinct counterparties and grow slowly, and reversible payment methods get lower
limits (a chargeback after a release is unrecoverable).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.consensus.hashes import tagged_hash
from core.trade.contract import Signer, canonical_json
from core.trade.errors import ReputationError
from core.trade.nostr.keys import verify_schnorr
from core.trade.offer import payment_method

RECEIPT_TAG = "peerwallet/trade/receipt"
RATING_TAG = "peerwallet/trade/rating"
_HEX32 = re.compile(r"[0-9a-f]{64}")
_SIG = re.compile(r"[0-9a-f]{128}")
_OPT_SIG = re.compile(r"(?:[0-9a-f]{128})?")
_CURRENCY = re.compile(r"[A-Z]{3}")

#: Largest trade with a counterparty that has no receipts, in satoshis; halved for reversible methods.
START_SMALL_SAT = 500_000
#: Each distinct verified counterparty raises the limit by this much, up to MAX_LIMIT_SAT.
STEP_SAT = 500_000
MAX_LIMIT_SAT = 50_000_000


@dataclass(frozen=True)
class Receipt:
    """A completed trade, signed by both traders' identity keys (ratings 0 = none given)."""

    contract_hash: str
    buyer: str  # identity x-only hex
    seller: str
    amount_sat: int
    currency: str
    payout_txid: str
    height: int
    buyer_sig: str = ""
    seller_sig: str = ""
    buyer_rating: int = 0  # the buyer's rating of the seller
    buyer_rating_sig: str = ""
    seller_rating: int = 0  # the seller's rating of the buyer
    seller_rating_sig: str = ""

    def core_json(self) -> dict[str, Any]:
        return {
            "contract_hash": self.contract_hash, "buyer": self.buyer, "seller": self.seller,
            "amount_sat": self.amount_sat, "currency": self.currency, "payout_txid": self.payout_txid,
            "height": self.height,
        }

    def digest(self) -> bytes:
        """What both traders sign."""
        return tagged_hash(RECEIPT_TAG, canonical_json(self.core_json()))

    def rating_digest(self, rating: int) -> bytes:
        """What a trader signs to rate the other on this receipt."""
        return tagged_hash(RATING_TAG, self.digest() + bytes([rating]))

    @property
    def id(self) -> str:
        return self.digest().hex()

    def signature_by(self, key: Signer) -> str:
        """`key`'s signature of the receipt (it must be the buyer's or the seller's identity)."""
        if key.xonly not in (self.buyer, self.seller):
            raise ReputationError("only the two traders sign a receipt")
        return key.sign_schnorr(self.digest()).hex()

    def rating_by(self, key: Signer, rating: int) -> str:
        """`key`'s signature of its rating of the other trader."""
        if key.xonly not in (self.buyer, self.seller) or not 1 <= rating <= 5:
            raise ReputationError("a trader rates the other 1..5")
        return key.sign_schnorr(self.rating_digest(rating)).hex()

    def verify(self) -> None:
        """ReputationError unless both signatures (and any ratings) verify."""
        if not _HEX32.fullmatch(self.buyer) or not _HEX32.fullmatch(self.seller) or self.buyer == self.seller:
            raise ReputationError("a receipt names two distinct identities")
        digest = self.digest()
        for who, sig in ((self.buyer, self.buyer_sig), (self.seller, self.seller_sig)):
            if not _SIG.fullmatch(sig) or not verify_schnorr(bytes.fromhex(who), digest, bytes.fromhex(sig)):
                raise ReputationError("a receipt signature does not verify")
        for who, rating, sig in (
            (self.buyer, self.buyer_rating, self.buyer_rating_sig),
            (self.seller, self.seller_rating, self.seller_rating_sig),
        ):
            if rating == 0 and sig == "":
                continue
            if not 1 <= rating <= 5 or not _SIG.fullmatch(sig) or not verify_schnorr(
                bytes.fromhex(who), self.rating_digest(rating), bytes.fromhex(sig)
            ):
                raise ReputationError("a rating signature does not verify")

    def is_complete(self) -> bool:
        """True once both traders signed."""
        return bool(self.buyer_sig and self.seller_sig)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.core_json(), "buyer_sig": self.buyer_sig, "seller_sig": self.seller_sig,
            "buyer_rating": self.buyer_rating, "buyer_rating_sig": self.buyer_rating_sig,
            "seller_rating": self.seller_rating, "seller_rating_sig": self.seller_rating_sig,
        }

    @classmethod
    def from_json(cls, obj: Any, *, verify: bool = True) -> Receipt:
        """Strictly decode (and by default verify) a receipt."""
        if not isinstance(obj, dict) or set(obj) != _RECEIPT_KEYS:
            raise ReputationError("a receipt has exactly the receipt fields")
        for key in ("contract_hash", "buyer", "seller", "payout_txid"):
            if not isinstance(obj[key], str) or not _HEX32.fullmatch(obj[key]):
                raise ReputationError(f"{key} must be 64 lowercase hex digits")
        for key in ("buyer_sig", "seller_sig", "buyer_rating_sig", "seller_rating_sig"):
            if not isinstance(obj[key], str) or not _OPT_SIG.fullmatch(obj[key]):
                raise ReputationError(f"{key} must be a signature or empty")
        for key, hi in (("amount_sat", 21 * 10**14), ("height", 10**8), ("buyer_rating", 5), ("seller_rating", 5)):
            v = obj[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
                raise ReputationError(f"{key} must be a whole number in 0..{hi}")
        if not isinstance(obj["currency"], str) or not _CURRENCY.fullmatch(obj["currency"]):
            raise ReputationError("currency must be a three-letter code")
        receipt = cls(**obj)
        if verify:
            receipt.verify()
        return receipt


_RECEIPT_KEYS = frozenset(Receipt("", "", "", 0, "", "", 0).to_json())


@dataclass(frozen=True)
class Reputation:
    """What a set of receipts says about one identity."""

    identity: str
    trades: int
    counterparties: int
    volume_sat: int
    average_rating: float | None  # for display only; never used in amounts

    @property
    def is_new(self) -> bool:
        return self.trades == 0


def reputation_of(identity: str, receipts: Iterable[Any]) -> Reputation:
    """Verify `receipts` (objects or Receipt) and summarize those naming `identity`; invalid ones are ignored."""
    seen: dict[str, Receipt] = {}
    for item in receipts:
        try:
            r = item if isinstance(item, Receipt) else Receipt.from_json(item)
            if isinstance(item, Receipt):
                r.verify()
        except ReputationError:
            continue
        if identity in (r.buyer, r.seller) and r.is_complete():
            seen[r.id] = r
    others = {r.seller if r.buyer == identity else r.buyer for r in seen.values()}
    ratings = [
        r.seller_rating if r.buyer == identity else r.buyer_rating
        for r in seen.values()
        if (r.seller_rating if r.buyer == identity else r.buyer_rating) > 0
    ]
    return Reputation(
        identity, len(seen), len(others), sum(r.amount_sat for r in seen.values()),
        (sum(ratings) / len(ratings)) if ratings else None,
    )


def trade_limit(rep: Reputation, method: str) -> int:
    """The largest trade (sat) to accept with this counterparty by `method` ("start small")."""
    limit = min(START_SMALL_SAT + STEP_SAT * rep.counterparties, MAX_LIMIT_SAT)
    return limit // 2 if payment_method(method).reversible else limit


def check_limit(rep: Reputation, method: str, amount_sat: int) -> None:
    """ReputationError if `amount_sat` is above what this counterparty's history allows."""
    limit = trade_limit(rep, method)
    if amount_sat > limit:
        raise ReputationError(
            f"{amount_sat} sat is above the {limit} sat limit for a counterparty with "
            f"{rep.counterparties} verified trade partner(s) paying by {method}: start small"
        )


def decode_receipts(items: Sequence[Any]) -> list[Receipt]:
    """Verified receipts from a peer's list (invalid ones dropped)."""
    out = []
    for item in items:
        try:
            out.append(Receipt.from_json(item))
        except ReputationError:
            continue
    return out
