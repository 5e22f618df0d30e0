"""Errors of the wallet package: one tree rooted in WalletError."""

from core.errors import PeerwalletError


class WalletError(PeerwalletError):
    """Base of wallet-package errors."""
