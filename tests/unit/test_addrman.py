"""The address book: add/good/select, bucket limits, discouragement, persistence, addr-message fuzzing."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.node.addrman import (
    BUCKET_SIZE,
    NEW_BUCKET_COUNT,
    NEW_BUCKETS_PER_SOURCE_GROUP,
    RECENT_FAILURE,
    TRIED_BUCKET_COUNT,
    AddrMan,
    network_group,
)
from core.p2p.ban import Discouraged
from core.p2p.messages import MsgAddr, MsgAddrV2
from core.p2p.messages.address import NetworkAddress, NetworkAddressV2, TimestampedAddress
from core.p2p.services import ServiceFlags

NOW = 1_700_000_000.0
SERVICES = ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def book(seed: int = 1, clock: Clock | None = None) -> AddrMan:
    return AddrMan(bytes(32), rng=random.Random(seed), now=clock or Clock())


def test_network_groups() -> None:
    assert network_group("1.2.3.4") == network_group("1.2.200.9") == "4:1.2"
    assert network_group("1.3.3.4") != network_group("1.2.3.4")
    assert network_group("2a01:4f8:1::1") == network_group("2a01:4f8:ffff::2") == "6:2a0104f8"
    assert network_group("::ffff:1.2.3.4") == "4:1.2"
    assert network_group("127.0.0.1") == network_group("10.0.0.1") == "local"
    onion = "a" * 56 + ".onion"
    assert network_group(onion).startswith("onion:")
    assert network_group(onion) != network_group("1.2.3.4")


def test_add_refuses_unroutable_unless_manual() -> None:
    b = book()
    assert not b.add("10.1.2.3", 8333, SERVICES, source="1.1.1.1")
    assert not b.add("127.0.0.1", 8333)
    assert b.add("127.0.0.1", 8333, require_routable=False)
    assert b.add("8.8.8.8", 8333, SERVICES, source="1.1.1.1")
    assert not b.add("8.8.8.8", 8333, ServiceFlags.NODE_COMPACT_FILTERS)  # known: services merged
    info = b.get("8.8.8.8", 8333)
    assert info is not None and info.services & ServiceFlags.NODE_COMPACT_FILTERS
    assert len(b) == 2 and b.new_count == 2 and b.tried_count == 0


def test_good_moves_to_tried_and_select_finds_it() -> None:
    b = book()
    b.add("8.8.8.8", 8333, SERVICES)
    b.good("8.8.8.8", 8333)
    assert b.tried_count == 1 and b.new_count == 0
    info = b.select()
    assert info is not None and info.host == "8.8.8.8" and info.tried
    assert b.select(new_only=True) is None


def test_select_mixes_tried_and_new() -> None:
    b = book(seed=3)
    for i in range(20):
        b.add(f"{i + 1}.9.0.1", 8333, SERVICES)
    for i in range(10):
        b.good(f"{i + 1}.9.0.1", 8333)
    picks = [b.select() for _ in range(400)]
    tried = sum(1 for p in picks if p is not None and p.tried)
    assert 120 < tried < 280  # about half


def test_recent_failure_and_discouraged_skipped() -> None:
    clock = Clock()
    b = book(clock=clock)
    b.add("8.8.8.8", 8333, SERVICES)
    b.add("9.9.9.9", 8333, SERVICES)
    b.attempt("8.8.8.8", 8333)
    disc = Discouraged()
    disc.discourage("9.9.9.9")
    assert b.select(discouraged=disc) is None
    assert b.select().host == "9.9.9.9"  # type: ignore[union-attr]
    clock.t += RECENT_FAILURE + 1
    assert b.select(discouraged=disc).host == "8.8.8.8"  # type: ignore[union-attr]
    assert b.select(exclude=lambda i: i.group == "4:8.8", discouraged=disc) is None


def test_one_source_group_fills_limited_buckets() -> None:
    b = book()
    # 20,000 distinct addresses all relayed by peers of a single /16: they can only reach
    # NEW_BUCKETS_PER_SOURCE_GROUP buckets, so most are dropped.
    for i in range(20_000):
        ip = ipaddress.IPv4Address(0x0B000000 + i * 97)
        b.add(str(ip), 8333, SERVICES, source=f"5.5.{i % 256}.1")
    assert b.new_count <= NEW_BUCKETS_PER_SOURCE_GROUP * BUCKET_SIZE
    assert b.new_count == len(b)
    assert len(b) < 20_000


def test_tables_never_exceed_bucket_capacity() -> None:
    b = book()
    rng = random.Random(5)
    for _ in range(6000):
        ip = str(ipaddress.IPv4Address(rng.randrange(0x01000000, 0xDF000000)))
        added = b.add(ip, 8333, SERVICES, source=f"{rng.randrange(1, 220)}.{rng.randrange(256)}.0.1")
        if added and rng.random() < 0.5:
            b.good(ip, 8333)
    assert b.tried_count <= TRIED_BUCKET_COUNT * BUCKET_SIZE
    assert b.new_count <= NEW_BUCKET_COUNT * BUCKET_SIZE
    assert b.tried_count + b.new_count == len(b)
    assert b.tried_count > 0


def test_persistence_round_trip(tmp_path: Path) -> None:
    b = book()
    b.add("8.8.8.8", 8333, SERVICES, source="1.1.1.1")
    b.add("2a01:4f8::1", 8333, SERVICES)
    b.add("4.4.4.4", 18333, SERVICES)
    b.good("4.4.4.4", 18333)
    b.attempt("8.8.8.8", 8333)
    path = tmp_path / "peers.json"
    b.save(path)
    assert not path.with_name("peers.json.tmp").exists()
    c = AddrMan.load(path, now=Clock())
    assert c.key == b.key
    assert sorted(map(repr, c.entries())) == sorted(map(repr, b.entries()))
    assert c.tried_count == 1 and c.new_count == 2
    assert c.get("8.8.8.8", 8333).attempts == 1  # type: ignore[union-attr]


def test_load_missing_or_corrupt_gives_empty_book(tmp_path: Path) -> None:
    assert len(AddrMan.load(tmp_path / "absent.json")) == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert len(AddrMan.load(bad)) == 0
    bad.write_text(json.dumps({"version": 1, "key": "00" * 32, "entries": [{"host": 1}]}))
    assert len(AddrMan.load(bad)) == 0


def _v1_entry() -> st.SearchStrategy[TimestampedAddress]:
    ip = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
    na = st.builds(NetworkAddress, st.integers(0, (1 << 64) - 1), ip, st.integers(0, 0xFFFF))
    return st.builds(TimestampedAddress, st.integers(0, (1 << 32) - 1), na)


def _v2_entry() -> st.SearchStrategy[NetworkAddressV2]:
    def make(t: int, s: int, net: int, raw: bytes, port: int) -> NetworkAddressV2:
        size = {1: 4, 2: 16, 4: 32, 5: 32, 6: 16}.get(net, len(raw))
        return NetworkAddressV2(t, ServiceFlags(s), net, (raw * 32)[:size] if raw else bytes(size), port)

    return st.builds(
        make,
        st.integers(0, (1 << 32) - 1),
        st.integers(0, (1 << 64) - 1),
        st.sampled_from([1, 2, 4, 5, 6, 7, 200]),
        st.binary(max_size=32),
        st.integers(0, 0xFFFF),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(_v1_entry(), max_size=30).map(lambda e: MsgAddr(tuple(e))),
            st.lists(_v2_entry(), max_size=30).map(lambda e: MsgAddrV2(tuple(e))),
        ),
        max_size=8,
    ),
    st.ip_addresses(v=4),
)
def test_fuzz_addr_ingestion(messages: list[MsgAddr | MsgAddrV2], source: ipaddress.IPv4Address) -> None:
    b = book()
    total = 0
    for msg in messages:
        total += b.add_message(msg, str(source))
        info = b.select()
        if info is not None:
            b.good(info.host, info.port)
    assert len(b) <= total
    assert b.tried_count + b.new_count == len(b)
    assert b.new_count <= NEW_BUCKET_COUNT * BUCKET_SIZE
    assert b.tried_count <= TRIED_BUCKET_COUNT * BUCKET_SIZE
