"""Header index entries (Core's CBlockIndex, headers only) and the results of accepting headers.

An entry links to its parent (`prev`) and to one far ancestor (`skip`, Core's pskip) chosen by
`get_skip_height`, so `ancestor()` reaches any height in O(log n) steps on any branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from core.chain.params import MEDIAN_TIME_SPAN
from core.consensus.block import BlockHeader
from core.consensus.hashes import BlockHash


class HeaderStatus(IntFlag):
    """Per-entry flags (a subset of Core's BlockStatus)."""

    NONE = 0
    #: The block itself failed validation (BLOCK_FAILED_VALID).
    FAILED_VALID = 1
    #: An ancestor failed validation (BLOCK_FAILED_CHILD).
    FAILED_CHILD = 2
    #: The full block is stored (BLOCK_HAVE_DATA); set by the validation layer.
    HAVE_DATA = 4


FAILED_MASK = HeaderStatus.FAILED_VALID | HeaderStatus.FAILED_CHILD
_FAILED = int(FAILED_MASK)


def get_skip_height(height: int) -> int:
    """Core's GetSkipHeight: the height `skip` points to; any height is reachable in O(log n) hops."""
    if height < 2:
        return 0
    # Clearing the lowest set bit (once or twice) gives a deterministic, well-spread target.
    if height & 1:
        n = height - 1
        n &= n - 1
        return (n & (n - 1)) + 1
    return height & (height - 1)


@dataclass(slots=True, eq=False)
class HeaderEntry:
    """One header in the tree. Identity equality: an entry is unique per hash within its tree."""

    header: BlockHeader
    hash: BlockHash
    height: int
    chain_work: int
    prev: HeaderEntry | None = None
    #: Core's pskip: an ancestor at get_skip_height(height), for O(log n) `ancestor()`.
    skip: HeaderEntry | None = None
    status: int = 0
    #: Bits of the nearest ancestor-or-self that is not a testnet min-difficulty block: the answer of
    #: Core's walk-back in GetNextWorkRequired, kept per entry so that walk costs O(1).
    pow_bits: int = 0

    @property
    def time(self) -> int:
        return self.header.time

    @property
    def bits(self) -> int:
        return self.header.bits

    @property
    def is_invalid(self) -> bool:
        return bool(self.status & _FAILED)

    def ancestor(self, height: int) -> HeaderEntry | None:
        """Core's CBlockIndex::GetAncestor: the ancestor at `height` (self at own height), None if out of range."""
        if height > self.height or height < 0:
            return None
        walk: HeaderEntry = self
        hwalk = self.height
        while hwalk > height:
            skip = walk.skip
            if skip is not None:
                hskip = skip.height
                hskip_prev = get_skip_height(hwalk - 1)
                # Only follow skip if prev's skip isn't better than skip's prev.
                if hskip == height or (hskip > height and not (hskip_prev < hskip - 2 and hskip_prev >= height)):
                    walk, hwalk = skip, hskip
                    continue
            walk = walk.prev  # type: ignore[assignment]
            hwalk -= 1
        return walk

    def median_time_past(self) -> int:
        """Core's GetMedianTimePast: median time of this entry and up to 10 ancestors."""
        times = []
        e: HeaderEntry | None = self
        for _ in range(MEDIAN_TIME_SPAN):
            if e is None:
                break
            times.append(e.header.time)
            e = e.prev
        times.sort()
        return times[len(times) // 2]

    def __repr__(self) -> str:
        return f"HeaderEntry(height={self.height}, hash={self.hash}, status={self.status})"


def last_common_ancestor(a: HeaderEntry, b: HeaderEntry) -> HeaderEntry:
    """Core's LastCommonAncestor (both entries must share the genesis)."""
    if a.height > b.height:
        a = a.ancestor(b.height)  # type: ignore[assignment]
    elif b.height > a.height:
        b = b.ancestor(a.height)  # type: ignore[assignment]
    while a is not b:
        # Equal heights give equal skip heights: differing skips mean the fork lies below them.
        if a.skip is not None and a.skip is not b.skip:
            a, b = a.skip, b.skip  # type: ignore[assignment]
        else:
            a, b = a.prev, b.prev  # type: ignore[assignment]
    return a


@dataclass(frozen=True, slots=True)
class Connected:
    """Headers extended the best chain; `entries` are the newly best entries, ascending. Empty when every
    header was already known and the last one is on the best chain."""

    entries: tuple[HeaderEntry, ...]


@dataclass(frozen=True, slots=True)
class Reorganized:
    """The best chain switched branches (or moved back after an invalidation)."""

    #: Entries that left the best chain, old tip first (descending).
    disconnected: tuple[HeaderEntry, ...]
    #: Entries that joined the best chain, ascending.
    connected: tuple[HeaderEntry, ...]


@dataclass(frozen=True, slots=True)
class ForkAdded:
    """Headers were stored on a branch with no more work than the best chain (empty when all were known)."""

    entries: tuple[HeaderEntry, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A header broke a rule; `reason` is Core's reject string. Headers of the same batch before it were
    processed as usual and `accepted` says what they did (None when the first header was rejected)."""

    header: BlockHeader
    reason: str
    accepted: Connected | Reorganized | ForkAdded | None = None


AcceptResult = Connected | Reorganized | ForkAdded | Rejected
