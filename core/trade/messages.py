"""Typed trade wire messages: strict decoding with caps, BIP340 signatures, replay and order checks.

Every message names its trade, a sequence number, its sender and its recipient, and is signed by the
sender's per-trade Nostr key over the tagged hash of its canonical form (so a chat transcript can be
exported and checked by an arbitrator). The sequence number counts per directed channel (trade, sender,
recipient) from 1: a receiver accepts exactly the next number, drops a duplicate silently, and rejects an
older number with other content (a replay) or a later one (out of order, parked by the engine until the
gap is filled). Messages ride inside NIP-59 gift wraps; `MAX_MESSAGE_CHARS` keeps a wrapped message
inside NIP-44's 64 KiB plaintext limit.

Decoders raise only MessageError.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.consensus.hashes import tagged_hash
from core.trade.contract import Signer, canonical_json
from core.trade.errors import MessageError, NostrError
from core.trade.nostr.event import loads_strict
from core.trade.nostr.keys import verify_schnorr

MESSAGE_VERSION = 1
MESSAGE_TAG = "peerwallet/trade/message"
MAX_MESSAGE_CHARS = 32_000
MAX_PSBT_CHARS = 24_000
MAX_TX_HEX = 24_000
MAX_REASON = 500
MAX_CHAT = 1_000
MAX_RECEIPTS = 20
MAX_TRANSCRIPT = 60
MAX_SEQ = 2**31
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{32}")
_SIG = re.compile(r"[0-9a-f]{128}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,8})?")
_METHOD = re.compile(r"[a-z0-9_-]{1,32}")


class MsgKind(enum.StrEnum):
    """Wire message kinds."""

    TAKE = "take"
    ACCEPT = "accept"
    REJECT = "reject"
    CONTRACT_SIG = "contract_sig"
    DEPOSIT_PART = "deposit_part"
    DEPOSIT_PSBT = "deposit_psbt"
    DEPOSIT_SIGNED = "deposit_signed"
    DEPOSIT_PUBLISHED = "deposit_published"
    PAYMENT_DETAILS = "payment_details"
    PAYMENT_SENT = "payment_sent"
    RELEASE = "release"
    PAYOUT_PUBLISHED = "payout_published"
    CANCEL_PROPOSE = "cancel_propose"
    CANCEL_DECLINE = "cancel_decline"
    ABORT = "abort"
    DISPUTE = "dispute"
    EVIDENCE = "evidence"
    RULING = "ruling"
    CHAT = "chat"
    RECEIPT_SIG = "receipt_sig"


# -- field validators: each takes the value and returns it (or raises MessageError) ---------------------


def _s(max_len: int, min_len: int = 0) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str) or not min_len <= len(v) <= max_len:
            raise MessageError(f"expected text of {min_len}..{max_len} characters")
        return v

    return check


def _re(pattern: re.Pattern[str], what: str, max_len: int = 100_000) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str) or len(v) > max_len or not pattern.fullmatch(v):
            raise MessageError(f"expected {what}")
        return v

    return check


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise MessageError(f"expected a whole number in {lo}..{hi}")
        return v

    return check


def _b64(max_len: int) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str) or not 0 < len(v) <= max_len:
            raise MessageError("expected base64 of bounded size")
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise MessageError("expected base64") from None
        return v

    return check


def _obj(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise MessageError("expected an object")
    return v


def _opt_obj(v: Any) -> dict[str, Any] | None:
    return None if v is None else _obj(v)


def _list(max_items: int) -> Callable[[Any], list[Any]]:
    def check(v: Any) -> list[Any]:
        if not isinstance(v, list) or len(v) > max_items or not all(isinstance(x, dict) for x in v):
            raise MessageError(f"expected a list of at most {max_items} objects")
        return v

    return check


_hex32 = _re(_HEX32, "64 lowercase hex digits")
_sig = _re(_SIG, "a 128-hex-digit signature")
_opt_sig = _re(re.compile(r"(?:[0-9a-f]{128})?"), "a signature or nothing")
_salt = _re(_HEX16, "a 32-hex-digit salt")
_psbt = _b64(MAX_PSBT_CHARS)
_tx = _re(_HEX, "transaction hex", MAX_TX_HEX)
_opt_tx = _re(re.compile(r"(?:[0-9a-f]{2})*"), "transaction hex or nothing", MAX_TX_HEX)
_reason = _s(MAX_REASON)
_account = _s(500, 1)
_sat = _int(0, 21_000_000 * 100_000_000)

#: kind -> {field: validator}; bodies must have exactly these fields.
BODY_SCHEMAS: dict[MsgKind, dict[str, Callable[[Any], Any]]] = {
    MsgKind.TAKE: {
        "offer_id": _re(_HEX16, "an offer id"), "amount_sat": _sat,
        "price": _re(_DECIMAL, "a decimal price", 40), "method": _re(_METHOD, "a payment method"),
        "party": _obj, "identity_sig": _sig, "receipts": _list(MAX_RECEIPTS),
    },
    MsgKind.ACCEPT: {"contract": _obj, "sig": _sig, "identity_sig": _sig, "receipts": _list(MAX_RECEIPTS)},
    MsgKind.REJECT: {"reason": _reason},
    MsgKind.CONTRACT_SIG: {"sig": _sig},
    MsgKind.DEPOSIT_PART: {"psbt": _psbt},
    MsgKind.DEPOSIT_PSBT: {"psbt": _psbt},
    MsgKind.DEPOSIT_SIGNED: {"psbt": _psbt, "attestation": _sig},
    MsgKind.DEPOSIT_PUBLISHED: {"tx": _tx, "attestation": _sig, "account": _account, "salt": _salt},
    MsgKind.PAYMENT_DETAILS: {"account": _account, "salt": _salt},
    MsgKind.PAYMENT_SENT: {"note": _reason},
    MsgKind.RELEASE: {"psbt": _psbt},
    MsgKind.PAYOUT_PUBLISHED: {"txid": _hex32},
    MsgKind.CANCEL_PROPOSE: {"psbt": _psbt, "reason": _reason},
    MsgKind.CANCEL_DECLINE: {"reason": _reason},
    MsgKind.ABORT: {"reason": _reason},
    MsgKind.DISPUTE: {
        "reason": _reason, "contract": _opt_obj, "deposit_tx": _opt_tx, "deposit_height": _int(-1, 10_000_000),
    },
    MsgKind.EVIDENCE: {
        "part": _int(0, 99), "transcript": _list(MAX_TRANSCRIPT), "account": _s(500), "salt": _re(
            re.compile(r"(?:[0-9a-f]{32})?"), "a salt or nothing"), "notes": _s(2_000),
    },
    MsgKind.RULING: {"buyer_sat": _sat, "seller_sat": _sat, "psbt": _psbt, "reason": _reason},
    MsgKind.CHAT: {"text": _s(MAX_CHAT, 1)},
    MsgKind.RECEIPT_SIG: {"sig": _sig, "rating": _int(0, 5), "rating_sig": _opt_sig},
}

_ENVELOPE = frozenset({"v", "trade", "seq", "from", "to", "kind", "ts", "body", "sig"})


def check_body(kind: MsgKind, body: Any) -> dict[str, Any]:
    """Validate a body against its kind's schema (exact field set); MessageError otherwise."""
    schema = BODY_SCHEMAS[kind]
    if not isinstance(body, dict) or set(body) != set(schema):
        raise MessageError(f"a {kind.value} message has exactly the fields {sorted(schema)}")
    for name, check in schema.items():
        try:
            check(body[name])
        except MessageError as e:
            raise MessageError(f"{kind.value}.{name}: {e}") from None
    return body


