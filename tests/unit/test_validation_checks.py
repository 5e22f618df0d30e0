"""CheckBlock and ContextualCheckBlock: one crafted block per reject reason, with Core's reason strings."""

from __future__ import annotations

import dataclasses

import pytest

from core.consensus.block import Block
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mining.coinbase import add_witness_commitment, create_coinbase
from core.validation.block_check import check_block, contextual_check_block
from core.validation.errors import BlockConsensusError, BlockMutatedError, BlockValidationError
from tests.unit.validation_support import REGTEST, make_block, rebuild

PREV = BlockHash(b"\x42" * 32)
HEIGHT = 200
TIME = 1_700_000_000
MTP = TIME - 600


def _plain_tx(n: int = 0, witness: tuple[bytes, ...] = (), locktime: int = 0, seq: int = 0xFFFFFFFF) -> Transaction:
    txin = TxIn(OutPoint(Txid(bytes([n + 1]) * 32), 0), b"", seq, witness)
    return Transaction(2, (txin,), (TxOut(1000, b"\x51"),), locktime)


def _good(txs: tuple[Transaction, ...] = ()) -> Block:
    return make_block(PREV, HEIGHT, TIME, txs)


def _reason(fn, *args) -> tuple[str, bool]:
    with pytest.raises(BlockValidationError) as info:
        fn(*args)
    return info.value.reason, info.value.mutated


def _full_check(block: Block) -> None:
    check_block(block, REGTEST.pow_limit)
    contextual_check_block(block, HEIGHT, MTP, REGTEST)


def test_good_block_passes_both_checks() -> None:
    block = _good((_plain_tx(0, witness=(b"\x01",)), _plain_tx(1)))
    _full_check(block)


def test_bad_merkle_root_is_mutation() -> None:
    block = _good((_plain_tx(),))
    bad = Block(dataclasses.replace(block.header, merkle_root=b"\x00" * 32), block.txs)
    assert _reason(check_block, bad) == ("bad-txnmrklroot", True)


def test_duplicated_tx_is_cve_2012_2459_mutation() -> None:
    a, b = _plain_tx(0), _plain_tx(1)
    block = _good((a, b))
    # [cb, a, b, b] has the same merkle root as [cb, a, b]
    dup = Block(block.header, (*block.txs, b))
    assert dup.computed_merkle_root[0] == block.header.merkle_root
    assert _reason(check_block, dup) == ("bad-txns-duplicate", True)


def test_pow_checked_when_limit_given() -> None:
    block = _good()
    bad = Block(dataclasses.replace(block.header, nonce=block.header.nonce + 1), block.txs)
    while bad.header.check_proof_of_work(REGTEST.pow_limit):
        bad = Block(dataclasses.replace(bad.header, nonce=bad.header.nonce + 1), bad.txs)
    assert _reason(check_block, bad, REGTEST.pow_limit) == ("high-hash", False)
    check_block(bad)  # without a limit the header tree is trusted to have checked it


def test_no_transactions_is_bad_length() -> None:
    block = _good()
    empty = Block(dataclasses.replace(block.header, merkle_root=bytes(32)), ())
    assert _reason(check_block, empty, None, False) == ("bad-blk-length", False)


def test_oversized_block_is_bad_length() -> None:
    big = Transaction(2, _plain_tx().vin, (TxOut(0, b"\x6a" + b"\x00" * 1_000_000),), 0)
    block = rebuild(_good(), (_good().txs[0], big), commit=False)
    assert _reason(check_block, block) == ("bad-blk-length", False)


def test_first_tx_must_be_coinbase() -> None:
    block = rebuild(_good(), (_plain_tx(0), _plain_tx(1)), commit=False)
    assert _reason(check_block, block) == ("bad-cb-missing", False)


def test_second_coinbase_rejected() -> None:
    cb2 = create_coinbase(HEIGHT, b"\x51", 1, extra_nonce=7)
    block = rebuild(_good(), (_good().txs[0], cb2))
    assert _reason(check_block, block) == ("bad-cb-multiple", False)


def test_check_transaction_runs_for_every_tx() -> None:
    no_out = Transaction(2, _plain_tx().vin, (), 0)
    block = rebuild(_good(), (_good().txs[0], no_out))
    assert _reason(check_block, block) == ("bad-txns-vout-empty", False)
    dup_in = Transaction(2, _plain_tx().vin * 2, (TxOut(1, b"\x51"),), 0)
    block = rebuild(_good(), (_good().txs[0], dup_in))
    assert _reason(check_block, block) == ("bad-txns-inputs-duplicate", False)


