"""ChainState end to end: a long chain of signed P2WPKH/P2TR spends, reorgs, invalid branches, crash safety."""

from __future__ import annotations

import dataclasses

import pytest

from core.consensus.tx import OutPoint, TxOut
from core.validation.errors import BlockConsensusError, BlockMutatedError, UnknownBlockError
from core.validation.utxo import Coin
from tests.unit.validation_support import (
    REGTEST,
    ChainDriver,
    Key,
    Wallet,
    build_block,
    genesis_time,
    make_block,
    spend,
)

KEYS = (Key.from_int(11), Key.from_int(12, taproot=True), Key.from_int(13), Key.from_int(14, taproot=True))
T0 = genesis_time()


def _chain(wallet: Wallet, prev, start: int, count: int, tag: int = 0, **kw):
    blocks = []
    for h in range(start, start + count):
        b = build_block(wallet, prev, h, T0 + 600 * h + tag, tag=tag, **kw)
        blocks.append(b)
        prev = b.hash
    return blocks


@pytest.fixture(scope="module")
def long_chain():
    """230 blocks: 101 to mature coinbases, then 4 transactions of 2 signed inputs in each block."""
    wallet = Wallet(KEYS)
    blocks = _chain(wallet, REGTEST.genesis_hash, 1, 230, n_txs=4, inputs_per_tx=2)
    return blocks, wallet


def test_connects_long_chain_of_signed_spends(tmp_path, long_chain) -> None:
    blocks, wallet = long_chain
    drv = ChainDriver(tmp_path)
    update = drv.submit(*blocks)
    assert update.connected == tuple(blocks) and not update.disconnected and not update.invalid
    assert drv.cs.height == 230 and drv.cs.tip.hash == blocks[-1].hash
    n_inputs = sum(len(tx.vin) for b in blocks for tx in b.txs[1:])
    assert n_inputs >= 900
    # The UTXO set is exactly the wallet's coins plus the coinbase outputs nobody controls (none here).
    utxos = drv.utxos()
    expected = {
        op.txid + op.n.to_bytes(4, "little"): Coin(out, h, cb) for op, (out, _k, h, cb) in wallet.coins.items()
    }
    assert utxos == expected
    for op, (out, _k, h, cb) in list(wallet.coins.items())[:20]:
        assert drv.cs.get_coin(op) == Coin(out, h, cb)
    spent = blocks[150].txs[1].vin[0].prevout
    assert drv.cs.get_coin(spent) is None
    assert drv.cs.get_block(blocks[7].hash) == blocks[7]
    drv.close()


def test_reorg_to_longer_fork_restores_utxos_and_returns_blocks(tmp_path) -> None:
    wallet = Wallet(KEYS)
    base = _chain(wallet, REGTEST.genesis_hash, 1, 110)
    fork_wallet = wallet.copy()
    main = _chain(wallet, base[-1].hash, 111, 5, tag=0)
    side = _chain(fork_wallet, base[-1].hash, 111, 7, tag=7)
    assert main[0].txs[1].txid != side[0].txs[1].txid  # both branches spend the same coins differently

    drv = ChainDriver(tmp_path)
    drv.submit(*base)
    at_fork = drv.utxos()
    drv.submit(*main)
    main_utxos = drv.utxos()
    update = drv.submit(*side)
    assert update.disconnected == tuple(reversed(main))  # old tip first
    assert update.connected == tuple(side)
    disconnected_txids = {tx.txid for b in update.disconnected for tx in b.txs[1:]}
    assert len(disconnected_txids) == 10

    # The reorged state equals a fresh node's that only ever saw base + side.
    fresh = ChainDriver(tmp_path / "fresh")
    fresh.submit(*base, *side)
    assert drv.utxos() == fresh.utxos()
    assert drv.cs.tip.hash == side[-1].hash

    # Disconnecting everything above the fork restores the UTXO set at the fork byte for byte.
    main_more = _chain(wallet, main[-1].hash, 116, 3)
    update = drv.submit(*main_more)
    assert update.disconnected == tuple(reversed(side))
    assert update.connected == (*main, *main_more)
    expected = ChainDriver(tmp_path / "again")
    expected.submit(*base, *main, *main_more)
    assert drv.utxos() == expected.utxos()
    assert main_utxos != at_fork
    for d in (drv, fresh, expected):
        d.close()


