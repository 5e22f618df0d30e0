"""How the trade page writes things: payment methods with their risk, sides, prices, amount ranges,
arbitrators, roles and short ids. Presentation only (no Qt, no decisions)."""

from __future__ import annotations

from decimal import Decimal

from app import format as fmt
from core.settings import Unit
from core.trade.context import Role
from core.trade.offer import ArbitratorRef, Risk, Side, payment_method

METHOD_NAMES = {
    "sepa": "SEPA", "sepa_instant": "SEPA Instant", "bank_wire": "Bank wire", "faster_payments": "Faster Payments",
    "pix": "PIX", "upi": "UPI", "wise": "Wise", "ach": "ACH", "zelle": "Zelle", "venmo": "Venmo", "cash_app": "Cash App",
    "revolut": "Revolut", "paypal": "PayPal", "credit_card": "Credit card", "gift_card": "Gift card",
    "cash_in_person": "Cash in person", "cash_by_mail": "Cash by mail", "mobile_money": "Mobile money",
}
RISK_TEXT = {Risk.LOW: "low risk", Risk.MEDIUM: "medium risk", Risk.HIGH: "high risk", Risk.UNKNOWN: "unknown risk"}
WARNING_SIGN = "\u26a0"
EN_DASH = "\u2013"


def method_name(name: str) -> str:
    """"sepa" → "SEPA"; unknown names as written."""
    return METHOD_NAMES.get(name, name.replace("_", " ").capitalize())


def method_short(name: str) -> str:
    """The name, with a warning sign when payments by it can be reversed."""
    return method_name(name) + (f" {WARNING_SIGN}" if payment_method(name).reversible else "")


def method_risk(name: str, *, note: bool = True) -> str:
    """"Revolut — reversible, high risk: card top-ups can be charged back" (without the note if not `note`)."""
    m = payment_method(name)
    kind = "reversible" if m.reversible else "not reversible"
    return f"{method_name(name)} — {kind}, {RISK_TEXT[m.risk]}" + (f": {m.note}" if m.note and note else "")


def methods_text(names: tuple[str, ...]) -> str:
    return ", ".join(method_short(n) for n in names)


def user_side_text(side: Side) -> str:
    """What the user does by taking an offer."""
    return "Buy" if side is Side.BUY else "Sell"


def maker_side_text(side: Side) -> str:
    """An offer of ours, by our side."""
    return "Buying bitcoin" if side is Side.BUY else "Selling bitcoin"


def money(value: Decimal | None, currency: str) -> str:
    """"1,234.50 EUR" (— when unknown)."""
    return "—" if value is None else f"{value:,.2f} {currency}"


def price_text(price: Decimal | None, premium: Decimal | None, currency: str) -> str:
    if price is not None:
        return f"{price:,.2f} {currency}"
    if premium is None:
        return "—"
    sign = "+" if premium >= 0 else "\u2212"
    return f"market {sign}{abs(premium):g} %"


def amount_range(lo: int, hi: int, unit: Unit) -> str:
    """"0.00050000 - 0.00400000 BTC" (an en dash between) (one amount when equal; — when unknown)."""
    if hi <= 0:
        return "—"
    if lo == hi:
        return fmt.amount(lo, unit)
    low = fmt.amount(lo, unit).rsplit(" ", 1)[0]
    return f"{low} {EN_DASH} {fmt.amount(hi, unit)}"


def fiat_range(lo: Decimal | None, hi: Decimal | None, currency: str) -> str:
    if lo is None or hi is None or hi <= 0:
        return "—"
    return money(lo, currency) if lo == hi else f"{lo:,.2f} {EN_DASH} {hi:,.2f} {currency}"


def deposit_text(bp: int) -> str:
    return f"{bp / 100:g} %" if bp else "—"


def arbitrator_text(ref: ArbitratorRef | None, bot: ArbitratorRef | None, own: ArbitratorRef | None = None) -> str:
    """Who arbitrates: the sandbox bot, us, nobody (2-of-2), or a short key."""
    if ref is None:
        return "none (2-of-2)"
    if bot is not None and ref == bot:
        return "Sandbox bot arbitrator"
    if own is not None and ref == own:
        return "you"
    return short(ref.nostr)


def role_text(role: Role) -> str:
    return {Role.BUYER: "Buying", Role.SELLER: "Selling", Role.ARBITRATOR: "Arbitrating"}[role]


def short(hex_text: str, n: int = 8) -> str:
    """The first n hex digits, then an ellipsis."""
    return hex_text[:n] + "…" if len(hex_text) > n else hex_text


def state_text(state: str) -> str:
    """"deposit_confirmed" → "Deposit confirmed"."""
    return state.replace("_", " ").capitalize().replace("t1", "T1")
