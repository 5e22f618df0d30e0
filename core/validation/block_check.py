"""Block checks that need no UTXO set: Core's CheckBlock and ContextualCheckBlock (validation.cpp).

`check_block` is context-free (merkle root and its CVE-2012-2459 mutation, size, coinbase position,
every transaction's CheckTransaction, legacy sigops). `contextual_check_block` needs only the
block's height and its parent's median time past: lock-time finality, the BIP34 height in the
coinbase, the BIP141 witness commitment and the weight limit.
"""

from __future__ import annotations

from core.consensus.block import Block
from core.consensus.check import check_transaction
from core.consensus.errors import ValidationError
from core.consensus.hashes import sha256d
from core.consensus.tx import MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR
from core.script.script import push_int
from core.validation.deployments import MAX_BLOCK_SIGOPS_COST, ConsensusHeights
from core.validation.errors import BlockConsensusError, BlockMutatedError
from core.validation.tx_verify import is_final_tx, legacy_sigop_count


def check_merkle_root(block: Block) -> None:
    """Core's CheckMerkleRoot: the header commits to these transactions, and no CVE-2012-2459 duplication."""
    root, mutated = block.computed_merkle_root
    if root != block.header.merkle_root:
        raise BlockMutatedError("bad-txnmrklroot", "hashMerkleRoot mismatch")
    if mutated:
        raise BlockMutatedError("bad-txns-duplicate", "duplicate transaction")


def check_block(block: Block, pow_limit: int | None = None, check_merkle: bool = True) -> None:
    """Core's CheckBlock; raises BlockMutatedError / BlockConsensusError with Core's reason.

    Proof of work is checked only when `pow_limit` is given (the header tree has already checked
    the headers it accepted).
    """
    if pow_limit is not None and not block.header.check_proof_of_work(pow_limit):
        raise BlockConsensusError("high-hash", "proof of work failed")
    if check_merkle:
        check_merkle_root(block)
    # Witness data is not looked at here: its malleation is checked in contextual_check_block.
    txs = block.txs
    if (
        not txs
        or len(txs) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
        or len(block.serialize(with_witness=False)) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
    ):
        raise BlockConsensusError("bad-blk-length", "size limits failed")
    if not txs[0].is_coinbase():
        raise BlockConsensusError("bad-cb-missing", "first tx is not coinbase")
    for tx in txs[1:]:
        if tx.is_coinbase():
            raise BlockConsensusError("bad-cb-multiple", "more than one coinbase")
    for tx in txs:
        try:
            check_transaction(tx)
        except ValidationError as e:
            raise BlockConsensusError(e.reason, f"Transaction check failed (tx hash {tx.txid}) {e.detail}") from None
    sigops = sum(legacy_sigop_count(tx) for tx in txs)
    if sigops * WITNESS_SCALE_FACTOR > MAX_BLOCK_SIGOPS_COST:
        raise BlockConsensusError("bad-blk-sigops", "out-of-bounds SigOpCount")


def check_witness_malleation(block: Block, expect_witness_commitment: bool) -> None:
    """Core's CheckWitnessMalleation: the coinbase commits to the witnesses, or there are none."""
    if expect_witness_commitment:
        pos = block.witness_commitment_index()
        if pos is not None:
            stack = block.txs[0].vin[0].witness
            if len(stack) != 1 or len(stack[0]) != 32:
                raise BlockMutatedError("bad-witness-nonce-size", "invalid witness reserved value size")
            commitment = sha256d(block.witness_merkle_root() + stack[0])
            if commitment != block.txs[0].vout[pos].script_pubkey[6:38]:
                raise BlockMutatedError("bad-witness-merkle-match", "witness merkle commitment mismatch")
            return
    if any(tx.has_witness() for tx in block.txs):
        raise BlockMutatedError("unexpected-witness", "unexpected witness data found")


def contextual_check_block(block: Block, height: int, prev_mtp: int, params: ConsensusHeights) -> None:
    """Core's ContextualCheckBlock for a block at `height` whose parent has median time past `prev_mtp`.

    Call `check_block` first (this assumes a coinbase exists).
    """
    # BIP113: once CSV is active, lock times compare against the parent's median time past.
    cutoff = prev_mtp if height >= params.csv_height else block.header.time
    for tx in block.txs:
        if not is_final_tx(tx, height, cutoff):
            raise BlockConsensusError("bad-txns-nonfinal", "non-final transaction")
    if height >= params.bip34_height:
        expect = push_int(height)
        if not block.txs[0].vin[0].script_sig.startswith(expect):
            raise BlockConsensusError("bad-cb-height", "block height mismatch in coinbase")
    check_witness_malleation(block, height >= params.segwit_height)
    # Only after the commitment is checked: a stuffed coinbase witness changes weight, not the hash.
    if block.weight > MAX_BLOCK_WEIGHT:
        raise BlockConsensusError("bad-blk-weight", "weight limit failed")
