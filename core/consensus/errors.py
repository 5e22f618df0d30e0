"""Errors of the consensus package."""

from core.errors import PeerwalletError


class ConsensusError(PeerwalletError):
    """Base of consensus-package errors."""


class DecodeError(ConsensusError):
    """Bytes that do not decode as the expected structure (truncated, oversized, non-canonical)."""


class ValidationError(ConsensusError):
    """A well-formed object that breaks a consensus rule; `reason` is Bitcoin Core's reject string."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
