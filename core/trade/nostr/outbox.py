"""The persisted outbox of a RelayPool: events to publish, kept in a SQLite table until a relay has
stored one (state "sent") or every relay refused it (state "failed").

Writes commit at once, so an event handed to `RelayPool.publish` survives a crash and is delivered
after the next start. Rows are re-verified when read back (a corrupted row becomes "failed").
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.trade.errors import NostrError
from core.trade.nostr.event import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nostr_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_json TEXT NOT NULL,
    added_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    relay TEXT,
    error TEXT
)
"""


class OutboxState(StrEnum):
    """Where an outbox event stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row: the state, the relay that stored it (sent) or the last refusal (failed)."""

    event_id: str
    state: OutboxState
    relay: str | None
    error: str | None


class OutboxStore:
    """SQLite-backed outbox. Give a file path (":memory:" for tests) or an open connection (the caller
    then owns it, e.g. to share the trade database)."""

    def __init__(self, db: str | Path | sqlite3.Connection) -> None:
        if isinstance(db, sqlite3.Connection):
            self._conn, self._owned = db, False
        else:
            self._conn, self._owned = sqlite3.connect(str(db), isolation_level=None), True
        with self._conn:
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        """Close the connection if this store opened it."""
        if self._owned:
            self._conn.close()

    def add(self, event: Event) -> bool:
        """Persist `event` as pending; False if it was already in the outbox (any state)."""
        with self._conn:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO nostr_outbox (event_id, event_json, added_at, state) VALUES (?, ?, ?, ?)",
                (event.id, event.to_text(), time.time(), OutboxState.PENDING.value),
            )
        return cur.rowcount == 1

    def pending(self) -> list[Event]:
        """Pending events, oldest first; rows that no longer verify are marked failed and skipped."""
        rows = self._conn.execute(
            "SELECT event_id, event_json FROM nostr_outbox WHERE state = ? ORDER BY seq",
            (OutboxState.PENDING.value,),
        ).fetchall()
        out: list[Event] = []
        for event_id, text in rows:
            try:
                event = Event.from_json(text)
                if event.id != event_id:
                    raise NostrError("id column differs from the stored event")
            except NostrError as exc:
                self.mark_failed(event_id, f"corrupt outbox row: {exc}")
                continue
            out.append(event)
        return out

    def mark_sent(self, event_id: str, relay: str) -> None:
        """Record that `relay` stored the event (only a pending row changes)."""
        with self._conn:
            self._conn.execute(
                "UPDATE nostr_outbox SET state = ?, relay = ? WHERE event_id = ? AND state = ?",
                (OutboxState.SENT.value, relay, event_id, OutboxState.PENDING.value),
            )

    def mark_failed(self, event_id: str, error: str) -> None:
        """Record that every relay refused the event (only a pending row changes)."""
        with self._conn:
            self._conn.execute(
                "UPDATE nostr_outbox SET state = ?, error = ? WHERE event_id = ? AND state = ?",
                (OutboxState.FAILED.value, error[:500], event_id, OutboxState.PENDING.value),
            )

    def entry(self, event_id: str) -> OutboxEntry | None:
        """The outbox row of `event_id`, or None."""
        row = self._conn.execute(
            "SELECT event_id, state, relay, error FROM nostr_outbox WHERE event_id = ?", (event_id,)
        ).fetchone()
        return None if row is None else OutboxEntry(row[0], OutboxState(row[1]), row[2], row[3])

    def prune(self, older_than: float) -> int:
        """Delete sent and failed rows added before unix time `older_than`; returns the count."""
        with self._conn:
            cur = self._conn.execute(
                "DELETE FROM nostr_outbox WHERE state != ? AND added_at < ?",
                (OutboxState.PENDING.value, older_than),
            )
        return cur.rowcount