@dataclass(frozen=True)
class WireMessage:
    """One signed trade message. `id` (hex) is the hash that was signed."""

    trade_id: str
    seq: int
    sender: str
    recipient: str
    kind: MsgKind
    ts: int
    body: Mapping[str, Any]
    sig: str = ""

    def unsigned_json(self) -> dict[str, Any]:
        return {
            "v": MESSAGE_VERSION, "trade": self.trade_id, "seq": self.seq, "from": self.sender,
            "to": self.recipient, "kind": self.kind.value, "ts": self.ts, "body": dict(self.body),
        }

    @property
    def digest(self) -> bytes:
        """The tagged hash of the canonical unsigned form (what the sender signs)."""
        return tagged_hash(MESSAGE_TAG, canonical_json(self.unsigned_json()))

    @property
    def id(self) -> str:
        return self.digest.hex()

    def to_json(self) -> dict[str, Any]:
        return {**self.unsigned_json(), "sig": self.sig}

    def to_text(self) -> str:
        """The wire form (canonical JSON text)."""
        return canonical_json(self.to_json()).decode()

    def verify(self) -> None:
        """MessageError unless `sig` is the sender's signature."""
        if not _SIG.fullmatch(self.sig) or not verify_schnorr(
            bytes.fromhex(self.sender), self.digest, bytes.fromhex(self.sig)
        ):
            raise MessageError("message signature does not verify")

    @classmethod
    def create(
        cls, key: Signer, trade_id: str, seq: int, recipient: str, kind: MsgKind, body: Mapping[str, Any], ts: int
    ) -> WireMessage:
        """Build, check (schema and size) and sign a message from `key`."""
        check_body(kind, dict(body))
        unsigned = cls(trade_id, seq, key.xonly, recipient, kind, ts, dict(body))
        msg = cls(trade_id, seq, key.xonly, recipient, kind, ts, dict(body), key.sign_schnorr(unsigned.digest).hex())
        if len(msg.to_text()) > MAX_MESSAGE_CHARS:
            raise MessageError(f"a {kind.value} message is larger than {MAX_MESSAGE_CHARS} characters")
        decode_message(msg.to_text())  # what we send must pass our own strict decoder
        return msg


