"""The user's settings: a small JSON file in the data directory, validated field by field.

The desktop app reads it at start and writes it from its settings page; the core only defines
what a valid file is. Unknown keys are ignored (a newer version may add some), a missing file
means the defaults, and anything malformed raises `SettingsError` naming the field, so the user
can be told what to fix instead of the app refusing to start silently. Writes are atomic (a
temporary file renamed over the old one) so a crash never leaves half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import PeerwalletError

NETWORKS = ("main", "testnet4", "signet", "sandbox")
GAP_LIMIT_RANGE = (1, 1000)
FORMAT_VERSION = 1


class SettingsError(PeerwalletError):
    """A settings file or value that cannot be used; the message names the field."""


class Unit(StrEnum):
    """How amounts are shown."""

    BTC = "BTC"
    SAT = "sat"


class FeeSource(StrEnum):
    """Where suggested fee rates come from (there is no fee server: only what our node saw, or the user)."""

    NODE = "node"  # the light node's own estimate from the mempool it sees and recent blocks
    MANUAL = "manual"  # the user types a rate each time


@dataclass(frozen=True)
class Settings:
    """Everything the user can change. `manual_peers` maps a network to "host:port" entries."""

    network: str = "sandbox"
    manual_peers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    proxy: str | None = None  # "socks5://127.0.0.1:9050"
    unit: Unit = Unit.BTC
    gap_limit: int = 20
    fee_source: FeeSource = FeeSource.NODE
    trade_relays: tuple[str, ...] = ()  # Nostr relays for offers and trade messages ("wss://...")

    def peers_for(self, network: str) -> tuple[str, ...]:
        return self.manual_peers.get(network, ())

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, validated like a loaded file."""
        return from_dict(to_dict(dataclasses.replace(self, **changes)))


def parse_peer(text: str, default_port: int) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or "name.onion:port" -> (host, port); SettingsError otherwise."""
    text = text.strip()
    if not text:
        raise SettingsError("peer address is empty")
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SettingsError(f"peer {text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SettingsError(f"peer {text!r}: expected ':port' after ']'")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") > 1:
        host = text  # a bare IPv6 address
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"peer {text!r}: port must be 1-65535")
        port = int(port_text)
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise SettingsError(f"peer {text!r}: not an IPv6 address") from None
    elif not host or any(c.isspace() or c in "/@[]" for c in host):
        raise SettingsError(f"peer {text!r}: not a host name or address")
    return host, port


def parse_proxy(text: str) -> str:
    """Check a "socks5://host:port" proxy URL; returns it normalised."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as e:
        raise SettingsError(f"proxy {text!r}: {e}") from None
    if parts.scheme not in ("socks5", "socks5h") or not parts.hostname or port is None:
        raise SettingsError(f"proxy {text!r}: expected socks5://host:port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def parse_relay(text: str) -> str:
    """Check a Nostr relay URL ("wss://host[:port][/path]", or "ws://" as for a relay on loopback);
    returns it stripped."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise SettingsError(f"relay {text!r}: {e}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise SettingsError(f"relay {text!r}: expected wss://host[:port][/path]")
    return text


def to_dict(s: Settings) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "network": s.network,
        "manual_peers": {k: list(v) for k, v in s.manual_peers.items()},
        "proxy": s.proxy,
        "unit": str(s.unit),
        "gap_limit": s.gap_limit,
        "fee_source": str(s.fee_source),
        "trade_relays": list(s.trade_relays),
    }


def _enum(cls: type[StrEnum], value: Any, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise SettingsError(f"{name}: {value!r} is not one of {[str(m) for m in cls]}") from None


def from_dict(d: Any) -> Settings:
    """Validate a decoded JSON object; missing keys take their defaults."""
    if not isinstance(d, dict):
        raise SettingsError("settings: expected a JSON object")
    base = Settings()
    network = d.get("network", base.network)
    if network not in NETWORKS:
        raise SettingsError(f"network: {network!r} is not one of {list(NETWORKS)}")
    peers_in = d.get("manual_peers", {})
    if not isinstance(peers_in, dict):
        raise SettingsError("manual_peers: expected an object of lists")
    peers: dict[str, tuple[str, ...]] = {}
    for net, entries in peers_in.items():
        if net not in NETWORKS or not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise SettingsError(f"manual_peers: bad entry for {net!r}")
        for e in entries:
            try:
                parse_peer(e, 1)
            except SettingsError as err:
                raise SettingsError(f"manual_peers: {err}") from None
        if entries:
            peers[net] = tuple(e.strip() for e in entries)
    proxy = d.get("proxy")
    if proxy is not None:
        if not isinstance(proxy, str):
            raise SettingsError("proxy: expected a string or null")
        proxy = parse_proxy(proxy) if proxy.strip() else None
    gap = d.get("gap_limit", base.gap_limit)
    if type(gap) is not int or not GAP_LIMIT_RANGE[0] <= gap <= GAP_LIMIT_RANGE[1]:
        raise SettingsError(f"gap_limit: expected a whole number in {GAP_LIMIT_RANGE[0]}-{GAP_LIMIT_RANGE[1]}")
    relays_in = d.get("trade_relays", [])
    if not isinstance(relays_in, list) or not all(isinstance(r, str) for r in relays_in):
        raise SettingsError("trade_relays: expected a list of relay URLs")
    relays = tuple(dict.fromkeys(parse_relay(r) for r in relays_in))  # in order, without repeats
    return Settings(
        network=network,
        manual_peers=peers,
        proxy=proxy,
        unit=_enum(Unit, d.get("unit", str(base.unit)), "unit"),
        gap_limit=gap,
        fee_source=_enum(FeeSource, d.get("fee_source", str(base.fee_source)), "fee_source"),
        trade_relays=relays,
    )


def parse_settings(data: bytes) -> Settings:
    """Decode a settings file's bytes; SettingsError for anything that is not a valid file."""
    try:
        decoded = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SettingsError(f"settings file is not JSON: {e}") from None
    return from_dict(decoded)


def load_settings(path: Path) -> Settings:
    """The settings stored at `path`, or the defaults if there is no file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as e:
        raise SettingsError(f"cannot read {path}: {e}") from None
    return parse_settings(data)


def save_settings(path: Path, settings: Settings) -> None:
    """Write atomically: a crash leaves either the old file or the new one."""
    text = json.dumps(to_dict(settings), indent=2, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise SettingsError(f"cannot write {path}: {e}") from None
