"""BIP21 `bitcoin:` payment URIs: parse and build.

Written by hand because the rules are BIP21's own and small: `urllib.parse` is too lenient for
untrusted input (it passes bad `%` escapes through, replaces invalid UTF-8, treats `+` as space in
query helpers and splits on `;`), and amounts must be exact integer satoshis, never floats.

Rules applied (BIP21 unless noted):
- the scheme is case-insensitive; the rest, including parameter keys, is case-sensitive;
- the address must be valid for the given network (the error says why, e.g. wrong network);
- `amount` is decimal BTC: digits with an optional period; at most 8 decimals, no sign, no
  exponent, no commas, at most 21 million BTC;
- `label`, `message` and other values are UTF-8 percent-decoded (`+` is a literal plus);
- a `req-` parameter we do not implement (we implement none) makes the whole URI invalid;
- other unknown parameters are kept in order as `extras`, including BIP321's `lightning`, `pj`;
- a parameter that appears twice is rejected (its meaning would be ambiguous).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from core.consensus.amount import COIN, MAX_MONEY
from core.consensus.network import Network
from core.crypto.errors import AddressError
from core.script.address import address_to_script
from core.wallet.errors import Bip21Error

SCHEME = "bitcoin"
#: Parameters this module interprets; every other key is an extra.
KNOWN_KEYS = frozenset({"amount", "label", "message"})
#: BIP21: a parameter with this prefix is required; not understanding it invalidates the URI.
REQUIRED_PREFIX = "req-"
_DECIMALS = 8

_AMOUNT_RE = re.compile(r"([0-9]*)(?:\.([0-9]*))?", re.ASCII)
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a `bitcoin:` URI asks for. `amount` is in satoshis; `extras` are the parameters this
    module does not interpret, as decoded (key, value) pairs in URI order."""

    address: str
    amount: int | None = None
    label: str | None = None
    message: str | None = None
    extras: tuple[tuple[str, str], ...] = ()

    def extra(self, key: str) -> str | None:
        """The value of the extra parameter `key`, or None if absent."""
        for k, v in self.extras:
            if k == key:
                return v
        return None

    @property
    def lightning(self) -> str | None:
        """BIP321 `lightning` parameter (a BOLT11 invoice), kept verbatim."""
        return self.extra("lightning")

    @property
    def pj(self) -> str | None:
        """BIP78/BIP77 payjoin endpoint (`pj`), kept verbatim."""
        return self.extra("pj")


def parse_amount(text: str) -> int:
    """Decimal BTC text (BIP21 `amount`) as exact integer satoshis."""
    if text == "":
        raise Bip21Error("amount: empty")
    if text.startswith("-"):
        raise Bip21Error(f"amount: negative amount {text!r}")
    if "e" in text.lower():
        raise Bip21Error(f"amount: exponent notation not allowed: {text!r}")
    if "," in text:
        raise Bip21Error(f"amount: commas not allowed, use a period as decimal separator: {text!r}")
    m = _AMOUNT_RE.fullmatch(text)
    if m is None:
        raise Bip21Error(f"amount: not a decimal number: {text!r}")
    whole, frac = m.group(1), m.group(2) or ""
    if whole == "" and frac == "":
        raise Bip21Error(f"amount: no digits: {text!r}")
    if len(frac) > _DECIMALS:
        raise Bip21Error(f"amount: more than {_DECIMALS} decimal places: {text!r}")
    # Bound the digit count before int(): 21M BTC has 8 whole digits, and huge strings would
    # otherwise hit Python's int-conversion limit (ValueError).
    if len(whole.lstrip("0")) > 8:
        raise Bip21Error(f"amount: more than 21 million BTC: {text!r}")
    sats = int(whole or "0") * COIN + int(frac.ljust(_DECIMALS, "0"))
    if sats > MAX_MONEY:
        raise Bip21Error(f"amount: more than 21 million BTC: {text!r}")
    return sats


