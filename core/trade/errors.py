"""Errors of the trade package: one tree rooted in TradeError. Each part adds its classes at the end."""

from core.errors import PeerwalletError


class TradeError(PeerwalletError):
    """Base of trade-package errors."""


class EscrowError(TradeError):
    """Escrow terms, keys or scripts that cannot be used (bad key, timeout out of range, a deposit or
    payout that cannot be built as asked); the message says why."""


class PsbtCheckError(TradeError):
    """A deposit or payout PSBT that does not match what was agreed; the message says what differs.
    Nothing is signed when it is raised."""


class NostrError(TradeError):
    """A Nostr event, key, filter or relay message that is malformed or fails its checks (bad id,
    bad signature, size caps); decoders of relay data raise only this and its subclasses."""


class Nip44Error(NostrError):
    """A NIP-44 v2 payload that cannot be produced or opened: unknown version, bad base64, bad MAC,
    bad padding, invalid keys."""


class GiftWrapError(NostrError):
    """A NIP-59 gift wrap or seal that does not unwrap to a rumor of the seal's signer."""


class OrderError(NostrError):
    """A NIP-69 order event whose tags are missing or malformed."""


class RelayError(TradeError):
    """A relay connection or publish that failed (not connected, rejected by every relay, timed out)."""


class OfferError(TradeError):
    """An offer or a take that is malformed or does not fit (amount out of range, expired, unknown field)."""


class ContractError(TradeError):
    """A trade contract that is malformed, does not match what was agreed, or whose signature fails."""


class MessageError(TradeError):
    """A trade wire message that is malformed, too large, badly signed, replayed or out of order;
    decoders of peer data raise only this (and its subclasses)."""


class ProtocolError(TradeError):
    """An event the trade's state machine refuses: no transition for (state, event) or a failed guard.
    The trade's state and context are left unchanged."""


class ReputationError(TradeError):
    """A trade receipt that is malformed or whose signatures do not verify."""


class TradeStoreError(TradeError):
    """The trade database cannot be opened or holds damaged records."""


class NotAllowedError(ProtocolError):
    """No transition for this (state, event) pair: the event does not apply in the trade's current state."""
