"""Relay plumbing without a network: relay message decoding (with fuzzing), filters, backoff, outbox."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.errors import NostrError
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.outbox import OutboxState, OutboxStore
from core.trade.nostr.relay import Backoff
from core.trade.nostr.relay_messages import (
    AuthMessage,
    ClosedMessage,
    EoseMessage,
    EventMessage,
    NoticeMessage,
    OkMessage,
    check_filter,
    filter_matches,
    parse_relay_message,
    req_message,
)

KEY = NostrKey.from_hex("31" * 32)
EVENT = Event.sign(KEY, 1059, "x", [["p", KEY.xonly], ["t", "trade"]], created_at=1700000000)


def test_parse_each_message_type() -> None:
    ev = parse_relay_message(json.dumps(["EVENT", "s1", EVENT.to_json()]))
    assert ev == EventMessage("s1", EVENT)
    ok = parse_relay_message(json.dumps(["OK", EVENT.id, False, "duplicate: have it"]))
    assert isinstance(ok, OkMessage) and ok.stored and not ok.accepted
    assert not OkMessage(EVENT.id, False, "invalid: bad").stored
    assert parse_relay_message('["OK","",false,"invalid: Bad signature"]') == OkMessage("", False, "invalid: Bad signature")
    assert parse_relay_message('["EOSE","s1"]') == EoseMessage("s1")
    assert parse_relay_message('["CLOSED","s1","error: bye"]') == ClosedMessage("s1", "error: bye")
    assert parse_relay_message('["NOTICE","hi"]') == NoticeMessage("hi")
    assert parse_relay_message('["AUTH","challenge"]') == AuthMessage("challenge")


BAD_MESSAGES = {
    "not json": "hello",
    "object": '{"EVENT": 1}',
    "empty array": "[]",
    "unknown type": '["PING"]',
    "event bad sig": json.dumps(["EVENT", "s1", {**EVENT.to_json(), "sig": "00" * 64}]),
    "event missing sub": json.dumps(["EVENT", EVENT.to_json()]),
    "sub id too long": json.dumps(["EOSE", "s" * 65]),
    "ok bad id": '["OK","xyz",true,""]',
    "ok not bool": json.dumps(["OK", EVENT.id, 1, ""]),
    "notice not string": '["NOTICE",5]',
    "eose extra": '["EOSE","s1","x"]',
}


@pytest.mark.parametrize("text", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_bad_relay_messages(text: str) -> None:
    with pytest.raises(NostrError):
        parse_relay_message(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=8),
    max_leaves=25,
)
message_like = st.tuples(st.sampled_from(["EVENT", "OK", "EOSE", "CLOSED", "NOTICE", "AUTH", "X"]),
                         st.lists(json_values, max_size=3)).map(lambda t: [t[0], *t[1]])


@settings(max_examples=500, deadline=None)
@given(st.one_of(json_values, message_like).map(json.dumps) | st.text(max_size=200) | st.binary(max_size=200))
def test_fuzz_relay_messages(text: str | bytes) -> None:
    try:
        msg = parse_relay_message(text)
    except NostrError:
        return
    assert not isinstance(msg, EventMessage) or msg.event.is_valid()


def test_filters() -> None:
    assert check_filter({"kinds": [1059], "#p": [KEY.xonly], "since": 5}) == {"kinds": [1059], "#p": [KEY.xonly], "since": 5}
    for bad in ({"kinds": ["1"]}, {"authors": ["AB" * 32]}, {"#p": ["x"]}, {"since": -1}, {"foo": 1},
                {"kinds": []}, {"#tt": ["x"]}, {"limit": True}, [1]):
        with pytest.raises(NostrError):
            check_filter(bad)
    assert filter_matches({"kinds": [1059], "#p": [KEY.xonly], "#t": ["trade", "x"]}, EVENT)
    assert filter_matches({"ids": [EVENT.id], "authors": [KEY.xonly], "since": 1700000000, "until": 1700000000}, EVENT)
    for miss in ({"kinds": [1]}, {"#p": ["00" * 32]}, {"since": 1700000001}, {"until": 1699999999},
                 {"ids": ["00" * 32]}, {"authors": ["00" * 32]}, {"#e": ["00" * 32]}):
        assert not filter_matches(miss, EVENT)
    assert req_message("s", [{"kinds": [1]}]) == '["REQ","s",{"kinds":[1]}]'


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.integers(0, 2**32))
def test_backoff_bounds(attempt: int, seed: int) -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, factor=2.0, jitter=0.5)
    delay = backoff.delay(attempt, random.Random(seed))
    base = min(30.0, 0.5 * 2.0**attempt)
    assert base * 0.5 <= delay <= base


def test_outbox_lifecycle(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    store = OutboxStore(path)
    a, b, c = (Event.sign(KEY, 1, str(i)) for i in range(3))
    assert store.add(a) and store.add(b) and store.add(c) and not store.add(a)
    store.mark_sent(b.id, "ws://r1")
    store.mark_failed(c.id, "invalid: no")
    store.mark_failed(b.id, "late refusal")  # a sent event stays sent
    store.close()
    store = OutboxStore(path)  # persisted across a restart
    assert [e.id for e in store.pending()] == [a.id]
    entry_b, entry_c = store.entry(b.id), store.entry(c.id)
    assert entry_b is not None and (entry_b.state, entry_b.relay) == (OutboxState.SENT, "ws://r1")
    assert entry_c is not None and (entry_c.state, entry_c.error) == (OutboxState.FAILED, "invalid: no")
    assert store.entry("00" * 32) is None
    assert store.prune(older_than=float("inf")) == 2 and store.entry(b.id) is None
    store.close()


def test_outbox_corrupt_row_becomes_failed() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store = OutboxStore(conn)
    event = Event.sign(KEY, 1, "x")
    store.add(event)
    conn.execute("UPDATE nostr_outbox SET event_json = ?", (event.to_text().replace('"x"', '"y"'),))
    assert store.pending() == []
    entry = store.entry(event.id)
    assert entry is not None and entry.state is OutboxState.FAILED and "corrupt" in (entry.error or "")
    store.close()
    conn.execute("SELECT 1")  # a caller-owned connection stays open
