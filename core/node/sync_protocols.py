"""What the sync code needs from its surroundings: the peer set (the peer manager implements it) and the
scan target (the wallet implements it). Structural protocols, so neither side imports the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.p2p.peer import Peer

T = TypeVar("T")

#: `await executor_run(fn, *args)` runs `fn(*args)` on the node's ONE worker thread (a single-thread
#: executor): the header tree, the filter store and the presync states are only ever touched there.
ExecutorRun = Callable[..., Awaitable[Any]]
#: Where sync code reports its events (SyncProgress, ChainTip, NodeWarning, ...); must not block.
Emit = Callable[[object], None]


class PeerSet(Protocol):
    """The connected peers, as the peer manager exposes them."""

    def peers(self) -> list[Peer]:
        """Handshaken peers."""
        ...

    def filter_peers(self) -> list[Peer]:
        """Handshaken peers serving BIP157 filters (NODE_COMPACT_FILTERS)."""
        ...

    def punish(self, peer: Peer, reason: str) -> None:
        """Disconnect and discourage a peer that sent invalid data."""
        ...

    def report_stall(self, peer: Peer) -> None:
        """Drop a peer that stopped answering (it gets replaced)."""
        ...


class ScanTarget(Protocol):
    """The wallet side of filter scanning.

    Optional extras a target may define (looked up with getattr): `scan_resume_height() -> int | None`, the
    height it has scanned through by its own records (scanning restarts there if that is below the
    node's, or skipped to if above), `scan_progress(height, block_hash)`, told after each scanned batch,
    and `before_scan(tip_height)`, told before each scan with the tip it will scan to.
    """

    def scripts(self) -> Sequence[bytes]:
        """The output scripts to look for now (may grow between blocks)."""
        ...

    def block_connected(self, height: int, block: Block) -> None:
        """A block whose filter matched, delivered in height order."""
        ...

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        """A previously connected block left the chain (called tip first)."""
        ...

    def birthday_height(self) -> int:
        """The first height that can hold the wallet's coins."""
        ...
