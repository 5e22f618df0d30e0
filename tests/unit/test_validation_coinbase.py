"""core.mining.coinbase: Core-shaped coinbases (BIP34 height, extra nonce) and the BIP141 commitment."""

from __future__ import annotations

import dataclasses

from core.consensus.block import Block, BlockHeader
from core.consensus.check import check_transaction
from core.consensus.hashes import BlockHash, Txid, sha256d
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mining.coinbase import (
    WITNESS_RESERVED_VALUE,
    add_witness_commitment,
    coinbase_script_sig,
    create_coinbase,
)
from core.validation.block_check import check_block, contextual_check_block
from tests.unit.validation_support import REGTEST

SPK = b"\x00\x14" + bytes(range(20))


def test_script_sig_is_height_then_extra_nonce() -> None:
    assert coinbase_script_sig(1) == b"\x51\x00"  # OP_1 OP_0: Core's `<< nHeight << OP_0`
    assert coinbase_script_sig(16) == b"\x60\x00"
    assert coinbase_script_sig(17) == b"\x01\x11\x00"
    assert coinbase_script_sig(500) == b"\x02\xf4\x01\x00"
    assert coinbase_script_sig(500, extra_nonce=1) == b"\x02\xf4\x01\x01\x01"
    assert coinbase_script_sig(500, extra_nonce=0x80) == b"\x02\xf4\x01\x02\x80\x00"


def test_create_coinbase_shapes() -> None:
    cb = create_coinbase(200, SPK, 12_345)
    assert cb.is_coinbase() and not cb.has_witness()
    assert cb.vout == (TxOut(12_345, SPK),)
    check_transaction(cb)
    commitment = bytes(range(32))
    cb = create_coinbase(1, SPK, 5, witness_commitment=commitment)
    check_transaction(cb)
    assert cb.vout[1] == TxOut(0, bytes.fromhex("6a24aa21a9ed") + commitment)
    assert cb.vin[0].witness == (WITNESS_RESERVED_VALUE,)


def _block(txs) -> Block:
    header = BlockHeader(0x20000000, BlockHash(b"\x01" * 32), bytes(32), 1_700_000_000, 0x207FFFFF, 0)
    return Block(header, tuple(txs))


def test_add_witness_commitment_commits_and_is_idempotent() -> None:
    spender = Transaction(
        2, (TxIn(OutPoint(Txid(b"\x05" * 32), 1), b"", 0xFFFFFFFD, (b"\x01" * 71, b"\x02" * 33)),), (TxOut(9, SPK),)
    )
    block = add_witness_commitment(_block([create_coinbase(300, SPK, 10), spender]))
    pos = block.witness_commitment_index()
    assert pos == 1
    want = sha256d(block.witness_merkle_root() + WITNESS_RESERVED_VALUE)
    assert block.txs[0].vout[pos].script_pubkey[6:] == want
    assert block.header.merkle_root == block.computed_merkle_root[0]
    check_block(block)
    contextual_check_block(block, 300, 1_699_999_000, REGTEST)
    again = add_witness_commitment(block)
    assert again == block  # an existing commitment is replaced, not appended
    # Changing a witness and recommitting replaces the old commitment in place.
    changed = dataclasses.replace(spender, vin=(dataclasses.replace(spender.vin[0], witness=(b"\x03",)),))
    recommitted = add_witness_commitment(Block(block.header, (block.txs[0], changed)))
    assert len(recommitted.txs[0].vout) == 2
    contextual_check_block(recommitted, 300, 1_699_999_000, REGTEST)
