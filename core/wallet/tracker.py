"""WalletTracker: the wallet side of the light node's ScanTarget protocol, plus its mempool feed.

The node hands it every block whose compact filter matched the keychain's scripts, and every transaction
its mempool view learns of; the tracker records the transactions paying to our scripts or spending our
outputs into the WalletDB, one database transaction per block (or mempool batch), and marks the paid
scripts used so the keychain's gap window grows (the node re-matches the rest of its batch when
`scripts()` changes).

Conflicts follow Core's wallet: a transaction spending a coin that an unconfirmed wallet transaction
already spends replaces it (BIP125, or a double spend seen first in a block); the loser and its
descendants are dropped, and the coins they spent become unspent again. A disconnected block's
transactions become unconfirmed (its coinbase is dropped: it no longer exists). The tracker records
its own scan progress so a wallet file never relies on a node datadir having scanned for it.
Immature coinbase outputs need the tip height, which `on_event` follows and persists.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.consensus.block import Block
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import Transaction
from core.node.events import BlockConnected, BlockDisconnected, ChainTip
from core.validation.deployments import COINBASE_MATURITY
from core.wallet.events import (
    BalanceChanged,
    RemovalReason,
    TxAdded,
    TxConfirmed,
    TxRemoved,
    TxUnconfirmed,
    WalletEvent,
)
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import OutputRecord, TxRecord, WalletDB
from core.wallet.storage.schema import HISTORY_KEY, UNCONFIRMED_HEIGHT

META_SCANNED = "scanned_height"
META_TIP = "tip_height"
META_BIRTHDAY_PENDING = "birthday_pending"
BIRTHDAY_MARGIN = 144  # blocks (a day) scanned below a new wallet's first tip


def _key(txid: bytes, vout: int) -> bytes:
    return bytes(txid) + struct.pack("<I", vout)


@dataclass(frozen=True)
class WalletBalance:
    """Unspent totals in satoshis. `immature` coinbase outputs and `frozen` coins are in neither
    confirmed nor unconfirmed."""

    confirmed: int
    unconfirmed: int
    immature: int
    frozen: int = 0

    @property
    def spendable(self) -> int:
        return self.confirmed + self.unconfirmed

    @property
    def total(self) -> int:
        return self.confirmed + self.unconfirmed + self.immature + self.frozen


class WalletTracker:
    """Keeps a WalletDB in step with the chain and the mempool for one keychain. Use it from the loop thread."""

    def __init__(self, keychain: Keychain, db: WalletDB, birthday: int = 0) -> None:
        self.keychain = keychain
        self.db = db
        self.birthday = birthday
        self.tip_height = -1
        self.listeners: list[Callable[[WalletEvent], None]] = []
        self._announced_tip: int | None = None  # the ChainTip height last persisted and announced
        self._descriptor_ids = self._register_descriptors()
        self._saved = {kind: self._preload(kind) for kind in KeychainKind}
        self._restore_used()
        self._save_window()
        # Every wallet outpoint (spent or not): the mempool feed tests each input against it in memory.
        self._outpoints = {_key(t, v) for t, v in db.conn.execute("SELECT txid, vout FROM outputs")}

    # -- setup --------------------------------------------------------------------------------------

    def _register_descriptors(self) -> dict[KeychainKind, int]:
        known = {r.descriptor: r.id for r in self.db.descriptors()}
        ids = {}
        for kind in KeychainKind:
            text = str(self.keychain.descriptor(kind))
            if text not in known:
                known[text] = self.db.add_descriptor(text, kind is KeychainKind.CHANGE, self.keychain.gap_limit)
            ids[kind] = known[text]
        return ids

    def descriptor_id(self, kind: KeychainKind) -> int:
        """The WalletDB id of a chain's descriptor."""
        return self._descriptor_ids[kind]

    def _preload(self, kind: KeychainKind) -> int:
        """Adopt the scripts recorded by earlier sessions (contiguous from index 0); returns how many."""
        rows = self.db.conn.execute(
            "SELECT idx, script_pubkey FROM addresses WHERE descriptor_id = ? ORDER BY idx", (self._descriptor_ids[kind],)
        ).fetchall()
        n = 0
        while n < len(rows) and rows[n][0] == n:
            n += 1
        self.keychain.preload(kind, [r[1] for r in rows[:n]])
        return n

    def _restore_used(self) -> None:
        """Grow the window to what earlier sessions saw used, so a restart watches the same scripts."""
        for kind, desc_id in self._descriptor_ids.items():
            row = self.db.conn.execute("SELECT MAX(idx) FROM outputs WHERE descriptor_id = ?", (desc_id,)).fetchone()
            if row[0] is not None:
                self.keychain.mark_index_used(kind, row[0])
            # Handed-out addresses count as used: a payment to one must be found even after a long gap.
            row = self.db.conn.execute(
                "SELECT MAX(idx) FROM addresses WHERE descriptor_id = ? AND handed_out = 1", (desc_id,)
            ).fetchone()
            if row[0] is not None:
                self.keychain.mark_index_used(kind, row[0])
        row = self.db.conn.execute("SELECT MAX(height) FROM transactions").fetchone()
        stored_tip = self.db.get_meta(META_TIP)
        self.tip_height = max(self.tip_height, row[0] if row[0] is not None else -1, int(stored_tip or -1))

    def _save_window(self) -> None:
        # Recording the look-ahead rows lets WalletDB.find_script and next_address see them.
        for kind, desc_id in self._descriptor_ids.items():
            n, saved = self.keychain.derived(kind), self._saved[kind]
            if n > saved:
                self.db.add_addresses(desc_id, ((i, self.keychain.script_pubkey(kind, i)) for i in range(saved, n)))
                self._saved[kind] = n

    def note_handed_out(self, kind: KeychainKind, index: int) -> None:
        """An address was handed out: watch the gap window beyond it too."""
        if self.keychain.mark_index_used(kind, index):
            self._save_window()

    def _emit(self, events: Sequence[WalletEvent], *, force: bool = False) -> None:
        if not events and not force:
            return
        b = self.balance()
        events = [*events, BalanceChanged(b.confirmed, b.unconfirmed, b.immature, b.frozen)]
        for fn in list(self.listeners):
            for e in events:
                fn(e)

    # -- ScanTarget ---------------------------------------------------------------------------------

    def scripts(self) -> Sequence[bytes]:
        """The scripts the node matches filters against (grows as addresses get used)."""
        return self.keychain.scripts()

    def birthday_height(self) -> int:
        """No transaction of this wallet is below this height."""
        return self.birthday

    def scan_resume_height(self) -> int:
        """The height this wallet file has been scanned through (birthday - 1 if never)."""
        value = self.db.get_meta(META_SCANNED)
        return self.birthday - 1 if value is None else int(value)

    def before_scan(self, tip_height: int) -> None:
        """A brand-new seed (birthday pending) starts at the first tip the node reaches, less a day of
        blocks as margin for a payment mined while the headers were still syncing."""
        if not self.db.get_meta(META_BIRTHDAY_PENDING):
            return
        self.birthday = max(tip_height - BIRTHDAY_MARGIN, 0)
        with self.db.transaction():
            self.db.set_meta("birthday", self.birthday)
            self.db.set_meta(META_SCANNED, self.birthday - 1)
            self.db.set_meta(META_BIRTHDAY_PENDING, 0)

    def scan_progress(self, height: int, block_hash: BlockHash) -> None:
        """The node scanned every block up to `height` for us: remember it in the wallet file."""
        if height != self.scan_resume_height():
            self.db.set_meta(META_SCANNED, height)

    def block_connected(self, height: int, block: Block) -> None:
        """Record the block's transactions that touch the wallet (atomically) and grow the gap window."""
        events: list[WalletEvent] = []
        with self.db.transaction():
            # A transaction may pay an index that only a later one of this block brings into the window:
            # after growth, go over the block again (recording is idempotent) until nothing new is found.
            while True:
                watched = len(self.keychain.scripts())
                for tx in block.txs:
                    self._record(tx, height, bytes(block.header.hash), block.header.time, events)
                if len(self.keychain.scripts()) == watched:
                    break
            if height > self.scan_resume_height():
                self.db.set_meta(META_SCANNED, height)
        self.tip_height = max(self.tip_height, height)
        self._emit(events)

    def transactions_seen(self, txs: Sequence[Transaction]) -> None:
        """Mempool feed (MempoolView.tx_listeners): record unconfirmed transactions touching the wallet."""
        index, outpoints = self.keychain.index_of, self._outpoints
        mine = [
            tx
            for tx in txs
            if any(index(o.script_pubkey) is not None for o in tx.vout)
            or any(_key(i.prevout.txid, i.prevout.n) in outpoints for i in tx.vin)
        ]
        if mine:
            self.add_unconfirmed(mine)

    def transactions_conflicted(self, txids: Sequence[bytes]) -> None:
        """Mempool feed (MempoolView.conflict_listeners): transactions a replacement or a block knocked out.

        Drops those that are unconfirmed wallet transactions. This is how an incoming payment that its
        sender double-spent away (to someone else) leaves the balance: the wallet never sees the
        replacement itself, since it does not touch our scripts.
        """
        c = self.db.conn
        gone = [
            bytes(t) for t in txids
            if c.execute("SELECT 1 FROM transactions WHERE txid = ? AND height IS NULL", (bytes(t),)).fetchone()
        ]
        if not gone:
            return
        events: list[WalletEvent] = []
        with self.db.transaction():
            for txid in gone:
                if c.execute("SELECT 1 FROM transactions WHERE txid = ? AND height IS NULL", (txid,)).fetchone():
                    self._remove(txid, RemovalReason.REPLACED, events)
        self._emit(events)

    def add_unconfirmed(self, txs: Sequence[Transaction]) -> None:
        """Record transactions seen unconfirmed (ours just broadcast, or from the mempool); known ones are kept."""
        events: list[WalletEvent] = []
        now = int(time.time())
        with self.db.transaction() as c:
            for tx in txs:
                if c.execute("SELECT 1 FROM transactions WHERE txid = ?", (bytes(tx.txid),)).fetchone():
                    continue  # never let a mempool sighting unconfirm a mined transaction
                self._record(tx, None, None, now, events)
        self._emit(events)

    def _record(
        self, tx: Transaction, height: int | None, block_hash: bytes | None, time_: int, events: list[WalletEvent]
    ) -> bool:
        """Inside a write: record `tx` if it touches the wallet (True), resolving conflicts; grow the window."""
        c = self.db.conn
        txid = bytes(tx.txid)
        outputs = []
        for n, out in enumerate(tx.vout):
            found = self.keychain.index_of(out.script_pubkey)
            if found is None:
                continue
            kind, index = found
            outputs.append(OutputRecord(txid, n, out.value, out.script_pubkey, self._descriptor_ids[kind], index))
            # Grow at once: a later transaction of this very block may pay the next window.
            if self.keychain.mark_index_used(kind, index):
                self._save_window()
        spends, spent_value, conflicts = [], 0, []
        if not tx.is_coinbase():
            for txin in tx.vin:
                prev = (bytes(txin.prevout.txid), txin.prevout.n)
                if _key(*prev) not in self._outpoints:
                    continue
                row = c.execute("SELECT value, spent_by FROM outputs WHERE txid = ? AND vout = ?", prev).fetchone()
                if row is None:
                    continue
                other = row[1]
                if other is not None and bytes(other) != txid:
                    other_height = c.execute("SELECT height FROM transactions WHERE txid = ?", (other,)).fetchone()
                    if height is None and other_height is not None and other_height[0] is not None:
                        return False  # conflicts with a mined transaction: it can never confirm
                    conflicts.append(bytes(other))
                spends.append(prev)
                spent_value += row[0]
        if not outputs and not spends:
            return False
        if not tx.is_coinbase():  # inputs that are not ours (a shared escrow) can be double-spent too
            conflicts += self._unconfirmed_spenders(tx, txid)
        # Only now, once no input conflicts with a mined spend, do the transactions it displaces go.
        reason = RemovalReason.REPLACED if height is None else RemovalReason.CONFLICTED
        for other in dict.fromkeys(conflicts):
            if c.execute("SELECT 1 FROM transactions WHERE txid = ?", (other,)).fetchone():  # not gone as a descendant
                self._remove(other, reason, events)
        existing = c.execute("SELECT height FROM transactions WHERE txid = ?", (txid,)).fetchone()
        fee = spent_value - tx.total_out() if spends and len(spends) == len(tx.vin) else None
        self.db.add_transaction(TxRecord(txid, tx.serialize(), height, block_hash, time_, fee), outputs, spends)
        self._outpoints.update(_key(txid, o.vout) for o in outputs)
        if existing is None:
            received = sum(o.value for o in outputs)
            events.append(TxAdded(Txid(txid), height, received - spent_value, incoming=not spends))
        elif existing[0] is None and height is not None:
            events.append(TxConfirmed(Txid(txid), height))
        return True

    def _unconfirmed_spenders(self, tx: Transaction, txid: bytes) -> list[bytes]:
        """Unconfirmed wallet transactions other than `tx` spending one of its inputs that are not wallet
        outputs (e.g. a payout from a shared escrow that `tx` replaces or, mined, double-spends)."""
        foreign = {(bytes(i.prevout.txid), i.prevout.n) for i in tx.vin if _key(i.prevout.txid, i.prevout.n) not in self._outpoints}
        if not foreign:
            return []
        rows = self.db.conn.execute("SELECT txid, raw FROM transactions WHERE height IS NULL AND txid != ?", (txid,))
        return [
            bytes(other)
            for other, raw in rows.fetchall()
            if any((bytes(i.prevout.txid), i.prevout.n) in foreign for i in Transaction.parse(bytes(raw)).vin)
        ]

    def _remove(self, txid: bytes, reason: RemovalReason, events: list[WalletEvent]) -> None:
        """Inside a write: drop a transaction that can no longer confirm, its descendants first."""
        c = self.db.conn
        children = [
            bytes(r[0])
            for r in c.execute(
                "SELECT DISTINCT spent_by FROM outputs WHERE txid = ? AND spent_by IS NOT NULL", (txid,)
            ).fetchall()
        ]
        for child in children:
            self._remove(child, reason, events)
        c.execute("UPDATE outputs SET spent_by = NULL WHERE spent_by = ?", (txid,))
        for (vout,) in c.execute("SELECT vout FROM outputs WHERE txid = ?", (txid,)).fetchall():
            self._outpoints.discard(_key(txid, vout))
        c.execute("DELETE FROM outputs WHERE txid = ?", (txid,))
        c.execute("DELETE FROM transactions WHERE txid = ?", (txid,))
        events.append(TxRemoved(Txid(txid), reason))

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        """Make a disconnected block's transactions unconfirmed again, dropping its coinbase (tip first, as the node sends)."""
        events: list[WalletEvent] = []
        with self.db.transaction() as c:
            rows = c.execute(
                "SELECT txid, raw, time FROM transactions WHERE block_hash = ?", (bytes(block_hash),)
            ).fetchall()
            for txid, raw, time_ in rows:
                if Transaction.parse(bytes(raw)).is_coinbase():
                    self._remove(bytes(txid), RemovalReason.REORGED, events)
                else:
                    self.db.set_tx_height(bytes(txid), None, None, time_)
                    events.append(TxUnconfirmed(Txid(bytes(txid)), height))
            if self.scan_resume_height() >= height:
                self.db.set_meta(META_SCANNED, height - 1)
        if self.tip_height >= height:
            self.tip_height = height - 1
        self._emit(events)

    def on_event(self, event: object) -> None:
        """Node listener (`node.add_listener(tracker.on_event)`): follow the tip height for maturity."""
        if isinstance(event, BlockConnected):
            self.tip_height = max(self.tip_height, event.height)
        elif isinstance(event, BlockDisconnected):
            self.tip_height = min(self.tip_height, event.height - 1)
        elif isinstance(event, ChainTip):
            self.tip_height = event.height
            # Compare with the tip last announced, not tip_height: BlockConnected has usually moved that already.
            if event.height != self._announced_tip:
                self._announced_tip = event.height
                self.db.set_meta(META_TIP, event.height)
                self._emit([], force=True)  # maturity and confirmations moved

    # -- balance ------------------------------------------------------------------------------------

    def balance(self, tip_height: int | None = None) -> WalletBalance:
        """Confirmed / unconfirmed / immature unspent totals at `tip_height` (default: the tracked tip)."""
        tip = self.tip_height if tip_height is None else tip_height
        base = self.db.balance()
        immature = 0
        # Only coinbase transactions less than COINBASE_MATURITY deep can be immature: parse just those.
        rows = self.db.conn.execute(
            "SELECT t.raw, SUM(o.value) FROM transactions t JOIN outputs o ON o.txid = t.txid"
            # Spelled as the history index's key so SQLite seeks that index instead of scanning every row.
            f" WHERE {HISTORY_KEY} > ? AND {HISTORY_KEY} < ? AND o.spent_by IS NULL AND o.frozen = 0 GROUP BY t.txid",
            (tip - COINBASE_MATURITY + 1, UNCONFIRMED_HEIGHT),
        ).fetchall()
        for raw, value in rows:
            if Transaction.parse(bytes(raw)).is_coinbase():
                immature += value
        return WalletBalance(base.confirmed - immature, base.unconfirmed, immature, base.frozen)
