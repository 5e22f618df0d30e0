"""NIP-59 gift wraps: the NIP's worked example, round trips, forged layers, and fuzzing of unwrap."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.trade.errors import GiftWrapError, Nip44Error, NostrError
from core.trade.nostr import nip44, nip59
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from tests.unit.nostr_samples import NIP59_RECIPIENT_SECRET, NIP59_RUMOR, NIP59_WRAP

SENDER = NostrKey.from_hex("0a" * 32)
RECIPIENT = NostrKey.from_hex("0b" * 32)
OTHER = NostrKey.from_hex("0c" * 32)


def test_unwrap_the_nip59_example() -> None:
    rumor = nip59.unwrap(Event.from_json(NIP59_WRAP), NostrKey.from_hex(NIP59_RECIPIENT_SECRET))
    assert rumor.to_json() == NIP59_RUMOR | {"tags": []}
    assert rumor.sender_xonly == NIP59_RUMOR["pubkey"] and rumor.id == NIP59_RUMOR["id"]


def test_round_trip_and_layers() -> None:
    now = int(time.time())
    wrap = nip59.gift_wrap(14, "price 100 EUR", [["trade", "t1"]], SENDER, RECIPIENT.xonly, created_at=now)
    assert wrap.kind == 1059 and wrap.tag_values("p") == [RECIPIENT.xonly]
    assert wrap.pubkey not in (SENDER.xonly, RECIPIENT.xonly)
    assert now - nip59.TWO_DAYS <= wrap.created_at <= now
    rumor = nip59.unwrap(Event.from_json(wrap.to_text()), RECIPIENT)
    assert (rumor.sender_xonly, rumor.kind, rumor.content, rumor.tags, rumor.created_at) == (
        SENDER.xonly, 14, "price 100 EUR", (("trade", "t1"),), now,
    )
    seal = Event.from_json(nip44.decrypt(wrap.content, nip44.conversation_key(RECIPIENT, wrap.pubkey)))
    assert seal.kind == 13 and seal.tags == () and seal.pubkey == SENDER.xonly
    assert now - nip59.TWO_DAYS - 5 <= seal.created_at <= now + 5
    again = nip59.gift_wrap(14, "price 100 EUR", [["trade", "t1"]], SENDER, RECIPIENT.xonly, created_at=now)
    assert again.pubkey != wrap.pubkey and nip59.unwrap(again, RECIPIENT).id == rumor.id


def test_ephemeral_wrap_kind() -> None:
    wrap = nip59.gift_wrap(14, "x", [], SENDER, RECIPIENT.xonly, wrap_kind=nip59.KIND_EPHEMERAL_GIFT_WRAP)
    assert wrap.kind == 21059 and nip59.unwrap(wrap, RECIPIENT).content == "x"


def _rumor_obj(pubkey: str = SENDER.xonly, **changes: Any) -> dict[str, Any]:
    obj = nip59.make_rumor(14, "hi", [], pubkey, 1700000000).to_json()
    obj.update(changes)
    return obj


def _wrap_seal(seal: Event, recipient: str = RECIPIENT.xonly) -> Event:
    return nip59.wrap(seal, recipient)


def _forged(rumor: object, signer: NostrKey = SENDER, seal_tags: Sequence[Sequence[str]] = (), kind: int = 13) -> Event:
    conv = nip44.conversation_key(signer, RECIPIENT.xonly)
    text = rumor if isinstance(rumor, str) else json.dumps(rumor)
    return _wrap_seal(Event.sign(signer, kind, nip44.encrypt(text, conv), seal_tags))


FORGERIES = {
    "rumor pubkey is not the seal signer": lambda: _forged(_rumor_obj(OTHER.xonly)),
    "seal with tags": lambda: _forged(_rumor_obj(), seal_tags=[["p", RECIPIENT.xonly]]),
    "signed rumor": lambda: _forged(_rumor_obj(sig="00" * 64)),
    "rumor id mismatch": lambda: _forged(_rumor_obj(id="11" * 32)),
    "rumor extra field": lambda: _forged(_rumor_obj(extra=1)),
    "rumor not json": lambda: _forged("not json"),
    "rumor not an object": lambda: _forged([1, 2]),
    "inner event not a seal": lambda: _forged(_rumor_obj(), kind=1),
    "seal not json": lambda: Event.sign(
        OTHER, 1059, nip44.encrypt("{", nip44.conversation_key(OTHER, RECIPIENT.xonly)), [["p", RECIPIENT.xonly]]
    ),
    "addressed to someone else": lambda: nip59.gift_wrap(14, "x", [], SENDER, OTHER.xonly),
}


@pytest.mark.parametrize("make", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_layers_are_refused(make: Any) -> None:
    with pytest.raises(GiftWrapError):
        nip59.unwrap(make(), RECIPIENT)


def test_forged_seal_signature() -> None:
    conv = nip44.conversation_key(SENDER, RECIPIENT.xonly)
    seal = Event.sign(SENDER, 13, nip44.encrypt(json.dumps(_rumor_obj()), conv))
    bad_seal = Event.from_json({**seal.to_json(), "sig": Event.sign(SENDER, 13, "x").sig}, verify=False)
    with pytest.raises(GiftWrapError):
        nip59.unwrap(_wrap_seal(bad_seal), RECIPIENT)


def test_tampered_wrap_and_wrong_kind() -> None:
    wrap = nip59.gift_wrap(14, "x", [], SENDER, RECIPIENT.xonly)
    tampered = Event.from_json({**wrap.to_json(), "content": wrap.content[:-4] + "AAA="}, verify=False)
    with pytest.raises(GiftWrapError):
        nip59.unwrap(tampered, RECIPIENT)
    with pytest.raises(GiftWrapError):
        nip59.unwrap(Event.sign(OTHER, 1, wrap.content, wrap.tags), RECIPIENT)


def test_without_p_tag_a_wrong_recipient_fails_the_mac() -> None:
    seal = nip59.seal(nip59.make_rumor(14, "x", [], SENDER.xonly), SENDER, OTHER.xonly)
    one_time = NostrKey.generate()
    wrap = Event.sign(one_time, 1059, nip44.encrypt(seal.to_text(), nip44.conversation_key(one_time, OTHER.xonly)))
    with pytest.raises(Nip44Error):
        nip59.unwrap(wrap, RECIPIENT)
    assert nip59.unwrap(wrap, OTHER).content == "x"


def test_sealing_with_another_key_is_refused() -> None:
    with pytest.raises(GiftWrapError):
        nip59.seal(nip59.make_rumor(14, "x", [], OTHER.xonly), SENDER, RECIPIENT.xonly)
    with pytest.raises(NostrError):
        nip59.gift_wrap(14, "x", [], SENDER, "ff" * 32)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=7),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_wrap_content(content: str) -> None:
    event = Event.sign(OTHER, 1059, content, [["p", RECIPIENT.xonly]])
    with pytest.raises(NostrError):
        nip59.unwrap(event, RECIPIENT)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_encrypted_garbage_seal(value: object) -> None:
    conv = nip44.conversation_key(OTHER, RECIPIENT.xonly)
    event = Event.sign(OTHER, 1059, nip44.encrypt(json.dumps(value) or "x", conv), [["p", RECIPIENT.xonly]])
    with pytest.raises(NostrError):
        nip59.unwrap(event, RECIPIENT)


rumor_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["11" * 32, "zz"]) | json_values,
        "pubkey": st.sampled_from([SENDER.xonly, OTHER.xonly]) | json_values,
        "created_at": st.integers(-5, 2**60) | json_values,
        "kind": st.integers(-5, 70000) | json_values,
        "tags": st.lists(st.lists(st.text(max_size=5), max_size=3), max_size=3) | json_values,
        "content": st.text(max_size=20) | json_values,
        "sig": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(rumor_fields)
def test_fuzz_rumor_fields(rumor: dict[str, Any]) -> None:
    try:
        result = nip59.unwrap(_forged(rumor), RECIPIENT)
    except NostrError:
        return
    assert result.sender_xonly == SENDER.xonly and "sig" not in rumor  # only genuine rumors pass
