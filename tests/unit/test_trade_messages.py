"""Trade wire messages: signing and strict decoding, caps, replay/order classification, and hypothesis
fuzzing (random and mutated text decodes or raises MessageError, nothing else)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.context import Role
from core.trade.errors import MessageError
from core.trade.messages import (
    BODY_SCHEMAS,
    MAX_CHAT,
    Delivery,
    MsgKind,
    WireMessage,
    classify,
    decode_message,
    message_from_json,
)
from core.trade.protocol_types import Ev
from tests.unit.trade_fixture import BUYER, SELLER, Fixture, msg

TRADE = "11" * 16


def sample() -> WireMessage:
    return msg(BUYER, SELLER, MsgKind.CHAT, {"text": "hello ünïcode"}, TRADE, seq=3)


def all_kinds() -> list[WireMessage]:
    """A valid message of every kind (from the protocol fixture)."""
    out = []
    for role in (Role.BUYER, Role.SELLER):
        fx = Fixture(role)
        for kind in Ev:
            if kind.value.startswith("msg."):
                ev = fx.event(kind)
                assert ev.msg is not None
                out.append(ev.msg)
    return out


def test_every_kind_round_trips() -> None:
    msgs = all_kinds()
    assert {m.kind for m in msgs} == set(MsgKind)
    for m in msgs:
        again = decode_message(m.to_text())
        assert again == m and again.id == m.id


def test_signature_and_envelope_checks() -> None:
    m = sample()
    obj = m.to_json()
    for field, value in (("seq", 4), ("from", SELLER.nostr.xonly), ("to", BUYER.nostr.xonly), ("trade", "22" * 16),
                         ("ts", m.ts + 1), ("body", {"text": "hellO"}), ("kind", "take")):
        forged = dict(obj, **{field: value})
        with pytest.raises(MessageError):
            message_from_json(forged)
    sig = obj["sig"]
    with pytest.raises(MessageError):
        message_from_json(dict(obj, sig=sig[:-2] + ("00" if sig[-2:] != "00" else "01")))
    for bad in (dict(obj, extra=1), {k: v for k, v in obj.items() if k != "ts"}, dict(obj, v=2), dict(obj, seq=0),
                dict(obj, seq=True), dict(obj, body={"text": ""}), dict(obj, body={"text": "x" * (MAX_CHAT + 1)})):
        with pytest.raises(MessageError):
            message_from_json(bad)
    with pytest.raises(MessageError):
        decode_message(m.to_text().replace('"seq":3', '"seq":3,"seq":3'))  # duplicate key
    with pytest.raises(MessageError):
        decode_message("[" * 10_000)


def test_create_refuses_bad_bodies_and_oversize() -> None:
    with pytest.raises(MessageError):
        msg(BUYER, SELLER, MsgKind.PAYMENT_SENT, {"note": "x", "extra": 1}, TRADE)
    with pytest.raises(MessageError):
        msg(BUYER, SELLER, MsgKind.RELEASE, {"psbt": "not base64!"}, TRADE)
    huge = [msg(BUYER, SELLER, MsgKind.CHAT, {"text": "x" * MAX_CHAT}, TRADE).to_json()] * 60
    with pytest.raises(MessageError, match="larger than"):
        msg(BUYER, SELLER, MsgKind.EVIDENCE, {"part": 0, "transcript": huge, "account": "", "salt": "", "notes": ""}, TRADE)


def test_classify_replay_duplicate_future() -> None:
    m = sample()
    assert classify(m, 3, lambda _id: False) is Delivery.ACCEPT
    assert classify(m, 3, lambda i: i == m.id) is Delivery.DUPLICATE
    assert classify(m, 4, lambda _id: False) is Delivery.REPLAY
    assert classify(m, 2, lambda _id: False) is Delivery.FUTURE


def test_schemas_cover_every_kind() -> None:
    assert set(BODY_SCHEMAS) == set(MsgKind)


SAMPLES = [m.to_text() for m in all_kinds()]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)))
def test_fuzz_random_input(data: str | bytes) -> None:
    with contextlib.suppress(MessageError):
        decode_message(data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(min_value=0, max_value=10_000), st.text(max_size=8))
def test_fuzz_mutated_messages(text: str, pos: int, insert: str) -> None:
    pos %= len(text)
    mutated = text[:pos] + insert + text[pos + len(insert):]
    try:
        m = decode_message(mutated)
    except MessageError:
        return
    assert m.to_text() == json.dumps(json.loads(mutated), sort_keys=True, separators=(",", ":"))  # only a re-spelling


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.data())
def test_fuzz_mutated_json_values(text: str, data: st.DataObject) -> None:
    obj = json.loads(text)
    body = obj["body"]
    if body:
        name = data.draw(st.sampled_from(sorted(body)))
        body[name] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                                         st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
    try:
        message_from_json(obj)
    except MessageError:
        return