def test_legacy_sigops_limit() -> None:
    ok = Transaction(2, _plain_tx().vin, (TxOut(0, b"\xac" * 19_990),), 0)
    check_block(rebuild(_good(), (_good().txs[0], ok)))
    heavy = Transaction(2, _plain_tx().vin, (TxOut(0, b"\xac" * 20_001),), 0)
    block = rebuild(_good(), (_good().txs[0], heavy))
    assert _reason(check_block, block) == ("bad-blk-sigops", False)


def test_non_final_tx_rejected() -> None:
    # Height lock: final only once the block height exceeds nLockTime.
    tx = _plain_tx(locktime=HEIGHT, seq=0xFFFFFFFE)
    block = rebuild(_good(), (_good().txs[0], tx))
    assert _reason(contextual_check_block, block, HEIGHT, MTP, REGTEST) == ("bad-txns-nonfinal", False)
    contextual_check_block(make_block(PREV, HEIGHT + 1, TIME, (tx,)), HEIGHT + 1, MTP, REGTEST)
    # Time lock compares with the parent's median time past (BIP113), not the block's time.
    tx = _plain_tx(locktime=MTP, seq=0)
    block = rebuild(_good(), (_good().txs[0], tx))
    assert _reason(contextual_check_block, block, HEIGHT, MTP, REGTEST) == ("bad-txns-nonfinal", False)
    contextual_check_block(block, HEIGHT, MTP + 1, REGTEST)
    # All-final sequences make any lock time final.
    tx = _plain_tx(locktime=HEIGHT + 1000)
    contextual_check_block(rebuild(_good(), (_good().txs[0], tx)), HEIGHT, MTP, REGTEST)


def test_coinbase_must_start_with_height() -> None:
    block = _good()
    assert _reason(contextual_check_block, block, HEIGHT + 1, MTP, REGTEST) == ("bad-cb-height", False)
    small = make_block(PREV, 5, TIME)  # heights 1..16 are OP_1..OP_16
    contextual_check_block(small, 5, MTP, REGTEST)
    assert _reason(contextual_check_block, small, 6, MTP, REGTEST) == ("bad-cb-height", False)


def test_witness_nonce_must_be_one_32_byte_item() -> None:
    block = _good((_plain_tx(0, witness=(b"\x01",)),))
    cb = block.txs[0]
    bad_cb = dataclasses.replace(cb, vin=(dataclasses.replace(cb.vin[0], witness=(bytes(32), b"")),))
    bad = rebuild(block, (bad_cb, *block.txs[1:]), commit=False)
    assert _reason(contextual_check_block, bad, HEIGHT, MTP, REGTEST) == ("bad-witness-nonce-size", True)


def test_witness_commitment_must_match() -> None:
    block = _good((_plain_tx(0, witness=(b"\x01",)),))
    # Change a witness after committing: txids (and the merkle root) stay, the commitment breaks.
    tx = block.txs[1]
    changed = dataclasses.replace(tx, vin=(dataclasses.replace(tx.vin[0], witness=(b"\x02",)),))
    bad = Block(block.header, (block.txs[0], changed))
    check_block(bad)
    assert _reason(contextual_check_block, bad, HEIGHT, MTP, REGTEST) == ("bad-witness-merkle-match", True)


def test_witness_without_commitment_is_unexpected() -> None:
    tx = _plain_tx(0, witness=(b"\x01",))
    block = make_block(PREV, HEIGHT, TIME, (tx,), commit=False)
    assert _reason(contextual_check_block, block, HEIGHT, MTP, REGTEST) == ("unexpected-witness", True)
    # Before segwit activation a commitment is not looked for either.
    pre = dataclasses.replace(REGTEST, segwit_height=HEIGHT + 1)
    committed = _good((tx,))
    assert _reason(contextual_check_block, committed, HEIGHT, MTP, pre) == ("unexpected-witness", True)
    contextual_check_block(make_block(PREV, HEIGHT, TIME, (_plain_tx(),), commit=False), HEIGHT, MTP, REGTEST)


def test_weight_limit_checked_after_commitment() -> None:
    fat = _plain_tx(0, witness=(b"\x00" * 4_000_000,))
    block = _good((fat,))
    check_block(block)  # the stripped size is small
    assert _reason(contextual_check_block, block, HEIGHT, MTP, REGTEST) == ("bad-blk-weight", False)


def test_error_classes() -> None:
    assert issubclass(BlockMutatedError, BlockValidationError)
    assert issubclass(BlockConsensusError, BlockValidationError)
    block = add_witness_commitment(_good())
    assert block.witness_commitment_index() == 1
