"""Replace-by-fee: Bitcoin Core's replacement rules (policy/rbf.cpp), full RBF.

Core no longer requires BIP125 signalling (mempoolfullrbf is always on), so any transaction may be
replaced by one that pays more. These are the pre-cluster-mempool rules; Core master replaced the
per-conflict fee-rate rule with a fee-rate-diagram comparison over the affected clusters.
Each check returns None when it passes, else Core's debug message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.consensus.amount import format_btc
from core.consensus.hashes import Txid
from core.consensus.tx import Transaction
from core.mempool.feerate import FeeRate

if TYPE_CHECKING:
    from core.mempool.mempool import Mempool

MAX_REPLACEMENT_CANDIDATES = 100  # BIP125 rule 5: most transactions one replacement may evict


def pays_more_than_conflicts(pool: Mempool, conflicts: Iterable[Txid], new_rate: FeeRate, txid: Txid) -> str | None:
    """Rule 6: a higher fee rate than every transaction it directly replaces."""
    for c in sorted(conflicts):
        old = pool.entry(c).fee_rate
        if new_rate <= old:
            return f"rejecting replacement {txid}; new feerate {new_rate} <= old feerate {old}"
    return None


def too_many_replacements(pool: Mempool, conflicts: Iterable[Txid], txid: Txid) -> str | None:
    """Rule 5: the direct conflicts and their descendants number at most 100 (counted as Core does, per conflict)."""
    count = sum(len(pool.descendants_with({c})) for c in conflicts)
    if count > MAX_REPLACEMENT_CANDIDATES:
        return f"rejecting replacement {txid}; too many potential replacements ({count} > {MAX_REPLACEMENT_CANDIDATES})"
    return None


def has_no_new_unconfirmed(pool: Mempool, tx: Transaction, conflicts: Iterable[Txid]) -> str | None:
    """Rule 2: unconfirmed inputs only where a replaced transaction had them too.

    Otherwise the replacement's fee rate could be dragged below what the comparison assumed by a
    new low-fee parent.
    """
    parents_of_conflicts = {txin.prevout.txid for c in conflicts for txin in pool.entry(c).tx.vin}
    for j, txin in enumerate(tx.vin):
        if txin.prevout.txid not in parents_of_conflicts and pool.get_tx(txin.prevout.txid) is not None:
            return f"replacement {tx.txid} adds unconfirmed input, idx {j}"
    return None


def pays_for_rbf(
    original_fees: int, replacement_fees: int, replacement_vsize: int, relay_fee: FeeRate, txid: Txid
) -> str | None:
    """Rules 3 and 4: at least the replaced fees, plus its own relay at the incremental relay fee."""
    if replacement_fees < original_fees:
        return (
            f"rejecting replacement {txid}, less fees than conflicting txs; "
            f"{format_btc(replacement_fees)} < {format_btc(original_fees)}"
        )
    additional = replacement_fees - original_fees
    needed = relay_fee.fee(replacement_vsize)
    if additional < needed:
        return (
            f"rejecting replacement {txid}, not enough additional fees to relay; "
            f"{format_btc(additional)} < {format_btc(needed)}"
        )
    return None


def entries_and_txids_disjoint(ancestors: set[Txid], conflicts: set[Txid], txid: Txid) -> str | None:
    """A transaction cannot replace one of its own ancestors (it would spend what it evicts)."""
    for a in sorted(ancestors & conflicts):
        return f"{txid} spends conflicting transaction {a}"
    return None
