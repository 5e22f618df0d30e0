"""WalletTracker on hand-built blocks: outputs and spends recorded per block, in-block gap growth,
disconnects unconfirming, immature coinbase outputs."""

from __future__ import annotations

from pathlib import Path

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import WalletDB
from core.wallet.tracker import WalletTracker

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE
OTHER = b"\x00\x14" + bytes(range(20))


def _coinbase(height: int, spk: bytes, value: int) -> Transaction:
    return Transaction(vin=(TxIn(OutPoint(Txid(bytes(32)), OutPoint.NULL_INDEX), height.to_bytes(4, "little")),),
                       vout=(TxOut(value, spk),))


def _pay(prev: tuple[bytes, int], *outs: tuple[int, bytes]) -> Transaction:
    return Transaction(vin=(TxIn(OutPoint(Txid(prev[0]), prev[1])),), vout=tuple(TxOut(v, s) for v, s in outs))


def _block(height: int, *txs: Transaction) -> Block:
    header = BlockHeader(1, BlockHash(bytes(32)), bytes(32), 1_700_000_000 + height, 0x207FFFFF, height)
    return Block(header, (_coinbase(height, OTHER, 1), *txs))


def test_tracker_records_outputs_spends_growth_and_disconnects(tmp_path: Path) -> None:
    kc = Keychain.from_mnemonic(MNEMONIC, "bip84", REGTEST, gap_limit=5)
    with WalletDB.open(tmp_path / "w.sqlite") as db:
        tracker = WalletTracker(kc, db, birthday=10)
        assert tracker.birthday_height() == 10 and len(tracker.scripts()) == 10
        # One block: index 4 is used, which brings index 8 into the window for the next transaction.
        a = _pay((b"\x01" * 32, 0), (50_000, kc.script_pubkey(R, 4)), (7, OTHER))
        b = _pay((b"\x02" * 32, 0), (60_000, kc.script_pubkey(R, 8)))
        b1 = _block(11, a, b)
        tracker.block_connected(11, b1)
        assert kc.last_used(R) == 8 and kc.derived(R) == 14 and len(tracker.scripts()) == 19
        assert db.find_script(kc.script_pubkey(R, 13)) is not None  # window rows saved for the db
        bal = tracker.balance()
        assert (bal.confirmed, bal.unconfirmed, bal.immature) == (110_000, 0, 0)
        # Spend a's output: to someone else plus change; the change is ours.
        spend = _pay((bytes(a.txid), 0), (30_000, OTHER), (19_000, kc.script_pubkey(C, 0)))
        b2 = _block(12, spend)
        tracker.block_connected(12, b2)
        assert tracker.balance().confirmed == 79_000
        rows, _ = db.history_page(10)
        assert rows[0].txid == bytes(spend.txid) and (rows[0].received, rows[0].sent) == (19_000, 50_000)
        # A coinbase paying us is immature for 100 blocks.
        b3 = Block(_block(13).header, (_coinbase(13, kc.script_pubkey(R, 1), 5_000_000_000),))
        tracker.block_connected(13, b3)
        assert tracker.balance().immature == 5_000_000_000
        assert tracker.balance(tip_height=13 + 98).immature == 5_000_000_000
        assert tracker.balance(tip_height=13 + 99).immature == 0
        # Disconnect blocks 13 and 12: the spend is unconfirmed again (its change unconfirmed, a's output stays spent).
        tracker.block_disconnected(13, b3.header.hash)
        tracker.block_disconnected(12, b2.header.hash)
        assert tracker.tip_height == 11
        bal = tracker.balance()
        assert (bal.confirmed, bal.unconfirmed) == (60_000, 19_000)
        assert db.get_transaction(bytes(spend.txid)).height is None
        assert db.get_transaction(bytes(b3.txs[0].txid)) is None  # a disconnected coinbase is gone
        # Blocks without wallet transactions leave the db alone.
        tracker.block_connected(14, _block(14, _pay((b"\x03" * 32, 1), (1, OTHER))))
        assert len(db.history_page(10)[0]) == 3
