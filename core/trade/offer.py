"""Trade offers: what a maker publishes (side, amount range, price, currency, payment methods with their
chargeback risk, deposit, arbitrator, T1, expiry) and how it is checked.

Amounts are integer satoshis, prices and fiat amounts `Decimal` (never float). `Side` is the MAKER's side:
a "sell" offer is taken by a buyer. Offers travel as NIP-69 order events (kind 38383); the mapping lives
in `offer_nip69` so this module stays free of transport details.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from core.trade.errors import OfferError

SAT_PER_BTC = 100_000_000
MAX_MONEY = 21_000_000 * SAT_PER_BTC
#: Below this a trade's deposits and payout fees stop making sense.
MIN_TRADE_SAT = 10_000
#: Security deposit of each trader in basis points of the trade amount (Bisq's default is 15%).
DEFAULT_DEPOSIT_BP = 1500
MIN_DEPOSIT_BP = 1000
MAX_DEPOSIT_BP = 5000
#: The 2-of-2 mode (no arbitrator: deposits are the only incentive) is for small trades only.
NO_ARBITRATOR_MAX_SAT = 500_000
#: BIP68 relative lock-times count at most 0xFFFF blocks.
MAX_T1_BLOCKS = 0xFFFF
#: Shortest seller-refund timeout per network: long enough that an honest buyer can always dispute first.
MIN_T1_BLOCKS = {"main": 1008, "test": 144, "testnet4": 144, "signet": 144, "regtest": 2, "sandbox": 2}
DEFAULT_T1_BLOCKS = 2016
MAX_OFFER_LIFETIME = 30 * 24 * 3600
DEFAULT_CONFIRMATIONS = 2
MAX_CONFIRMATIONS = 12
DEFAULT_PAYOUT_FEE_CAP_SAT = 5_000
MAX_METHODS = 10
MAX_PRICE = Decimal(10) ** 12
MIN_PREMIUM, MAX_PREMIUM = Decimal(-50), Decimal(100)
FIAT_QUANTUM = Decimal("0.01")

_CURRENCY = re.compile(r"[A-Z]{3}")
_METHOD = re.compile(r"[a-z0-9_-]{1,32}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_OFFER_ID = re.compile(r"[0-9a-f]{32}")


class Side(enum.StrEnum):
    """The maker's side: "buy" (the maker buys bitcoin) or "sell"."""

    BUY = "buy"
    SELL = "sell"


class Risk(enum.StrEnum):
    """Chargeback / reversal risk of a payment method, for the seller."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PaymentMethod:
    """A payment method, whether a payment by it can be reversed, and why."""

    name: str
    reversible: bool
    risk: Risk
    note: str = ""


def _m(name: str, reversible: bool, risk: Risk, note: str) -> tuple[str, PaymentMethod]:
    return name, PaymentMethod(name, reversible, risk, note)


#: Common methods. Honest labels: "not reversible" never means "no risk" (banks recall for fraud).
PAYMENT_METHODS: dict[str, PaymentMethod] = dict(
    (
        _m("cash_in_person", False, Risk.LOW, "final once counted; meet in a safe place"),
        _m("cash_by_mail", False, Risk.MEDIUM, "final, but the envelope can be lost or short"),
        _m("bank_wire", False, Risk.MEDIUM, "final in practice; banks may recall in fraud cases"),
        _m("sepa", False, Risk.MEDIUM, "SEPA credit transfer: recall requests for fraud exist"),
        _m("sepa_instant", False, Risk.MEDIUM, "SEPA Instant: recall requests for fraud exist"),
        _m("faster_payments", False, Risk.MEDIUM, "UK Faster Payments: fraud reimbursement rules apply"),
        _m("pix", True, Risk.MEDIUM, "Brazil's MED lets banks return payments claimed as fraud"),
        _m("upi", False, Risk.MEDIUM, "disputes and account freezes happen"),
        _m("wise", False, Risk.MEDIUM, "accounts get frozen; card-funded transfers can be disputed"),
        _m("mobile_money", True, Risk.MEDIUM, "operators reverse transfers reported as mistaken"),
        _m("ach", True, Risk.HIGH, "ACH returns are possible for weeks"),
        _m("zelle", True, Risk.HIGH, "banks reimburse fraud claims; frequent scams"),
        _m("venmo", True, Risk.HIGH, "reversible through disputes"),
        _m("cash_app", True, Risk.HIGH, "reversible through disputes"),
        _m("revolut", True, Risk.HIGH, "card top-ups can be charged back"),
        _m("paypal", True, Risk.HIGH, "buyer protection reverses payments months later"),
        _m("credit_card", True, Risk.HIGH, "chargebacks for months"),
        _m("gift_card", True, Risk.HIGH, "often bought with stolen cards and voided"),
    )
)


def payment_method(name: str) -> PaymentMethod:
    """The method of that name; an unknown one is treated as reversible with unknown risk."""
    found = PAYMENT_METHODS.get(name)
    return found if found is not None else PaymentMethod(name, True, Risk.UNKNOWN, "unknown method: assume reversible")


@dataclass(frozen=True)
class ArbitratorRef:
    """An arbitrator both traders accept: its Nostr key (messages) and escrow key (the multi_a leaf)."""

    nostr: str  # x-only hex
    escrow: str  # x-only hex

    def to_json(self) -> dict[str, str]:
        return {"nostr": self.nostr, "escrow": self.escrow}

    @classmethod
    def from_json(cls, obj: Any) -> ArbitratorRef:
        if not isinstance(obj, dict) or set(obj) != {"nostr", "escrow"}:
            raise OfferError("arbitrator must be an object with nostr and escrow keys")
        return cls(check_hex32(obj["nostr"], "arbitrator nostr key"), check_hex32(obj["escrow"], "arbitrator escrow key"))


def check_hex32(value: object, what: str) -> str:
    """A 32-byte value as 64 lowercase hex digits, else OfferError."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise OfferError(f"{what} must be 64 lowercase hex digits")
    return value


