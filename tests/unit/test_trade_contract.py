"""Trade offers, contracts and receipts: validation, the contract's canonical form and its hash pinned,
signatures and deposit attestations, payout shares per outcome, receipts and start-small limits;
hypothesis fuzzing of the JSON decoders (only our error types come out)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.contract import Contract, PayoutKind, SignedContract, account_hash, build_contract
from core.trade.errors import ContractError, OfferError, ReputationError
from core.trade.offer import (
    NO_ARBITRATOR_MAX_SAT,
    Offer,
    Risk,
    Side,
    deposit_of,
    fiat_amount,
    payment_method,
)
from core.trade.reputation import Receipt, check_limit, reputation_of, trade_limit
from tests.unit.trade_fixture import AMOUNT, ARBITRATOR, BUYER, NOW, SELLER, contract_of, offer, outpoint_of

#: The fixture contract's hash: the canonical form must never change silently (peers would disagree).
PINNED_HASH = "95edbc2bcd9e3fcc005c747140823af992ea56dbd76bd8a31d3e268bd1438f96"


def test_contract_hash_is_stable() -> None:
    c = contract_of(Side.SELL)
    assert c.contract_hash().hex() == PINNED_HASH
    # Key order of the JSON, and a round trip, do not matter.
    shuffled = dict(reversed(list(c.to_json().items())))
    assert Contract.from_json(json.loads(json.dumps(shuffled))).contract_hash().hex() == PINNED_HASH
    # Every field is covered: changing any one changes the hash.
    for name, value in (("amount_sat", AMOUNT + 1), ("price", Decimal("50001")), ("fiat_amount", Decimal("100.01")),
                        ("currency", "USD"), ("method", "wise"), ("t1_blocks", 11), ("confirmations", 2),
                        ("payout_fee_cap_sat", 4_999), ("buyer_deposit_sat", 29_999), ("created_at", NOW + 1),
                        ("arbitrator", None)):
        assert dataclasses.replace(c, **{name: value}).contract_hash() != c.contract_hash(), name
    other_party = dataclasses.replace(c.buyer, account_hash="00" * 32)
    assert dataclasses.replace(c, buyer=other_party).contract_hash() != c.contract_hash()


def test_contract_signatures_and_attestation() -> None:
    c = contract_of(Side.SELL)
    b, s = c.sign(BUYER.escrow), c.sign(SELLER.escrow)
    SignedContract(c, b, s).verify()
    with pytest.raises(ContractError):
        SignedContract(c, s, b).verify()
    with pytest.raises(ContractError):
        c.sign(ARBITRATOR.escrow)
    with pytest.raises(ContractError):
        dataclasses.replace(c, amount_sat=AMOUNT + 1).verify(Side.BUY, b)
    op = outpoint_of(c)
    att = c.sign_deposit(BUYER.escrow, op)
    c.verify_deposit(Side.BUY, op, att)
    with pytest.raises(ContractError):
        c.verify_deposit(Side.BUY, dataclasses.replace(op, n=op.n + 1), att)
    with pytest.raises(ContractError):
        c.verify_deposit(Side.SELL, op, att)
    assert SignedContract.from_json(SignedContract(c, b, s).to_json()).contract == c


def test_payout_shares_per_outcome() -> None:
    c = contract_of(Side.SELL)
    dep = deposit_of(AMOUNT, 1500)
    assert c.escrow_value == AMOUNT + 2 * dep
    assert c.payout_split(PayoutKind.RELEASE) == (AMOUNT + dep, dep)
    assert c.payout_split(PayoutKind.CANCEL) == (dep, AMOUNT + dep)
    assert c.payout_split(PayoutKind.REFUND) == (0, c.escrow_value)
    assert c.payout_split(PayoutKind.RULING, (c.escrow_value, 0)) == (c.escrow_value, 0)
    for bad in ((1, 1), (-1, c.escrow_value + 1), (True, c.escrow_value - 1)):
        with pytest.raises(ContractError):
            c.payout_split(PayoutKind.RULING, bad)  # type: ignore[arg-type]
    assert len(c.payout_shares(PayoutKind.REFUND)) == 1
    spec = c.payout_spec(PayoutKind.RELEASE, outpoint_of(c))
    assert sum(o.amount for o in spec.outputs) == c.escrow_value and spec.fee_cap == 5_000
    two_of_two = dataclasses.replace(c, arbitrator=None)
    with pytest.raises(ContractError):
        two_of_two.payout_spec(PayoutKind.RULING, outpoint_of(c), (c.escrow_value, 0))


def test_build_contract_refuses_what_the_offer_does_not_allow() -> None:
    o = offer(Side.SELL)
    for amount, method in ((50_000, "sepa"), (500_000, "sepa"), (AMOUNT, "zelle")):
        with pytest.raises(ContractError):
            build_contract(o, SELLER.terms(), BUYER.terms(), amount, Decimal(50000), method, NOW)
    with pytest.raises(ContractError):  # the maker's terms must carry the offer's key
        build_contract(o, BUYER.terms(), SELLER.terms(), AMOUNT, Decimal(50000), "sepa", NOW)
    with pytest.raises(ContractError):  # the same person on both sides
        build_contract(o, SELLER.terms(), dataclasses.replace(SELLER.terms(), nostr=BUYER.nostr.xonly), AMOUNT, Decimal(50000), "sepa", NOW)


def test_offer_validation() -> None:
    o = offer(Side.SELL)
    assert Offer.from_json(o.to_json()) == o
    assert o.taker_side is Side.BUY and o.reversible_methods() == ["paypal"]
    bad = [
        {"min_sat": 5_000}, {"max_sat": 50_000}, {"currency": "eur"}, {"methods": ()}, {"methods": ("sepa", "sepa")},
        {"price": None}, {"premium_pct": Decimal(5)}, {"deposit_bp": 500}, {"t1_blocks": 1}, {"t1_blocks": 70_000},
        {"expires_at": NOW - 100}, {"network": "nowhere"}, {"confirmations": 0}, {"payout_fee_cap_sat": 100},
        {"arbitrator": None, "max_sat": NO_ARBITRATOR_MAX_SAT + 1},  # above the 2-of-2 limit
    ]
    for change in bad:
        with pytest.raises(OfferError):
            dataclasses.replace(o, **change).validate()
    small = dataclasses.replace(o, arbitrator=None, max_sat=NO_ARBITRATOR_MAX_SAT).validate()
    assert small.arbitrator is None
    with pytest.raises(OfferError, match="expired"):
        o.validate(now=o.expires_at)
    premium = dataclasses.replace(o, price=None, premium_pct=Decimal("2.5")).validate()
    assert premium.price_for(Decimal("40000")) == Decimal("41000.00")
    with pytest.raises(OfferError):
        premium.price_for(None)
    assert fiat_amount(AMOUNT, Decimal("50000")) == Decimal("100.00")
    assert payment_method("paypal").reversible and payment_method("cash_in_person").risk is Risk.LOW
    assert payment_method("carrier_pigeon").risk is Risk.UNKNOWN and payment_method("carrier_pigeon").reversible


def _receipt(seller_rating: int = 0) -> Receipt:
    r = Receipt("cc" * 32, BUYER.identity.xonly, SELLER.identity.xonly, AMOUNT, "EUR", "dd" * 32, 200)
    r = dataclasses.replace(r, buyer_sig=r.signature_by(BUYER.identity), seller_sig=r.signature_by(SELLER.identity))
    if seller_rating:
        r = dataclasses.replace(r, seller_rating=seller_rating, seller_rating_sig=r.rating_by(SELLER.identity, seller_rating))
    return r


def test_receipts_need_both_signatures() -> None:
    r = _receipt(seller_rating=5)
    r.verify()
    assert Receipt.from_json(json.loads(json.dumps(r.to_json()))) == r
    for change in ({"amount_sat": AMOUNT + 1}, {"seller_sig": r.buyer_sig}, {"seller_rating": 4}, {"buyer_sig": ""}):
        with pytest.raises(ReputationError):
            dataclasses.replace(r, **change).verify()
    with pytest.raises(ReputationError):
        r.signature_by(ARBITRATOR.identity)


def test_reputation_and_start_small() -> None:
    rep = reputation_of(BUYER.identity.xonly, [_receipt(seller_rating=5).to_json(), {"junk": 1}])
    assert (rep.trades, rep.counterparties, rep.average_rating) == (1, 1, 5.0)
    new = reputation_of(BUYER.identity.xonly, [])
    assert new.is_new and trade_limit(new, "sepa") == 500_000 and trade_limit(new, "paypal") == 250_000
    assert trade_limit(rep, "sepa") == 1_000_000
    check_limit(new, "sepa", 500_000)
    with pytest.raises(ReputationError, match="start small"):
        check_limit(new, "paypal", 250_001)
    # Receipts of someone else, or forged ones, do not count.
    assert reputation_of(ARBITRATOR.identity.xonly, [_receipt().to_json()]).is_new
    forged = dict(_receipt().to_json(), amount_sat=1)
    assert reputation_of(BUYER.identity.xonly, [forged]).is_new


def test_account_hash_is_salted() -> None:
    assert account_hash("IBAN 1", b"\x00" * 16) != account_hash("IBAN 1", b"\x01" * 16)
    with pytest.raises(ContractError):
        account_hash("", b"\x00" * 16)


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["contract", "offer", "receipt"]), st.data())
def test_fuzz_decoders(which: str, data: st.DataObject) -> None:
    base = {"contract": contract_of(Side.SELL).to_json(), "offer": offer(Side.SELL).to_json(), "receipt": _receipt().to_json()}[which]
    obj = dict(base)
    name = data.draw(st.sampled_from(sorted(obj)))
    obj[name] = data.draw(_JSON)
    decoder = {"contract": Contract.from_json, "offer": Offer.from_json, "receipt": Receipt.from_json}[which]
    errors = {"contract": ContractError, "offer": OfferError, "receipt": ReputationError}[which]
    with contextlib.suppress(errors):
        decoder(obj)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_fuzz_random_objects(obj: object) -> None:
    for decoder, error in ((Contract.from_json, ContractError), (Offer.from_json, OfferError), (Receipt.from_json, ReputationError),
                           (SignedContract.from_json, ContractError)):
        with contextlib.suppress(error):
            decoder(obj)
