"""The trade database: one SQLite file (WAL) per data dir with trades (state + serialized context), the
messages seen and sent (replay detection, transcripts, the outbox), parked messages, pending effects,
timers (by block height or wall time), receipts, offers and a little metadata.

`commit` is the single write path of a protocol step: the new state and context, the incoming message
that caused it (and its channel's next sequence number), the messages to send (numbered and signed
inside the transaction), timers, and the effects to execute — all in ONE transaction, before anything
leaves the process. An effect the engine completes is marked done in the same way, together with what
it changed. Use it from the loop thread only; each call is a few small indexed writes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.trade.context import Role, TradeContext
from core.trade.errors import TradeStoreError
from core.trade.messages import WireMessage
from core.trade.protocol_types import FINAL_STATES, INLINE_OPS, Effect, Op, State

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (
    trade_id TEXT PRIMARY KEY, role TEXT NOT NULL, state TEXT NOT NULL, context TEXT NOT NULL,
    final INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    trade_id TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL, next_seq INTEGER NOT NULL,
    PRIMARY KEY (trade_id, sender, recipient));
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, trade_id TEXT NOT NULL, direction TEXT NOT NULL, sender TEXT NOT NULL,
    recipient TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, raw TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_trade ON messages (trade_id, at);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (status) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS parked (
    id TEXT PRIMARY KEY, trade_id TEXT NOT NULL, raw TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS parked_trade ON parked (trade_id);
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trade_id TEXT NOT NULL, op TEXT NOT NULL, args TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS effects_pending ON effects (done, trade_id);
CREATE TABLE IF NOT EXISTS timers (
    trade_id TEXT NOT NULL, name TEXT NOT NULL, height INTEGER, at REAL, PRIMARY KEY (trade_id, name));
CREATE TABLE IF NOT EXISTS receipts (
    id TEXT PRIMARY KEY, json TEXT NOT NULL, buyer TEXT NOT NULL, seller TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY, json TEXT NOT NULL, mine INTEGER NOT NULL, status TEXT NOT NULL,
    local TEXT NOT NULL, event TEXT, updated_at REAL NOT NULL);
"""
#: Parked messages per trade (a peer cannot fill the disk by sending far-future sequence numbers).
MAX_PARKED_PER_TRADE = 50


@dataclass(frozen=True)
class TradeRow:
    """A stored trade."""

    trade_id: str
    role: Role
    state: State
    ctx: TradeContext
    updated_at: float

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class PendingEffect:
    """An effect persisted and not yet done."""

    id: int
    trade_id: str
    effect: Effect
    attempts: int
    error: str | None


@dataclass(frozen=True)
class StoredMessage:
    """A message we received or sent."""

    id: str
    trade_id: str
    direction: str  # "in" / "out"
    kind: str
    raw: str
    status: str  # in: applied / rejected; out: pending / sent
    reason: str | None
    at: float


#: Builds and signs an outgoing message for a SEND effect, given a sequence allocator.
SignSend = Callable[[Effect, Callable[[str], int]], WireMessage]


