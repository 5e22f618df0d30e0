"""The fully validated active chain and its UTXO set (Core's Chainstate + ActivateBestChain).

ChainState stores raw blocks, connects and disconnects them against the SQLite UTXO set, keeps the
BIP158 filter index in step, and moves the tip to the most-work valid header whose blocks it has.
Every connect or disconnect is one database transaction that also records the new tip, so after a
crash the state reopens at the last tip it fully wrote.

Threading: ChainState owns a sqlite3 connection, which may only be used by the thread that opened
it. Create it and call every method from ONE dedicated thread (the node uses a single-thread
executor, so the CPU-heavy connects stay off the event loop). ChainState also reads the HeaderTree
and calls `mark_invalid` on it: mutate the tree only on that same thread, or hand ChainState the
lock (`tree_lock`) the other users of the tree hold.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.chain.entry import FAILED_MASK, HeaderEntry, HeaderStatus
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.consensus.block import HEADER_SIZE, Block, BlockHeader
from core.consensus.errors import DecodeError
from core.consensus.hashes import BlockHash
from core.consensus.tx import OutPoint
from core.filters.basic import ZERO_FILTER_HEADER, BlockFilter, FilterHash, FilterHeader
from core.validation.block_check import check_block, contextual_check_block
from core.validation.connect import BlockContext, ConnectResult, connect_block, disconnect_block
from core.validation.errors import (
    BlockConsensusError,
    BlockValidationError,
    ChainStateError,
    UnknownBlockError,
)
from core.validation.filter_index import FilterIndex
from core.validation.store import ChainDB
from core.validation.utxo import Coin, CoinsCache, outpoint_key

log = logging.getLogger(__name__)

_BLOCK_CACHE_SIZE = 64
_HAVE_DATA = int(HeaderStatus.HAVE_DATA)
_FAILED = int(FAILED_MASK)


def _valid(entry: HeaderEntry) -> bool:
    return not entry.status & _FAILED


@dataclass(frozen=True, slots=True)
class ChainUpdate:
    """The net change of one activate_best_chain call.

    `disconnected` runs from the old tip down (their transactions may go back to the mempool),
    `connected` from the fork point up; `invalid` lists blocks found invalid, with Core's reason.
    """

    disconnected: tuple[Block, ...] = ()
    connected: tuple[Block, ...] = ()
    invalid: tuple[tuple[BlockHash, str], ...] = ()

    @property
    def tip_changed(self) -> bool:
        return bool(self.disconnected or self.connected)


class ChainState:
    """The active chain, UTXO set, raw blocks, undo data and filter index of a full node."""

    def __init__(
        self,
        params: ChainParams,
        headers: HeaderTree,
        db_path: Path | str,
        *,
        verify_scripts: bool = True,
        tree_lock: threading.Lock | threading.RLock | None = None,
    ) -> None:
        self.params = params
        self.headers = headers
        self.verify_scripts = verify_scripts
        self._tree_lock = tree_lock if tree_lock is not None else contextlib.nullcontext()
        self.db = ChainDB(db_path)
        self.filters = FilterIndex(self.db)
        self._chain: list[HeaderEntry] = []
        self._pending: dict[BlockHash, HeaderEntry] = {}  # stored but not on the active chain
        # Order blocks arrived in (Core's nSequenceId): among equal work the first received wins.
        self._arrival: dict[bytes, int] = {}
        self._blocks: OrderedDict[bytes, Block] = OrderedDict()
        self._tip_filter_header: FilterHeader = ZERO_FILTER_HEADER
        try:
            self._load()
        except BaseException:
            self.db.close()
            raise

    # --- opening -------------------------------------------------------------------------------------------
    def _load(self) -> None:
        genesis = self.headers.genesis
        if genesis.hash != self.params.genesis_hash:
            raise ChainStateError("header tree and chain params disagree on the genesis block")
        chain_id = self.db.get_meta("genesis")
        if chain_id is not None and chain_id != bytes(genesis.hash):
            raise ChainStateError(f"chain database {self.db.path} belongs to another chain")
        raw_tip = self.db.get_meta("tip")
        if raw_tip is None:
            self._connect_genesis(genesis)
        else:
            tip = self.headers.get(BlockHash(raw_tip)) or self._recover_headers(BlockHash(raw_tip))
            chain: list[HeaderEntry] = []
            walk: HeaderEntry | None = tip
            while walk is not None:
                chain.append(walk)
                walk = walk.prev
            chain.reverse()
            self._chain = chain
            fh = self.filters.header(tip.hash)
            if fh is None:
                raise ChainStateError(f"no filter header for the chain tip {tip.hash}")
            self._tip_filter_header = fh
        stored = []
        for h in self.db.block_hashes():  # in the order they were stored
            entry = self.headers.get(BlockHash(h))
            if entry is None:
                continue  # data of a header the tree no longer knows; harmless
            self._note_arrival(entry)
            if not entry.status & _HAVE_DATA:
                with self._tree_lock:
                    self.headers.set_status(entry, HeaderStatus.HAVE_DATA)
            if not self._on_chain(entry):
                stored.append(entry)
        for entry in stored:
            self._pending[entry.hash] = entry

    def _recover_headers(self, tip_hash: BlockHash) -> HeaderEntry:
        """Re-accept the active chain's headers from our stored blocks.

        The header store commits independently of this database, so after a power cut it can lag
        behind the tip recorded here; every block up to that tip is stored, so its headers are too.
        """
        headers: list[BlockHeader] = []
        walk = tip_hash
        while self.headers.get(walk) is None:
            raw = self.db.get_block_raw(walk)
            if raw is None:
                raise ChainStateError(f"chain tip {tip_hash} is not in the header tree and block {walk} is missing")
            header = BlockHeader.parse(raw[:HEADER_SIZE])
            headers.append(header)
            walk = header.prev_block
        headers.reverse()
        with self._tree_lock:
            result = self.headers.accept(headers)
        entry = self.headers.get(tip_hash)
        if entry is None:
            raise ChainStateError(f"stored headers up to the chain tip {tip_hash} were refused: {result}")
        log.warning("recovered %d headers up to the chain tip from stored blocks", len(headers))
        return entry

    def _connect_genesis(self, genesis: HeaderEntry) -> None:
        block = self.params.genesis
        with self.db.transaction():
            self.db.put_block(block.hash, block.serialize())
            # Core's genesis coinbase is unspendable: it never enters the UTXO set, but it is indexed.
            fh = self.filters.connect(block, (), ZERO_FILTER_HEADER)
            self.db.set_meta("genesis", bytes(block.hash))
            self.db.set_meta("tip", bytes(block.hash))
        with self._tree_lock:
            self.headers.set_status(genesis, HeaderStatus.HAVE_DATA)
        self._chain = [genesis]
        self._tip_filter_header = fh

    def close(self) -> None:
        self.db.close()

    # --- queries ---------------------------------------------------------------------------------------------
    @property
    def tip(self) -> HeaderEntry:
        """The last fully connected block."""
        return self._chain[-1]

    @property
    def height(self) -> int:
        return len(self._chain) - 1

    def chain_at(self, height: int) -> HeaderEntry | None:
        """The active chain's entry at `height`, or None beyond the tip."""
        return self._chain[height] if 0 <= height < len(self._chain) else None

    def contains(self, entry: HeaderEntry) -> bool:
        """True if `entry` is on the active chain."""
        return self._on_chain(entry)

    def _on_chain(self, entry: HeaderEntry) -> bool:
        return entry.height < len(self._chain) and self._chain[entry.height] is entry

    def have_block(self, block_hash: bytes) -> bool:
        return block_hash in self._blocks or self.db.has_block(block_hash)

    def get_block(self, block_hash: bytes) -> Block | None:
        """A stored block (any branch), or None."""
        block = self._blocks.get(block_hash)
        if block is not None:
            return block
        raw = self.db.get_block_raw(block_hash)
        if raw is None:
            return None
        try:
            block = Block.parse(raw)
        except DecodeError as e:
            raise ChainStateError(f"stored block {BlockHash(bytes(block_hash))} is corrupt: {e}") from None
        self._remember(block)
        return block

    def get_block_bytes(self, block_hash: bytes) -> bytes | None:
        """A stored block's serialization (with witnesses), as a `block` message carries it."""
        return self.db.get_block_raw(block_hash)

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        """The unspent coin at `outpoint` as of the tip, or None."""
        return self.db.fetch_coin(outpoint_key(outpoint))

    def filter(self, block_hash: bytes) -> BlockFilter | None:
        """The BIP158 basic filter of an active-chain block."""
        return self.filters.filter(block_hash)

    def filter_header(self, block_hash: bytes) -> FilterHeader | None:
        """The BIP157 filter header of an active-chain block."""
        return self.filters.header(block_hash)

    def iter_coins(self) -> Iterator[tuple[bytes, Coin]]:
        """Every unspent coin (outpoint key, coin): for tests and diagnostics."""
        return self.db.iter_coins()

    # --- serving BIP157 requests (None: a request Core refuses, and disconnects the peer for) ----------------
    def cfilters(self, start_height: int, stop_hash: bytes) -> list[BlockFilter] | None:
        """The filters of active-chain blocks start_height..stop_hash for `getcfilters`."""
        return self.filters.serve_cfilters(self._chain, start_height, self.headers.get(bytes(stop_hash)))

    def cfheaders(self, start_height: int, stop_hash: bytes) -> tuple[FilterHeader, list[FilterHash]] | None:
        """(previous filter header, filter hashes) of start_height..stop_hash for `getcfheaders`."""
        return self.filters.serve_cfheaders(self._chain, start_height, self.headers.get(bytes(stop_hash)))

    def cfcheckpt(self, stop_hash: bytes) -> list[FilterHeader] | None:
        """Filter headers of every 1000th block up to stop_hash for `getcfcheckpt`."""
        return self.filters.serve_cfcheckpt(self._chain, self.headers.get(bytes(stop_hash)))

    # --- storing blocks ---------------------------------------------------------------------------------------
    def store_block(self, block: Block) -> HeaderEntry:
        """Check a block (Core's CheckBlock + ContextualCheckBlock) and store it; returns its entry.

        The header must be in the tree already (UnknownBlockError otherwise). A block failing a
        consensus check marks its header invalid; a mutated one (bad merkle root, malleated
        witness) is only refused, since the header may still name a valid block. Storing does not
        move the tip: call activate_best_chain.
        """
        block_hash = block.hash
        entry = self.headers.get(block_hash)
        if entry is None:
            raise UnknownBlockError(f"header of block {block_hash} is not known")
        if not _valid(entry):
            raise BlockConsensusError("duplicate-invalid", f"block {block_hash} was previously marked invalid")
        if entry.status & _HAVE_DATA and self.have_block(block_hash):
            return entry
        if entry.prev is not None:
            try:
                check_block(block)
                contextual_check_block(block, entry.height, entry.prev.median_time_past(), self.params)
            except BlockValidationError as e:
                if not e.mutated:
                    self._invalidate(entry)
                raise
        with self.db.transaction():
            self.db.put_block(block_hash, block.serialize())
        with self._tree_lock:
            self.headers.set_status(entry, HeaderStatus.HAVE_DATA)
        self._remember(block)
        self._note_arrival(entry)
        if not self._on_chain(entry):
            self._pending[block_hash] = entry
        return entry

    def _note_arrival(self, entry: HeaderEntry) -> None:
        if entry.hash not in self._arrival:
            self._arrival[entry.hash] = len(self._arrival)

    def _remember(self, block: Block) -> None:
        self._blocks[block.hash] = block
        self._blocks.move_to_end(block.hash)
        while len(self._blocks) > _BLOCK_CACHE_SIZE:
            self._blocks.popitem(last=False)

    def _load_block(self, entry: HeaderEntry) -> Block:
        block = self.get_block(entry.hash)
        if block is None:
            raise ChainStateError(f"block {entry.hash} at height {entry.height} is not stored")
        return block

    def _invalidate(self, entry: HeaderEntry) -> None:
        with self._tree_lock:
            self.headers.mark_invalid(entry)
        self._pending.pop(entry.hash, None)

    # --- activating the best chain -----------------------------------------------------------------------------
    def activate_best_chain(self, max_blocks: int | None = None) -> ChainUpdate:
        """Move the tip to the most-work valid chain whose blocks are all stored (Core's ActivateBestChain).

        Disconnects back to the fork point and connects forward one block at a time; a block that
        fails validation is marked invalid in the header tree and the next best chain is tried
        (which may be the one we started on). Returns the net change.

        With `max_blocks`, returns after connecting that many blocks once the tip has more work than
        it started with (as Core releases cs_main every 32 blocks), so a long sync can be done in
        steps: call again while the update changed the tip or found invalid blocks.
        """
        start = self.tip
        invalid: list[tuple[BlockHash, str]] = []
        connected = 0
        while max_blocks is None or connected < max_blocks or self.tip.chain_work <= start.chain_work:
            with self._tree_lock:
                target = self._best_candidate()
            if target is None:
                break
            path = self._path_from_chain(target)
            fork = path[0].prev
            assert fork is not None
            while self.tip is not fork:
                self._disconnect_tip()
            for entry in path:
                block = self._load_block(entry)
                try:
                    self._connect_tip(entry, block)
                except BlockValidationError as e:
                    log.info("block %s at height %d invalid: %s", entry.hash, entry.height, e)
                    invalid.append((entry.hash, e.reason))
                    self._invalidate(entry)
                    break
                connected += 1
                if max_blocks is not None and connected >= max_blocks and self.tip.chain_work > start.chain_work:
                    break
        return self._net_update(start, self.tip, tuple(invalid))

    def _best_candidate(self) -> HeaderEntry | None:
        """The most-work stored entry (first seen among equals) whose whole branch is stored and valid."""
        tip_work = self.tip.chain_work
        candidates = [e for e in self._pending.values() if e.chain_work > tip_work and _valid(e)]
        candidates.sort(key=lambda e: (-e.chain_work, self._arrival.get(e.hash, 0)))
        for entry in candidates:
            if self._connectable(entry):
                return entry
        return None

    def _connectable(self, entry: HeaderEntry) -> bool:
        walk: HeaderEntry | None = entry
        while walk is not None and not self._on_chain(walk):
            if walk.hash not in self._pending or not _valid(walk):
                return False
            walk = walk.prev
        return walk is not None

    def _path_from_chain(self, target: HeaderEntry) -> list[HeaderEntry]:
        """Entries from just above the fork with the active chain up to `target`, ascending."""
        path = []
        walk: HeaderEntry | None = target
        while walk is not None and not self._on_chain(walk):
            path.append(walk)
            walk = walk.prev
        path.reverse()
        return path

    def mtp_at(self, height: int) -> int:
        """Median time past of the active chain's block at `height` (the tip's: `mtp_at(self.height)`)."""
        return self._chain[height].median_time_past()

    def _connect_tip(self, entry: HeaderEntry, block: Block) -> ConnectResult:
        """Connect `block` on top of the tip in one database transaction."""
        if entry.prev is not self.tip:
            raise ChainStateError(f"block {entry.hash} does not extend the tip")
        cache = CoinsCache(self.db)
        result = connect_block(
            block, BlockContext(entry.height, self.mtp_at), cache, self.params, self.verify_scripts
        )
        with self.db.transaction():
            self.db.write_coins(cache.changes())
            self.db.put_undo(entry.hash, result.undo)
            fh = self.filters.connect(block, result.undo.spent_scripts(), self._tip_filter_header)
            self.db.set_meta("tip", bytes(entry.hash))
        self._tip_filter_header = fh
        self._chain.append(entry)
        self._pending.pop(entry.hash, None)
        return result

    def _disconnect_tip(self) -> Block:
        """Disconnect the tip block in one database transaction; returns it."""
        entry = self.tip
        if entry.prev is None:
            raise ChainStateError("cannot disconnect the genesis block")
        block = self._load_block(entry)
        undo = self.db.get_undo(entry.hash)
        if undo is None:
            raise ChainStateError(f"no undo data for block {entry.hash}")
        cache = CoinsCache(self.db)
        if not disconnect_block(block, undo, cache, entry.height):
            log.warning("disconnecting block %s: UTXO set was not as connecting left it", entry.hash)
        prev_fh = self.filters.header(entry.prev.hash)
        if prev_fh is None:
            raise ChainStateError(f"no filter header for block {entry.prev.hash}")
        with self.db.transaction():
            self.db.write_coins(cache.changes())
            self.db.delete_undo(entry.hash)
            self.filters.disconnect(entry.hash)
            self.db.set_meta("tip", bytes(entry.prev.hash))
        self._tip_filter_header = prev_fh
        self._chain.pop()
        if _valid(entry):
            self._pending[entry.hash] = entry
        return block

    def _net_update(
        self, old: HeaderEntry, new: HeaderEntry, invalid: tuple[tuple[BlockHash, str], ...]
    ) -> ChainUpdate:
        a: HeaderEntry | None = old
        b: HeaderEntry | None = new
        down: list[HeaderEntry] = []
        up: list[HeaderEntry] = []
        while a is not b:
            assert a is not None and b is not None  # both chains meet at genesis at the latest
            if a.height >= b.height:
                down.append(a)
                a = a.prev
            else:
                up.append(b)
                b = b.prev
        up.reverse()
        return ChainUpdate(
            tuple(self._load_block(e) for e in down),
            tuple(self._load_block(e) for e in up),
            invalid,
        )
