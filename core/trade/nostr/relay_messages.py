"""NIP-01 relay-to-client messages (EVENT, OK, EOSE, CLOSED, NOTICE, AUTH) and subscription filters.

`parse_relay_message` decodes one websocket text frame strictly (events are verified) and raises only
NostrError; `check_filter` validates a filter we send; `filter_matches` re-checks that an event a relay
delivers for a subscription really matches it (a relay is not trusted to filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.trade.errors import NostrError
from core.trade.nostr.event import MAX_CREATED_AT, Event, dumps_compact, loads_strict
from core.trade.nostr.keys import is_lower_hex

MAX_SUB_ID_CHARS = 64
MAX_MESSAGE_CHARS = 1024 * 1024
MAX_FILTER_VALUES = 1000
_LIST_KEYS = ("ids", "authors", "kinds")
_SCALAR_KEYS = ("since", "until", "limit")


@dataclass(frozen=True)
class EventMessage:
    """["EVENT", sub_id, event]: an event (already verified) for one of our subscriptions."""

    sub_id: str
    event: Event


@dataclass(frozen=True)
class OkMessage:
    """["OK", event_id, accepted, message]: the relay's answer to a published event."""

    event_id: str
    accepted: bool
    message: str

    @property
    def stored(self) -> bool:
        """True if the relay has the event: accepted, or refused only as a duplicate."""
        return self.accepted or self.message.startswith("duplicate:")


@dataclass(frozen=True)
class EoseMessage:
    """["EOSE", sub_id]: the stored events of a subscription have all been sent."""

    sub_id: str


@dataclass(frozen=True)
class ClosedMessage:
    """["CLOSED", sub_id, message]: the relay ended or refused a subscription."""

    sub_id: str
    message: str


@dataclass(frozen=True)
class NoticeMessage:
    """["NOTICE", message]: human-readable information from the relay."""

    message: str


@dataclass(frozen=True)
class AuthMessage:
    """["AUTH", challenge] (NIP-42): the relay's challenge for this connection (core.trade.nostr.relay
    answers it when the relay says a subscription or an event needs authentication)."""

    challenge: str


RelayMessage = EventMessage | OkMessage | EoseMessage | ClosedMessage | NoticeMessage | AuthMessage


def _sub_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SUB_ID_CHARS:
        raise NostrError("subscription id must be a string of 1..64 characters")
    return value


def _short_text(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > 4096:
        raise NostrError(f"{what} must be a string of at most 4096 characters")
    return value


def parse_relay_message(text: str | bytes) -> RelayMessage:
    """Decode one message from a relay; NostrError for anything malformed (events are verified)."""
    msg = loads_strict(text, MAX_MESSAGE_CHARS)
    if not isinstance(msg, list) or not msg or not isinstance(msg[0], str):
        raise NostrError("relay message must be a JSON array starting with a string")
    kind, args = msg[0], msg[1:]
    if kind == "EVENT" and len(args) == 2:
        return EventMessage(_sub_id(args[0]), Event.from_json(args[1]))
    if kind == "OK" and len(args) == 3:
        event_id, accepted, message = args
        # "" is accepted as an id: nostr-relay 1.14 answers rejected events with an empty id.
        if not (event_id == "" or is_lower_hex(event_id, 32)) or not isinstance(accepted, bool):
            raise NostrError("malformed OK message")
        return OkMessage(event_id, accepted, _short_text(message, "OK message"))
    if kind == "EOSE" and len(args) == 1:
        return EoseMessage(_sub_id(args[0]))
    if kind == "CLOSED" and len(args) in (1, 2):
        return ClosedMessage(_sub_id(args[0]), _short_text(args[1] if len(args) == 2 else "", "CLOSED message"))
    if kind == "NOTICE" and len(args) == 1:
        return NoticeMessage(_short_text(args[0], "NOTICE"))
    if kind == "AUTH" and len(args) == 1:
        return AuthMessage(_short_text(args[0], "AUTH challenge"))
    raise NostrError(f"unknown or malformed relay message {kind[:16]!r}")


def check_filter(flt: object) -> dict[str, Any]:
    """Validate a NIP-01 filter (ids, authors, kinds, #<letter>, since, until, limit); returns a copy."""
    if not isinstance(flt, dict):
        raise NostrError("filter must be an object")
    out: dict[str, Any] = {}
    for key, value in flt.items():
        if key in _LIST_KEYS or (isinstance(key, str) and len(key) == 2 and key[0] == "#" and key[1].isascii()
                                 and key[1].isalpha()):
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_FILTER_VALUES:
                raise NostrError(f"filter {key!r} must be a list of 1..{MAX_FILTER_VALUES} values")
            if key == "kinds":
                if not all(type(v) is int and 0 <= v <= 65535 for v in value):
                    raise NostrError("filter kinds must be integers 0..65535")
            elif key in ("ids", "authors", "#e", "#p"):
                if not all(is_lower_hex(v, 32) for v in value):
                    raise NostrError(f"filter {key!r} values must be 64 lowercase hex digits")
            elif not all(isinstance(v, str) for v in value):
                raise NostrError(f"filter {key!r} values must be strings")
            out[key] = list(value)
        elif key in _SCALAR_KEYS:
            if type(value) is not int or not 0 <= value <= MAX_CREATED_AT:
                raise NostrError(f"filter {key!r} must be a non-negative integer")
            out[key] = value
        else:
            raise NostrError(f"unknown filter key {key!r}")
    return out


def filter_matches(flt: dict[str, Any], event: Event) -> bool:
    """True if `event` passes the NIP-01 filter `flt` (limit is ignored, as for live events)."""
    if "ids" in flt and event.id not in flt["ids"]:
        return False
    if "authors" in flt and event.pubkey not in flt["authors"]:
        return False
    if "kinds" in flt and event.kind not in flt["kinds"]:
        return False
    if "since" in flt and event.created_at < flt["since"]:
        return False
    if "until" in flt and event.created_at > flt["until"]:
        return False
    for key, values in flt.items():
        if key.startswith("#"):
            wanted = set(values)
            if not any(t[0] == key[1] and len(t) > 1 and t[1] in wanted for t in event.tags):
                return False
    return True


def req_message(sub_id: str, filters: list[dict[str, Any]]) -> str:
    """["REQ", sub_id, filter...] as text."""
    return dumps_compact(["REQ", _sub_id(sub_id), *filters])


def close_message(sub_id: str) -> str:
    """["CLOSE", sub_id] as text."""
    return dumps_compact(["CLOSE", _sub_id(sub_id)])


def auth_message(event: Event) -> str:
    """["AUTH", event] (NIP-42): a signed kind-22242 answer to the relay's challenge."""
    return dumps_compact(["AUTH", event.to_json()])


def event_message(event: Event) -> str:
    """["EVENT", event] as text."""
    return dumps_compact(["EVENT", event.to_json()])
