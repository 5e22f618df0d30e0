"""Errors of the mining package."""

from core.errors import PeerwalletError


class MiningError(PeerwalletError):
    """Base of mining-package errors."""


class NonceNotFound(MiningError):
    """No nonce within the allowed tries meets the block's target."""
