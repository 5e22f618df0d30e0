"""Synthetic transactions and blocks for the mempool-view and fee-estimator unit tests."""

from __future__ import annotations

import hashlib

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut

SPK = b"\x00\x14" + bytes(20)
WITNESS = (bytes(72), bytes(33))  # a P2WPKH-sized witness: ~110 vB for one input, one output


def funding_tx(seed: int, values: list[int]) -> Transaction:
    """A transaction from nowhere (its inputs are never known) paying `values`."""
    prev = Txid(hashlib.sha256(seed.to_bytes(8, "little")).digest())
    return Transaction(2, (TxIn(OutPoint(prev, 0), b"", 0xFFFFFFFD, WITNESS),), tuple(TxOut(v, SPK) for v in values))


def spend(parents: list[tuple[Transaction, int]], values: list[int], sequence: int = 0xFFFFFFFD) -> Transaction:
    """Spend output n of each parent, paying `values`."""
    vin = tuple(TxIn(OutPoint(p.txid, n), b"", sequence, WITNESS) for p, n in parents)
    return Transaction(2, vin, tuple(TxOut(v, SPK) for v in values))


def coinbase(height: int) -> Transaction:
    return Transaction(2, (TxIn(OutPoint(Txid(bytes(32)), 0xFFFFFFFF), height.to_bytes(4, "little")),), (TxOut(0, SPK),))


def block(height: int, txs: list[Transaction]) -> Block:
    header = BlockHeader(4, BlockHash(height.to_bytes(32, "little")), bytes(32), 1_700_000_000 + height, 0x207FFFFF, 0)
    return Block(header, (coinbase(height), *txs))
