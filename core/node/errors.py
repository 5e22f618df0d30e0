"""Errors of the light node package."""

from __future__ import annotations

from core.errors import PeerwalletError


class NodeError(PeerwalletError):
    """Base of light-node errors."""
