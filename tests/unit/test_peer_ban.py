"""Discouraged IPs (BanMan discouragement): normalisation, host names, oldest-first forgetting."""

from __future__ import annotations

import ipaddress

import pytest

from core.p2p.ban import Discouraged, normalize_ip


def test_ips_are_normalised() -> None:
    d = Discouraged()
    d.discourage("::ffff:10.0.0.1")  # IPv4-mapped form of 10.0.0.1
    assert d.is_discouraged("10.0.0.1") and "10.0.0.1" in d
    d.discourage("fe80::1%eth0")  # the scope id does not matter
    assert d.is_discouraged("fe80::1") and d.is_discouraged(ipaddress.ip_address("fe80::1"))
    assert not d.is_discouraged("10.0.0.2")
    assert normalize_ip("example.org") is None
    d.discourage("example.org")  # host names cannot be discouraged, only addresses
    assert not d.is_discouraged("example.org") and len(d) == 2
    d.clear()
    assert len(d) == 0 and not d.is_discouraged("10.0.0.1")


def test_oldest_entries_are_forgotten_first() -> None:
    d = Discouraged(max_entries=3)
    for i in range(1, 4):
        d.discourage(f"10.0.0.{i}")
    d.discourage("10.0.0.1")  # refreshed: now the newest
    d.discourage("10.0.0.4")
    assert [d.is_discouraged(f"10.0.0.{i}") for i in range(1, 5)] == [True, False, True, True]
    with pytest.raises(ValueError):
        Discouraged(max_entries=0)