def test_invalid_block_on_heavier_fork_is_marked_and_old_chain_kept(tmp_path) -> None:
    wallet = Wallet(KEYS)
    base = _chain(wallet, REGTEST.genesis_hash, 1, 105)
    fork_wallet = wallet.copy()
    main = _chain(wallet, base[-1].hash, 106, 2)
    good = _chain(fork_wallet, base[-1].hash, 106, 1, tag=3)
    # Fork block 2 overpays its coinbase: only ConnectBlock can tell.
    bad = make_block(good[0].hash, 107, T0 + 600 * 107 + 3, payout=KEYS[0].script_pubkey, coinbase_value=50 * 10**8 + 1)
    after = make_block(bad.hash, 108, T0 + 600 * 108 + 3)
    drv = ChainDriver(tmp_path)
    drv.submit(*base, *main)
    before = drv.utxos()
    update = drv.submit(*good, bad, after)
    assert update.invalid == ((bad.hash, "bad-cb-amount"),)
    assert not update.tip_changed  # went to good[0], failed, and came back to main
    assert drv.cs.tip.hash == main[-1].hash
    assert drv.utxos() == before
    assert drv.tree.get(bad.hash).is_invalid and drv.tree.get(after.hash).is_invalid
    assert not drv.tree.get(good[0].hash).is_invalid
    with pytest.raises(BlockConsensusError, match="duplicate-invalid"):
        drv.cs.store_block(after)
    drv.close()


def test_store_block_checks(tmp_path) -> None:
    drv = ChainDriver(tmp_path)
    b1 = make_block(REGTEST.genesis_hash, 1, T0 + 600)
    with pytest.raises(UnknownBlockError):
        drv.cs.store_block(b1)
    drv.tree.accept([b1.header])
    # A malleated copy (witness added without commitment) is refused but does not poison the header.
    cb = b1.txs[0]
    mangled = dataclasses.replace(cb, vin=(dataclasses.replace(cb.vin[0], witness=(bytes(32), b"x")),))
    with pytest.raises(BlockMutatedError):
        drv.cs.store_block(type(b1)(b1.header, (mangled,)))
    assert not drv.tree.get(b1.hash).is_invalid
    assert drv.submit(b1).connected == (b1,)
    # A consensus failure found at store time (wrong BIP34 height) marks the header invalid.
    b2 = make_block(b1.hash, 3, T0 + 1200)
    drv.tree.accept([b2.header])
    with pytest.raises(BlockConsensusError, match="bad-cb-height"):
        drv.cs.store_block(b2)
    assert drv.tree.get(b2.hash).is_invalid
    assert drv.cs.activate_best_chain().connected == ()
    drv.close()


def test_reopen_resumes_at_recorded_tip(tmp_path) -> None:
    wallet = Wallet(KEYS)
    blocks = _chain(wallet, REGTEST.genesis_hash, 1, 104)
    drv = ChainDriver(tmp_path)
    drv.submit(*blocks[:103])
    utxos = drv.utxos()
    tip = drv.cs.tip.hash
    drv.close()
    drv = ChainDriver(tmp_path)
    assert drv.cs.tip.hash == tip and drv.cs.height == 103
    assert drv.utxos() == utxos
    assert drv.submit(blocks[103]).connected == (blocks[103],)
    drv.close()


def test_crash_inside_connect_leaves_previous_tip(tmp_path, monkeypatch) -> None:
    wallet = Wallet(KEYS)
    blocks = _chain(wallet, REGTEST.genesis_hash, 1, 103)
    drv = ChainDriver(tmp_path)
    drv.submit(*blocks[:102])
    utxos = drv.utxos()
    tip = drv.cs.tip.hash

    def boom(*_a, **_k):
        raise OSError("power cut")

    # Fail after the coins and undo rows were written, inside the same transaction.
    monkeypatch.setattr(drv.cs.filters, "connect", boom)
    drv.tree.accept([blocks[102].header])
    drv.cs.store_block(blocks[102])
    with pytest.raises(OSError):
        drv.cs.activate_best_chain()
    drv.close()
    drv = ChainDriver(tmp_path)
    assert drv.cs.tip.hash == tip
    assert drv.utxos() == utxos
    assert drv.cs.db.get_undo(blocks[102].hash) is None
    # The stored block is still there and connects on the next activation.
    assert drv.cs.activate_best_chain().connected == (blocks[102],)
    drv.close()


