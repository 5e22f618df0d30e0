"""WalletTracker's mempool feed and conflict handling on hand-built transactions: BIP125 replacements drop
the loser and its descendants and free their coins; a mined double spend drops an unconfirmed one; a
mempool transaction that conflicts with a mined one is ignored (and removes nothing); a mempool sighting
never unconfirms a mined transaction; the wallet's own scan progress; growth from a later transaction of
a block finds an earlier one of the same block; every new tip is announced and persisted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.node.events import BlockConnected, ChainTip
from core.wallet.events import (
    BalanceChanged,
    RemovalReason,
    TxAdded,
    TxConfirmed,
    TxRemoved,
    WalletEvent,
)
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import WalletDB
from core.wallet.tracker import META_TIP, WalletTracker

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE
OTHER = b"\x00\x14" + bytes(range(20))
FOREIGN = (b"\xee" * 32, 0)  # a coin of someone else (not in the wallet)


def _coinbase(height: int) -> Transaction:
    return Transaction(
        vin=(TxIn(OutPoint(Txid(bytes(32)), OutPoint.NULL_INDEX), height.to_bytes(4, "little")),),
        vout=(TxOut(1, OTHER),),
    )


def _tx(ins: list[tuple[bytes, int]], *outs: tuple[int, bytes], seq: int = 0xFFFFFFFD) -> Transaction:
    return Transaction(
        vin=tuple(TxIn(OutPoint(Txid(bytes(t)), n), sequence=seq) for t, n in ins),
        vout=tuple(TxOut(v, s) for v, s in outs),
    )


def _block(height: int, *txs: Transaction) -> Block:
    header = BlockHeader(1, BlockHash(bytes(32)), bytes(32), 1_700_000_000 + height, 0x207FFFFF, height)
    return Block(header, (_coinbase(height), *txs))


class Wallet:
    """A tracker over a temp file with its events collected."""

    def __init__(self, db: WalletDB, birthday: int = 0) -> None:
        self.kc = Keychain.from_mnemonic(MNEMONIC, "bip84", REGTEST, gap_limit=5)
        self.db = db
        self.tracker = WalletTracker(self.kc, db, birthday)
        self.events: list[WalletEvent] = []
        self.tracker.listeners.append(self.events.append)

    def spk(self, kind: KeychainKind, index: int) -> bytes:
        return self.kc.script_pubkey(kind, index)

    def take(self) -> list[WalletEvent]:
        """Events since the last call, without the trailing BalanceChanged summaries."""
        out = [e for e in self.events if not isinstance(e, BalanceChanged)]
        self.events.clear()
        return out

    def unspent(self) -> set[tuple[bytes, int]]:
        return {(bytes(o.txid), o.vout) for o in self.db.unspent()}

    def totals(self) -> tuple[int, int]:
        b = self.tracker.balance()
        return b.confirmed, b.unconfirmed


@pytest.fixture
def w(tmp_path: Path) -> Iterator[Wallet]:
    with WalletDB.open(tmp_path / "w.sqlite") as db:
        yield Wallet(db)


def _funded(w: Wallet) -> Transaction:
    """Block 11 pays the wallet two coins: X (100,000 at receive 0) and Y (50,000 at receive 1)."""
    fund = _tx([FOREIGN], (100_000, w.spk(R, 0)), (50_000, w.spk(R, 1)))
    w.tracker.block_connected(11, _block(11, fund))
    w.take()
    return fund


def test_rbf_replacement_drops_the_loser_and_its_descendants_and_frees_their_coins(w: Wallet) -> None:
    fund = _funded(w)
    x, y = (bytes(fund.txid), 0), (bytes(fund.txid), 1)
    # A spends X and Y (change to change 0); D, a child, spends A's change.
    a = _tx([x, y], (120_000, OTHER), (25_000, w.spk(C, 0)))
    d = _tx([(bytes(a.txid), 1)], (20_000, OTHER), (4_000, w.spk(C, 1)))
    w.tracker.transactions_seen([a])
    w.tracker.transactions_seen([d])
    assert w.take() == [
        TxAdded(a.txid, None, 25_000 - 150_000, incoming=False),
        TxAdded(d.txid, None, 4_000 - 25_000, incoming=False),
    ]
    assert w.totals() == (0, 4_000)
    assert w.db.get_transaction(bytes(a.txid)).fee == 5_000
    # B replaces A spending X alone: A and D go (descendant first), Y is unspent again.
    b = _tx([x], (90_000, OTHER), (9_000, w.spk(C, 2)))
    w.tracker.transactions_seen([b])
    assert w.take() == [
        TxRemoved(d.txid, RemovalReason.REPLACED),
        TxRemoved(a.txid, RemovalReason.REPLACED),
        TxAdded(b.txid, None, 9_000 - 100_000, incoming=False),
    ]
    assert w.db.get_transaction(bytes(a.txid)) is None and w.db.get_transaction(bytes(d.txid)) is None
    assert w.unspent() == {y, (bytes(b.txid), 1)}
    assert w.totals() == (50_000, 9_000)
    # The removed transactions' outputs are forgotten: a transaction spending D's change is not ours.
    w.tracker.transactions_seen([_tx([(bytes(d.txid), 1)], (3_000, OTHER))])
    assert w.take() == []
    # The freed coin can be spent again.
    e = _tx([y], (45_000, OTHER))
    w.tracker.transactions_seen([e])
    assert w.take() == [TxAdded(e.txid, None, -50_000, incoming=False)]
    assert w.totals() == (0, 9_000)


def test_a_mined_double_spend_removes_the_unconfirmed_one_as_conflicted(w: Wallet) -> None:
    fund = _funded(w)
    x, y = (bytes(fund.txid), 0), (bytes(fund.txid), 1)
    a = _tx([x, y], (140_000, OTHER), (8_000, w.spk(C, 0)))
    child = _tx([(bytes(a.txid), 1)], (7_000, w.spk(R, 2)))
    w.tracker.transactions_seen([a, child])
    w.take()
    # Block 12 holds B, spending only X: A and its child are conflicted, Y comes back confirmed.
    b = _tx([x], (99_000, OTHER))
    w.tracker.block_connected(12, _block(12, b))
    assert w.take() == [
        TxRemoved(child.txid, RemovalReason.CONFLICTED),
        TxRemoved(a.txid, RemovalReason.CONFLICTED),
        TxAdded(b.txid, 12, -100_000, incoming=False),
    ]
    assert w.unspent() == {y}
    assert w.totals() == (50_000, 0)
    assert w.db.get_transaction(bytes(b.txid)).height == 12


def test_a_mempool_transaction_conflicting_with_a_mined_one_is_ignored(w: Wallet) -> None:
    fund = _funded(w)
    x, y = (bytes(fund.txid), 0), (bytes(fund.txid), 1)
    mined = _tx([x], (99_000, OTHER))
    w.tracker.block_connected(12, _block(12, mined))
    pending = _tx([y], (30_000, OTHER), (19_000, w.spk(C, 0)))  # spends Y, unconfirmed
    w.tracker.transactions_seen([pending])
    w.take()
    before = (w.totals(), w.unspent())
    # Spends X (mined spend) and Y (unconfirmed spend): it can never confirm, and must not evict `pending`.
    late = _tx([y, x], (140_000, OTHER), (9_000, w.spk(C, 1)))
    w.tracker.transactions_seen([late])
    assert w.take() == []
    assert w.db.get_transaction(bytes(late.txid)) is None
    assert w.db.get_transaction(bytes(pending.txid)) is not None
    assert (w.totals(), w.unspent()) == before == ((0, 19_000), {(bytes(pending.txid), 1)})


def test_a_mempool_sighting_never_unconfirms_a_mined_transaction(w: Wallet) -> None:
    fund = _funded(w)
    spend = _tx([(bytes(fund.txid), 0)], (60_000, OTHER), (39_000, w.spk(C, 0)))
    w.tracker.block_connected(12, _block(12, spend))
    w.take()
    w.tracker.transactions_seen([spend, fund])
    w.tracker.add_unconfirmed([spend])
    assert w.take() == []
    assert w.db.get_transaction(bytes(spend.txid)).height == 12
    assert w.db.get_transaction(bytes(fund.txid)).height == 11
    assert w.totals() == (89_000, 0)


def test_mempool_feed_records_only_wallet_transactions_then_confirms_them(w: Wallet) -> None:
    fund = _funded(w)
    foreign = _tx([(b"\x11" * 32, 3)], (5_000, OTHER))
    incoming = _tx([(b"\x12" * 32, 0)], (5_000, OTHER), (70_000, w.spk(R, 4)))  # grows the window
    w.tracker.transactions_seen([foreign, incoming])
    assert w.take() == [TxAdded(incoming.txid, None, 70_000, incoming=True)]
    assert w.kc.derived(R) == 10
    assert w.db.get_transaction(bytes(foreign.txid)) is None
    assert w.db.get_transaction(bytes(incoming.txid)).fee is None  # its inputs are not ours
    spend = _tx([(bytes(fund.txid), 1)], (49_000, OTHER))
    w.tracker.transactions_seen([spend])
    assert w.take() == [TxAdded(spend.txid, None, -50_000, incoming=False)]
    assert w.totals() == (100_000, 70_000)
    w.tracker.block_connected(12, _block(12, incoming, spend))
    assert w.take() == [TxConfirmed(incoming.txid, 12), TxConfirmed(spend.txid, 12)]
    assert w.totals() == (170_000, 0)
    assert w.db.get_transaction(bytes(spend.txid)).fee == 1_000


def test_scan_progress_is_recorded_in_the_wallet_file(tmp_path: Path) -> None:
    with WalletDB.open(tmp_path / "w.sqlite") as db:
        w = Wallet(db, birthday=10)
        t = w.tracker
        assert t.scan_resume_height() == 9  # nothing scanned: everything from the birthday on
        t.scan_progress(50, BlockHash(b"\x05" * 32))
        assert t.scan_resume_height() == 50
        t.block_connected(60, _block(60))
        assert t.scan_resume_height() == 60
        t.block_connected(55, _block(55))  # a late delivery never moves it back
        assert t.scan_resume_height() == 60
        t.block_disconnected(70, BlockHash(b"\x07" * 32))  # above it: no change
        assert t.scan_resume_height() == 60
        t.block_disconnected(60, _block(60).header.hash)
        assert t.scan_resume_height() == 59
        # Another tracker (a restart) over the same file resumes there.
        assert Wallet(db, birthday=10).tracker.scan_resume_height() == 59


def test_growth_from_a_later_transaction_finds_an_earlier_one_of_the_same_block(w: Wallet) -> None:
    # Window 0..4 (gap 5). In one block: first a payment to receive 7, then one to receive 3 (which brings
    # 7 into the window), then a spend of the receive-7 coin. All three are the wallet's.
    early = _tx([(b"\x21" * 32, 0)], (70_000, w.spk(R, 7)))
    late = _tx([(b"\x22" * 32, 0)], (30_000, w.spk(R, 3)))
    spend = _tx([(bytes(early.txid), 0)], (69_000, OTHER))
    w.tracker.block_connected(12, _block(12, early, late, spend))
    assert {e.txid for e in w.take() if isinstance(e, TxAdded)} == {early.txid, late.txid, spend.txid}
    assert w.unspent() == {(bytes(late.txid), 0)}
    assert w.totals() == (30_000, 0)
    assert w.kc.last_used(R) == 7


def test_each_new_tip_is_announced_and_persisted_even_after_block_connected_moved_it(w: Wallet) -> None:
    _funded(w)
    coinbase = _coinbase(12)
    w.tracker.block_connected(12, Block(_block(12).header, (Transaction(vin=coinbase.vin, vout=(TxOut(5_000, w.spk(R, 2)),)),)))
    w.tracker.on_event(ChainTip(12, BlockHash(b"\x0c" * 32), None))
    w.events.clear()
    # Blocks 13..111 do not touch the wallet: the node reports each as BlockConnected without a body,
    # then the cycle's ChainTip. Confirmations and maturity move, so listeners must hear of it.
    for height in range(13, 112):
        w.tracker.on_event(BlockConnected(height, BlockHash(height.to_bytes(32, "little")), None))
    assert w.events == []
    w.tracker.on_event(ChainTip(111, BlockHash(b"\x6f" * 32), None))
    assert w.events == [BalanceChanged(150_000 + 5_000, 0, 0, 0)]  # the coinbase output matured at 111
    assert w.db.get_meta(META_TIP) == 111
    w.tracker.on_event(ChainTip(111, BlockHash(b"\x6f" * 32), None))  # the same tip again: nothing new
    assert len(w.events) == 1
    assert WalletTracker(w.kc, w.db).tip_height == 111  # a restart knows the tip before the node reports it
