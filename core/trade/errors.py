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
