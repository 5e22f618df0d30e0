"""NIP-01 events: id (sha256 of the canonical serialization), BIP340 signatures, strict decoding.

The canonical serialization is `[0,pubkey,created_at,kind,tags,content]` as compact JSON with
non-ASCII characters verbatim, which is what `json.dumps(..., ensure_ascii=False)` writes (and what
nostr-tools' JSON.stringify writes: control characters other than \\b\\f\\n\\r\\t as \\u00XX).
Decoding is strict because everything here comes from relays: exact field set, lowercase hex of the
right sizes, integer ranges, caps on sizes and tag counts, no duplicate JSON keys, no NaN; anything
else raises NostrError.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.trade.errors import NostrError
from core.trade.nostr.keys import NostrKey, is_lower_hex, verify_schnorr

#: Caps on what we accept from relays (generous for trade messages and foreign orders).
MAX_JSON_CHARS = 512 * 1024
MAX_CONTENT_CHARS = 256 * 1024
MAX_TAGS = 2000
MAX_TAG_ITEMS = 64
MAX_TAG_ITEM_CHARS = 16 * 1024
MAX_KIND = 65535
MAX_CREATED_AT = 2**53 - 1  # the largest integer every JSON implementation reads exactly

EVENT_FIELDS = frozenset(("id", "pubkey", "created_at", "kind", "tags", "content", "sig"))

Tags = tuple[tuple[str, ...], ...]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str | bytes, max_chars: int = MAX_JSON_CHARS) -> Any:
    """Parse untrusted JSON text: size-capped, UTF-8, no duplicate keys, no NaN/Infinity.

    Raises NostrError for anything else (including absurd nesting)."""
    if isinstance(text, bytes | bytearray):
        if len(text) > 4 * max_chars:
            raise NostrError("JSON text too large")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NostrError("JSON text is not UTF-8") from exc
    if not isinstance(text, str):
        raise NostrError("JSON text must be a string")
    if len(text) > max_chars:
        raise NostrError("JSON text too large")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise NostrError(f"bad JSON: {exc}") from exc


def dumps_compact(obj: object) -> str:
    """Compact JSON with non-ASCII verbatim, the form NIP-01 hashes and relays expect."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is not accepted as an int
        raise NostrError(f"{name} must be an integer in [{low}, {high}]")
    return value


def check_tags(tags: object) -> Tags:
    """Validate a tag list (list of non-empty lists of strings, capped) and freeze it to tuples."""
    if not isinstance(tags, list | tuple):
        raise NostrError("tags must be a list")
    if len(tags) > MAX_TAGS:
        raise NostrError("too many tags")
    out: list[tuple[str, ...]] = []
    for tag in tags:
        if not isinstance(tag, list | tuple) or not 1 <= len(tag) <= MAX_TAG_ITEMS:
            raise NostrError("each tag must be a list of 1..64 strings")
        for item in tag:
            if not isinstance(item, str) or len(item) > MAX_TAG_ITEM_CHARS:
                raise NostrError("tag items must be strings of bounded size")
        out.append(tuple(tag))
    return tuple(out)


def check_content(content: object) -> str:
    """Validate event content: a string within MAX_CONTENT_CHARS."""
    if not isinstance(content, str) or len(content) > MAX_CONTENT_CHARS:
        raise NostrError("content must be a string of bounded size")
    return content


def serialize_for_id(pubkey: str, created_at: int, kind: int, tags: Sequence[Sequence[str]], content: str) -> bytes:
    """The NIP-01 serialization `[0,pubkey,created_at,kind,tags,content]` as UTF-8 bytes."""
    text = dumps_compact([0, pubkey, created_at, kind, [list(t) for t in tags], content])
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates (from "\ud800" escapes) have no UTF-8 form
        raise NostrError("event text is not valid Unicode") from exc


def compute_id(pubkey: str, created_at: int, kind: int, tags: Sequence[Sequence[str]], content: str) -> str:
    """The event id: lowercase hex sha256 of the NIP-01 serialization."""
    return hashlib.sha256(serialize_for_id(pubkey, created_at, kind, tags, content)).hexdigest()