def decode_message(text: str | bytes) -> WireMessage:
    """Strictly decode and verify a wire message (MessageError on anything wrong)."""
    try:
        obj = loads_strict(text, MAX_MESSAGE_CHARS)
    except NostrError as e:
        raise MessageError(f"not a message: {e}") from None
    return message_from_json(obj)


def message_from_json(obj: Any) -> WireMessage:
    """Decode and verify a message already parsed from JSON (e.g. inside an evidence transcript)."""
    if not isinstance(obj, dict) or set(obj) != _ENVELOPE:
        raise MessageError("a message has exactly the fields " + ", ".join(sorted(_ENVELOPE)))
    if obj["v"] != MESSAGE_VERSION or isinstance(obj["v"], bool):
        raise MessageError("unknown message version")
    trade = _re(_HEX16, "a trade id")(obj["trade"])
    seq = _int(1, MAX_SEQ)(obj["seq"])
    sender, recipient = _hex32(obj["from"]), _hex32(obj["to"])
    if sender == recipient:
        raise MessageError("sender and recipient are the same key")
    try:
        kind = MsgKind(obj["kind"])
    except (ValueError, TypeError):
        raise MessageError("unknown message kind") from None
    ts = _int(0, 2**40)(obj["ts"])
    body = check_body(kind, obj["body"])
    sig = _sig(obj["sig"])
    msg = WireMessage(trade, seq, sender, recipient, kind, ts, body, sig)
    msg.verify()
    return msg


class Delivery(enum.StrEnum):
    """What to do with an incoming message, given its channel's state."""

    ACCEPT = "accept"  # the next one: apply it
    DUPLICATE = "duplicate"  # already applied (same id): ignore silently
    REPLAY = "replay"  # an old sequence number with other content: reject
    FUTURE = "future"  # a later number while an earlier one is missing: reject (park it)


def classify(msg: WireMessage, expected_seq: int, seen: Callable[[str], bool]) -> Delivery:
    """Where `msg` stands on its channel, whose next expected number is `expected_seq`."""
    if seen(msg.id):
        return Delivery.DUPLICATE
    if msg.seq < expected_seq:
        return Delivery.REPLAY
    if msg.seq > expected_seq:
        return Delivery.FUTURE
    return Delivery.ACCEPT


def identity_message(trade_id: str, nostr_xonly: str, escrow_xonly: str) -> bytes:
    """What an identity key signs to vouch for a trader's per-trade keys (binds reputation to the trade)."""
    return tagged_hash("peerwallet/trade/identity", bytes.fromhex(trade_id) + bytes.fromhex(nostr_xonly) + bytes.fromhex(escrow_xonly))


def verify_identity(identity: str, trade_id: str, nostr_xonly: str, escrow_xonly: str, sig_hex: str) -> bool:
    """True if the identity key `identity` vouched for these per-trade keys."""
    if not _SIG.fullmatch(sig_hex) or not _HEX32.fullmatch(identity):
        return False
    return verify_schnorr(bytes.fromhex(identity), identity_message(trade_id, nostr_xonly, escrow_xonly), bytes.fromhex(sig_hex))
