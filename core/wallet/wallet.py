"""The wallet facade: one wallet file, its keychain and tracker, synced through a light node.

`Wallet.create` (from a BIP39 mnemonic), `Wallet.create_watch_only` (an xpub or two descriptors) and
`Wallet.open` give a `Wallet`; pass it as the light node's scan target and call `attach(node)` so it also
follows the node's tip and mempool. Reads (balance, addresses, history pages, coins, labels) are plain
SQLite queries on the loop thread, indexed to stay fast with 100,000 transactions. Spending (drafts,
signing, fee bumps, CPFP) is in `WalletSpending`, which this class extends.

The mnemonic (and BIP39 passphrase) is the only secret; it is stored encrypted (core.wallet.storage.secrets)
and decrypted only to sign or to show the words, off the loop. Without a password the envelope gives no
secrecy (for sandbox and test wallets); `info.encrypted` says which.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.consensus.block import Block
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import Network, network_by_name
from core.consensus.tx import OutPoint, Transaction
from core.script.address import script_to_address
from core.wallet.bip39 import validate_mnemonic
from core.wallet.errors import StorageError, WalletError
from core.wallet.events import WalletEvent
from core.wallet.keychain import DEFAULT_GAP_LIMIT, Keychain, KeychainKind
from core.wallet.seed_access import SEED_RECORD, SeedAccess
from core.wallet.snapshot import CoinSnapshot, coin_snapshot, query_unspent, read_off_loop
from core.wallet.spending import WalletSpending
from core.wallet.storage import labels as labels_store
from core.wallet.storage.db import HistoryCursor, WalletDB
from core.wallet.storage.secrets import (
    DEFAULT_KDF,
    KdfParams,
    Secret,
    encrypt_secret,
    is_encrypted,
    record_aad,
)
from core.wallet.tracker import WalletBalance, WalletTracker

T = TypeVar("T")


@dataclass(frozen=True)
class WalletInfo:
    """What kind of wallet a file holds."""

    network: Network
    template: str | None  # "bip84" / "bip86", None for imported descriptors
    watch_only: bool
    birthday: int
    receive_descriptor: str
    change_descriptor: str
    encrypted: bool
    wallet_id: str


@dataclass(frozen=True)
class AddressInfo:
    """One address of the wallet's keychain."""

    kind: KeychainKind
    index: int
    address: str
    script_pubkey: bytes
    label: str | None
    handed_out: bool
    used: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One history row: what a transaction received into and sent from the wallet, in satoshis."""

    txid: Txid
    height: int | None
    time: int
    fee: int | None
    received: int
    sent: int
    label: str | None
    confirmations: int

    @property
    def net(self) -> int:
        return self.received - self.sent


@dataclass(frozen=True)
class Coin:
    """An unspent output of the wallet."""

    outpoint: OutPoint
    value: int
    script_pubkey: bytes
    address: str | None
    kind: KeychainKind | None
    index: int | None
    height: int | None
    confirmations: int
    frozen: bool
    immature: bool
    label: str | None


class Wallet(WalletSpending, SeedAccess):
    """An open wallet. Create with `create`, `create_watch_only` or `open`; `close()` when done."""

    def __init__(self, db: WalletDB, keychain: Keychain, info: WalletInfo) -> None:
        self.db = db
        self.keychain = keychain
        self.info = info
        self.network = info.network
        self.tracker = WalletTracker(keychain, db, info.birthday)
        self.node: Any = None

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        network: Network,
        mnemonic: str,
        *,
        passphrase: str = "",
        template: str = "bip84",
        password: str | None,
        birthday: int | None = 0,
        gap_limit: int = DEFAULT_GAP_LIMIT,
        kdf: KdfParams | None = None,
    ) -> Wallet:
        """A new wallet file from a BIP39 mnemonic (validated; errors name the bad word).

        `birthday` is the first height to scan; None for a freshly generated seed (no history): scanning then
        starts near the first chain tip the node reaches. `password` None stores the words without secrecy
        (sandbox/test wallets). Blocking (key
        derivation, scrypt): call it through `asyncio.to_thread` from the loop.
        """
        words = " ".join(mnemonic.split())
        validate_mnemonic(words)
        keychain = Keychain.from_mnemonic(words, template, network, passphrase, gap_limit=gap_limit)
        db = cls._new_file(path)
        try:
            wallet_id = os.urandom(16).hex()
            payload = Secret(json.dumps({"mnemonic": words, "passphrase": passphrase}).encode())
            envelope = encrypt_secret(payload, password, record_aad(wallet_id, SEED_RECORD), kdf or DEFAULT_KDF)
            with db.transaction():  # one commit: a crash leaves either no wallet or a whole one
                db.put_secret(SEED_RECORD, envelope)
                cls._write_meta(db, network, template, False, birthday, wallet_id)
                for k in KeychainKind:
                    db.add_descriptor(str(keychain.descriptor(k)), k is KeychainKind.CHANGE, gap_limit)
            return cls._load(db)
        except BaseException:
            db.close()
            raise

    @classmethod
    def create_watch_only(
        cls,
        path: str | Path,
        network: Network,
        *,
        xpub: str | None = None,
        template: str = "bip84",
        descriptors: tuple[str, str] | None = None,
        birthday: int = 0,
        gap_limit: int = DEFAULT_GAP_LIMIT,
    ) -> Wallet:
        """A wallet without keys: an account xpub (BIP84/BIP86 template) or (receive, change) descriptors."""
        if (xpub is None) == (descriptors is None):
            raise WalletError("give either an xpub or a pair of descriptors")
        if xpub is not None:
            keychain = Keychain.from_xpub(xpub.strip(), template, network, gap_limit=gap_limit)
            kind: str | None = template
        else:
            assert descriptors is not None
            keychain = Keychain.from_descriptors(*descriptors, network, gap_limit=gap_limit)
            kind = None
        for k in KeychainKind:
            if keychain.descriptor(k).has_private_keys():
                raise WalletError("a watch-only wallet takes public descriptors (xpub), not private keys")
        db = cls._new_file(path)
        try:
            with db.transaction():
                cls._write_meta(db, network, kind, True, birthday, os.urandom(16).hex())
                for k in KeychainKind:
                    db.add_descriptor(str(keychain.descriptor(k)), k is KeychainKind.CHANGE, gap_limit)
            return cls._load(db)
        except BaseException:
            db.close()
            raise

    @staticmethod
    def _new_file(path: str | Path) -> WalletDB:
        path = Path(path)
        if path.exists():
            raise StorageError(f"a wallet file already exists at {path}; open it instead")
        path.parent.mkdir(parents=True, exist_ok=True)
        return WalletDB.open(path)

    @staticmethod
    def _write_meta(
        db: WalletDB, network: Network, template: str | None, watch_only: bool, birthday: int | None, wid: str
    ) -> None:
        if birthday is None:
            db.set_meta("birthday_pending", 1)  # resolved by the tracker's before_scan
        birthday = birthday or 0
        for key, value in (
            ("network", network.name),
            ("template", template or ""),
            ("watch_only", int(watch_only)),
            ("birthday", birthday),
            ("wallet_id", wid),
            ("created", int(time.time())),
        ):
            db.set_meta(key, value)
        # A new wallet has nothing below its birthday: scanning starts there.
        db.set_meta("scanned_height", birthday - 1)

    @classmethod
    async def open_async(cls, path: str | Path) -> Wallet:
        """`open` in a worker thread (a big wallet takes longer to open than the loop may block)."""
        return await asyncio.to_thread(cls.open, path)

    @classmethod
    async def create_async(cls, path: str | Path, network: Network, mnemonic: str, **options: Any) -> Wallet:
        """`create` in a worker thread (BIP39 stretching and scrypt take hundreds of milliseconds)."""
        return await asyncio.to_thread(lambda: cls.create(path, network, mnemonic, **options))

    @classmethod
    def open(cls, path: str | Path) -> Wallet:
        """Open an existing wallet file (no password needed: only signing and showing the words need it)."""
        db = WalletDB.open(path, create=False)
        try:
            return cls._load(db)
        except BaseException:
            db.close()
            raise

    @classmethod
    def _load(cls, db: WalletDB) -> Wallet:
        name = db.get_meta("network")
        if not isinstance(name, str):
            raise StorageError(f"{db.path} is not a complete wallet file (no network recorded)")
        network = network_by_name(name)
        template = str(db.get_meta("template") or "") or None
        watch_only = bool(db.get_meta("watch_only"))
        birthday = int(db.get_meta("birthday") or 0)
        records = db.descriptors()
        receive = next((r for r in records if not r.internal), None)
        change = next((r for r in records if r.internal), None)
        if receive is None or change is None:
            raise StorageError(f"{db.path} is not a complete wallet file (no descriptors recorded)")
        keychain = Keychain.from_descriptors(receive.descriptor, change.descriptor, network, gap_limit=receive.gap_limit)
        encrypted = False
        if not watch_only:
            encrypted = is_encrypted(db.get_secret(SEED_RECORD))
        info = WalletInfo(
            network, template, watch_only, birthday, str(keychain.descriptor(KeychainKind.RECEIVE)),
            str(keychain.descriptor(KeychainKind.CHANGE)), encrypted, str(db.get_meta("wallet_id")),
        )
        return cls(db, keychain, info)

    def close(self) -> None:
        """Detach from the node and close the file."""
        self.detach()
        self.db.close()

    # -- node integration: ScanTarget and listeners -----------------------------------------------------

    def scripts(self) -> Sequence[bytes]:
        return self.tracker.scripts()

    def birthday_height(self) -> int:
        return self.tracker.birthday_height()

    def scan_resume_height(self) -> int:
        return self.tracker.scan_resume_height()

    def scan_progress(self, height: int, block_hash: BlockHash) -> None:
        self.tracker.scan_progress(height, block_hash)

    def before_scan(self, tip_height: int) -> None:
        self.tracker.before_scan(tip_height)

    def block_connected(self, height: int, block: Block) -> None:
        self.tracker.block_connected(height, block)

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        self.tracker.block_disconnected(height, block_hash)

    def attach(self, node: Any) -> None:
        """Follow `node` (a started LightNode whose scan target is this wallet): tip, mempool, and
        rebroadcast of our unconfirmed transactions."""
        self.node = node
        node.add_listener(self.tracker.on_event)
        node.mempool.tx_listeners.append(self.tracker.transactions_seen)
        node.mempool.conflict_listeners.append(self.tracker.transactions_conflicted)
        for tx in self.unconfirmed_own():
            node.broadcast(tx)

    def detach(self) -> None:
        """Stop following the node (the node itself keeps running)."""
        node, self.node = self.node, None
        if node is None:
            return
        if self.tracker.on_event in node._listeners:
            node._listeners.remove(self.tracker.on_event)
        if self.tracker.transactions_seen in node.mempool.tx_listeners:
            node.mempool.tx_listeners.remove(self.tracker.transactions_seen)
        if self.tracker.transactions_conflicted in node.mempool.conflict_listeners:
            node.mempool.conflict_listeners.remove(self.tracker.transactions_conflicted)

    def add_listener(self, fn: Callable[[WalletEvent], None]) -> None:
        """Call `fn(event)` after every committed change (core.wallet.events)."""
        self.tracker.listeners.append(fn)

    def remove_listener(self, fn: Callable[[WalletEvent], None]) -> None:
        """Stop calling `fn`."""
        if fn in self.tracker.listeners:
            self.tracker.listeners.remove(fn)

    # -- reads ------------------------------------------------------------------------------------------

    @property
    def tip_height(self) -> int:
        """The chain tip the wallet last heard of (-1 before any)."""
        return self.tracker.tip_height

    def balance(self) -> WalletBalance:
        """Confirmed, unconfirmed, immature and frozen totals in satoshis."""
        return self.tracker.balance()

    def _confirmations(self, height: int | None) -> int:
        return 0 if height is None else max(self.tip_height - height + 1, 0)

    def new_address(self, kind: KeychainKind = KeychainKind.RECEIVE, label: str | None = None) -> AddressInfo:
        """Hand out the next never-handed-out address (recorded on disk before it is returned)."""
        desc_id = self.tracker.descriptor_id(kind)
        rec = self.db.next_address(desc_id, lambda i: self.keychain.script_pubkey(kind, i))
        self.tracker.note_handed_out(kind, rec.index)
        address = self.keychain.address(kind, rec.index)
        if label:
            self.set_label("addr", address, label)
        return AddressInfo(kind, rec.index, address, rec.script_pubkey, label or self.label_of("addr", address), True)

    def addresses(self, kind: KeychainKind = KeychainKind.RECEIVE, *, handed_out_only: bool = False) -> list[AddressInfo]:
        """The derived addresses of a chain with their labels and whether they received anything."""
        desc_id = self.tracker.descriptor_id(kind)
        used = {r[0] for r in self.db.conn.execute("SELECT DISTINCT idx FROM outputs WHERE descriptor_id = ?", (desc_id,))}
        labels = {lb.ref: lb.label for lb in labels_store.all_labels(self.db) if lb.type == "addr"}
        out = []
        for rec in self.db.addresses(desc_id, handed_out_only=handed_out_only):
            address = script_to_address(rec.script_pubkey, self.network) or ""  # encoding, not key derivation
            out.append(AddressInfo(kind, rec.index, address, rec.script_pubkey, labels.get(address), rec.handed_out, rec.index in used))
        return out

    def tx_count(self) -> int:
        """How many transactions the wallet holds."""
        return int(self.db.conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0])

    def history(self, limit: int = 100, after: HistoryCursor | None = None) -> tuple[list[HistoryEntry], HistoryCursor | None]:
        """A page of history, newest first (unconfirmed on top); pass the cursor back for the next page."""
        rows, cursor = self.db.history_page(limit, after)
        labels = self._tx_labels([r.txid for r in rows])
        page = [
            HistoryEntry(
                Txid(r.txid), r.height, r.time, r.fee, r.received, r.sent, labels.get(r.txid), self._confirmations(r.height)
            )
            for r in rows
        ]
        return page, cursor

    def _tx_labels(self, txids: Sequence[bytes]) -> dict[bytes, str]:
        if not txids:
            return {}
        refs = {str(Txid(t)): bytes(t) for t in txids}
        marks = ",".join("?" * len(refs))
        rows = self.db.conn.execute(f"SELECT ref, label FROM labels WHERE type = 'tx' AND ref IN ({marks})", list(refs))
        return {refs[ref]: label for ref, label in rows if label is not None}

    def unspent_rows(self, *, include_frozen: bool = True) -> list[tuple]:
        """Unspent outputs as lean tuples (txid, vout, value, script_pubkey, kind, index, height, frozen,
        immature) — the fast path under `coins()` and coin selection (no addresses, no labels)."""
        return query_unspent(self.db.conn, self.tip_height, include_frozen)

    async def coin_snapshot_async(self, build: Callable[[CoinSnapshot], T]) -> T:
        """`build(snapshot)` of every unspent output and the labels a coin list shows, read and built in a
        worker thread on a read-only connection of its own (core.wallet.snapshot): a wallet with very many
        coins takes longer to read than the loop may block."""
        tip = self.tip_height
        return await read_off_loop(self.db.path, lambda conn: build(coin_snapshot(conn, tip)))

    def unspent_values(self, outpoints: Sequence[OutPoint]) -> dict[OutPoint, int]:
        """The value of each of `outpoints` that is an unspent output of the wallet (a lookup per coin)."""
        out = {}
        for op in outpoints:
            row = self.db.conn.execute(
                "SELECT value FROM outputs WHERE txid = ? AND vout = ? AND spent_by IS NULL", (bytes(op.txid), op.n)
            ).fetchone()
            if row is not None:
                out[op] = row[0]
        return out

    def coins(self, *, include_frozen: bool = True) -> list[Coin]:
        """Unspent outputs with their confirmations, maturity, freeze state, addresses and labels."""
        labels = {lb.ref: lb.label for lb in labels_store.all_labels(self.db) if lb.type == "output"}
        out = []
        for txid, vout, value, spk, kind, idx, height, frozen, immature in self.unspent_rows(include_frozen=include_frozen):
            outpoint = OutPoint(Txid(txid), vout)
            out.append(
                Coin(
                    outpoint, value, spk, script_to_address(spk, self.network), kind, idx, height,
                    self._confirmations(height), frozen, immature, labels.get(f"{outpoint.txid}:{vout}"),
                )
            )
        return out

    def set_frozen(self, outpoint: OutPoint, frozen: bool = True) -> None:
        """Freeze a coin (coin selection never spends it) or thaw it."""
        self.db.set_frozen(bytes(outpoint.txid), outpoint.n, frozen)
        self.tracker._emit([], force=True)

    def transaction(self, txid: Txid) -> Transaction | None:
        """A wallet transaction by txid."""
        rec = self.db.get_transaction(bytes(txid))
        return None if rec is None else Transaction.parse(rec.raw)

    def unconfirmed_own(self) -> list[Transaction]:
        """Unconfirmed transactions that spend wallet coins (ours to rebroadcast), parents first."""
        rows = self.db.conn.execute(
            "SELECT t.raw FROM transactions t WHERE t.height IS NULL"
            " AND EXISTS (SELECT 1 FROM outputs o WHERE o.spent_by = t.txid) ORDER BY t.time, t.rowid"
        ).fetchall()
        return [Transaction.parse(bytes(r[0])) for r in rows]

    # -- labels -----------------------------------------------------------------------------------------

    def set_label(self, type_: str, ref: str, label: str | None) -> None:
        """Set (or with None/"" clear) a BIP329 label: type "tx" (txid), "addr", "output" (txid:vout), ..."""
        if label:
            labels_store.set_label(self.db, labels_store.Label(type_, ref, label))
        else:
            labels_store.delete_label(self.db, type_, ref)

    def label_of(self, type_: str, ref: str) -> str | None:
        """The label of a record, or None."""
        found = labels_store.get_label(self.db, type_, ref)
        return None if found is None else found.label

    def export_labels(self) -> str:
        """Every label as BIP329 JSON Lines."""
        return labels_store.export_bip329(self.db)

    def import_labels(self, text: str) -> int:
        """Import BIP329 JSON Lines (all or nothing); returns how many records."""
        count = labels_store.import_bip329(self.db, text)
        self.tracker._emit([], force=True)
        return count