@dataclass(frozen=True)
class Event:
    """A signed Nostr event (NIP-01). Build with `Event.sign`, decode with `Event.from_json`."""

    id: str
    pubkey: str
    created_at: int
    kind: int
    tags: Tags
    content: str
    sig: str

    @classmethod
    def sign(
        cls,
        secret: bytes | NostrKey,
        kind: int,
        content: str,
        tags: Iterable[Sequence[str]] = (),
        created_at: int | None = None,
    ) -> Event:
        """A new event signed by `secret` (32 bytes or a NostrKey); created_at defaults to now."""
        key = secret if isinstance(secret, NostrKey) else NostrKey.from_secret(secret)
        when = int(time.time()) if created_at is None else created_at
        _check_int(when, "created_at", 0, MAX_CREATED_AT)
        _check_int(kind, "kind", 0, MAX_KIND)
        frozen = check_tags([list(t) for t in tags])
        check_content(content)
        event_id = compute_id(key.xonly, when, kind, frozen, content)
        sig = key.sign_schnorr(bytes.fromhex(event_id)).hex()
        return cls(event_id, key.xonly, when, kind, frozen, content, sig)

    def computed_id(self) -> str:
        """The id this event's fields hash to (equal to `id` for a valid event)."""
        return compute_id(self.pubkey, self.created_at, self.kind, self.tags, self.content)

    def is_valid(self) -> bool:
        """True if the id matches the fields and the BIP340 signature verifies under pubkey."""
        try:
            if self.computed_id() != self.id:
                return False
        except NostrError:
            return False
        return verify_schnorr(bytes.fromhex(self.pubkey), bytes.fromhex(self.id), bytes.fromhex(self.sig))

    def verify(self) -> None:
        """Raise NostrError unless the id matches the fields and the signature verifies."""
        if self.computed_id() != self.id:
            raise NostrError("event id does not match its contents")
        if not verify_schnorr(bytes.fromhex(self.pubkey), bytes.fromhex(self.id), bytes.fromhex(self.sig)):
            raise NostrError("bad event signature")

    @classmethod
    def from_json(cls, obj: object, *, verify: bool = True) -> Event:
        """Decode an event from a parsed JSON object or JSON text, strictly; verify id and signature
        unless `verify=False`. Raises NostrError for anything malformed or invalid."""
        if isinstance(obj, str | bytes | bytearray):
            obj = loads_strict(obj)
        if not isinstance(obj, dict):
            raise NostrError("event must be a JSON object")
        if set(obj) != EVENT_FIELDS:
            raise NostrError("event must have exactly the NIP-01 fields")
        event_id, pubkey, sig = obj["id"], obj["pubkey"], obj["sig"]
        if not is_lower_hex(event_id, 32) or not is_lower_hex(pubkey, 32) or not is_lower_hex(sig, 64):
            raise NostrError("id, pubkey and sig must be lowercase hex of 32, 32 and 64 bytes")
        event = cls(
            id=event_id,
            pubkey=pubkey,
            created_at=_check_int(obj["created_at"], "created_at", 0, MAX_CREATED_AT),
            kind=_check_int(obj["kind"], "kind", 0, MAX_KIND),
            tags=check_tags(obj["tags"]),
            content=check_content(obj["content"]),
            sig=sig,
        )
        if verify:
            event.verify()
        return event

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (tags as lists)."""
        return {
            "id": self.id,
            "pubkey": self.pubkey,
            "created_at": self.created_at,
            "kind": self.kind,
            "tags": [list(t) for t in self.tags],
            "content": self.content,
            "sig": self.sig,
        }

    def to_text(self) -> str:
        """The event as compact JSON text."""
        return dumps_compact(self.to_json())

    def tag_values(self, name: str) -> list[str]:
        """The values (second items) of every tag named `name` that has one."""
        return [t[1] for t in self.tags if t[0] == name and len(t) > 1]

    def first_tag(self, name: str) -> tuple[str, ...] | None:
        """The first tag named `name`, or None."""
        return next((t for t in self.tags if t[0] == name), None)

    @property
    def is_replaceable(self) -> bool:
        """NIP-01 replaceable kinds (one per pubkey and kind)."""
        return 10000 <= self.kind < 20000 or self.kind in (0, 3)

    @property
    def is_ephemeral(self) -> bool:
        """NIP-01 ephemeral kinds (not stored by relays)."""
        return 20000 <= self.kind < 30000

    @property
    def is_addressable(self) -> bool:
        """NIP-01 addressable kinds (one per pubkey, kind and "d" tag)."""
        return 30000 <= self.kind < 40000
