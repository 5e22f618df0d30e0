"""Errors of the wallet package: one tree rooted in WalletError."""

from core.errors import PeerwalletError


class WalletError(PeerwalletError):
    """Base of wallet-package errors."""


class DescriptorError(WalletError):
    """An output script descriptor (BIP380-386) that cannot be parsed or used; the message says why."""
