"""Errors of the filters package (BIP157/158 compact block filters)."""

from core.errors import PeerwalletError


class FilterError(PeerwalletError):
    """Base of filters-package errors (also raised for invalid parameters such as a bad key length)."""


class FilterDecodeError(FilterError):
    """An encoded filter that does not decode: bad element count, truncated stream or excess bytes."""
