"""SQLite persistence of the header tree: one row per header, written in one transaction per accepted
batch, read back in one ordered scan on start.

Rows keep the raw 80 bytes (the header itself), its hash, parent, height, cumulative work and status
flags. The hash is stored rather than recomputed so a restart costs a table scan, not a million
double-SHA256s; rows are only ever written by our own tree after validation.

The only index is on height: headers arrive in height order, so it grows at its end, while an index on
the (random) hash would cost a B-tree seek per insert and cut the write rate by three. The tree never
writes a hash twice, and rows are found by (height, hash) for status updates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.chain.errors import HeaderStoreError

if TYPE_CHECKING:
    from core.chain.entry import HeaderEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS headers (
    hash BLOB NOT NULL,
    prev BLOB NOT NULL,
    height INTEGER NOT NULL,
    chain_work BLOB NOT NULL,
    raw BLOB NOT NULL,
    status INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS headers_height ON headers(height);
"""
_WORK_BYTES = 32  # chain work is a uint256, stored big-endian so it also sorts as bytes


class HeaderStore:
    """The header database of one network (its genesis hash is recorded and checked)."""

    def __init__(self, path: str | Path) -> None:
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across application crashes in WAL mode; an OS crash may lose the last batch,
            # which the next sync simply fetches again.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise HeaderStoreError(f"cannot open header store {path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HeaderStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_genesis(self, genesis_hash: bytes) -> bool:
        """True if the store was created for this genesis; False if it is empty. Raises HeaderStoreError
        for a store of another network."""
        row = self._db.execute("SELECT value FROM meta WHERE key='genesis'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('genesis', ?)", (bytes(genesis_hash),))
            return False
        if bytes(row[0]) != genesis_hash:
            raise HeaderStoreError("header store belongs to another network (genesis mismatch)")
        return True

    def add(self, entries: Sequence[HeaderEntry], raws: Sequence[bytes] | None = None) -> None:
        """Insert new entries in one transaction; `raws`, if given, are their serialized headers."""
        if raws is None:
            raws = [e.header.serialize() for e in entries]
        # Plain bytes, not BlockHash: sqlite3 binds a bytes subclass through its adapter lookup, which
        # halves the insert rate. The parent hash is bytes 4..36 of the raw header.
        rows = [
            (bytes(e.hash), raw[4:36], e.height, e.chain_work.to_bytes(_WORK_BYTES, "big"), raw, e.status)
            for e, raw in zip(entries, raws, strict=True)
        ]
        try:
            with self._transaction():
                self._db.executemany("INSERT INTO headers VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as e:
            raise HeaderStoreError(f"cannot write headers: {e}") from e

    def set_status(self, entries: Sequence[HeaderEntry]) -> None:
        """Persist the status flags of `entries`."""
        try:
            with self._transaction():
                self._db.executemany("UPDATE headers SET status=? WHERE height=? AND hash=?", [(e.status, e.height, bytes(e.hash)) for e in entries])
        except sqlite3.Error as e:
            raise HeaderStoreError(f"cannot update header status: {e}") from e

    def max_height(self) -> int | None:
        """The greatest height stored (best chain or not), None when empty: a cheap "how far synced"."""
        return self._db.execute("SELECT MAX(height) FROM headers").fetchone()[0]

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM headers").fetchone()[0]

    def load(self) -> Iterator[tuple[bytes, bytes, int, int, int]]:
        """Every stored header as raw rows (raw 80 bytes, hash, height, chain_work, status), ordered by
        height (then insertion), so a parent always comes before its children. The tree builds the
        header objects itself, sharing each parent's hash object."""
        try:
            cur = self._db.execute("SELECT raw, hash, height, chain_work, status FROM headers ORDER BY height, rowid")
            while rows := cur.fetchmany(10_000):
                for raw, h, height, work, status in rows:
                    if len(raw) != 80 or len(h) != 32:
                        raise HeaderStoreError(f"corrupt header row at height {height}")
                    yield raw, h, height, int.from_bytes(work, "big"), status
        except sqlite3.Error as e:
            raise HeaderStoreError(f"cannot read header store: {e}") from e

    def _transaction(self) -> _Txn:
        return _Txn(self._db)


class _Txn:
    """BEGIN/COMMIT around a block of writes (ROLLBACK on error); the connection runs in autocommit."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
