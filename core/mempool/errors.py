"""Errors of the mempool package.

Transactions the mempool refuses are not errors: `accept_tx` returns a typed `Rejected` result with
Bitcoin Core's reject reason. Exceptions are for misuse (asking for an entry that is not there).
"""

from core.errors import PeerwalletError


class MempoolError(PeerwalletError):
    """Base of mempool-package errors."""


class UnknownTransaction(MempoolError):
    """The transaction asked for is not in the mempool."""
