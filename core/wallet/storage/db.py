"""One SQLite file per wallet: descriptors, handed-out addresses, transactions, outputs, labels, settings.

Durability rules:
- WAL journal, foreign keys on, and `PRAGMA synchronous=FULL`. SQLite sets synchronous per connection, not
  per table, so the whole file gets FULL: the handed-out address records (what the user was told) must
  survive power loss, and a commit costs well under a millisecond here.
- Every write goes through `transaction()` (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error), so each
  user-visible step is atomic; `next_address` commits the hand-out before returning the address, so an
  address the caller has seen is on disk and is never handed out again, even after a crash.
- The schema version lives in `PRAGMA user_version`; older files are migrated on open (see schema.py), a
  newer file than this code knows is refused with MigrationError rather than half-understood.

Queries that must stay fast with 100,000 transactions use dedicated indexes: the balance is a SUM over a
partial covering index of unspent outputs, and history pages use keyset pagination on an index ordered
like the page (never OFFSET).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.wallet.errors import MigrationError, StorageError
from core.wallet.storage.schema import HISTORY_KEY, MIGRATIONS, SCHEMA_VERSION, apply_migration

APPLICATION_ID = 0x50575754  # "PWWT": marks the file as a Peerwallet wallet for `file(1)` and for us


@dataclass(frozen=True)
class DescriptorRecord:
    """A descriptor the wallet watches, with its hand-out cursor."""

    id: int
    descriptor: str
    internal: bool
    next_index: int
    gap_limit: int


@dataclass(frozen=True)
class AddressRecord:
    """One derived script of a descriptor."""

    descriptor_id: int
    index: int
    script_pubkey: bytes
    handed_out: bool
    label: str | None = None


@dataclass(frozen=True)
class TxRecord:
    """A wallet transaction; txid in internal byte order, height None while unconfirmed."""

    txid: bytes
    raw: bytes
    height: int | None
    block_hash: bytes | None
    time: int
    fee: int | None = None


@dataclass(frozen=True)
class OutputRecord:
    """An output paying the wallet."""

    txid: bytes
    vout: int
    value: int
    script_pubkey: bytes
    descriptor_id: int | None = None
    index: int | None = None
    spent_by: bytes | None = None
    frozen: bool = False


@dataclass(frozen=True)
class Balance:
    """Unspent totals in satoshis; frozen coins are counted apart and not in confirmed/unconfirmed."""

    confirmed: int
    unconfirmed: int
    frozen: int

    @property
    def spendable(self) -> int:
        return self.confirmed + self.unconfirmed


@dataclass(frozen=True)
class HistoryCursor:
    """Position after the last row of a history page (keyset pagination)."""

    key: int
    time: int
    txid: bytes


@dataclass(frozen=True)
class HistoryRow:
    """One line of the history: what the transaction paid to and took from the wallet."""

    txid: bytes
    height: int | None
    time: int
    fee: int | None
    received: int
    sent: int

    @property
    def delta(self) -> int:
        return self.received - self.sent


class WalletDB:
    """An open wallet file. Not for concurrent use: one thread at a time (open it anywhere, then use it on the loop)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._depth = 0

    # -- opening, closing, transactions ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> WalletDB:
        """Open (and if needed create and migrate) the wallet file at `path`."""
        path = Path(path)
        if not create and not path.exists():
            raise StorageError(f"no wallet file at {path}")
        try:
            # check_same_thread=False: a wallet may be opened in a worker thread (opening a big one takes
            # longer than the loop may block) and then used on the loop; it is never used by two at once.
            conn = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
        except sqlite3.Error as e:
            raise StorageError(f"cannot open wallet file {path}: {e}") from e
        db = cls(conn, path)
        try:
            db._configure()
            db._migrate()
        except BaseException:
            conn.close()
            raise
        return db

    def _configure(self) -> None:
        try:
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id not in (0, APPLICATION_ID):
                raise StorageError(f"{self.path} is not a Peerwallet wallet file")
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"cannot use WAL journal for {self.path} (got {mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:
            raise StorageError(f"{self.path} is not a readable wallet file: {e}") from e

    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise MigrationError(
                f"wallet file {self.path} has schema version {version}, newer than this Peerwallet "
                f"understands ({SCHEMA_VERSION}); open it with a newer version"
            )
        while version < SCHEMA_VERSION:
            try:
                with self.transaction() as conn:
                    # Re-read under the write lock: another process may have migrated meanwhile.
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    if version >= SCHEMA_VERSION:
                        break
                    apply_migration(conn, MIGRATIONS[version])
                    if version == 0:
                        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {version + 1}")
            except StorageError as e:
                raise MigrationError(f"migrating {self.path} from schema version {version} failed: {e}") from e
            version += 1

    @property
    def conn(self) -> sqlite3.Connection:
        """The underlying connection, for reads by sibling modules (write through `transaction()`)."""
        return self._conn

    @property
    def version(self) -> int:
        """The file's schema version (PRAGMA user_version)."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the file (an open transaction is rolled back by SQLite)."""
        self._conn.close()

    def __enter__(self) -> WalletDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT around the block, ROLLBACK if it raises; nested uses join the outer one.

        sqlite3 errors inside are re-raised as StorageError after the rollback.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self._conn
            finally:
                self._depth -= 1
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StorageError(f"cannot start a write on {self.path}: {e}") from e
        self._depth = 1
        try:
            yield self._conn
        except BaseException as e:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StorageError(f"wallet database write failed: {e}") from e
            raise
        else:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StorageError(f"wallet database commit failed: {e}") from e
        finally:
            self._depth = 0

    def integrity_check(self) -> list[str]:
        """SQLite's full integrity check plus foreign keys; ["ok"] when the file is sound."""
        result = [row[0] for row in self._conn.execute("PRAGMA integrity_check")]
        bad_fk = self._conn.execute("PRAGMA foreign_key_check").fetchall()
        return result + [f"foreign key: {row}" for row in bad_fk]

    # -- meta, settings, secrets ----------------------------------------------------------------------

    def set_meta(self, key: str, value: bytes | str | int) -> None:
        """Set a meta value (wallet id, network, creation time, ...)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> bytes | str | int | None:
        """A meta value, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        """Store a user setting (text; callers encode structured values as JSON)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """A user setting, or `default`."""
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def put_secret(self, name: str, envelope: bytes) -> None:
        """Store an envelope from secrets.encrypt_secret (never plaintext) under `name`."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO secrets(name, envelope) VALUES (?, ?)", (name, bytes(envelope)))

    def get_secret(self, name: str) -> bytes:
        """The envelope stored under `name`; StorageError if there is none."""
        row = self._conn.execute("SELECT envelope FROM secrets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise StorageError(f"no secret named {name!r} in this wallet")
        return bytes(row[0])

    def secret_names(self) -> list[str]:
        """Names of the stored secrets."""
        return [r[0] for r in self._conn.execute("SELECT name FROM secrets ORDER BY name")]

    # -- descriptors and addresses --------------------------------------------------------------------

    def add_descriptor(self, descriptor: str, internal: bool, gap_limit: int = 20) -> int:
        """Record a descriptor (text with checksum); returns its id."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO descriptors(descriptor, internal, gap_limit) VALUES (?, ?, ?)",
                (descriptor, int(internal), gap_limit),
            )
            return int(cur.lastrowid or 0)

    def descriptors(self) -> list[DescriptorRecord]:
        """All descriptors, by id."""
        rows = self._conn.execute("SELECT id, descriptor, internal, next_index, gap_limit FROM descriptors ORDER BY id")
        return [DescriptorRecord(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def add_addresses(self, descriptor_id: int, scripts: Iterable[tuple[int, bytes]]) -> None:
        """Record derived (index, script_pubkey) pairs (the look-ahead window); existing rows are kept."""
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO addresses(descriptor_id, idx, script_pubkey) VALUES (?, ?, ?)",
                ((descriptor_id, i, bytes(spk)) for i, spk in scripts),
            )

    def next_address(self, descriptor_id: int, derive: Callable[[int], bytes] | None = None) -> AddressRecord:
        """Hand out the next unused index of a descriptor, recorded as handed out before this returns.

        The script comes from the look-ahead rows, or from `derive(index)` if that index was not derived yet.
        """
        with self.transaction() as c:
            row = c.execute("SELECT next_index FROM descriptors WHERE id = ?", (descriptor_id,)).fetchone()
            if row is None:
                raise StorageError(f"no descriptor with id {descriptor_id}")
            index = row[0]
            while True:
                addr = c.execute(
                    "SELECT script_pubkey, handed_out, label FROM addresses WHERE descriptor_id = ? AND idx = ?",
                    (descriptor_id, index),
                ).fetchone()
                if addr is None or not addr[1]:
                    break
                index += 1  # already handed out some other way (e.g. restored labels); never reuse it
            if addr is None:
                if derive is None:
                    raise StorageError(f"address {index} of descriptor {descriptor_id} is not derived yet")
                spk, label = bytes(derive(index)), None
                c.execute(
                    "INSERT INTO addresses(descriptor_id, idx, script_pubkey, handed_out) VALUES (?, ?, ?, 1)",
                    (descriptor_id, index, spk),
                )
            else:
                spk, label = bytes(addr[0]), addr[2]
                c.execute(
                    "UPDATE addresses SET handed_out = 1 WHERE descriptor_id = ? AND idx = ?", (descriptor_id, index)
                )
            c.execute("UPDATE descriptors SET next_index = ? WHERE id = ?", (index + 1, descriptor_id))
        return AddressRecord(descriptor_id, index, spk, True, label)

    def addresses(self, descriptor_id: int, *, handed_out_only: bool = False) -> list[AddressRecord]:
        """The recorded addresses of a descriptor, by index."""
        sql = "SELECT idx, script_pubkey, handed_out, label FROM addresses WHERE descriptor_id = ?"
        if handed_out_only:
            sql += " AND handed_out = 1"
        rows = self._conn.execute(sql + " ORDER BY idx", (descriptor_id,))
        return [AddressRecord(descriptor_id, r[0], bytes(r[1]), bool(r[2]), r[3]) for r in rows]

    def find_script(self, script_pubkey: bytes) -> AddressRecord | None:
        """The address record with this script, if the wallet derived it."""
        r = self._conn.execute(
            "SELECT descriptor_id, idx, script_pubkey, handed_out, label FROM addresses WHERE script_pubkey = ?",
            (bytes(script_pubkey),),
        ).fetchone()
        return None if r is None else AddressRecord(r[0], r[1], bytes(r[2]), bool(r[3]), r[4])

    def set_address_label(self, descriptor_id: int, index: int, label: str | None) -> None:
        """Set or clear the label shown next to an address."""
        with self.transaction() as c:
            c.execute("UPDATE addresses SET label = ? WHERE descriptor_id = ? AND idx = ?", (label, descriptor_id, index))

    # -- transactions and outputs ---------------------------------------------------------------------

    def add_transaction(
        self, tx: TxRecord, outputs: Iterable[OutputRecord] = (), spends: Iterable[tuple[bytes, int]] = ()
    ) -> None:
        """Record a transaction, the outputs it pays to the wallet and the wallet outputs it spends, atomically."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO transactions(txid, raw, height, block_hash, time, fee) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(txid) DO UPDATE SET height = excluded.height, block_hash = excluded.block_hash,"
                " time = excluded.time, fee = COALESCE(excluded.fee, fee)",
                (bytes(tx.txid), bytes(tx.raw), tx.height, tx.block_hash and bytes(tx.block_hash), tx.time, tx.fee),
            )
            c.executemany(
                "INSERT OR IGNORE INTO outputs(txid, vout, value, script_pubkey, descriptor_id, idx, frozen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (bytes(tx.txid), o.vout, o.value, bytes(o.script_pubkey), o.descriptor_id, o.index, int(o.frozen))
                    for o in outputs
                ),
            )
            c.executemany(
                "UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?",
                ((bytes(tx.txid), bytes(txid), vout) for txid, vout in spends),
            )

    def set_tx_height(self, txid: bytes, height: int | None, block_hash: bytes | None, time: int) -> None:
        """Confirm (or, on a reorg, unconfirm with height None) a transaction."""
        with self.transaction() as c:
            c.execute(
                "UPDATE transactions SET height = ?, block_hash = ?, time = ? WHERE txid = ?",
                (height, block_hash and bytes(block_hash), time, bytes(txid)),
            )

    def get_transaction(self, txid: bytes) -> TxRecord | None:
        """A recorded transaction, or None."""
        r = self._conn.execute(
            "SELECT txid, raw, height, block_hash, time, fee FROM transactions WHERE txid = ?", (bytes(txid),)
        ).fetchone()
        return None if r is None else TxRecord(bytes(r[0]), bytes(r[1]), r[2], r[3] and bytes(r[3]), r[4], r[5])

    def set_frozen(self, txid: bytes, vout: int, frozen: bool) -> None:
        """Freeze (exclude from coin selection) or thaw an output."""
        with self.transaction() as c:
            c.execute("UPDATE outputs SET frozen = ? WHERE txid = ? AND vout = ?", (int(frozen), bytes(txid), vout))

    def unspent(self, *, include_frozen: bool = False) -> list[OutputRecord]:
        """Unspent wallet outputs (coin selection input)."""
        sql = (
            "SELECT txid, vout, value, script_pubkey, descriptor_id, idx, frozen FROM outputs"
            " WHERE spent_by IS NULL" + ("" if include_frozen else " AND frozen = 0")
        )
        return [
            OutputRecord(bytes(r[0]), r[1], r[2], bytes(r[3]), r[4], r[5], None, bool(r[6]))
            for r in self._conn.execute(sql)
        ]

    def balance(self) -> Balance:
        """Confirmed / unconfirmed / frozen unspent totals (indexed: reads only the unspent set)."""
        frozen = total = 0
        for is_frozen, amount in self._conn.execute(
            "SELECT frozen, SUM(value) FROM outputs WHERE spent_by IS NULL GROUP BY frozen"
        ):
            if is_frozen:
                frozen = amount
            else:
                total = amount
        unconfirmed = self._conn.execute(
            # CROSS JOIN pins the (small) unconfirmed set as the outer loop.
            "SELECT COALESCE(SUM(o.value), 0) FROM transactions t CROSS JOIN outputs o ON o.txid = t.txid"
            " WHERE t.height IS NULL AND o.spent_by IS NULL AND o.frozen = 0"
        ).fetchone()[0]
        return Balance(total - unconfirmed, unconfirmed, frozen)

    def history_page(self, limit: int = 100, after: HistoryCursor | None = None) -> tuple[list[HistoryRow], HistoryCursor | None]:
        """Newest-first history: unconfirmed first, then by height, time, txid (all descending).

        Returns the rows and the cursor for the next page (None at the end).
        """
        where, args = "", []
        if after is not None:
            # Spelled out (not a row value) so SQLite seeks the index to the cursor instead of scanning to it.
            k = HISTORY_KEY
            where = f"WHERE {k} <= ?1 AND ({k} < ?1 OR ({k} = ?1 AND (time < ?2 OR (time = ?2 AND txid < ?3))))"
            args = [after.key, after.time, after.txid]
        rows = self._conn.execute(
            f"SELECT txid, height, time, fee, {HISTORY_KEY},"
            " (SELECT COALESCE(SUM(value), 0) FROM outputs o WHERE o.txid = t.txid),"
            " (SELECT COALESCE(SUM(value), 0) FROM outputs o WHERE o.spent_by = t.txid)"
            f" FROM transactions t {where} ORDER BY {HISTORY_KEY} DESC, time DESC, txid DESC LIMIT ?4",
            [*args, limit + 1] if args else [None, None, None, limit + 1],
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        page = [HistoryRow(bytes(r[0]), r[1], r[2], r[3], r[5], r[6]) for r in rows]
        cursor = HistoryCursor(rows[-1][4], rows[-1][2], bytes(rows[-1][0])) if more else None
        return page, cursor
