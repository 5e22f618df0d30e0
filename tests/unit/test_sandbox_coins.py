"""The sandbox's own coin tracking and signing: payments verify under standard flags, no coin twice."""

from __future__ import annotations

import pytest

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.sandbox.coins import OwnedCoins
from core.sandbox.errors import FaucetEmpty
from core.sandbox.signer import SandboxKey
from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input

SEED = b"sandbox-test-seed"
WPKH = SandboxKey.derive(SEED, 0)
TR = SandboxKey.derive(SEED, 1, taproot=True)
OTHER = SandboxKey.derive(SEED, 2)


def _block(txs: list[Transaction], nonce: int) -> Block:
    return Block(BlockHeader(0x20000000, BlockHash(bytes(32)), bytes(32), 0, 0x207FFFFF, nonce), tuple(txs))


def _coinbase(height: int, spk: bytes, value: int) -> Transaction:
    return Transaction(
        2,
        (TxIn(OutPoint(Txid(bytes(32)), 0xFFFFFFFF), bytes((1, height & 0xFF, 0))),),
        (TxOut(value, spk),),
        0,
    )


def _funded() -> OwnedCoins:
    coins = OwnedCoins({k.script_pubkey: k for k in (WPKH, TR)})
    coins.connect_block(_block([_coinbase(1, WPKH.script_pubkey, 50 * 10**8)], 1), 1)
    coins.connect_block(_block([_coinbase(2, TR.script_pubkey, 25 * 10**8)], 2), 2)
    return coins


def test_coinbase_matures_after_100_blocks() -> None:
    coins = _funded()
    assert coins.spendable(50) == []
    assert [c.txout.value for c in coins.spendable(100)] == [50 * 10**8]
    assert coins.balance(101) == 75 * 10**8


@pytest.mark.parametrize("fee_rate", [1, 7, 50])
def test_payment_signs_both_key_kinds_and_pays_its_fee(fee_rate: int) -> None:
    coins = _funded()
    out = TxOut(60 * 10**8, OTHER.script_pubkey)  # needs both coins
    tx = coins.create_payment([out], fee_rate, WPKH, tip_height=200)
    spent = [coins.confirmed[i.prevout].txout for i in tx.vin]
    for i in range(len(tx.vin)):
        assert verify_input(tx, i, spent, STANDARD_SCRIPT_VERIFY_FLAGS) is None
    fee = sum(s.value for s in spent) - tx.total_out()
    # The estimate may exceed the real size slightly (worst-case signatures), never fall short.
    assert fee_rate * tx.vsize <= fee <= fee_rate * (tx.vsize + 4)


def test_locked_coins_are_not_reused_and_disconnect_restores() -> None:
    coins = _funded()
    tx = coins.create_payment([TxOut(10**8, OTHER.script_pubkey)], 2, WPKH, tip_height=200)
    coins.add_unconfirmed(tx)
    used = {i.prevout for i in tx.vin}
    assert not used & {c.outpoint for c in coins.spendable(200)}
    change = [c for c in coins.pending.values()]
    assert len(change) == 1 and change[0].height is None
    blk = _block([_coinbase(300, OTHER.script_pubkey, 1), tx], 3)
    coins.connect_block(blk, 201)
    assert not coins.locked and change[0].outpoint in coins.confirmed
    coins.disconnect_block(blk)
    assert used <= set(coins.confirmed) and change[0].outpoint not in coins.confirmed


def test_insufficient_funds_is_a_typed_error() -> None:
    coins = _funded()
    with pytest.raises(FaucetEmpty):
        coins.create_payment([TxOut(100 * 10**8, OTHER.script_pubkey)], 1, WPKH, tip_height=200)
