"""WalletTracker: unconfirmed payments *to* the wallet that spend someone else's output (a shared
escrow) are dropped when another transaction spending that output replaces them in the mempool or
is mined; payments spending different outputs are left alone."""

from __future__ import annotations

from pathlib import Path

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.wallet.events import RemovalReason, TxRemoved, WalletEvent
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import WalletDB
from core.wallet.tracker import WalletTracker

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
OTHER = b"\x00\x14" + bytes(range(20))
ESCROW = OutPoint(Txid(b"\xee" * 32), 0)


def _pay(prevout: OutPoint, *outs: tuple[int, bytes]) -> Transaction:
    return Transaction(vin=(TxIn(prevout, sequence=0xFFFFFFFD),), vout=tuple(TxOut(v, s) for v, s in outs))


def _block(height: int, *txs: Transaction) -> Block:
    coinbase = Transaction(vin=(TxIn(OutPoint(Txid(bytes(32)), OutPoint.NULL_INDEX), height.to_bytes(4, "little")),),
                           vout=(TxOut(1, OTHER),))
    header = BlockHeader(1, BlockHash(bytes(32)), bytes(32), 1_700_000_000 + height, 0x207FFFFF, height)
    return Block(header, (coinbase, *txs))


def test_payouts_from_a_foreign_output_replace_each_other(tmp_path: Path) -> None:
    kc = Keychain.from_mnemonic(MNEMONIC, "bip84", REGTEST, gap_limit=5)
    me = kc.script_pubkey(KeychainKind.RECEIVE, 0)
    with WalletDB.open(tmp_path / "w.sqlite") as db:
        tracker = WalletTracker(kc, db, birthday=0)
        events: list[WalletEvent] = []
        tracker.listeners.append(events.append)
        slow = _pay(ESCROW, (90_000, me), (5_000, OTHER))
        other = _pay(OutPoint(ESCROW.txid, 1), (7_000, me))  # another output of the same transaction
        tracker.add_unconfirmed([slow, other])
        assert tracker.balance().unconfirmed == 97_000
        fast = _pay(ESCROW, (89_000, me), (5_000, OTHER))  # the fee bump
        tracker.add_unconfirmed([fast])
        assert TxRemoved(slow.txid, RemovalReason.REPLACED) in events
        assert tracker.balance().unconfirmed == 96_000
        # A different spend of the escrow is mined (it pays us too): the bump can never confirm.
        mined = _pay(ESCROW, (50_000, me), (44_000, OTHER))
        tracker.block_connected(1, _block(1, mined))
        assert TxRemoved(fast.txid, RemovalReason.CONFLICTED) in events
        bal = tracker.balance()
        assert (bal.confirmed, bal.unconfirmed) == (50_000, 7_000)
        assert db.get_transaction(bytes(other.txid)) is not None
