"""The header tree: every valid header we know, the most-work chain among them, and the contextual
header checks of Core's AcceptBlockHeader / CheckBlockHeader / ContextualCheckBlockHeader.

Results are data (Connected / Reorganized / ForkAdded / Rejected), never exceptions. The most-work
chain wins; on equal work the first seen stays. Checks run in Core's order and reject with Core's
strings: "duplicate-invalid", "high-hash", "prev-blk-not-found", "bad-prevblk", "bad-diffbits",
"time-too-old", "time-timewarp-attack", "time-too-new", "bad-version(0x...)" (plus "bad-header-encoding"
for a BlockHeader object whose fields do not fit the 80-byte format, which no parsed header can be).

Speed matters (a light node syncs ~900k mainnet headers): the accept loop hashes with hashlib, keeps
the rolling median-time window of the branch it is extending, caches targets and proofs per `bits`,
and takes skip pointers from the active-chain array when the parent is on it.
"""

from __future__ import annotations

import gc
import hashlib
import struct
import time as _time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from core.chain.entry import (
    FAILED_MASK,
    AcceptResult,
    Connected,
    ForkAdded,
    HeaderEntry,
    HeaderStatus,
    Rejected,
    Reorganized,
    get_skip_height,
    last_common_ancestor,
)
from core.chain.errors import ChainError, HeaderStoreError
from core.chain.params import MAX_FUTURE_BLOCK_TIME, MAX_TIMEWARP, MEDIAN_TIME_SPAN, ChainParams
from core.chain.pow import derive_target, get_next_work_required, pow_bits_for
from core.consensus.block import BlockHeader, block_proof
from core.consensus.hashes import BlockHash

if TYPE_CHECKING:
    from core.chain.header_store import HeaderStore

_FAILED = int(FAILED_MASK)
_HEADER = struct.Struct("<i32s32sIII")
#: Core's MAX_HEADERS_RESULTS: headers served per getheaders.
MAX_HEADERS_RESULTS = 2000


#: Batches at least this large are frozen out of the cyclic GC after acceptance (see accept).
_GC_FREEZE_BATCH = 500


