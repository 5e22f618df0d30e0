"""The address book: Bitcoin Core's AddrMan, simplified, with "new" and "tried" tables.

Addresses heard of (DNS seeds, `addr`/`addrv2`, manual) go to the *new* table; one that completed
a handshake moves to the *tried* table (`good`). Both tables are arrays of fixed-size buckets, and
an address's bucket and slot come from a keyed hash of its network group (and, for new entries,
of the group of the peer that told us about it). The key is random per node and kept on disk, so
a peer cannot predict where its addresses land, and one source group can only ever fill
NEW_BUCKETS_PER_SOURCE_GROUP of the new buckets — an attacker with few network groups cannot
flush the table (Core's eclipse-attack defence). Bucket counts are a quarter of Core's (a light
node keeps a small book); the rules are Core's: a collision in the new table keeps the occupant
unless it is "terrible", and a collision in the tried table sends the occupant back to new.

`select` picks tried or new at even odds, weighting entries by Core's GetChance (fewer failed
attempts, not tried in the last ten minutes), and skips discouraged and recently failed addresses.
The book persists as JSON written atomically (temp file + rename); an unreadable file is logged
and replaced by an empty book, since the book is only a cache of what the network tells us.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path

from core.p2p.ban import Discouraged
from core.p2p.messages import MsgAddr, MsgAddrV2
from core.p2p.messages.address import BIP155Network

log = logging.getLogger(__name__)

#: Core has 1024 new and 256 tried buckets of 64; a light node keeps a quarter of that.
NEW_BUCKET_COUNT = 256
TRIED_BUCKET_COUNT = 64
BUCKET_SIZE = 64
#: One source group reaches at most this many new buckets (Core: 64).
NEW_BUCKETS_PER_SOURCE_GROUP = 64
#: One address group reaches at most this many tried buckets (Core: 8).
TRIED_BUCKETS_PER_GROUP = 8
#: Core's ADDRMAN_HORIZON: addresses not seen for 30 days are terrible.
HORIZON = 30 * 86400
#: Core's ADDRMAN_RETRIES: an address never connected to is terrible after this many failures.
RETRIES = 3
#: Core's ADDRMAN_MAX_FAILURES within ADDRMAN_MIN_FAIL (7 days) since the last success.
MAX_FAILURES = 10
MIN_FAIL = 7 * 86400
#: An address whose last attempt failed this recently is not selected.
RECENT_FAILURE = 10 * 60
#: Core penalises addresses relayed by others by two hours (their time is second hand).
RELAY_PENALTY = 2 * 3600
FORMAT_VERSION = 1


class Net(StrEnum):
    """The network an address belongs to (Core's Network, reduced to what a light node can reach)."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    ONION = "onion"
    OTHER = "other"


def network_of(host: str) -> Net:
    """IPv4, IPv6, onion (a Tor v3 name) or other (I2P, CJDNS, host names)."""
    if host.endswith(".onion"):
        return Net.ONION
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return Net.OTHER
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return Net.IPV6
    return Net.IPV4


def normalize_host(host: str) -> str:
    """One spelling per address: compressed IPv6, IPv4-mapped IPv6 as IPv4, lower-case names."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def is_routable(host: str) -> bool:
    """Whether an address is worth relaying and keeping (Core's IsRoutable): public IP or onion."""
    net = network_of(host)
    if net == Net.ONION:
        return True
    if net == Net.OTHER:
        return False
    return ipaddress.ip_address(host).is_global


def is_local(host: str) -> bool:
    """Loopback (Core's IsLocal): such peers are disconnected but never discouraged."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def network_group(host: str) -> str:
    """Core's GetGroup: /16 for IPv4, /32 for IPv6, onion by its first 4 bits, local/unroutable as one."""
    net = network_of(host)
    if net == Net.ONION:
        return "onion:" + host[:1]  # base32 first character: the top 5 bits (Core uses 4)
    if net == Net.OTHER:
        return "other:" + host
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_private or ip.is_unspecified or ip.is_link_local:
        return "local"
    if isinstance(ip, ipaddress.IPv4Address):
        return "4:" + ".".join(str(b) for b in ip.packed[:2])
    return "6:" + ip.packed[:4].hex()


@dataclass(slots=True)
class AddrInfo:
    """One known address and what we know about reaching it (Core's AddrInfo)."""

    host: str
    port: int
    services: int = 0
    time: int = 0  # when it was last heard of (addr timestamp)
    source: str = ""  # the host that told us ("" for manual / DNS)
    last_try: float = 0.0
    last_success: float = 0.0
    attempts: int = 0
    tried: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def group(self) -> str:
        return network_group(self.host)

    def is_terrible(self, now: float) -> bool:
        """Core's IsTerrible: too old, from the future, or failing too often."""
        if self.last_try and now - self.last_try < 60:
            return False  # never remove things tried in the last minute
        if self.time > now + 600:
            return True
        if now - self.time > HORIZON:
            return True
        if self.last_success == 0 and self.attempts >= RETRIES:
            return True
        return now - self.last_success > MIN_FAIL and self.attempts >= MAX_FAILURES

    def chance(self, now: float) -> float:
        """Core's GetChance: relative selection weight."""
        c = 1.0
        if now - self.last_try < RECENT_FAILURE:
            c *= 0.01
        return c * 0.66 ** min(self.attempts, 8)


class AddrMan:
    """The address book. `now` and `rng` are injectable for tests; `key` keeps bucket positions stable."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        rng: random.Random | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.key = key if key is not None else secrets.token_bytes(32)
        self._rng = rng or random.Random()
        self._now = now
        self._entries: dict[tuple[str, int], AddrInfo] = {}
        self._slots: dict[tuple[str, int], tuple[bool, int, int]] = {}  # key -> (tried, bucket, pos)
        self._new: dict[tuple[int, int], tuple[str, int]] = {}
        self._tried: dict[tuple[int, int], tuple[str, int]] = {}

    # --- bucketing -------------------------------------------------------------------------------

    def _hash(self, *parts: object) -> int:
        h = hashlib.blake2b(digest_size=8, key=self.key[:64])
        for p in parts:
            h.update(str(p).encode("utf-8", "surrogateescape") + b"\x00")
        return int.from_bytes(h.digest(), "little")

    def _new_slot(self, info: AddrInfo) -> tuple[int, int]:
        src_group = network_group(info.source) if info.source else "manual"
        h1 = self._hash("new1", info.group, src_group) % NEW_BUCKETS_PER_SOURCE_GROUP
        bucket = self._hash("new2", src_group, h1) % NEW_BUCKET_COUNT
        return bucket, self._hash("pos", "N", bucket, info.host, info.port) % BUCKET_SIZE

    def _tried_slot(self, info: AddrInfo) -> tuple[int, int]:
        h1 = self._hash("tried1", info.host, info.port) % TRIED_BUCKETS_PER_GROUP
        bucket = self._hash("tried2", info.group, h1) % TRIED_BUCKET_COUNT
        return bucket, self._hash("pos", "T", bucket, info.host, info.port) % BUCKET_SIZE

    def _unlink(self, key: tuple[str, int]) -> None:
        slot = self._slots.pop(key, None)
        if slot is not None:
            table = self._tried if slot[0] else self._new
            table.pop((slot[1], slot[2]), None)

    def _delete(self, key: tuple[str, int]) -> None:
        self._unlink(key)
        self._entries.pop(key, None)

    def _place_new(self, info: AddrInfo) -> bool:
        """Put `info` in its new-table slot; an occupant stays unless it is terrible. False: dropped."""
        slot = self._new_slot(info)
        occupant = self._new.get(slot)
        if occupant is not None and occupant != info.key:
            if not self._entries[occupant].is_terrible(self._now()):
                return False
            self._delete(occupant)
        info.tried = False
        self._entries[info.key] = info
        self._new[slot] = info.key
        self._slots[info.key] = (False, *slot)
        return True

    def _place_tried(self, info: AddrInfo) -> None:
        """Put `info` in its tried slot; an occupant goes back to the new table (or is dropped)."""
        self._unlink(info.key)
        slot = self._tried_slot(info)
        occupant = self._tried.get(slot)
        if occupant is not None and occupant != info.key:
            old = self._entries[occupant]
            self._unlink(occupant)
            if not self._place_new(old):
                self._entries.pop(occupant, None)
        info.tried = True
        self._entries[info.key] = info
        self._tried[slot] = info.key
        self._slots[info.key] = (True, *slot)

    # --- adding ----------------------------------------------------------------------------------

    def add(
        self,
        host: str,
        port: int,
        services: int = 0,
        *,
        source: str = "",
        time_seen: int | None = None,
        require_routable: bool = True,
    ) -> bool:
        """Learn an address (Core's AddrMan::Add). True if it is new to the book.

        Known addresses get their services and last-seen time refreshed. Unroutable addresses
        (private, loopback, ...) are refused unless `require_routable` is False (manual entries).
        """
        host = normalize_host(host)
        if not 0 < port <= 0xFFFF or (require_routable and not is_routable(host)):
            return False
        now = self._now()
        seen = int(now) if time_seen is None else time_seen
        if seen <= 100_000_000 or seen > now + 600:
            seen = int(now - 5 * 86400)  # Core: nonsense timestamps become "five days ago"
        if source and normalize_host(source) != host:
            seen = max(0, seen - RELAY_PENALTY)
        existing = self._entries.get((host, port))
        if existing is not None:
            existing.services |= int(services)
            existing.time = max(existing.time, seen)
            return False
        return self._place_new(AddrInfo(host, port, int(services), seen, normalize_host(source) if source else ""))

    def add_message(self, msg: MsgAddr | MsgAddrV2, source: str) -> int:
        """Add the usable entries of an addr/addrv2 message from peer `source`; returns how many were new."""
        added = 0
        if isinstance(msg, MsgAddr):
            for ta in msg.addresses:
                added += self.add(str(ta.address.ip), ta.address.port, ta.address.services,
                                  source=source, time_seen=ta.time)
            return added
        for a in msg.addresses:
            # I2P and CJDNS need their own routers; unknown networks are ignored as Core does.
            if a.network in (BIP155Network.IPV4, BIP155Network.IPV6, BIP155Network.TORV3):
                added += self.add(a.host, a.port, a.services, source=source, time_seen=a.time)
        return added

    # --- outcomes --------------------------------------------------------------------------------

    def attempt(self, host: str, port: int, *, count_failure: bool = True) -> None:
        """Record a connection attempt (Core's Attempt); failures lower its selection chance."""
        info = self._entries.get((normalize_host(host), port))
        if info is None:
            return
        info.last_try = self._now()
        if count_failure:
            info.attempts += 1

    def good(self, host: str, port: int, services: int | None = None) -> None:
        """A handshake succeeded (Core's Good): reset failures and move the address to the tried table."""
        info = self._entries.get((normalize_host(host), port))
        if info is None:
            return
        now = self._now()
        info.last_success = info.last_try = now
        info.time = int(now)
        info.attempts = 0
        if services is not None:
            info.services = int(services)
        if not info.tried:
            self._place_tried(info)

    def remove(self, host: str, port: int) -> None:
        """Forget an address."""
        self._delete((normalize_host(host), port))

    # --- queries ---------------------------------------------------------------------------------

    def get(self, host: str, port: int) -> AddrInfo | None:
        return self._entries.get((normalize_host(host), port))

    def __contains__(self, key: tuple[str, int]) -> bool:
        return (normalize_host(key[0]), key[1]) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def new_count(self) -> int:
        return len(self._new)

    @property
    def tried_count(self) -> int:
        return len(self._tried)

    def entries(self) -> list[AddrInfo]:
        return list(self._entries.values())

    def select(
        self,
        *,
        new_only: bool = False,
        discouraged: Discouraged | None = None,
        exclude: Callable[[AddrInfo], bool] | None = None,
    ) -> AddrInfo | None:
        """An address to try (Core's Select): tried or new at even odds, weighted by GetChance.

        Skips discouraged addresses, those whose last attempt failed within RECENT_FAILURE, and
        any `exclude` rejects (e.g. groups already connected). None when nothing qualifies.
        """
        now = self._now()

        def usable(info: AddrInfo) -> bool:
            if discouraged is not None and discouraged.is_discouraged(info.host):
                return False
            if info.attempts and info.last_try > info.last_success and now - info.last_try < RECENT_FAILURE:
                return False
            return exclude is None or not exclude(info)

        tried = [] if new_only else [i for i in self._entries.values() if i.tried and usable(i)]
        new = [i for i in self._entries.values() if not i.tried and usable(i)]
        if tried and new:
            table = tried if self._rng.random() < 0.5 else new
        else:
            table = tried or new
        if not table:
            return None
        weights = [i.chance(now) for i in table]
        return self._rng.choices(table, weights)[0]

    # --- persistence -----------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the book atomically: a temp file beside `path`, fsynced, then renamed over it."""
        data = {
            "version": FORMAT_VERSION,
            "key": self.key.hex(),
            "entries": [asdict(i) for i in self._entries.values()],
        }
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(
        cls, path: Path, *, rng: random.Random | None = None, now: Callable[[], float] = time.time
    ) -> AddrMan:
        """Read a saved book; a missing or unreadable file gives an empty one (logged)."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError("unknown format")
            book = cls(bytes.fromhex(data["key"]), rng=rng, now=now)
            book._restore(data["entries"])
            return book
        except FileNotFoundError:
            return cls(rng=rng, now=now)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("address book %s unreadable (%s); starting empty", path, e)
            return cls(rng=rng, now=now)

    def _restore(self, rows: Iterable[object]) -> None:
        names = {f.name: f.type for f in fields(AddrInfo)}
        infos: list[AddrInfo] = []
        for row in rows:
            if not isinstance(row, dict) or set(row) != set(names):
                raise ValueError("bad entry")
            info = AddrInfo(**row)
            if not isinstance(info.host, str) or not isinstance(info.port, int) or not 0 < info.port <= 0xFFFF:
                raise ValueError("bad entry")
            info.host = normalize_host(info.host)
            infos.append(info)
        for info in sorted(infos, key=lambda i: not i.tried):  # tried first, as they were
            if info.tried:
                self._place_tried(info)
            else:
                self._place_new(info)
