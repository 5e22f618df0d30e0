"""Typed events of the mempool view and the broadcaster.

Kept apart from `core.node.events` (owned by the sync code, written in parallel) so neither blocks
the other; the node re-exports both. Money and fee rates are exact (ints, `FeeRate`); only shares
and rates of arrival are floats.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.consensus.hashes import BlockHash, Txid, Wtxid


@dataclass(frozen=True, slots=True)
class FeeBucket:
    """Transactions whose fee rate is in [low, high) sat/vB (high None: no upper bound)."""

    low: int
    high: int | None
    count: int
    vsize: int


@dataclass(frozen=True, slots=True)
class MempoolStats:
    """What the mempool view tracks now.

    `histogram` covers only transactions whose fee is known (every prevout seen); `coverage` is
    their share of the tracked vsize, so a reader can tell how representative it is.
    """

    count: int
    vsize: int
    arrival_rate: float  # transactions per second over the sliding window
    histogram: tuple[FeeBucket, ...]
    fee_known_count: int
    fee_known_vsize: int
    coverage: float  # fee_known_vsize / vsize (1.0 when empty)
    replacements: int
    min_fee_filter: int | None  # lowest feefilter (sat/kvB) among connected peers; None without peers


@dataclass(frozen=True, slots=True)
class TxBroadcast:
    """Our transaction was announced to `peers` peers (attempt 1 is the first broadcast)."""

    txid: Txid
    wtxid: Wtxid
    peers: int
    attempt: int


@dataclass(frozen=True, slots=True)
class TxPropagated:
    """A peer announced our transaction back to us: the network accepted and relays it."""

    txid: Txid
    peer: str  # "host:port" of the announcing peer
    seconds: float  # since the first broadcast


@dataclass(frozen=True, slots=True)
class TxConfirmed:
    """Our transaction is in a block we were given."""

    txid: Txid
    block_hash: BlockHash


@dataclass(frozen=True, slots=True)
class TxNotPropagated:
    """A warning: no peer announced our transaction back within the timeout.

    Peers no longer say why they refuse a transaction (`reject` was removed from Bitcoin Core), so
    silence is the only signal. The transaction stays unconfirmed and is still rebroadcast.
    """

    txid: Txid
    message: str