class HeaderTree:
    """All known headers (a tree rooted at genesis) and the active (most-work valid) chain."""

    def __init__(self, params: ChainParams, store: HeaderStore | None = None) -> None:
        self.params = params
        self._store = store
        self._index: dict[bytes, HeaderEntry] = {}
        self._chain: list[HeaderEntry] = []
        # Branch tips in insertion order (dict as ordered set): the first-seen tie-break after invalidation.
        self._leaves: dict[HeaderEntry, None] = {}
        self._target_cache: dict[int, int | None] = {}
        self._proof_cache: dict[int, int] = {}
        g = params.genesis.header
        self.genesis = HeaderEntry(g, g.hash, 0, block_proof(g.bits), pow_bits=g.bits)
        self._index[self.genesis.hash] = self.genesis
        self._chain.append(self.genesis)
        self._leaves[self.genesis] = None
        if store is not None:
            # A million new long-lived objects would trigger repeated full collections (halving the reload
            # rate); entries form no reference cycles, so pausing the cycle collector loses nothing.
            paused = gc.isenabled()
            gc.disable()
            try:
                self._load(store)
            finally:
                if paused:
                    gc.enable()

    # --- queries -------------------------------------------------------------------------------------
    @property
    def tip(self) -> HeaderEntry:
        return self._chain[-1]

    @property
    def height(self) -> int:
        return len(self._chain) - 1

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, block_hash: bytes) -> bool:
        return block_hash in self._index

    def entries(self) -> Iterator[HeaderEntry]:
        """Every entry, parents before children."""
        return iter(self._index.values())

    def leaves(self) -> tuple[HeaderEntry, ...]:
        """Entries without children (branch tips, valid or not), in the order they became tips."""
        return tuple(self._leaves)

    def get(self, block_hash: bytes) -> HeaderEntry | None:
        """The entry with this hash (internal byte order), on any branch, or None."""
        return self._index.get(block_hash)

    def at_height(self, height: int) -> HeaderEntry | None:
        """The best chain's entry at `height`, or None."""
        if 0 <= height < len(self._chain):
            return self._chain[height]
        return None

    def on_best_chain(self, entry: HeaderEntry) -> bool:
        """Is `entry` on the active chain (Core's CChain::Contains)?"""
        h = entry.height
        return h < len(self._chain) and self._chain[h] is entry

    def ancestor(self, entry: HeaderEntry, height: int) -> HeaderEntry | None:
        """`entry`'s ancestor at `height`: O(1) on the best chain, O(log n) via skip pointers elsewhere."""
        if self.on_best_chain(entry):
            return self._chain[height] if 0 <= height <= entry.height else None
        return entry.ancestor(height)

    def median_time_past(self, entry: HeaderEntry) -> int:
        """Core's GetMedianTimePast of `entry`."""
        return entry.median_time_past()

    def locator(self, entry: HeaderEntry | None = None) -> list[BlockHash]:
        """Core's LocatorEntries from `entry` (default: tip): 10 steps of one, then doubling, then genesis."""
        walk: HeaderEntry | None = entry if entry is not None else self.tip
        step = 1
        have: list[BlockHash] = []
        while walk is not None:
            have.append(walk.hash)
            if walk.height == 0:
                break
            walk = self.ancestor(walk, max(walk.height - step, 0))
            if len(have) > 10:
                step *= 2
        return have

    def find_fork(self, locator: Sequence[bytes]) -> HeaderEntry:
        """Core's FindForkInGlobalIndex: the last best-chain entry the locator's owner has; genesis if none."""
        tip = self.tip
        for h in locator:
            e = self._index.get(h)
            if e is not None:
                if self.on_best_chain(e):
                    return e
                if e.ancestor(tip.height) is tip:
                    return tip
        return self.genesis

    def headers_after(
        self, locator: Sequence[bytes], stop: bytes | None = None, limit: int = MAX_HEADERS_RESULTS
    ) -> list[BlockHeader]:
        """Best-chain headers after the locator's fork point, up to `stop` (inclusive) or `limit`: a
        getheaders answer."""
        start = self.find_fork(locator).height + 1
        out: list[BlockHeader] = []
        for e in self._chain[start : start + limit]:
            out.append(e.header)
            if stop is not None and e.hash == stop:
                break
        return out

    def best_chain_candidates(self) -> list[HeaderEntry]:
        """The valid tip of every branch (a branch's last valid entry), most work first, first seen first."""
        seen: set[int] = set()
        out: list[HeaderEntry] = []
        for leaf in self._leaves:
            e: HeaderEntry | None = leaf
            while e is not None and e.status & _FAILED:
                e = e.prev
            if e is not None and id(e) not in seen:
                seen.add(id(e))
                out.append(e)
        out.sort(key=lambda e: e.chain_work, reverse=True)  # stable: insertion order breaks ties
        return out

    # --- accepting headers -----------------------------------------------------------------------
    def accept(self, headers: Sequence[BlockHeader], now: int | None = None) -> AcceptResult:
        """Check and store `headers` (normally one `headers` message, each extending a known header).
        Stops at the first invalid header: earlier ones stay stored and are reported in Rejected.accepted."""
        now = int(_time.time()) if now is None else now
        old_tip = self.tip
        new: list[HeaderEntry] = []
        raws: list[bytes] = []
        last_seen: HeaderEntry | None = None
        rejected: tuple[BlockHeader, str] | None = None
        try:
            last_seen, rejected = self._accept_loop(headers, now, new, raws)
        finally:
            # Persist what was accepted even if the loop failed half way.
            if new and self._store is not None:
                self._store.add(new, raws)
        if len(new) >= _GC_FREEZE_BATCH:
            # Entries live as long as the tree. Left to the cyclic GC, its full passes over hundreds of
            # thousands of them stop every thread, the event loop included, for tens of milliseconds;
            # frozen, they are never scanned again.
            gc.freeze()
        result = self._result(old_tip, new, last_seen)
        if rejected is not None:
            return Rejected(rejected[0], rejected[1], result if (new or last_seen is not None) else None)
        return result

    def _result(
        self, old_tip: HeaderEntry, new: list[HeaderEntry], last_seen: HeaderEntry | None
    ) -> Connected | Reorganized | ForkAdded:
        tip = self.tip
        if tip is old_tip:
            if new:
                return ForkAdded(tuple(new))
            if last_seen is not None and not self.on_best_chain(last_seen):
                return ForkAdded(())
            return Connected(())
        if self.on_best_chain(old_tip):
            return Connected(tuple(self._chain[old_tip.height + 1 :]))
        fork = last_common_ancestor(old_tip, tip)
        return Reorganized(_path_down(old_tip, fork), tuple(self._chain[fork.height + 1 :]))

    def _accept_loop(
        self, headers: Iterable[BlockHeader], now: int, new: list[HeaderEntry], raws: list[bytes]
    ) -> tuple[HeaderEntry | None, tuple[BlockHeader, str] | None]:
        # Everything the loop touches per header is a local: attribute lookups dominate in CPython.
        params = self.params
        index = self._index
        chain = self._chain
        leaves = self._leaves
        targets = self._target_cache
        proofs = self._proof_cache
        sha256 = hashlib.sha256
        new_hash = bytes.__new__
        pack = _HEADER.pack
        from_bytes = int.from_bytes
        pow_limit = params.pow_limit
        limit_bits = params.pow_limit_bits
        interval = params.difficulty_adjustment_interval
        min_diff = params.pow_allow_min_difficulty_blocks
        spacing2 = params.pow_target_spacing * 2
        bip94 = params.enforce_bip94
        b34, b65, b66 = params.bip34_height, params.bip65_height, params.bip66_height
        max_time = now + MAX_FUTURE_BLOCK_TIME
        last: HeaderEntry | None = None  # the entry made or found for the previous header
        window: list[int] = []  # times of up to 11 entries ending at `window_end`, oldest first
        window_end: HeaderEntry | None = None
        for header in headers:
            try:
                raw = pack(header.version, header.prev_block, header.merkle_root, header.time, header.bits, header.nonce)
            except (struct.error, TypeError):
                return last, (header, "bad-header-encoding")
            h = sha256(sha256(raw).digest()).digest()
            known = index.get(h)
            if known is not None:
                if known.status & _FAILED:
                    return last, (header, "duplicate-invalid")
                last = known
                continue
            bits = header.bits
            try:
                target = targets[bits]
            except KeyError:
                target = targets[bits] = derive_target(bits, pow_limit)
            if target is None or from_bytes(h, "little") > target:
                return last, (header, "high-hash")
            prev = last if last is not None and header.prev_block == last.hash else index.get(header.prev_block)
            if prev is None:
                return last, (header, "prev-blk-not-found")
            if prev.status & _FAILED:
                return last, (header, "bad-prevblk")
            height = prev.height + 1
            t = header.time
            # ContextualCheckBlockHeader, in Core's order.
            if height % interval:
                if min_diff:
                    expected = limit_bits if t > prev.header.time + spacing2 else prev.pow_bits
                else:
                    expected = prev.header.bits
            else:
                expected = get_next_work_required(prev, t, params)
            if bits != expected:
                return last, (header, "bad-diffbits")
            if prev is not window_end:
                window = _window_times(prev)
            mtp = sorted(window)[len(window) // 2]
            if t <= mtp:
                return last, (header, "time-too-old")
            if bip94 and height % interval == 0 and t < prev.header.time - MAX_TIMEWARP:
                return last, (header, "time-timewarp-attack")
            if t > max_time:
                return last, (header, "time-too-new")
            v = header.version
            if v < 4 and ((v < 2 and height >= b34) or (v < 3 and height >= b66) or height >= b65):
                return last, (header, f"bad-version(0x{v & 0xFFFFFFFF:08x})")
            # Accepted: link it in.
            try:
                proof = proofs[bits]
            except KeyError:
                proof = proofs[bits] = block_proof(bits)
            skip_h = get_skip_height(height)
            on_chain = prev.height < len(chain) and chain[prev.height] is prev
            entry = HeaderEntry(
                header,
                new_hash(BlockHash, h),  # bytes.__new__ directly: h is 32 bytes, skip the checking __new__
                height,
                prev.chain_work + proof,
                prev,
                chain[skip_h] if on_chain else prev.ancestor(skip_h),
                0,
                bits if (not min_diff or bits != limit_bits or not height % interval) else prev.pow_bits,
            )
            index[h] = entry
            leaves.pop(prev, None)
            leaves[entry] = None
            new.append(entry)
            raws.append(raw)
            window.append(t)
            if len(window) > MEDIAN_TIME_SPAN:
                del window[0]
            window_end = entry
            last = entry
            if on_chain and prev is chain[-1]:
                chain.append(entry)  # extends the tip: always more work
            elif entry.chain_work > chain[-1].chain_work:
                self._switch_to(entry)
        return last, None

    def _switch_to(self, new_tip: HeaderEntry) -> None:
        """Make `new_tip`'s branch the active chain."""
        chain = self._chain
        fork = last_common_ancestor(chain[-1], new_tip)
        path = []
        e: HeaderEntry | None = new_tip
        while e is not fork:
            path.append(e)
            e = e.prev  # type: ignore[union-attr]
        del chain[fork.height + 1 :]
        chain.extend(reversed(path))

    # --- invalidation ----------------------------------------------------------------------------
    def mark_invalid(self, entry: HeaderEntry) -> Reorganized | None:
        """A block failed full validation: mark it FAILED_VALID and its descendants FAILED_CHILD. If the
        best tip was among them, move to the most-work valid chain and return that Reorganized."""
        if entry.prev is None:
            raise ChainError("the genesis block cannot be marked invalid")
        if self._index.get(entry.hash) is not entry:
            raise ChainError(f"header {entry.hash} is not in this tree")
        changed = []
        if not entry.status & HeaderStatus.FAILED_VALID:
            entry.status |= HeaderStatus.FAILED_VALID
            changed.append(entry)
        h = entry.height
        visited: set[int] = set()  # branches share ancestors: walk each entry once per call
        for leaf in self._leaves:
            if leaf.height <= h or leaf.ancestor(h) is not entry:
                continue
            e = leaf
            while e is not entry and id(e) not in visited:
                visited.add(id(e))
                if not e.status & HeaderStatus.FAILED_CHILD:
                    e.status |= HeaderStatus.FAILED_CHILD
                    changed.append(e)
                e = e.prev  # type: ignore[assignment]
        if changed and self._store is not None:
            self._store.set_status(changed)
        old_tip = self.tip
        if not old_tip.status & _FAILED:
            return None
        best = self.best_chain_candidates()[0]
        self._switch_to(best)
        fork = last_common_ancestor(old_tip, best)
        return Reorganized(_path_down(old_tip, fork), tuple(self._chain[fork.height + 1 :]))

    def set_status(self, entry: HeaderEntry, flag: HeaderStatus) -> None:
        """Set a status flag (e.g. HAVE_DATA) on an entry and persist it."""
        if not entry.status & flag:
            entry.status |= flag
            if self._store is not None:
                self._store.set_status([entry])

    # --- persistence -----------------------------------------------------------------------------
    def _load(self, store: HeaderStore) -> None:
        """Rebuild the tree from the store: rows come ordered by height, so parents precede children."""
        if not store.has_genesis(self.genesis.hash):
            store.add([self.genesis])
        index = self._index
        leaves = self._leaves
        params = self.params
        # `line` is a chain prefix (line[i].prev is line[i-1]) used to find skip pointers in O(1).
        line = [self.genesis]
        unpack = _HEADER.unpack
        new_hash = bytes.__new__
        for raw, h, height, chain_work, status in store.load():
            if h in index:
                continue
            version, prev_hash, root, t, bits, nonce = unpack(raw)
            prev = index.get(prev_hash)
            if prev is None or prev.height != height - 1:
                raise HeaderStoreError(f"stored header {BlockHash(h)} has no stored parent at the height below it")
            # The parent's hash object doubles as this header's prev_block (saves an object per header).
            header = BlockHeader(version, prev.hash, root, t, bits, nonce)
            if len(line) == height and line[-1] is not prev:
                _repair_line(line, prev)  # this branch is now the longest: make it the line
            skip_h = get_skip_height(height)
            linear = len(line) >= height and line[height - 1] is prev
            entry = HeaderEntry(
                header, new_hash(BlockHash, h), height, chain_work, prev, line[skip_h] if linear else prev.ancestor(skip_h), status
            )
            entry.pow_bits = pow_bits_for(entry, params)
            index[h] = entry
            leaves.pop(prev, None)
            leaves[entry] = None
            if linear and len(line) == height:
                line.append(entry)
        best = self.best_chain_candidates()[0]
        if best is not self.genesis:
            self._switch_to(best)


def _repair_line(line: list[HeaderEntry], tip: HeaderEntry) -> None:
    """Make `line` end at `tip` (replacing the part above their common ancestor)."""
    path = []
    e: HeaderEntry | None = tip
    while e is not None and not (e.height < len(line) and line[e.height] is e):
        path.append(e)
        e = e.prev
    del line[len(line) if e is None else e.height + 1 :]
    line.extend(reversed(path))


def _window_times(prev: HeaderEntry) -> list[int]:
    times = []
    e: HeaderEntry | None = prev
    for _ in range(MEDIAN_TIME_SPAN):
        if e is None:
            break
        times.append(e.header.time)
        e = e.prev
    times.reverse()
    return times


def _path_down(top: HeaderEntry, stop: HeaderEntry) -> tuple[HeaderEntry, ...]:
    """Entries from `top` down to (excluding) its ancestor `stop`, descending."""
    out = []
    e: HeaderEntry | None = top
    while e is not None and e is not stop:
        out.append(e)
        e = e.prev
    return tuple(out)
