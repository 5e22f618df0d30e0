"""SQLite persistence of verified BIP157 filter headers and of the filter-scan tip, so a restart resumes.

One row per height (block hash, filter header) of the chain the filter headers were verified for; a reorg
truncates the rows above the fork. WAL journal, one transaction per batch. The store is used from the
node's worker thread only (see core/node/sync_protocols.ExecutorRun).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from core.consensus.hashes import BlockHash
from core.filters.basic import FilterHeader
from core.node.errors import NodeError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS filter_headers (
    height INTEGER PRIMARY KEY,
    block_hash BLOB NOT NULL,
    filter_header BLOB NOT NULL
);
"""


class FilterStoreError(NodeError):
    """The filter-header database is unreadable or belongs to another network."""


class FilterStore:
    """Filter headers by height plus the scan tip; an in-memory copy serves lookups."""

    def __init__(self, path: str | Path, genesis_hash: bytes) -> None:
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='genesis'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('genesis', ?)", (bytes(genesis_hash),))
            elif bytes(row[0]) != bytes(genesis_hash):
                raise FilterStoreError("filter store belongs to another network (genesis mismatch)")
            rows = self._db.execute("SELECT height, block_hash, filter_header FROM filter_headers ORDER BY height").fetchall()
        except sqlite3.Error as e:
            raise FilterStoreError(f"cannot open filter store {path}: {e}") from e
        self.block_hashes: list[BlockHash] = []
        self.headers: list[FilterHeader] = []
        for height, block_hash, header in rows:
            if height != len(self.headers) or len(block_hash) != 32 or len(header) != 32:
                raise FilterStoreError(f"corrupt filter header row at height {height}")
            self.block_hashes.append(BlockHash(block_hash))
            self.headers.append(FilterHeader(header))

    def close(self) -> None:
        self._db.close()

    @property
    def height(self) -> int:
        """Height of the last stored filter header (-1 when empty)."""
        return len(self.headers) - 1

    def append(self, block_hashes: Sequence[bytes], headers: Sequence[bytes]) -> None:
        """Store headers for the next heights in one transaction."""
        start = len(self.headers)
        rows = [(start + i, bytes(b), bytes(h)) for i, (b, h) in enumerate(zip(block_hashes, headers, strict=True))]
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO filter_headers VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            self._db.execute("ROLLBACK")
            raise FilterStoreError(f"cannot write filter headers: {e}") from e
        self.block_hashes.extend(BlockHash(b) for b in block_hashes)
        self.headers.extend(FilterHeader(h) for h in headers)

    def truncate(self, height: int) -> None:
        """Drop every header above `height` (a reorg below our filter tip)."""
        try:
            self._db.execute("DELETE FROM filter_headers WHERE height > ?", (height,))
        except sqlite3.Error as e:
            raise FilterStoreError(f"cannot truncate filter headers: {e}") from e
        del self.block_hashes[height + 1 :]
        del self.headers[height + 1 :]

    def scan_tip(self) -> tuple[int, BlockHash] | None:
        """(height, hash) of the last block the wallet scan covered, if any."""
        row = self._db.execute("SELECT value FROM meta WHERE key='scan_tip'").fetchone()
        if row is None or len(row[0]) != 36:
            return None
        return int.from_bytes(row[0][:4], "little"), BlockHash(row[0][4:])

    def set_scan_tip(self, height: int, block_hash: bytes) -> None:
        value = height.to_bytes(4, "little") + bytes(block_hash)
        try:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('scan_tip', ?)", (value,))
        except sqlite3.Error as e:
            raise FilterStoreError(f"cannot write scan tip: {e}") from e
