"""The chain-state database: UTXO set, raw blocks, undo data and metadata in one SQLite file.

WAL journal with synchronous=NORMAL: a commit is atomic and survives a crash of the process; a
power cut may lose the last commits but never leaves a half-written one. Every change to the
active chain (coins, undo data, filter index, tip) is written inside one `transaction()`, so the
database always describes exactly one fully connected tip.

A sqlite3 connection may only be used by the thread that opened it: open the ChainDB on the thread
that will use it (ChainState does, and is itself single-threaded).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.consensus.errors import DecodeError
from core.validation.errors import ChainStateError
from core.validation.utxo import BlockUndo, Coin

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS coins (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (hash BLOB PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS undo (hash BLOB PRIMARY KEY, data BLOB NOT NULL);
"""


class ChainDB:
    """One SQLite connection holding the chain state; use it from one thread only."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the hot UTXO set stays cached
            self.conn.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise ChainStateError(f"cannot open chain database {self.path}: {e}") from None
        version = self.get_meta("schema")
        if version is None:
            self.set_meta("schema", SCHEMA_VERSION.to_bytes(4, "little"))
        elif int.from_bytes(version, "little") != SCHEMA_VERSION:
            raise ChainStateError(f"chain database {self.path} has schema {int.from_bytes(version, 'little')}")
        self._in_tx = False

    def close(self) -> None:
        self.conn.close()

    # --- transactions -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block's writes atomically: all of them are committed, or none."""
        if self._in_tx:
            raise ChainStateError("nested chain database transaction")
        self.conn.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._in_tx = False

    # --- metadata -------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> bytes | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))

    # --- coins ------------------------------------------------------------------------------------------
    def fetch_coin(self, key: bytes) -> Coin | None:
        """The unspent coin stored under an outpoint key, or None."""
        row = self.conn.execute("SELECT v FROM coins WHERE k = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Coin.parse(row[0])
        except DecodeError as e:
            raise ChainStateError(f"corrupt coin {key.hex()}: {e}") from None

    def write_coins(self, changes: Iterable[tuple[bytes, Coin | None]]) -> None:
        """Apply an overlay's changes: write coins, delete spent ones."""
        puts: list[tuple[bytes, bytes]] = []
        dels: list[tuple[bytes]] = []
        for key, coin in changes:
            if coin is None:
                dels.append((key,))
            else:
                puts.append((key, coin.serialize()))
        if dels:
            self.conn.executemany("DELETE FROM coins WHERE k = ?", dels)
        if puts:
            self.conn.executemany("INSERT OR REPLACE INTO coins (k, v) VALUES (?, ?)", puts)

    def iter_coins(self) -> Iterator[tuple[bytes, Coin]]:
        """Every unspent coin as (outpoint key, coin), in key order."""
        for key, value in self.conn.execute("SELECT k, v FROM coins ORDER BY k"):
            yield bytes(key), Coin.parse(value)

    def coin_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM coins").fetchone()[0])

    # --- blocks and undo -------------------------------------------------------------------------------
    def put_block(self, block_hash: bytes, raw: bytes) -> None:
        self.conn.execute("INSERT OR IGNORE INTO blocks (hash, data) VALUES (?, ?)", (block_hash, raw))

    def get_block_raw(self, block_hash: bytes) -> bytes | None:
        row = self.conn.execute("SELECT data FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def has_block(self, block_hash: bytes) -> bool:
        return self.conn.execute("SELECT 1 FROM blocks WHERE hash = ?", (block_hash,)).fetchone() is not None

    def block_hashes(self) -> list[bytes]:
        """Hashes of every stored block, in the order they were stored."""
        return [bytes(r[0]) for r in self.conn.execute("SELECT hash FROM blocks ORDER BY rowid")]

    def delete_block(self, block_hash: bytes) -> None:
        self.conn.execute("DELETE FROM blocks WHERE hash = ?", (block_hash,))

    def put_undo(self, block_hash: bytes, undo: BlockUndo) -> None:
        self.conn.execute("INSERT OR REPLACE INTO undo (hash, data) VALUES (?, ?)", (block_hash, undo.serialize()))

    def get_undo(self, block_hash: bytes) -> BlockUndo | None:
        row = self.conn.execute("SELECT data FROM undo WHERE hash = ?", (block_hash,)).fetchone()
        if row is None:
            return None
        try:
            return BlockUndo.parse(row[0])
        except DecodeError as e:
            raise ChainStateError(f"corrupt undo data for block {block_hash.hex()}: {e}") from None

    def delete_undo(self, block_hash: bytes) -> None:
        self.conn.execute("DELETE FROM undo WHERE hash = ?", (block_hash,))