def test_spend_of_coin_created_in_reorged_block_fails_after_reorg(tmp_path) -> None:
    """A block spending an output that only existed on the disconnected branch is invalid on the new one."""
    wallet = Wallet(KEYS)
    base = _chain(wallet, REGTEST.genesis_hash, 1, 101)
    fork_wallet = wallet.copy()
    main = _chain(wallet, base[-1].hash, 102, 1)
    side = _chain(fork_wallet, base[-1].hash, 102, 2, tag=9)
    drv = ChainDriver(tmp_path)
    drv.submit(*base, *main)
    out = main[0].txs[1]
    key = next(k for k in KEYS if k.script_pubkey == out.vout[0].script_pubkey)
    child = spend([(OutPoint(out.txid, 0), out.vout[0], key)], [TxOut(out.vout[0].value - 500, b"\x51")])
    drv.submit(*side)
    assert drv.cs.tip.hash == side[-1].hash
    orphan = make_block(side[-1].hash, 104, T0 + 600 * 104 + 9, (child,), fees=500)
    update = drv.submit(orphan)
    assert update.invalid == ((orphan.hash, "bad-txns-inputs-missingorspent"),)
    drv.close()


def test_activation_in_steps(tmp_path) -> None:
    wallet = Wallet(KEYS)
    base = _chain(wallet, REGTEST.genesis_hash, 1, 45)
    fork_wallet = wallet.copy()
    main = _chain(wallet, base[-1].hash, 46, 20)
    side = _chain(fork_wallet, base[-1].hash, 46, 25, tag=4)
    drv = ChainDriver(tmp_path)
    drv.tree.accept([b.header for b in (*base, *main)])
    for b in (*base, *main):
        drv.cs.store_block(b)
    steps = []
    while (update := drv.cs.activate_best_chain(max_blocks=10)).tip_changed:
        steps.append(update)
    assert [len(u.connected) for u in steps] == [10] * 6 + [5]
    assert drv.cs.tip.hash == main[-1].hash
    # A reorg step only stops once the tip has more work than before: here after 21 side blocks.
    drv.tree.accept([b.header for b in side])
    for b in side:
        drv.cs.store_block(b)
    update = drv.cs.activate_best_chain(max_blocks=3)
    assert len(update.disconnected) == 20 and len(update.connected) == 21
    update = drv.cs.activate_best_chain(max_blocks=3)
    assert len(update.connected) == 3 and drv.cs.height == 69
    assert drv.cs.activate_best_chain(max_blocks=3).connected == (side[-1],)
    drv.close()


def test_headers_recovered_from_stored_blocks_when_header_store_lags(tmp_path) -> None:
    wallet = Wallet(KEYS)
    blocks = _chain(wallet, REGTEST.genesis_hash, 1, 30)
    drv = ChainDriver(tmp_path, persist_headers=False)
    drv.submit(*blocks)
    utxos = drv.utxos()
    drv.close()
    # A header tree that lost every header (its store lagged behind after a power cut).
    again = ChainDriver(tmp_path, persist_headers=False)
    assert again.tree.height == 30 and again.cs.tip.hash == blocks[-1].hash
    assert again.utxos() == utxos
    assert again.cs.get_block_bytes(blocks[4].hash) == blocks[4].serialize()
    again.close()


def test_database_of_another_chain_is_refused(tmp_path) -> None:
    from core.chain.headers import HeaderTree
    from core.chain.params import params_for
    from core.validation.chainstate import ChainState
    from core.validation.errors import ChainStateError

    ChainDriver(tmp_path, persist_headers=False).close()
    signet = params_for("signet")
    with pytest.raises(ChainStateError, match="another chain"):
        ChainState(signet, HeaderTree(signet), tmp_path / "chainstate.sqlite")
