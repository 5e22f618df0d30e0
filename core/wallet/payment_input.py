"""What a user types into a payment form: a recipient (address or BIP21 URI), an amount in BTC or
satoshis, a custom fee rate in sat/vB — read exactly (no floats) into the wallet's own types.

Every function raises only `PaymentInputError` (a WalletError) with a message fit to show next to the
field, so a front end can mark the field and change nothing else.
"""

from __future__ import annotations

import re
from fractions import Fraction

from core.consensus.amount import MAX_MONEY
from core.consensus.network import Network
from core.errors import PeerwalletError
from core.mempool.feerate import FeeRate
from core.script.address import address_to_script
from core.settings import Unit
from core.wallet.bip21 import PaymentRequest, parse_amount, parse_uri
from core.wallet.errors import WalletError

#: A custom fee rate is given in sat/vB with at most this many decimals (Core's sat/vB precision).
FEE_RATE_DECIMALS = 3
#: Anything above this many sat/vB is refused as a typo (Core's -maxfeerate is 0.1 BTC/kvB = 10,000 sat/vB).
MAX_FEE_RATE_SAT_VB = 10_000

_SATS_RE = re.compile(r"[0-9]+", re.ASCII)
_RATE_RE = re.compile(r"([0-9]*)(?:\.([0-9]*))?", re.ASCII)


class PaymentInputError(WalletError):
    """A form field that cannot be read; the message says what is wrong with it."""


def _strip_group_separators(text: str) -> str:
    # Amounts may be shown with (narrow) spaces or underscores between digit groups; accept them back.
    return re.sub(r"[\s_\u202f\u00a0]", "", text)


def parse_recipient(text: str, network: Network) -> PaymentRequest:
    """An address or a `bitcoin:` URI as a PaymentRequest (amount/label/message only from a URI)."""
    text = text.strip()
    if not text:
        raise PaymentInputError("enter an address or a bitcoin: payment link")
    if text.lower().startswith("bitcoin:"):
        try:
            return parse_uri(text, network)
        except PeerwalletError as e:
            raise PaymentInputError(f"invalid payment link: {e}") from None
    try:
        address_to_script(text, network)
    except PeerwalletError as e:
        raise PaymentInputError(f"invalid address: {e}") from None
    return PaymentRequest(text)


def parse_amount_text(text: str, unit: Unit) -> int:
    """An amount in `unit` (BTC with up to 8 decimals, or whole satoshis) as satoshis, > 0."""
    raw = _strip_group_separators(text)
    if not raw:
        raise PaymentInputError("enter an amount")
    if unit is Unit.SAT:
        if not _SATS_RE.fullmatch(raw) or len(raw) > 16:
            raise PaymentInputError(f"{text.strip()!r} is not a whole number of satoshis")
        sats = int(raw)
        if sats > MAX_MONEY:
            raise PaymentInputError("more than 21 million BTC")
    else:
        try:
            sats = parse_amount(raw)
        except WalletError as e:
            raise PaymentInputError(str(e).removeprefix("amount: ")) from None
    if sats <= 0:
        raise PaymentInputError("the amount must be more than zero")
    return sats


def parse_fee_rate(text: str) -> FeeRate:
    """A custom fee rate in sat/vB ("2", "1.5", "0.25"), exact; at least 0.001, at most MAX_FEE_RATE_SAT_VB."""
    raw = _strip_group_separators(text).removesuffix("sat/vB").strip()
    m = _RATE_RE.fullmatch(raw) if raw else None
    if m is None or not (m.group(1) or m.group(2)):
        raise PaymentInputError(f"{text.strip()!r} is not a fee rate in sat/vB")
    whole, frac = m.group(1) or "0", m.group(2) or ""
    if len(frac) > FEE_RATE_DECIMALS:
        raise PaymentInputError(f"a fee rate has at most {FEE_RATE_DECIMALS} decimals")
    if len(whole.lstrip("0")) > len(str(MAX_FEE_RATE_SAT_VB)):
        raise PaymentInputError(f"more than {MAX_FEE_RATE_SAT_VB:,} sat/vB is surely a typo")
    rate = Fraction(int(whole)) + Fraction(int(frac or "0"), 10 ** len(frac))
    if rate <= 0:
        raise PaymentInputError("the fee rate must be more than zero")
    if rate > MAX_FEE_RATE_SAT_VB:
        raise PaymentInputError(f"more than {MAX_FEE_RATE_SAT_VB:,} sat/vB is surely a typo")
    return FeeRate(rate)
