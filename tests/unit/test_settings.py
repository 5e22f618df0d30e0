"""The settings file: defaults, round trips, field validation, peers and proxies; fuzzed bytes."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.settings import (
    FeeSource,
    Settings,
    SettingsError,
    Unit,
    from_dict,
    load_settings,
    parse_peer,
    parse_proxy,
    parse_relay,
    parse_settings,
    save_settings,
    to_dict,
)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "none.json")
    assert s == Settings()
    assert (s.network, s.unit, s.gap_limit, s.fee_source, s.proxy) == ("sandbox", Unit.BTC, 20, FeeSource.NODE, None)


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    s = Settings(
        network="signet",
        manual_peers={"signet": ("10.0.0.1:38333", "[2001:db8::1]:38333")},
        proxy="socks5://127.0.0.1:9050",
        unit=Unit.SAT,
        gap_limit=50,
        fee_source=FeeSource.MANUAL,
        trade_relays=("wss://relay.example", "ws://127.0.0.1:7000/nostr"),
    )
    path = tmp_path / "sub" / "settings.json"
    save_settings(path, s)
    assert load_settings(path) == s
    assert s.peers_for("signet") == ("10.0.0.1:38333", "[2001:db8::1]:38333") and s.peers_for("main") == ()
    save_settings(path, s.replace(unit=Unit.BTC))  # overwrite in place, no temporary left behind
    assert load_settings(path).unit == Unit.BTC
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]


def test_unknown_keys_are_ignored_and_missing_ones_default() -> None:
    assert parse_settings(b'{"unit": "sat", "future_option": 3}') == Settings(unit=Unit.SAT)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"network": "regtest"}, "network"),
        ({"unit": "mBTC"}, "unit"),
        ({"gap_limit": 0}, "gap_limit"),
        ({"gap_limit": 1001}, "gap_limit"),
        ({"gap_limit": True}, "gap_limit"),
        ({"gap_limit": "20"}, "gap_limit"),
        ({"fee_source": "server"}, "fee_source"),
        ({"proxy": "http://127.0.0.1:8080"}, "proxy"),
        ({"proxy": 9050}, "proxy"),
        ({"manual_peers": {"main": ["1.2.3.4:0"]}}, "manual_peers"),
        ({"manual_peers": {"nowhere": []}}, "manual_peers"),
        ({"manual_peers": ["1.2.3.4"]}, "manual_peers"),
        ({"trade_relays": "wss://relay.example"}, "trade_relays"),
        ({"trade_relays": [7]}, "trade_relays"),
        ({"trade_relays": ["https://relay.example"]}, "relay"),
        ({"trade_relays": ["wss://"]}, "relay"),
        ({"trade_relays": ["wss://relay.example:99999"]}, "relay"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else v,
)
def test_bad_fields_are_named(doc: dict, field: str) -> None:
    with pytest.raises(SettingsError, match=field):
        from_dict(doc)


def test_replace_validates() -> None:
    with pytest.raises(SettingsError, match="gap_limit"):
        Settings().replace(gap_limit=-1)


def test_not_json_or_not_an_object() -> None:
    for data in (b"{", b"\xff\xfe", b"[1, 2]", b"null"):
        with pytest.raises(SettingsError):
            parse_settings(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", 8333)),
        ("1.2.3.4:18444", ("1.2.3.4", 18444)),
        ("[2001:db8::1]:8333", ("2001:db8::1", 8333)),
        ("[2001:db8::1]", ("2001:db8::1", 8333)),
        ("2001:db8::1", ("2001:db8::1", 8333)),
        ("node.example:8333", ("node.example", 8333)),
        (" abcdefghij.onion:9999 ", ("abcdefghij.onion", 9999)),
    ],
)
def test_parse_peer(text: str, expected: tuple[str, int]) -> None:
    assert parse_peer(text, 8333) == expected


@pytest.mark.parametrize("text", ["", ":8333", "1.2.3.4:x", "1.2.3.4:70000", "[::1", "[::1]x", "a b:1", "zz::q"])
def test_parse_peer_rejects(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_peer(text, 8333)


def test_parse_proxy() -> None:
    assert parse_proxy(" socks5://127.0.0.1:9050 ") == "socks5://127.0.0.1:9050"
    assert parse_proxy("socks5h://[::1]:9050") == "socks5h://[::1]:9050"
    for bad in ("socks5://127.0.0.1", "127.0.0.1:9050", "socks5://:9050", "socks5://h:99999"):
        with pytest.raises(SettingsError):
            parse_proxy(bad)


def test_trade_relays_are_checked_and_kept_in_order_without_repeats() -> None:
    doc = {"trade_relays": [" wss://b.example ", "wss://a.example:444/x", "wss://b.example"]}
    assert from_dict(doc).trade_relays == ("wss://b.example", "wss://a.example:444/x")
    assert parse_relay("ws://127.0.0.1:7000") == "ws://127.0.0.1:7000"
    for bad in ("relay.example", "wss://u@relay.example", "wss://relay.example/?q=1", "http://relay.example"):
        with pytest.raises(SettingsError):
            parse_relay(bad)


def test_defaults_serialise_to_a_stable_document() -> None:
    assert to_dict(Settings()) == {
        "version": 1, "network": "sandbox", "manual_peers": {}, "proxy": None, "unit": "BTC", "gap_limit": 20,
        "fee_source": "node", "trade_relays": [],
    }


VALID = json.dumps(to_dict(Settings(manual_peers={"main": ("1.2.3.4:8333",)}, proxy="socks5://h:1"))).encode()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=8).flatmap(
    lambda junk: st.integers(0, len(VALID)).map(lambda i: VALID[:i] + junk + VALID[i + len(junk):])
)))
def test_fuzzed_files_raise_only_settings_errors(data: bytes) -> None:
    with contextlib.suppress(SettingsError):
        parse_settings(data)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["network", "unit", "gap_limit", "proxy", "manual_peers", "fee_source", "main", "x"]),
        inner, max_size=6,
    ),
    max_leaves=20,
))
def test_fuzzed_documents_raise_only_settings_errors(doc: object) -> None:
    with contextlib.suppress(SettingsError):
        from_dict(doc)
