"""WalletTracker: the wallet side of the light node's ScanTarget protocol.

The node hands it every block whose compact filter matched the keychain's scripts; the tracker
records the transactions paying to our scripts or spending our outputs into the WalletDB, one
database transaction per block, and marks the paid scripts used so the keychain's gap window grows
(the node re-matches the rest of its batch when `scripts()` changes). A disconnected block's
transactions become unconfirmed again (its coinbase is dropped). Balances come from the database; immature coinbase
outputs are counted apart, which needs the tip height (`on_event` follows the node's events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction
from core.node.events import BlockConnected, BlockDisconnected
from core.validation.deployments import COINBASE_MATURITY
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import OutputRecord, TxRecord, WalletDB


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


class WalletTracker:
    """Keeps a WalletDB in step with the chain for one keychain. Use it from the node's loop thread."""

    def __init__(self, keychain: Keychain, db: WalletDB, birthday: int = 0) -> None:
        self.keychain = keychain
        self.db = db
        self.birthday = birthday
        self.tip_height = -1
        self._descriptor_ids = self._register_descriptors()
        self._restore_used()
        self._save_window()

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

    def _restore_used(self) -> None:
        """Grow the window to what earlier sessions saw used, so a restart watches the same scripts."""
        for kind, desc_id in self._descriptor_ids.items():
            row = self.db.conn.execute("SELECT MAX(idx) FROM outputs WHERE descriptor_id = ?", (desc_id,)).fetchone()
            if row[0] is not None:
                self.keychain.mark_index_used(kind, row[0])
        row = self.db.conn.execute("SELECT MAX(height) FROM transactions").fetchone()
        if row[0] is not None:
            self.tip_height = max(self.tip_height, row[0])

    def _save_window(self) -> None:
        # Recording the look-ahead rows lets WalletDB.find_script and next_address see them.
        for kind, desc_id in self._descriptor_ids.items():
            n = self.keychain.derived(kind)
            self.db.add_addresses(desc_id, ((i, self.keychain.script_pubkey(kind, i)) for i in range(n)))

    # -- ScanTarget ---------------------------------------------------------------------------------

    def scripts(self) -> Sequence[bytes]:
        """The scripts the node matches filters against (grows as addresses get used)."""
        return self.keychain.scripts()

    def birthday_height(self) -> int:
        """No transaction of this wallet is below this height."""
        return self.birthday

    def block_connected(self, height: int, block: Block) -> None:
        """Record the block's transactions that touch the wallet (atomically) and grow the gap window."""
        block_hash = block.header.hash
        grew = False
        with self.db.transaction() as c:
            for tx in block.txs:
                outputs = []
                for n, out in enumerate(tx.vout):
                    found = self.keychain.index_of(out.script_pubkey)
                    if found is None:
                        continue
                    kind, index = found
                    outputs.append(
                        OutputRecord(bytes(tx.txid), n, out.value, out.script_pubkey, self._descriptor_ids[kind], index)
                    )
                    # Grow at once: a later transaction of this very block may pay the next window.
                    grew |= self.keychain.mark_index_used(kind, index)
                spends = []
                if not tx.is_coinbase():
                    for txin in tx.vin:
                        prev = (bytes(txin.prevout.txid), txin.prevout.n)
                        if c.execute("SELECT 1 FROM outputs WHERE txid = ? AND vout = ?", prev).fetchone():
                            spends.append(prev)
                if outputs or spends:
                    record = TxRecord(bytes(tx.txid), tx.serialize(), height, bytes(block_hash), block.header.time)
                    self.db.add_transaction(record, outputs, spends)
            if grew:
                self._save_window()
        self.tip_height = max(self.tip_height, height)

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        """Make a disconnected block's transactions unconfirmed again, dropping its coinbase (tip first, as the node sends)."""
        with self.db.transaction() as c:
            rows = c.execute(
                "SELECT txid, raw, time FROM transactions WHERE block_hash = ?", (bytes(block_hash),)
            ).fetchall()
            for txid, raw, time in rows:
                if Transaction.parse(bytes(raw)).is_coinbase():
                    # A coinbase cannot return to the mempool: it no longer exists at all.
                    c.execute("DELETE FROM outputs WHERE txid = ?", (txid,))
                    c.execute("DELETE FROM transactions WHERE txid = ?", (txid,))
                else:
                    self.db.set_tx_height(bytes(txid), None, None, time)
        if self.tip_height >= height:
            self.tip_height = height - 1

    def on_event(self, event: object) -> None:
        """Node listener (`node.add_listener(tracker.on_event)`): follow the tip height for maturity."""
        if isinstance(event, BlockConnected):
            self.tip_height = max(self.tip_height, event.height)
        elif isinstance(event, BlockDisconnected):
            self.tip_height = min(self.tip_height, event.height - 1)

    # -- balance ------------------------------------------------------------------------------------

    def balance(self, tip_height: int | None = None) -> WalletBalance:
        """Confirmed / unconfirmed / immature unspent totals at `tip_height` (default: the tracked tip)."""
        tip = self.tip_height if tip_height is None else tip_height
        base = self.db.balance()
        immature = 0
        # Only coinbase transactions less than COINBASE_MATURITY deep can be immature: parse just those.
        rows = self.db.conn.execute(
            "SELECT t.raw, SUM(o.value) FROM transactions t JOIN outputs o ON o.txid = t.txid"
            " WHERE t.height IS NOT NULL AND t.height > ? AND o.spent_by IS NULL AND o.frozen = 0 GROUP BY t.txid",
            (tip - COINBASE_MATURITY + 1,),
        ).fetchall()
        for raw, value in rows:
            if Transaction.parse(bytes(raw)).is_coinbase():
                immature += value
        return WalletBalance(base.confirmed - immature, base.unconfirmed, immature, base.frozen)
