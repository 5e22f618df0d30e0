"""Payment form fields (core.wallet.payment_input): recipients as address or BIP21 link, amounts in BTC
or sat read exactly, custom fee rates in sat/vB; random text raises only PaymentInputError."""

from __future__ import annotations

import contextlib
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.network import SANDBOX
from core.mempool.feerate import FeeRate
from core.settings import Unit
from core.wallet.payment_input import PaymentInputError, parse_amount_text, parse_fee_rate, parse_recipient

ADDR = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
MAINNET_ADDR = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


def test_recipient_address_and_uri() -> None:
    assert parse_recipient(f"  {ADDR} ", SANDBOX).address == ADDR
    req = parse_recipient(f"BITCOIN:{ADDR}?amount=0.0005&label=Caf%C3%A9&message=thanks", SANDBOX)
    assert (req.address, req.amount, req.label, req.message) == (ADDR, 50_000, "Café", "thanks")


@pytest.mark.parametrize(
    ("text", "needle"),
    [("", "enter an address"), (MAINNET_ADDR, "invalid address"), ("hello", "invalid address"),
     (f"bitcoin:{ADDR}?amount=1e3", "invalid payment link"), (f"bitcoin:{MAINNET_ADDR}", "invalid payment link")],
)
def test_recipient_errors(text: str, needle: str) -> None:
    with pytest.raises(PaymentInputError, match=needle):
        parse_recipient(text, SANDBOX)


def test_amounts() -> None:
    assert parse_amount_text("0.00000001", Unit.BTC) == 1
    assert parse_amount_text("21000000", Unit.BTC) == 21_000_000 * 100_000_000
    assert parse_amount_text("1\u202f000\u202f000 ", Unit.SAT) == 1_000_000
    assert parse_amount_text("1_500", Unit.SAT) == 1500
    for text, unit in [("0", Unit.BTC), ("0.000000001", Unit.BTC), ("-1", Unit.SAT), ("1.5", Unit.SAT),
                       ("", Unit.BTC), ("21000001", Unit.BTC), ("2100000000000001", Unit.SAT), ("1,5", Unit.BTC)]:
        with pytest.raises(PaymentInputError):
            parse_amount_text(text, unit)


def test_fee_rates_exact() -> None:
    assert parse_fee_rate("2") == FeeRate.per_vb(2)
    assert parse_fee_rate("1.25") == FeeRate(Fraction(5, 4))
    assert parse_fee_rate(".1 sat/vB") == FeeRate.per_kvb(100)
    for bad in ("0", "0.0001", "abc", "1.2.3", "10001", "-2", ""):
        with pytest.raises(PaymentInputError):
            parse_fee_rate(bad)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120), st.sampled_from(list(Unit)))
def test_fields_raise_only_their_error(text: str, unit: Unit) -> None:
    for fn in (lambda: parse_recipient(text, SANDBOX), lambda: parse_amount_text(text, unit), lambda: parse_fee_rate(text)):
        with contextlib.suppress(PaymentInputError):
            fn()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="bitcoin:?&=%amountlabel0123456789.", max_size=80))
def test_uri_like_text_raises_only_its_error(tail: str) -> None:
    with contextlib.suppress(PaymentInputError):
        parse_recipient(f"bitcoin:{ADDR}?{tail}", SANDBOX)
