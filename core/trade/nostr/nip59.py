"""NIP-59 gift wraps: an unsigned rumor, sealed (kind 13, signed by the sender, NIP-44 to the recipient),
wrapped (kind 1059, signed by a one-time key, NIP-44 to the recipient, "p" tag = recipient).

`unwrap` checks every layer: the wrap's own signature, the seal's kind, empty tags and signature, that
the rumor is unsigned, that its id matches its fields, and that the rumor's pubkey is the seal's signer
(so the sender cannot be forged by whoever made the wrap). Replays are the caller's concern: the rumor
id identifies a message across re-wraps. Every failure raises GiftWrapError (or Nip44Error).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.trade.errors import GiftWrapError, Nip44Error, NostrError
from core.trade.nostr import nip44
from core.trade.nostr.event import (
    MAX_CREATED_AT,
    MAX_KIND,
    Event,
    Tags,
    check_content,
    check_tags,
    compute_id,
    dumps_compact,
    loads_strict,
)
from core.trade.nostr.keys import NostrKey, is_lower_hex, parse_xonly

KIND_SEAL = 13
KIND_GIFT_WRAP = 1059
KIND_EPHEMERAL_GIFT_WRAP = 21059
#: Seal and wrap timestamps are moved up to two days into the past (NIP-59 "randomNow").
TWO_DAYS = 2 * 24 * 60 * 60
_RUMOR_FIELDS = frozenset(("id", "pubkey", "created_at", "kind", "tags", "content"))


@dataclass(frozen=True)
class Rumor:
    """The unsigned inner event of a gift wrap, authenticated by the seal: `sender_xonly` signed it."""

    id: str
    sender_xonly: str
    kind: int
    content: str
    tags: Tags
    created_at: int

    def to_json(self) -> dict[str, Any]:
        """The rumor as a JSON-ready dict (an event without "sig")."""
        return {
            "id": self.id,
            "pubkey": self.sender_xonly,
            "created_at": self.created_at,
            "kind": self.kind,
            "tags": [list(t) for t in self.tags],
            "content": self.content,
        }


def _random_past(now: int) -> int:
    return max(0, now - secrets.randbelow(TWO_DAYS + 1))


def make_rumor(
    kind: int, content: str, tags: Iterable[Sequence[str]], sender_xonly: str, created_at: int | None = None
) -> Rumor:
    """An unsigned event of `sender_xonly` with its NIP-01 id."""
    when = int(time.time()) if created_at is None else created_at
    if type(kind) is not int or not 0 <= kind <= MAX_KIND:
        raise GiftWrapError("rumor kind out of range")
    if type(when) is not int or not 0 <= when <= MAX_CREATED_AT:
        raise GiftWrapError("rumor created_at out of range")
    frozen = check_tags([list(t) for t in tags])
    check_content(content)
    return Rumor(compute_id(sender_xonly, when, kind, frozen, content), sender_xonly, kind, content, frozen, when)


def seal(rumor: Rumor, sender: NostrKey, recipient_xonly: str, created_at: int | None = None) -> Event:
    """Kind-13 seal of `rumor`: NIP-44 encrypted to the recipient, signed by the sender, no tags."""
    if rumor.sender_xonly != sender.xonly:
        raise GiftWrapError("the rumor's pubkey must be the sealing key")
    conv = nip44.conversation_key(sender, recipient_xonly)
    content = nip44.encrypt(dumps_compact(rumor.to_json()), conv)
    when = _random_past(int(time.time())) if created_at is None else created_at
    return Event.sign(sender, KIND_SEAL, content, (), when)


def wrap(
    seal_event: Event,
    recipient_xonly: str,
    *,
    kind: int = KIND_GIFT_WRAP,
    extra_tags: Iterable[Sequence[str]] = (),
    created_at: int | None = None,
) -> Event:
    """Gift wrap of a seal: a fresh one-time key, NIP-44 to the recipient, a "p" tag for routing."""
    if kind not in (KIND_GIFT_WRAP, KIND_EPHEMERAL_GIFT_WRAP):
        raise GiftWrapError("gift wrap kind must be 1059 or 21059")
    parse_xonly(recipient_xonly)
    one_time = NostrKey.generate()
    content = nip44.encrypt(seal_event.to_text(), nip44.conversation_key(one_time, recipient_xonly))
    when = _random_past(int(time.time())) if created_at is None else created_at
    tags = [["p", recipient_xonly], *([*t] for t in extra_tags)]
    return Event.sign(one_time, kind, content, tags, when)


def gift_wrap(
    rumor_kind: int,
    content: str,
    tags: Iterable[Sequence[str]],
    sender: NostrKey,
    recipient_xonly: str,
    *,
    created_at: int | None = None,
    wrap_kind: int = KIND_GIFT_WRAP,
) -> Event:
    """Rumor (kind `rumor_kind`, created now unless given) → seal by `sender` → wrap to `recipient_xonly`."""
    try:
        rumor = make_rumor(rumor_kind, content, tags, sender.xonly, created_at)
        return wrap(seal(rumor, sender, recipient_xonly), recipient_xonly, kind=wrap_kind)
    except Nip44Error:
        raise
    except NostrError as exc:
        if isinstance(exc, GiftWrapError):
            raise
        raise GiftWrapError(str(exc)) from exc


def _parse_rumor(obj: object) -> Rumor:
    if not isinstance(obj, dict):
        raise GiftWrapError("rumor must be a JSON object")
    keys = set(obj)
    if "sig" in keys:
        raise GiftWrapError("rumor must be unsigned")
    if not keys <= _RUMOR_FIELDS or not keys >= _RUMOR_FIELDS - {"id"}:
        raise GiftWrapError("rumor must have the NIP-01 event fields and no signature")
    pubkey, kind, created_at = obj["pubkey"], obj["kind"], obj["created_at"]
    if not is_lower_hex(pubkey, 32):
        raise GiftWrapError("rumor pubkey must be 64 lowercase hex digits")
    if type(kind) is not int or not 0 <= kind <= MAX_KIND:
        raise GiftWrapError("rumor kind out of range")
    if type(created_at) is not int or not 0 <= created_at <= MAX_CREATED_AT:
        raise GiftWrapError("rumor created_at out of range")
    tags = check_tags(obj["tags"])
    content = check_content(obj["content"])
    rumor_id = compute_id(pubkey, created_at, kind, tags, content)
    if "id" in obj and obj["id"] != rumor_id:
        raise GiftWrapError("rumor id does not match its contents")
    return Rumor(rumor_id, pubkey, kind, content, tags, created_at)


def unseal(seal_event: Event, recipient: NostrKey) -> Rumor:
    """Open a kind-13 seal addressed to `recipient` and return its rumor (checked as described above)."""
    if seal_event.kind != KIND_SEAL:
        raise GiftWrapError("inner event is not a seal (kind 13)")
    if seal_event.tags:
        raise GiftWrapError("a seal must have no tags")
    seal_event.verify()
    conv = nip44.conversation_key(recipient, seal_event.pubkey)
    rumor = _parse_rumor(loads_strict(nip44.decrypt(seal_event.content, conv)))
    if rumor.sender_xonly != seal_event.pubkey:
        raise GiftWrapError("rumor pubkey differs from the seal's signer")
    return rumor


def unwrap(event: Event, recipient: NostrKey) -> Rumor:
    """Open a gift wrap addressed to `recipient`; the rumor's `sender_xonly` is authenticated by the seal.

    Raises GiftWrapError or Nip44Error (both NostrError) on any failure."""
    try:
        if event.kind not in (KIND_GIFT_WRAP, KIND_EPHEMERAL_GIFT_WRAP):
            raise GiftWrapError("not a gift wrap (kind 1059 or 21059)")
        event.verify()
        recipients = event.tag_values("p")
        if recipients and recipient.xonly not in recipients:
            raise GiftWrapError("gift wrap is addressed to someone else")
        conv = nip44.conversation_key(recipient, event.pubkey)
        seal_event = Event.from_json(loads_strict(nip44.decrypt(event.content, conv)))
        return unseal(seal_event, recipient)
    except (GiftWrapError, Nip44Error):
        raise
    except NostrError as exc:
        raise GiftWrapError(str(exc)) from exc
