"""The wallet file's schema as an ordered list of migrations.

`PRAGMA user_version` holds how many migrations a file has had; MIGRATIONS[i] brings a file from version i
to i + 1. Migrations are only ever appended (never edited once released), so any older file can be brought
up to date step by step. Each step runs inside one transaction together with its user_version bump, so a
crash mid-migration leaves the file at the previous version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

Migration = Sequence[str] | Callable[[sqlite3.Connection], None]

# History sort key: unconfirmed transactions (height NULL) sort above every block.
UNCONFIRMED_HEIGHT = 2**31 - 1
HISTORY_KEY = f"COALESCE(height, {UNCONFIRMED_HEIGHT})"

_V1: list[str] = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
    "CREATE TABLE secrets (name TEXT PRIMARY KEY, envelope BLOB NOT NULL) WITHOUT ROWID",
    """CREATE TABLE descriptors (
        id INTEGER PRIMARY KEY,
        descriptor TEXT NOT NULL UNIQUE,          -- with its '#checksum'
        internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
        next_index INTEGER NOT NULL DEFAULT 0 CHECK (next_index >= 0),   -- next index to hand out
        gap_limit INTEGER NOT NULL DEFAULT 20 CHECK (gap_limit > 0)
    )""",
    """CREATE TABLE addresses (
        descriptor_id INTEGER NOT NULL REFERENCES descriptors(id),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        script_pubkey BLOB NOT NULL,
        handed_out INTEGER NOT NULL DEFAULT 0 CHECK (handed_out IN (0, 1)),
        label TEXT,
        PRIMARY KEY (descriptor_id, idx)
    ) WITHOUT ROWID""",
    "CREATE INDEX addresses_script ON addresses(script_pubkey)",
    """CREATE TABLE transactions (
        txid BLOB PRIMARY KEY,                    -- internal byte order
        raw BLOB NOT NULL,
        height INTEGER,                           -- NULL while unconfirmed
        block_hash BLOB,
        time INTEGER NOT NULL,                    -- block time, or first seen while unconfirmed
        fee INTEGER                               -- NULL unless all inputs are known
    )""",
    """CREATE TABLE outputs (
        txid BLOB NOT NULL REFERENCES transactions(txid),
        vout INTEGER NOT NULL,
        value INTEGER NOT NULL CHECK (value >= 0),
        script_pubkey BLOB NOT NULL,
        descriptor_id INTEGER REFERENCES descriptors(id),
        idx INTEGER,
        spent_by BLOB,                            -- txid of the spending transaction, NULL if unspent
        frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
        PRIMARY KEY (txid, vout)
    ) WITHOUT ROWID""",
]

_V2: list[str] = [
    # BIP329 labels; (type, ref) is the record's identity in the export format.
    """CREATE TABLE labels (
        type TEXT NOT NULL CHECK (type IN ('tx', 'addr', 'pubkey', 'input', 'output', 'xpub')),
        ref TEXT NOT NULL,
        label TEXT,
        origin TEXT,
        spendable INTEGER CHECK (spendable IN (0, 1)),
        PRIMARY KEY (type, ref)
    ) WITHOUT ROWID""",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    # Balance: a partial covering index over unspent outputs only, so SUM(value) reads just the live set.
    # spent_by (always NULL here) is listed so SQLite sees the index as covering and skips table lookups.
    "CREATE INDEX outputs_unspent ON outputs(frozen, value, spent_by) WHERE spent_by IS NULL",
    "CREATE INDEX outputs_spent_by ON outputs(spent_by) WHERE spent_by IS NOT NULL",
    # History pages: keyset pagination walks this index from the newest row downwards.
    f"CREATE INDEX transactions_history ON transactions({HISTORY_KEY}, time, txid)",
    "CREATE INDEX transactions_unconfirmed ON transactions(txid) WHERE height IS NULL",
]

_V3: list[str] = [
    # Which outputs paid a given address index: change-address choice and the used-window restore on open.
    "CREATE INDEX outputs_descriptor_index ON outputs(descriptor_id, idx)",
]

MIGRATIONS: list[Migration] = [_V1, _V2, _V3]
SCHEMA_VERSION = len(MIGRATIONS)


def apply_migration(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one migration's statements on `conn` (the caller holds the transaction)."""
    if callable(migration):
        migration(conn)
        return
    for statement in migration:
        conn.execute(statement)
