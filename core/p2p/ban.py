"""Discouraged addresses: Bitcoin Core's BanMan discouragement, keyed by IP address.

Core remembers misbehaving peers' addresses in a rolling bloom filter of 50,000 entries, so the
oldest are forgotten first and nothing is written to disk; this keeps the same semantics with an
insertion-ordered dict (exact, and small enough at that size). Ports are ignored: a misbehaving
host is discouraged on every port, as in Core.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Core's discouragement filter size (banman.h: CRollingBloomFilter m_discouraged{50000, ...}).
DISCOURAGED_MAX_ENTRIES = 50_000


def normalize_ip(host: str | IPAddress) -> IPAddress | None:
    """The IP address `host` names (IPv4-mapped IPv6 as IPv4, scope id dropped); None for a host name."""
    if isinstance(host, str):
        try:
            addr: IPAddress = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return None
    else:
        addr = host
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.scope_id is not None:
            return ipaddress.IPv6Address(addr.packed)
    return addr


class Discouraged:
    """The set of discouraged IPs, forgetting the oldest beyond `max_entries`."""

    __slots__ = ("_entries", "max_entries")

    def __init__(self, max_entries: int = DISCOURAGED_MAX_ENTRIES) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._entries: dict[IPAddress, None] = {}

    def discourage(self, host: str | IPAddress) -> None:
        """Remember `host` (Core's BanMan::Discourage); host names that are not IPs are ignored."""
        addr = normalize_ip(host)
        if addr is None:
            return
        self._entries.pop(addr, None)  # re-discouraging refreshes the entry's age
        self._entries[addr] = None
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]

    def is_discouraged(self, host: str | IPAddress) -> bool:
        """Whether `host` was discouraged (Core's BanMan::IsDiscouraged); False for host names."""
        addr = normalize_ip(host)
        return addr is not None and addr in self._entries

    __contains__ = is_discouraged

    def clear(self) -> None:
        """Forget every entry (Core's ClearDiscouraged)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
