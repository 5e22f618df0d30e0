"""core.wallet.tx_details on a wallet fed hand-built blocks: a received payment and a spend from it are
described with what the wallet knows (own inputs with values, a foreign input unknown, own outputs by
chain), the CSV export lists both with exact amounts, and a PSBT signed elsewhere is described for review
like the draft it came from."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.wallet.errors import WalletError
from core.wallet.keychain import KeychainKind
from core.wallet.psbt import psbt_from_base64, psbt_to_base64
from core.wallet.spending import Payment
from core.wallet.tx_details import CSV_HEADER, describe_signed_psbt, describe_transaction, history_csv_pages
from core.wallet.wallet import Wallet

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
OTHER = b"\x00\x14" + bytes(range(20))
FOREIGN = OutPoint(Txid(b"\xee" * 32), 3)


def _block(height: int, *txs: Transaction) -> Block:
    coinbase = Transaction(
        vin=(TxIn(OutPoint(Txid(bytes(32)), OutPoint.NULL_INDEX), height.to_bytes(4, "little")),),
        vout=(TxOut(1, OTHER),),
    )
    header = BlockHeader(1, BlockHash(bytes(32)), bytes(32), 1_700_000_000 + height, 0x207FFFFF, height)
    return Block(header, (coinbase, *txs))


def test_details_and_csv(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=None)
    try:
        recv = wallet.keychain.script_pubkey(KeychainKind.RECEIVE, 0)
        change = wallet.keychain.script_pubkey(KeychainKind.CHANGE, 0)
        funding = Transaction(vin=(TxIn(FOREIGN, sequence=0xFFFFFFFF),), vout=(TxOut(500_000, recv), TxOut(7, OTHER)))
        wallet.block_connected(5, _block(5, funding))
        spend = Transaction(
            vin=(TxIn(OutPoint(funding.txid, 0), sequence=0xFFFFFFFD),),
            vout=(TxOut(200_000, OTHER), TxOut(299_000, change)),
        )
        wallet.tracker.add_unconfirmed([spend])

        got = describe_transaction(wallet, funding.txid)
        assert (got.height, got.fee, got.replaceable) == (5, None, False)
        assert [(i.prevout, i.value, i.is_mine) for i in got.inputs] == [(FOREIGN, None, False)]
        assert [(o.n, o.value, o.kind) for o in got.outputs] == [(0, 500_000, KeychainKind.RECEIVE), (1, 7, None)]
        assert got.received == 500_000 and got.sent == 0

        got = describe_transaction(wallet, spend.txid)
        assert got.height is None and got.confirmations == 0 and got.replaceable and got.fee == 1000
        assert [(i.value, i.is_mine, i.address) for i in got.inputs] == [
            (500_000, True, wallet.keychain.address(KeychainKind.RECEIVE, 0))
        ]
        assert [o.kind for o in got.outputs] == [None, KeychainKind.CHANGE]
        assert got.vsize == spend.vsize and got.sent == 500_000 and got.received == 299_000

        wallet.set_label("tx", str(spend.txid), 'rent, "march"')
        text = "".join(history_csv_pages(wallet, page_size=1))
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0]) == CSV_HEADER
        assert [r[1] for r in rows[1:]] == [str(spend.txid), str(funding.txid)]  # unconfirmed first
        assert rows[1][4:] == ['rent, "march"', "0.00299000", "0.00500000", "0.00001000", "-0.00201000"]
        assert rows[2][2:] == ["5", "1", "", "0.00500000", "0.00000000", "", "0.00500000"]

        with pytest.raises(WalletError):
            describe_transaction(wallet, Txid(b"\x01" * 32))
    finally:
        wallet.close()


def test_describe_signed_psbt_round_trip(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=None)
    try:
        recv = wallet.keychain.script_pubkey(KeychainKind.RECEIVE, 0)
        funding = Transaction(vin=(TxIn(FOREIGN, sequence=0xFFFFFFFF),), vout=(TxOut(500_000, recv),))
        wallet.block_connected(5, _block(5, funding))
        dest = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        draft = wallet.draft([Payment(dest, 100_000)], FeeRate.per_vb(3))
        unsigned = psbt_from_base64(psbt_to_base64(draft.psbt))
        with pytest.raises(WalletError, match="not fully signed"):
            describe_signed_psbt(wallet, unsigned)
        assert wallet.sign_blocking(unsigned, None) == 1
        signed = psbt_from_base64(psbt_to_base64(unsigned))  # as if it came back from another signer
        review, tx = describe_signed_psbt(wallet, signed)
        assert review.fee == draft.fee and review.outputs == draft.outputs and review.inputs == draft.inputs
        assert review.vsize == tx.vsize <= draft.vsize
    finally:
        wallet.close()
