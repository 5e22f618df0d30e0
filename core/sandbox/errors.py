"""Errors of the sandbox package."""

from core.errors import PeerwalletError


class SandboxError(PeerwalletError):
    """Base of sandbox errors."""


class FaucetEmpty(SandboxError):
    """The faucet has no mature coins big enough for the request."""