class TradeStore:
    """The trade database. `TradeStore(path)`; `close()` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")  # a step on disk is a promise to the peer
            # One transaction: autocommit would sync each CREATE on its own (~17 ms for a new file, on the
            # app's loop at start, against ~3 ms).
            self.conn.executescript(
                f"BEGIN;{_SCHEMA}INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;"
            )
        except sqlite3.Error as e:
            raise TradeStoreError(f"cannot open the trade database {self.path}: {e}") from None
        self._in_tx = False

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any exception)."""
        if self._in_tx:
            raise TradeStoreError("nested trade store transaction")
        self._in_tx = True
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._in_tx = False

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def next_key_index(self) -> int:
        """Allocate the next per-trade key index (never handed out twice)."""
        with self.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key = 'key_index'").fetchone()
            index = 0 if row is None else int(row[0])
            c.execute("INSERT OR REPLACE INTO meta VALUES ('key_index', ?)", (str(index + 1),))
        return index

    # -- trades ----------------------------------------------------------------------------------

    def trade(self, trade_id: str) -> TradeRow | None:
        row = self.conn.execute(
            "SELECT trade_id, role, state, context, updated_at FROM trades WHERE trade_id = ?", (trade_id,)
        ).fetchone()
        return None if row is None else self._row(row)

    def trades(self, *, open_only: bool = False) -> list[TradeRow]:
        """Every trade (or the open ones), newest first."""
        sql = "SELECT trade_id, role, state, context, updated_at FROM trades"
        sql += " WHERE final = 0" if open_only else ""
        return [self._row(r) for r in self.conn.execute(sql + " ORDER BY created_at DESC").fetchall()]

    @staticmethod
    def _row(row: Sequence[Any]) -> TradeRow:
        try:
            return TradeRow(row[0], Role(row[1]), State(row[2]), TradeContext.from_text(row[3]), row[4])
        except ValueError as e:
            raise TradeStoreError(f"trade {row[0]} is damaged: {e}") from None

    # -- the step ----------------------------------------------------------------------------------

    def commit(
        self,
        trade_id: str,
        *,
        state: State | None = None,
        ctx: TradeContext | None = None,
        effects: Sequence[Effect] = (),
        incoming: WireMessage | None = None,
        incoming_status: str = "applied",
        incoming_reason: str | None = None,
        done_effect: int | None = None,
        sign_send: SignSend | None = None,
        park_incoming: str | None = None,
    ) -> list[PendingEffect]:
        """Persist one step atomically (see the module docstring); returns the effects to execute.
        `park_incoming` also keeps the incoming message to retry later, with that reason."""
        now = time.time()
        pending: list[PendingEffect] = []
        with self.transaction() as c:
            if state is not None and ctx is not None:
                c.execute(
                    "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trade_id) DO UPDATE SET"
                    " state = excluded.state, context = excluded.context, final = excluded.final,"
                    " updated_at = excluded.updated_at",
                    (trade_id, ctx.role.value, state.value, ctx.to_text(), int(state in FINAL_STATES), now, now),
                )
            if incoming is not None:
                self._record(c, incoming, "in", incoming_status, incoming_reason, now)
                c.execute(
                    "INSERT INTO channels VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET next_seq = MAX(next_seq, excluded.next_seq)",
                    (incoming.trade_id, incoming.sender, incoming.recipient, incoming.seq + 1),
                )
                c.execute("DELETE FROM parked WHERE id = ?", (incoming.id,))
                if park_incoming is not None:
                    self._park(c, incoming.trade_id, incoming.id, incoming.to_text(), park_incoming, now)
            if done_effect is not None:
                c.execute("UPDATE effects SET done = 1 WHERE id = ?", (done_effect,))
            for eff in effects:
                if eff.op is Op.SEND:
                    if sign_send is None:
                        raise TradeStoreError("a SEND effect needs a signer")
                    msg = sign_send(eff, lambda recipient: self._next_out_seq(c, trade_id, recipient))
                    self._record(c, msg, "out", "pending", None, now)
                elif eff.op is Op.START_TIMER:
                    a = eff.args
                    c.execute("INSERT OR REPLACE INTO timers VALUES (?, ?, ?, ?)", (trade_id, a["name"], a["height"], a["at"]))
                elif eff.op is Op.CANCEL_TIMER:
                    c.execute("DELETE FROM timers WHERE trade_id = ? AND name = ?", (trade_id, eff.args["name"]))
                elif eff.op not in INLINE_OPS:
                    cur = c.execute(
                        "INSERT INTO effects (trade_id, op, args, created_at) VALUES (?, ?, ?, ?)",
                        (trade_id, eff.op.value, json.dumps(dict(eff.args), sort_keys=True), now),
                    )
                    pending.append(PendingEffect(int(cur.lastrowid or 0), trade_id, eff, 0, None))
        return pending

    def _next_out_seq(self, c: sqlite3.Connection, trade_id: str, recipient: str) -> int:
        # Our own key on this trade's channel to `recipient`: the sender column is filled by the caller's
        # message, so allocate by (trade, recipient) with sender '' as "us".
        row = c.execute(
            "SELECT next_seq FROM channels WHERE trade_id = ? AND sender = '' AND recipient = ?", (trade_id, recipient)
        ).fetchone()
        seq = 1 if row is None else int(row[0])
        c.execute("INSERT OR REPLACE INTO channels VALUES (?, '', ?, ?)", (trade_id, recipient, seq + 1))
        return seq

    @staticmethod
    def _record(c: sqlite3.Connection, msg: WireMessage, direction: str, status: str, reason: str | None, now: float) -> None:
        c.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, reason = excluded.reason",
            (msg.id, msg.trade_id, direction, msg.sender, msg.recipient, msg.seq, msg.kind.value, msg.to_text(), status, reason, now),
        )

    # -- messages ----------------------------------------------------------------------------------

    def expected_seq(self, trade_id: str, sender: str, recipient: str) -> int:
        """The next sequence number we accept on this incoming channel."""
        row = self.conn.execute(
            "SELECT next_seq FROM channels WHERE trade_id = ? AND sender = ? AND recipient = ?", (trade_id, sender, recipient)
        ).fetchone()
        return 1 if row is None else int(row[0])

    def seen(self, msg_id: str) -> bool:
        """True if we recorded this message (received or sent) before."""
        return self.conn.execute("SELECT 1 FROM messages WHERE id = ?", (msg_id,)).fetchone() is not None

    def record_rejected(self, msg: WireMessage, reason: str, *, park: str | None = None) -> None:
        """Record a refused in-sequence message; its channel advances (the sender has moved on). With
        `park`, it is kept to retry later in the same transaction: a crash between the two would leave it
        seen (its relay copy a duplicate from then on) but not kept — lost."""
        self.commit(msg.trade_id, incoming=msg, incoming_status="rejected", incoming_reason=reason[:300], park_incoming=park)

    def pending_out(self) -> list[StoredMessage]:
        """Our messages not yet handed to the relay pool, oldest first."""
        return self._messages("WHERE status = 'pending' AND direction = 'out' ORDER BY at, rowid", ())

    def mark_sent(self, msg_id: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE messages SET status = 'sent' WHERE id = ?", (msg_id,))

    def messages(self, trade_id: str, kinds: Sequence[str] | None = None) -> list[StoredMessage]:
        """A trade's messages in both directions, oldest first (optionally only some kinds)."""
        rows = self._messages("WHERE trade_id = ? ORDER BY at, rowid", (trade_id,))
        return [m for m in rows if kinds is None or m.kind in kinds]

    def _messages(self, where: str, args: tuple[Any, ...]) -> list[StoredMessage]:
        rows = self.conn.execute(
            "SELECT id, trade_id, direction, kind, raw, status, reason, at FROM messages " + where, args
        ).fetchall()
        return [StoredMessage(*r) for r in rows]

    # -- parked messages (out of order, or for a trade we do not know yet, or refused in this state) --

    def park(self, trade_id: str, msg_id: str, raw: str, reason: str) -> bool:
        """Keep a message to retry later; False if this trade already has too many parked."""
        with self.transaction() as c:
            return self._park(c, trade_id, msg_id, raw, reason, time.time())

    @staticmethod
    def _park(c: sqlite3.Connection, trade_id: str, msg_id: str, raw: str, reason: str, now: float) -> bool:
        count = c.execute("SELECT COUNT(*) FROM parked WHERE trade_id = ?", (trade_id,)).fetchone()[0]
        if count >= MAX_PARKED_PER_TRADE:
            return False
        c.execute("INSERT OR IGNORE INTO parked VALUES (?, ?, ?, ?, ?)", (msg_id, trade_id, raw, reason, now))
        return True

    def parked(self, trade_id: str) -> list[tuple[str, str, str]]:
        """(id, raw, reason) of a trade's parked messages, oldest first."""
        return [tuple(r) for r in self.conn.execute(  # type: ignore[misc]
            "SELECT id, raw, reason FROM parked WHERE trade_id = ? ORDER BY at, rowid", (trade_id,)
        ).fetchall()]

    def unpark(self, msg_id: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM parked WHERE id = ?", (msg_id,))

    # -- effects -----------------------------------------------------------------------------------

    def pending_effects(self, trade_id: str | None = None) -> list[PendingEffect]:
        """Effects not done yet, oldest first."""
        sql = "SELECT id, trade_id, op, args, attempts, error FROM effects WHERE done = 0"
        args: tuple[Any, ...] = ()
        if trade_id is not None:
            sql += " AND trade_id = ?"
            args = (trade_id,)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [PendingEffect(r[0], r[1], Effect(Op(r[2]), json.loads(r[3])), r[4], r[5]) for r in rows]

    def effect_failed(self, effect_id: int, error: str, *, give_up: bool) -> None:
        """Count a failed attempt; `give_up` marks it done (it will not be retried)."""
        with self.transaction() as c:
            c.execute(
                "UPDATE effects SET attempts = attempts + 1, error = ?, done = ? WHERE id = ?",
                (error[:500], int(give_up), effect_id),
            )

    # -- timers ------------------------------------------------------------------------------------

    def timers(self, trade_id: str | None = None) -> list[tuple[str, str, int | None, float | None]]:
        """(trade_id, name, height, at) of the armed timers."""
        if trade_id is None:
            return [tuple(r) for r in self.conn.execute("SELECT * FROM timers").fetchall()]  # type: ignore[misc]
        return [tuple(r) for r in self.conn.execute("SELECT * FROM timers WHERE trade_id = ?", (trade_id,)).fetchall()]  # type: ignore[misc]

    def due_timers(self, height: int, now: float) -> list[tuple[str, str]]:
        """(trade_id, name) of timers whose height or time has come."""
        rows = self.conn.execute(
            "SELECT trade_id, name FROM timers WHERE (height IS NOT NULL AND height <= ?) OR (at IS NOT NULL AND at <= ?)",
            (height, now),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def drop_timer(self, trade_id: str, name: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM timers WHERE trade_id = ? AND name = ?", (trade_id, name))

    # -- receipts ----------------------------------------------------------------------------------

    def add_receipt(self, receipt_id: str, obj: dict[str, Any]) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?, ?)",
                (receipt_id, json.dumps(obj, sort_keys=True), obj["buyer"], obj["seller"], time.time()),
            )

    def receipts(self, identity: str | None = None) -> list[dict[str, Any]]:
        """Stored complete receipts (those naming `identity`)."""
        if identity is None:
            rows = self.conn.execute("SELECT json FROM receipts ORDER BY at").fetchall()
        else:
            rows = self.conn.execute(
                "SELECT json FROM receipts WHERE buyer = ? OR seller = ? ORDER BY at", (identity, identity)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- offers ------------------------------------------------------------------------------------

    def put_offer(self, offer: dict[str, Any], *, mine: bool, status: str, local: dict[str, Any] | None = None,
                  event: dict[str, Any] | None = None) -> None:
        """Insert or replace an offer (ours with its private `local` data, or one seen on a relay)."""
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO offers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (offer["id"], json.dumps(offer, sort_keys=True), int(mine), status, json.dumps(local or {}),
                 None if event is None else json.dumps(event), time.time()),
            )

    def set_offer_status(self, offer_id: str, status: str, event: dict[str, Any] | None = None) -> None:
        with self.transaction() as c:
            if event is None:
                c.execute("UPDATE offers SET status = ?, updated_at = ? WHERE id = ?", (status, time.time(), offer_id))
            else:
                c.execute(
                    "UPDATE offers SET status = ?, event = ?, updated_at = ? WHERE id = ?",
                    (status, json.dumps(event), time.time(), offer_id),
                )

    def offer(self, offer_id: str) -> tuple[dict[str, Any], bool, str, dict[str, Any]] | None:
        """(offer, mine, status, local) or None."""
        row = self.conn.execute("SELECT json, mine, status, local FROM offers WHERE id = ?", (offer_id,)).fetchone()
        return None if row is None else (json.loads(row[0]), bool(row[1]), row[2], json.loads(row[3]))

    def offer_event(self, offer_id: str) -> dict[str, Any] | None:
        """The last NIP-69 event stored with an offer (None if none was signed yet)."""
        row = self.conn.execute("SELECT event FROM offers WHERE id = ?", (offer_id,)).fetchone()
        return None if row is None or row[0] is None else dict(json.loads(row[0]))

    def offers(self, *, mine: bool | None = None) -> list[tuple[dict[str, Any], bool, str]]:
        """(offer, mine, status) rows, newest first."""
        sql = "SELECT json, mine, status FROM offers"
        args: tuple[Any, ...] = ()
        if mine is not None:
            sql += " WHERE mine = ?"
            args = (int(mine),)
        rows = self.conn.execute(sql + " ORDER BY updated_at DESC", args).fetchall()
        return [(json.loads(r[0]), bool(r[1]), r[2]) for r in rows]