def format_amount(sats: int) -> str:
    """Satoshis as the shortest exact decimal BTC text (`20.3`, `50`, `0.00000001`)."""
    if not isinstance(sats, int) or isinstance(sats, bool):
        raise Bip21Error("amount: must be an integer number of satoshis")
    if not 0 <= sats <= MAX_MONEY:
        raise Bip21Error(f"amount: {sats} sats is outside 0..21 million BTC")
    whole, frac = divmod(sats, COIN)
    frac_text = f"{frac:08d}".rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def _percent_decode(text: str, what: str) -> str:
    if _BAD_ESCAPE_RE.search(text):
        raise Bip21Error(f"{what}: '%' not followed by two hex digits")
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise Bip21Error(f"{what}: percent-encoded bytes are not valid UTF-8") from None


def _percent_encode(text: str, what: str) -> str:
    # Only RFC 3986 unreserved characters stay literal; everything else (including '&', '=',
    # '+', '#', '%') is UTF-8 percent-encoded.
    try:
        return quote(text, safe="", encoding="utf-8", errors="strict")
    except UnicodeEncodeError:
        raise Bip21Error(f"{what}: text is not encodable as UTF-8") from None


def _check_address(address: str, network: Network) -> None:
    if address == "":
        raise Bip21Error("address: missing")
    try:
        address_to_script(address, network)
    except AddressError as e:
        raise Bip21Error(f"address {address!r}: {e}") from None


def parse_uri(uri: str, network: Network) -> PaymentRequest:
    """Parse a BIP21 `bitcoin:` URI for `network`. Raises Bip21Error naming the problem."""
    if not isinstance(uri, str):
        raise Bip21Error("URI must be text")
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise Bip21Error(f"not a {SCHEME}: URI")
    if "#" in rest:
        raise Bip21Error("URI fragment ('#') not allowed")
    address, _, query = rest.partition("?")
    _check_address(address, network)

    amount: int | None = None
    label: str | None = None
    message: str | None = None
    extras: list[tuple[str, str]] = []
    seen: set[str] = set()
    # The ABNF allows empty parameters ("a=1&&b=2"), so empty segments are skipped.
    for param in filter(None, query.split("&")):
        raw_key, _, raw_value = param.partition("=")
        key = _percent_decode(raw_key, "parameter name")
        if key == "":
            raise Bip21Error(f"parameter {param!r}: empty name")
        if key in seen:
            raise Bip21Error(f"parameter {key!r}: appears more than once")
        seen.add(key)
        if key.startswith(REQUIRED_PREFIX):
            raise Bip21Error(f"parameter {key!r}: required parameter not supported")
        if key == "amount":
            amount = parse_amount(raw_value)
            continue
        value = _percent_decode(raw_value, key)
        if key == "label":
            label = value
        elif key == "message":
            message = value
        else:
            extras.append((key, value))
    return PaymentRequest(address, amount, label, message, tuple(extras))


def build_uri(request: PaymentRequest, network: Network) -> str:
    """The BIP21 URI for `request` (address checked for `network`; values percent-encoded;
    the amount in exact decimal BTC). Raises Bip21Error if the request cannot be expressed."""
    _check_address(request.address, network)
    params: list[str] = []
    if request.amount is not None:
        params.append(f"amount={format_amount(request.amount)}")
    if request.label is not None:
        params.append(f"label={_percent_encode(request.label, 'label')}")
    if request.message is not None:
        params.append(f"message={_percent_encode(request.message, 'message')}")
    seen: set[str] = set()
    for key, value in request.extras:
        if key == "":
            raise Bip21Error("extra parameter: empty name")
        if key in KNOWN_KEYS:
            raise Bip21Error(f"extra parameter {key!r}: use the PaymentRequest field instead")
        if key.startswith(REQUIRED_PREFIX):
            raise Bip21Error(f"extra parameter {key!r}: required parameters not supported")
        if key in seen:
            raise Bip21Error(f"extra parameter {key!r}: appears more than once")
        seen.add(key)
        params.append(f"{_percent_encode(key, 'parameter name')}={_percent_encode(value, key)}")
    uri = f"{SCHEME}:{request.address}"
    return f"{uri}?{'&'.join(params)}" if params else uri
