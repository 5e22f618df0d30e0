"""NIP-01 events and Nostr keys: ids, signatures, strict decoding, and fuzzing of event JSON decoding."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.errors import NostrError
from core.trade.nostr.event import MAX_TAGS, Event, compute_id, loads_strict
from core.trade.nostr.keys import NostrKey, parse_xonly
from tests.unit.nostr_samples import NIP59_AUTHOR_SECRET, NIP59_RUMOR, NIP59_SEAL, NIP59_WRAP

KEY = NostrKey.from_hex("11" * 32)


def test_rumor_id_of_the_nip59_example() -> None:
    r = NIP59_RUMOR
    assert compute_id(r["pubkey"], r["created_at"], r["kind"], r["tags"], r["content"]) == r["id"]


@pytest.mark.parametrize("sample", [NIP59_SEAL, NIP59_WRAP], ids=["seal", "wrap"])
def test_published_events_verify(sample: dict[str, Any]) -> None:
    event = Event.from_json(sample)
    assert event.is_valid() and event.id == sample["id"]
    assert json.loads(event.to_text()) == {**sample, "tags": sample["tags"]}


def test_author_key_of_the_example() -> None:
    assert NostrKey.from_hex(NIP59_AUTHOR_SECRET).xonly == NIP59_RUMOR["pubkey"]


def test_sign_verify_and_round_trip() -> None:
    content = 'line\nquote" back\\ tab\t ctrl\x01 é 🦄 \u2028'
    event = Event.sign(KEY, 1, content, [["p", KEY.xonly], ["t", "x", "y"]], created_at=1700000000)
    assert event.pubkey == KEY.xonly and event.is_valid()
    event.verify()
    again = Event.from_json(event.to_text())
    assert again == event
    assert Event.from_json(event.to_text().encode()) == event
    assert event.tag_values("p") == [KEY.xonly] and event.first_tag("t") == ("t", "x", "y")


def test_serialization_escapes_like_nip01() -> None:
    event = Event.sign(KEY, 1, "a\nb\x01é", [], created_at=5)
    text = f'[0,"{KEY.xonly}",5,1,[],"a\\nb\\u0001é"]'
    assert event.id == hashlib.sha256(text.encode()).hexdigest()


def test_kind_classes() -> None:
    assert Event.sign(KEY, 38383, "", [["d", "x"]]).is_addressable
    assert Event.sign(KEY, 10002, "").is_replaceable
    assert Event.sign(KEY, 21059, "").is_ephemeral


def _valid() -> dict[str, Any]:
    return Event.sign(KEY, 1, "hello", [["e", "00" * 32]], created_at=1700000000).to_json()


def _mutate(path: str, value: object) -> dict[str, Any]:
    obj = copy.deepcopy(_valid())
    if value is KeyError:
        del obj[path]
    else:
        obj[path] = value
    return obj


BAD_EVENTS = {
    "content changed": _mutate("content", "hellO"),
    "sig changed": {**_valid(), "sig": "00" * 64},
    "id changed": {**_valid(), "id": "ab" * 32},
    "uppercase id": {**_valid(), "id": _valid()["id"].upper()},
    "short pubkey": _mutate("pubkey", "ab" * 31),
    "pubkey off curve": _mutate("pubkey", "ff" * 32),
    "missing sig": _mutate("sig", KeyError),
    "extra key": {**_valid(), "relay": "x"},
    "bool created_at": _mutate("created_at", True),
    "float kind": _mutate("kind", 1.0),
    "kind too large": _mutate("kind", 65536),
    "negative created_at": _mutate("created_at", -1),
    "tags not a list": _mutate("tags", {"p": 1}),
    "empty tag": _mutate("tags", [[]]),
    "tag item not a string": _mutate("tags", [["p", 1]]),
    "content not a string": _mutate("content", 5),
    "too many tags": _mutate("tags", [["t"]] * (MAX_TAGS + 1)),
    "not an object": [1, 2],
}


@pytest.mark.parametrize("obj", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_events_are_refused(obj: Any) -> None:
    with pytest.raises(NostrError):
        Event.from_json(obj)


@pytest.mark.parametrize(
    "text",
    [b"\xff\xfe", '{"a":1,"a":2}', "[NaN]", "[Infinity]", "[" * 100000, "", "{", "[1,]"],
    ids=["not utf8", "duplicate key", "nan", "infinity", "deep nesting", "empty", "truncated", "trailing comma"],
)
def test_loads_strict_refuses(text: str | bytes) -> None:
    with pytest.raises(NostrError):
        loads_strict(text)


def test_lone_surrogate_content_is_refused() -> None:
    obj = _valid()
    obj["content"] = "\ud800"
    with pytest.raises(NostrError):
        Event.from_json(obj)
    with pytest.raises(NostrError):
        Event.sign(KEY, 1, "\ud800")


def test_unverified_parse_and_is_valid() -> None:
    event = Event.from_json({**_valid(), "sig": "00" * 64}, verify=False)
    assert not event.is_valid()
    with pytest.raises(NostrError):
        event.verify()


def test_keys() -> None:
    key = NostrKey.generate()
    assert key.secret_bytes().hex() not in repr(key) and key.xonly in repr(key)
    assert NostrKey.from_secret(key.secret_bytes()) == key
    assert parse_xonly(key.xonly) == key.xonly_bytes == parse_xonly(key.xonly_bytes)
    for bad in ("00" * 32, "zz" * 32, "AB" * 32):
        with pytest.raises(NostrError):
            parse_xonly(bad)
    for secret in (bytes(32), b"\xff" * 32, b"\x01" * 31):
        with pytest.raises(NostrError):
            NostrKey.from_secret(secret)
    with pytest.raises(NostrError):
        NostrKey.from_hex("xy" * 32)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=8),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fuzz_random_json_decodes_only_to_nostr_errors(value: object) -> None:
    for obj in (value, json.dumps(value)):
        try:
            event = Event.from_json(obj)
        except NostrError:
            continue
        assert event.is_valid()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(_valid())), json_values)
def test_fuzz_field_replacement(field: str, value: object) -> None:
    obj = {**_valid(), field: value}
    try:
        event = Event.from_json(obj)
    except NostrError:
        return
    assert event.to_json() == _valid()  # only an identical value may pass


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_event_text(data: st.DataObject) -> None:
    raw = bytearray(Event.from_json(_valid()).to_text().encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[pos:]
            if not raw:
                break
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        event = Event.from_json(bytes(raw))
    except NostrError:
        return
    assert event.is_valid()