def check_int(value: object, what: str, lo: int, hi: int) -> int:
    """An int (not a bool) in lo..hi, else OfferError."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise OfferError(f"{what} must be a whole number in {lo}..{hi}")
    return value


def parse_decimal(value: object, what: str) -> Decimal:
    """A finite Decimal from its string form (never from a float), else OfferError."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, str) and 0 < len(value) <= 40:
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise OfferError(f"{what} {value!r} is not a number") from None
    else:
        raise OfferError(f"{what} must be a decimal string")
    if not d.is_finite():
        raise OfferError(f"{what} must be finite")
    return d


def fiat_amount(amount_sat: int, price: Decimal) -> Decimal:
    """The fiat value of `amount_sat` at `price` (fiat per BTC), to the cent (banker's rounding)."""
    return (Decimal(amount_sat) * price / SAT_PER_BTC).quantize(FIAT_QUANTUM, rounding=ROUND_HALF_EVEN)


def deposit_of(amount_sat: int, deposit_bp: int) -> int:
    """One trader's security deposit for a trade of `amount_sat`."""
    return amount_sat * deposit_bp // 10_000


@dataclass(frozen=True)
class Offer:
    """A maker's offer. Exactly one of `price` (fiat per BTC) and `premium_pct` (over a market price) is set."""

    id: str  # 32 hex digits, the NIP-69 "d" tag
    maker_nostr: str  # the offer's (per-trade) Nostr key, x-only hex
    side: Side
    min_sat: int
    max_sat: int
    currency: str
    methods: tuple[str, ...]
    network: str
    price: Decimal | None = None
    premium_pct: Decimal | None = None
    deposit_bp: int = DEFAULT_DEPOSIT_BP
    arbitrator: ArbitratorRef | None = None
    t1_blocks: int = DEFAULT_T1_BLOCKS
    confirmations: int = DEFAULT_CONFIRMATIONS
    payout_fee_cap_sat: int = DEFAULT_PAYOUT_FEE_CAP_SAT
    created_at: int = 0
    expires_at: int = 0
    extra: dict[str, str] = field(default_factory=dict, compare=False)  # e.g. a display name

    def validate(self, now: int | None = None) -> Offer:
        """Check every field (OfferError names the first bad one); returns self. With `now`, also
        that the offer has not expired."""
        if not isinstance(self.id, str) or not _OFFER_ID.fullmatch(self.id):
            raise OfferError("offer id must be 32 lowercase hex digits")
        check_hex32(self.maker_nostr, "maker key")
        if not isinstance(self.side, Side):
            raise OfferError("side must be buy or sell")
        check_int(self.min_sat, "minimum amount", MIN_TRADE_SAT, MAX_MONEY)
        check_int(self.max_sat, "maximum amount", self.min_sat, MAX_MONEY)
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise OfferError("currency must be a three-letter ISO 4217 code")
        if not self.methods or len(self.methods) > MAX_METHODS or len(set(self.methods)) != len(self.methods):
            raise OfferError(f"an offer names 1..{MAX_METHODS} distinct payment methods")
        for m in self.methods:
            if not isinstance(m, str) or not _METHOD.fullmatch(m):
                raise OfferError(f"payment method {m!r} must be 1..32 of a-z 0-9 _ -")
        if self.network not in MIN_T1_BLOCKS:
            raise OfferError(f"unknown network {self.network!r}")
        if (self.price is None) == (self.premium_pct is None):
            raise OfferError("give either a price or a premium")
        if self.price is not None and not (isinstance(self.price, Decimal) and 0 < self.price <= MAX_PRICE):
            raise OfferError("price must be a positive Decimal")
        if self.premium_pct is not None and not (
            isinstance(self.premium_pct, Decimal) and MIN_PREMIUM <= self.premium_pct <= MAX_PREMIUM
        ):
            raise OfferError(f"premium must be a Decimal in {MIN_PREMIUM}..{MAX_PREMIUM} percent")
        check_int(self.deposit_bp, "deposit", MIN_DEPOSIT_BP, MAX_DEPOSIT_BP)
        if self.arbitrator is None and self.max_sat > NO_ARBITRATOR_MAX_SAT:
            raise OfferError(f"offers above {NO_ARBITRATOR_MAX_SAT} sat need an arbitrator")
        if self.arbitrator is not None and not isinstance(self.arbitrator, ArbitratorRef):
            raise OfferError("arbitrator must be an ArbitratorRef")
        check_int(self.t1_blocks, "T1", MIN_T1_BLOCKS[self.network], MAX_T1_BLOCKS)
        check_int(self.confirmations, "confirmations", 1, MAX_CONFIRMATIONS)
        # The fee cap bounds what a payout PSBT may burn; it must stay small against the escrow.
        check_int(self.payout_fee_cap_sat, "payout fee cap", 500, max(500, self.min_sat // 4))
        check_int(self.created_at, "creation time", 0, 2**40)
        check_int(self.expires_at, "expiry", self.created_at + 1, self.created_at + MAX_OFFER_LIFETIME)
        if now is not None and now >= self.expires_at:
            raise OfferError("the offer has expired")
        return self

    @property
    def taker_side(self) -> Side:
        """The side of whoever takes the offer."""
        return Side.SELL if self.side is Side.BUY else Side.BUY

    def reversible_methods(self) -> list[str]:
        """Methods whose payments can be reversed after the seller released (warn the seller)."""
        return [m for m in self.methods if payment_method(m).reversible]

    def price_for(self, market_price: Decimal | None) -> Decimal:
        """The price a take uses: the fixed price, or the market price plus the premium."""
        if self.price is not None:
            return self.price
        if market_price is None or market_price <= 0:
            raise OfferError("this offer is priced relative to the market and no market price is known")
        assert self.premium_pct is not None
        return (market_price * (100 + self.premium_pct) / 100).quantize(FIAT_QUANTUM, rounding=ROUND_HALF_EVEN)

    def check_take(self, amount_sat: int, method: str, now: int) -> None:
        """A take of `amount_sat` by `method` fits this offer (OfferError otherwise)."""
        check_int(amount_sat, "amount", self.min_sat, self.max_sat)
        if method not in self.methods:
            raise OfferError(f"payment method {method!r} is not offered")
        if now >= self.expires_at:
            raise OfferError("the offer has expired")

    def to_json(self) -> dict[str, Any]:
        """A JSON object (Decimals as strings) that `from_json` reads back."""
        return {
            "id": self.id,
            "maker_nostr": self.maker_nostr,
            "side": self.side.value,
            "min_sat": self.min_sat,
            "max_sat": self.max_sat,
            "currency": self.currency,
            "methods": list(self.methods),
            "network": self.network,
            "price": None if self.price is None else str(self.price),
            "premium_pct": None if self.premium_pct is None else str(self.premium_pct),
            "deposit_bp": self.deposit_bp,
            "arbitrator": None if self.arbitrator is None else self.arbitrator.to_json(),
            "t1_blocks": self.t1_blocks,
            "confirmations": self.confirmations,
            "payout_fee_cap_sat": self.payout_fee_cap_sat,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Offer:
        """Strictly decode `to_json` output (OfferError on anything unexpected), validated."""
        if not isinstance(obj, dict) or set(obj) != _OFFER_KEYS:
            raise OfferError("offer must be an object with exactly the offer fields")
        try:
            side = Side(obj["side"])
        except (ValueError, TypeError):
            raise OfferError("side must be buy or sell") from None
        methods = obj["methods"]
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise OfferError("methods must be a list of names")
        extra = obj["extra"]
        if not isinstance(extra, dict) or len(extra) > 8 or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 32 and len(v) <= 200 for k, v in extra.items()
        ):
            raise OfferError("extra must map up to 8 short names to short strings")
        for key in ("id", "maker_nostr", "currency", "network"):
            if not isinstance(obj[key], str):
                raise OfferError(f"{key} must be a string")
        offer = cls(
            id=obj["id"],
            maker_nostr=obj["maker_nostr"],
            side=side,
            min_sat=obj["min_sat"],
            max_sat=obj["max_sat"],
            currency=obj["currency"],
            methods=tuple(methods),
            network=obj["network"],
            price=None if obj["price"] is None else parse_decimal(obj["price"], "price"),
            premium_pct=None if obj["premium_pct"] is None else parse_decimal(obj["premium_pct"], "premium"),
            deposit_bp=obj["deposit_bp"],
            arbitrator=None if obj["arbitrator"] is None else ArbitratorRef.from_json(obj["arbitrator"]),
            t1_blocks=obj["t1_blocks"],
            confirmations=obj["confirmations"],
            payout_fee_cap_sat=obj["payout_fee_cap_sat"],
            created_at=obj["created_at"],
            expires_at=obj["expires_at"],
            extra=dict(extra),
        )
        return offer.validate()


_OFFER_KEYS = frozenset(
    {
        "id", "maker_nostr", "side", "min_sat", "max_sat", "currency", "methods", "network", "price",
        "premium_pct", "deposit_bp", "arbitrator", "t1_blocks", "confirmations", "payout_fee_cap_sat",
        "created_at", "expires_at", "extra",
    }
)
