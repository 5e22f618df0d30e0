"""ConnectBlock / DisconnectBlock with explicit context: every UTXO-dependent reject reason, undo round trip."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from core.consensus.amount import MAX_MONEY
from core.consensus.block import Block
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.validation.connect import BlockContext, connect_block, disconnect_block
from core.validation.deployments import block_subsidy
from core.validation.errors import BlockConsensusError, BlockScriptError, ChainStateError
from core.validation.store import ChainDB
from core.validation.tx_verify import SEQUENCE_LOCKTIME_TYPE_FLAG
from core.validation.utxo import BlockUndo, Coin, CoinsCache, outpoint_key
from tests.unit.validation_support import REGTEST, Key, make_block, spend

PREV = BlockHash(b"\x42" * 32)
HEIGHT = 300
TIME = 1_700_000_000
ALICE = Key.from_int(1001)
BOB = Key.from_int(1002, taproot=True)


class DictSource:
    """A CoinSource over a plain dict (what the database would hold)."""

    def __init__(self, coins: dict[bytes, Coin] | None = None) -> None:
        self.coins = dict(coins or {})

    def fetch_coin(self, key: bytes) -> Coin | None:
        return self.coins.get(key)

    def apply(self, cache: CoinsCache) -> None:
        for key, coin in cache.changes():
            if coin is None:
                self.coins.pop(key, None)
            else:
                self.coins[key] = coin


def _mtp(h: int) -> int:
    return TIME - (HEIGHT - h) * 600 - 3000


CTX = BlockContext(HEIGHT, _mtp)


def _funding(n: int, key: Key, value: int = 50_000, height: int = 10, coinbase: bool = False):
    op = OutPoint(Txid(hashlib.sha256(b"fund%d" % n).digest()), n)
    out = TxOut(value, key.script_pubkey)
    return op, out, Coin(out, height, coinbase)


def _setup(*fundings) -> DictSource:
    return DictSource({outpoint_key(op): coin for op, _, coin in fundings})


def _connect(block: Block, source: DictSource, ctx: BlockContext = CTX):
    cache = CoinsCache(source)
    result = connect_block(block, ctx, cache, REGTEST)
    return cache, result


def _reason(block: Block, source: DictSource, ctx: BlockContext = CTX) -> str:
    with pytest.raises(BlockConsensusError) as info:
        _connect(block, source, ctx)
    return info.value.reason


def test_connect_spends_and_creates_then_disconnect_restores() -> None:
    fa, fb = _funding(0, ALICE), _funding(1, BOB)
    source = _setup(fa, fb)
    before = dict(source.coins)
    tx1 = spend([(fa[0], fa[1], ALICE), (fb[0], fb[1], BOB)], [TxOut(60_000, BOB.script_pubkey), TxOut(39_000, b"\x6a")])
    # A child spending its parent inside the same block: a fresh coin that never reaches the source.
    tx2 = spend([(OutPoint(tx1.txid, 0), tx1.vout[0], BOB)], [TxOut(59_000, ALICE.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (tx1, tx2), fees=2_000)
    cache, result = _connect(block, source)
    assert result.fees == 2_000
    assert result.inputs == 4  # coinbase input counted, as Core counts nInputs
    assert [c.txout for c in result.undo.spent] == [fa[1], fb[1], tx1.vout[0]]
    assert outpoint_key(OutPoint(tx1.txid, 0)) not in dict(cache.changes())
    assert outpoint_key(OutPoint(tx1.txid, 1)) not in dict(cache.changes())  # OP_RETURN never a coin
    source.apply(cache)
    assert source.fetch_coin(outpoint_key(fa[0])) is None
    new = source.fetch_coin(outpoint_key(OutPoint(tx2.txid, 0)))
    assert new == Coin(tx2.vout[0], HEIGHT, False)
    assert source.fetch_coin(outpoint_key(OutPoint(block.txs[0].txid, 0))).is_coinbase

    undo = BlockUndo.parse(result.undo.serialize())
    cache = CoinsCache(source)
    assert disconnect_block(block, undo, cache, HEIGHT) is True
    source.apply(cache)
    assert source.coins == before


def test_disconnect_reports_unclean_and_bad_undo() -> None:
    fa = _funding(0, ALICE)
    source = _setup(fa)
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    cache, result = _connect(block, source)
    source.apply(cache)
    del source.coins[outpoint_key(OutPoint(tx.txid, 0))]  # an output already gone: not what we left
    assert disconnect_block(block, result.undo, CoinsCache(source), HEIGHT) is False
    with pytest.raises(ChainStateError):
        disconnect_block(block, BlockUndo(()), CoinsCache(source), HEIGHT)


def test_missing_or_double_spent_inputs() -> None:
    fa = _funding(0, ALICE)
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)])
    assert _reason(make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000), DictSource()) == (
        "bad-txns-inputs-missingorspent"
    )
    tx2 = spend([(fa[0], fa[1], ALICE)], [TxOut(30_000, BOB.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (tx, tx2), fees=30_000)
    assert _reason(block, _setup(fa)) == "bad-txns-inputs-missingorspent"


def test_coinbase_maturity() -> None:
    young = _funding(0, ALICE, height=HEIGHT - 99, coinbase=True)
    tx = spend([(young[0], young[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    assert _reason(block, _setup(young)) == "bad-txns-premature-spend-of-coinbase"
    mature = _funding(0, ALICE, height=HEIGHT - 100, coinbase=True)
    _connect(block, _setup(mature))


def test_amount_rules() -> None:
    fa = _funding(0, ALICE, value=50_000)
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(50_001, BOB.script_pubkey)])
    assert _reason(make_block(PREV, HEIGHT, TIME, (tx,)), _setup(fa)) == "bad-txns-in-belowout"
    huge = _funding(1, ALICE, value=MAX_MONEY + 1)
    tx = spend([(huge[0], huge[1], ALICE)], [TxOut(1, BOB.script_pubkey)])
    assert _reason(make_block(PREV, HEIGHT, TIME, (tx,)), _setup(huge)) == "bad-txns-inputvalues-outofrange"
    # Two transactions each paying a fee of MAX_MONEY: each is in range, their sum is not.
    m1, m2 = _funding(2, ALICE, value=MAX_MONEY), _funding(3, ALICE, value=MAX_MONEY)
    t1 = spend([(m1[0], m1[1], ALICE)], [TxOut(0, b"\x6a")])
    t2 = spend([(m2[0], m2[1], ALICE)], [TxOut(0, b"\x6a")])
    block = make_block(PREV, HEIGHT, TIME, (t1, t2))
    assert _reason(block, _setup(m1, m2)) == "bad-txns-accumulated-fee-outofrange"


def test_coinbase_may_claim_subsidy_plus_fees_only() -> None:
    fa = _funding(0, ALICE)
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)])
    subsidy = block_subsidy(HEIGHT, REGTEST)
    assert subsidy == 50 * 100_000_000 >> 2  # regtest halves every 150 blocks
    exact = make_block(PREV, HEIGHT, TIME, (tx,), coinbase_value=subsidy + 10_000)
    _connect(exact, _setup(fa))
    over = make_block(PREV, HEIGHT, TIME, (tx,), coinbase_value=subsidy + 10_001)
    assert _reason(over, _setup(fa)) == "bad-cb-amount"


def test_bip68_relative_locks() -> None:
    # Height lock of 10 blocks on a coin mined at HEIGHT - 9: first spendable at HEIGHT + 1.
    fa = _funding(0, ALICE, height=HEIGHT - 9)
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)], sequence=10)
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    assert _reason(block, _setup(fa)) == "bad-txns-nonfinal"
    _connect(block, _setup(_funding(0, ALICE, height=HEIGHT - 10)))
    # Version 1 transactions ignore BIP68.
    v1 = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)], sequence=10, version=1)
    _connect(make_block(PREV, HEIGHT, TIME, (v1,), fees=10_000), _setup(fa))
    # Time lock of 2 * 512 s, counted from the MTP of the block before the coin's block.
    fb = _funding(0, ALICE, height=HEIGHT - 2)
    tx = spend([(fb[0], fb[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)], sequence=SEQUENCE_LOCKTIME_TYPE_FLAG | 2)
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    # The coin's time is mtp(HEIGHT - 3); the parent's MTP is 1200 s later, past the 1024 s lock.
    _connect(block, _setup(fb))
    tight = BlockContext(HEIGHT, lambda h: TIME if h == HEIGHT - 1 else TIME - 1023)
    assert _reason(block, _setup(fb), tight) == "bad-txns-nonfinal"
    loose = BlockContext(HEIGHT, lambda h: TIME if h == HEIGHT - 1 else TIME - 1024)
    _connect(block, _setup(fb), loose)


def test_sigop_cost_counts_witness_sigops() -> None:
    script = b"\xae" * 4001  # CHECKMULTISIG without a preceding OP_n counts 20: 80,020
    spk = b"\x00\x20" + hashlib.sha256(script).digest()
    op = OutPoint(Txid(b"\x07" * 32), 0)
    source = DictSource({outpoint_key(op): Coin(TxOut(50_000, spk), 10, False)})
    tx = Transaction(2, (TxIn(op, b"", 0xFFFFFFFF, (script,)),), (TxOut(40_000, b"\x51"),), 0)
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    assert _reason(block, source) == "bad-blk-sigops"


def test_bad_signature_fails_with_script_error() -> None:
    fa = _funding(0, ALICE)
    fb = _funding(1, BOB)
    eve = Key.from_int(666)
    forged = spend([(fa[0], fa[1], eve)], [TxOut(40_000, BOB.script_pubkey)])
    with pytest.raises(BlockScriptError) as info:
        _connect(make_block(PREV, HEIGHT, TIME, (forged,), fees=10_000), _setup(fa))
    assert info.value.reason.startswith("block-script-verify-flag-failed (")
    # Taproot: a signature over other amounts (BIP341 commits to every spent amount) fails.
    tx = spend([(fb[0], fb[1], BOB)], [TxOut(40_000, ALICE.script_pubkey)])
    lying = _funding(1, BOB, value=50_001)
    with pytest.raises(BlockScriptError) as info:
        _connect(make_block(PREV, HEIGHT, TIME, (tx,), fees=10_001), _setup(lying))
    assert info.value.reason == "block-script-verify-flag-failed (Invalid Schnorr signature)"


def test_bip30_no_overwrite_of_unspent_outputs() -> None:
    block = make_block(PREV, HEIGHT, TIME)
    existing = Coin(TxOut(1, b"\x51"), 5, True)
    source = DictSource({outpoint_key(OutPoint(block.txs[0].txid, 0)): existing})
    assert _reason(block, source) == "bad-txns-BIP30"


def test_connect_on_database_then_reopen(tmp_path) -> None:
    fa = _funding(0, ALICE)
    db = ChainDB(tmp_path / "chain.sqlite")
    with db.transaction():
        db.write_coins([(outpoint_key(fa[0]), fa[2])])
    tx = spend([(fa[0], fa[1], ALICE)], [TxOut(40_000, BOB.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (tx,), fees=10_000)
    cache = CoinsCache(db)
    result = connect_block(block, CTX, cache, REGTEST)
    with db.transaction():
        db.write_coins(cache.changes())
        db.put_undo(block.hash, result.undo)
    db.close()
    db = ChainDB(tmp_path / "chain.sqlite")
    assert db.fetch_coin(outpoint_key(fa[0])) is None
    assert db.fetch_coin(outpoint_key(OutPoint(tx.txid, 0))) == Coin(tx.vout[0], HEIGHT, False)
    assert db.get_undo(block.hash) == result.undo
    # A failed transaction leaves nothing behind.
    with pytest.raises(RuntimeError), db.transaction():
        db.write_coins([(outpoint_key(fa[0]), fa[2])])
        raise RuntimeError("crash mid-block")
    assert db.fetch_coin(outpoint_key(fa[0])) is None
    db.close()


def test_verify_scripts_can_be_skipped_but_not_other_rules() -> None:
    fa = _funding(0, ALICE)
    forged = spend([(fa[0], fa[1], Key.from_int(5))], [TxOut(40_000, BOB.script_pubkey)])
    block = make_block(PREV, HEIGHT, TIME, (forged,), fees=10_000)
    connect_block(block, CTX, CoinsCache(_setup(fa)), REGTEST, verify_scripts=False)
    unsigned = dataclasses.replace(forged, vin=(dataclasses.replace(forged.vin[0], witness=()),))
    block = make_block(PREV, HEIGHT, TIME, (unsigned,), fees=10_000)
    with pytest.raises(BlockScriptError):
        connect_block(block, CTX, CoinsCache(_setup(fa)), REGTEST)
