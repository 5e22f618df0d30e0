"""Errors of the chain package."""

from core.errors import PeerwalletError


class ChainError(PeerwalletError):
    """Base of chain-package errors."""


class UnknownNetworkError(ChainError):
    """A network name that has no chain parameters."""


class HeaderStoreError(ChainError):
    """The header database is unreadable, inconsistent or belongs to another network."""


class PresyncError(ChainError):
    """A peer's header chain broke a rule while being followed without storing it; `reason` is Core's string."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
