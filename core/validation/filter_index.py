"""BIP158 basic filter index of the active chain, with the BIP157 filter-header chain, in the chain DB.

Each connected block gets its basic filter (its output scripts plus the scripts its inputs spent,
taken from the undo data) and its filter header `sha256d(filter_hash || prev_header)`, where the
genesis block's previous header is 32 zero bytes. Rows are written inside the same database
transaction as the block's UTXO changes and removed when the block is disconnected, so the index
always matches the active chain. The `serve_*` methods answer BIP157 requests given the active chain
(entries by height) and the request's stop entry, with Core's checks (PrepareBlockFilterRequest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.chain.entry import HeaderEntry
from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.filters.basic import ZERO_FILTER_HEADER, BlockFilter, FilterHash, FilterHeader, FilterType
from core.p2p.messages.constants import MAX_GETCFHEADERS_SIZE, MAX_GETCFILTERS_SIZE
from core.validation.store import ChainDB

#: BIP157: a cfcheckpt carries the filter header of every 1000th block.
CFCHECKPT_INTERVAL = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS filters (
    hash BLOB PRIMARY KEY, filter BLOB NOT NULL, filter_hash BLOB NOT NULL, header BLOB NOT NULL
);
"""


class FilterIndex:
    """Basic filters, filter hashes and filter headers keyed by block hash (active chain only)."""

    def __init__(self, db: ChainDB) -> None:
        self._db = db
        db.conn.executescript(_SCHEMA)

    def connect(self, block: Block, spent_scripts: Iterable[bytes], prev_header: bytes) -> FilterHeader:
        """Index a block being connected (call inside the block's database transaction)."""
        bf = BlockFilter.build_basic(block, spent_scripts)
        fh = bf.filter_hash
        header = bf.compute_header(prev_header)
        self._db.conn.execute(
            "INSERT OR REPLACE INTO filters (hash, filter, filter_hash, header) VALUES (?, ?, ?, ?)",
            (bytes(block.hash), bf.encoded, bytes(fh), bytes(header)),
        )
        return header

    def disconnect(self, block_hash: bytes) -> None:
        """Drop a disconnected block's entry (inside its database transaction)."""
        self._db.conn.execute("DELETE FROM filters WHERE hash = ?", (bytes(block_hash),))

    def filter(self, block_hash: bytes) -> BlockFilter | None:
        row = self._db.conn.execute("SELECT filter FROM filters WHERE hash = ?", (bytes(block_hash),)).fetchone()
        if row is None:
            return None
        return BlockFilter(FilterType.BASIC, BlockHash(bytes(block_hash)), bytes(row[0]))

    def filter_hash(self, block_hash: bytes) -> FilterHash | None:
        row = self._db.conn.execute(
            "SELECT filter_hash FROM filters WHERE hash = ?", (bytes(block_hash),)
        ).fetchone()
        return None if row is None else FilterHash(bytes(row[0]))

    def header(self, block_hash: bytes) -> FilterHeader | None:
        row = self._db.conn.execute("SELECT header FROM filters WHERE hash = ?", (bytes(block_hash),)).fetchone()
        return None if row is None else FilterHeader(bytes(row[0]))

    def filters(self, hashes: Sequence[bytes]) -> list[BlockFilter] | None:
        """The filters of `hashes` in order, or None if any is missing."""
        out = []
        for h in hashes:
            f = self.filter(h)
            if f is None:
                return None
            out.append(f)
        return out

    def filter_hashes(self, hashes: Sequence[bytes]) -> list[FilterHash] | None:
        """The filter hashes of `hashes` in order, or None if any is missing."""
        out = []
        for h in hashes:
            fh = self.filter_hash(h)
            if fh is None:
                return None
            out.append(fh)
        return out

    def count(self) -> int:
        return int(self._db.conn.execute("SELECT COUNT(*) FROM filters").fetchone()[0])

    # --- BIP157 requests --------------------------------------------------------------------------------------
    @staticmethod
    def _range(
        chain: Sequence[HeaderEntry], start_height: int, stop: HeaderEntry | None, limit: int
    ) -> Sequence[HeaderEntry] | None:
        """chain[start_height..stop] if stop is on the chain and the range is within `limit`, else None."""
        if stop is None or stop.height >= len(chain) or chain[stop.height] is not stop:
            return None
        if start_height > stop.height or stop.height - start_height >= limit:
            return None
        return chain[start_height : stop.height + 1]

    def serve_cfilters(
        self, chain: Sequence[HeaderEntry], start_height: int, stop: HeaderEntry | None
    ) -> list[BlockFilter] | None:
        """Filters for `getcfilters` (at most 1000 blocks)."""
        entries = self._range(chain, start_height, stop, MAX_GETCFILTERS_SIZE)
        return None if entries is None else self.filters([e.hash for e in entries])

    def serve_cfheaders(
        self, chain: Sequence[HeaderEntry], start_height: int, stop: HeaderEntry | None
    ) -> tuple[FilterHeader, list[FilterHash]] | None:
        """(filter header before start_height, filter hashes) for `getcfheaders` (at most 2000 blocks)."""
        entries = self._range(chain, start_height, stop, MAX_GETCFHEADERS_SIZE)
        if entries is None:
            return None
        prev = ZERO_FILTER_HEADER if start_height == 0 else self.header(chain[start_height - 1].hash)
        hashes = self.filter_hashes([e.hash for e in entries])
        return None if prev is None or hashes is None else (prev, hashes)

    def serve_cfcheckpt(self, chain: Sequence[HeaderEntry], stop: HeaderEntry | None) -> list[FilterHeader] | None:
        """Filter headers at heights 1000, 2000, ... up to `stop` for `getcfcheckpt`."""
        if stop is None or stop.height >= len(chain) or chain[stop.height] is not stop:
            return None
        out = []
        for height in range(CFCHECKPT_INTERVAL, stop.height + 1, CFCHECKPT_INTERVAL):
            fh = self.header(chain[height].hash)
            if fh is None:
                return None
            out.append(fh)
        return out
