"""TRUC (version 3) transactions: Bitcoin Core's topologically restricted policy (BIP431, policy/truc_policy.cpp).

A TRUC transaction is small (10 kvB), has at most one unconfirmed parent, which must be TRUC too,
and a TRUC parent has at most one unconfirmed child of at most 1 kvB. Non-TRUC transactions may not
spend unconfirmed TRUC outputs. Core's sibling eviction (a new child replacing the existing one) is
not implemented: the second child is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.consensus.hashes import Txid
from core.consensus.tx import Transaction

if TYPE_CHECKING:
    from core.mempool.mempool import Mempool

TRUC_VERSION = 3
TRUC_ANCESTOR_LIMIT = 2  # itself and one parent
TRUC_DESCENDANT_LIMIT = 2  # itself and one child
TRUC_MAX_VSIZE = 10_000
TRUC_CHILD_MAX_VSIZE = 1_000


def single_truc_checks(
    pool: Mempool, tx: Transaction, ancestors: set[Txid], direct_conflicts: set[Txid], vsize: int
) -> str | None:
    """Core's SingleTRUCChecks: None if `tx` keeps the TRUC rules, else Core's debug message."""
    txid, wtxid = tx.txid, tx.wtxid
    if tx.version != TRUC_VERSION:
        for a in sorted(ancestors):
            parent = pool.entry(a).tx
            if parent.version == TRUC_VERSION:
                return (
                    f"non-version=3 tx {txid} (wtxid={wtxid}) cannot spend from version=3 tx "
                    f"{parent.txid} (wtxid={parent.wtxid})"
                )
        return None
    if vsize > TRUC_MAX_VSIZE:
        return f"version=3 tx {txid} (wtxid={wtxid}) is too big: {vsize} > {TRUC_MAX_VSIZE} virtual bytes"
    if len(ancestors) + 1 > TRUC_ANCESTOR_LIMIT:
        return f"tx {txid} (wtxid={wtxid}) would have too many ancestors"
    if not ancestors:
        return None
    parent_entry = pool.entry(next(iter(ancestors)))
    parent = parent_entry.tx
    if parent.version != TRUC_VERSION:
        return (
            f"version=3 tx {txid} (wtxid={wtxid}) cannot spend from non-version=3 tx "
            f"{parent.txid} (wtxid={parent.wtxid})"
        )
    if vsize > TRUC_CHILD_MAX_VSIZE:
        return f"version=3 child tx {txid} (wtxid={wtxid}) is too big: {vsize} > {TRUC_CHILD_MAX_VSIZE} virtual bytes"
    siblings = pool.descendants(parent.txid)
    # A child being replaced by this one does not count.
    if len(siblings - direct_conflicts) + 2 > TRUC_DESCENDANT_LIMIT:
        return f"tx {parent.txid} (wtxid={parent.wtxid}) would exceed descendant count limit"
    return None
