"""Coinbase transactions and the BIP141 witness commitment, as Core's miner builds them.

The coinbase scriptSig starts with the block height (BIP34, Core's `CScript() << nHeight`) followed
by an extra-nonce push; with extra_nonce 0 that push is OP_0, which also keeps the scriptSig at the
2-byte minimum CheckTransaction demands for heights 1..16.
"""

from __future__ import annotations

import dataclasses

from core.consensus.block import WITNESS_COMMITMENT_HEADER, Block
from core.consensus.hashes import sha256d
from core.consensus.tx import NULL_OUTPOINT, Transaction, TxIn, TxOut
from core.script.script import push_data, push_int
from core.script.scriptnum import encode_num

#: The witness reserved value Core's miner puts in the coinbase witness (32 zero bytes).
WITNESS_RESERVED_VALUE = bytes(32)


def coinbase_script_sig(height: int, extra_nonce: int = 0) -> bytes:
    """`CScript() << height << CScriptNum(extra_nonce)` (OP_0 when extra_nonce is 0)."""
    nonce = push_int(0) if extra_nonce == 0 else push_data(encode_num(extra_nonce))
    return push_int(height) + nonce


def witness_commitment_script(commitment: bytes) -> bytes:
    """OP_RETURN PUSH36 aa21a9ed <commitment>: the BIP141 commitment output script."""
    if len(commitment) != 32:
        raise ValueError("witness commitment must be 32 bytes")
    return WITNESS_COMMITMENT_HEADER + commitment


def create_coinbase(
    height: int,
    script_pubkey: bytes,
    value: int,
    extra_nonce: int = 0,
    witness_commitment: bytes | None = None,
) -> Transaction:
    """A coinbase paying `value` to `script_pubkey`; with `witness_commitment` (the 32-byte
    sha256d(witness root || reserved value)) it adds the commitment output and the reserved value."""
    witness: tuple[bytes, ...] = ()
    vout = [TxOut(value, script_pubkey)]
    if witness_commitment is not None:
        vout.append(TxOut(0, witness_commitment_script(witness_commitment)))
        witness = (WITNESS_RESERVED_VALUE,)
    txin = TxIn(NULL_OUTPOINT, coinbase_script_sig(height, extra_nonce), 0xFFFFFFFF, witness)
    return Transaction(version=2, vin=(txin,), vout=tuple(vout), locktime=0)


def add_witness_commitment(block: Block) -> Block:
    """The block with its coinbase committing to its witnesses (Core's GenerateCoinbaseCommitment).

    Replaces an existing commitment output or appends one, sets the coinbase witness to the reserved
    value and updates the header's merkle root (the nonce is left for the caller to grind).
    """
    if not block.txs:
        raise ValueError("block has no coinbase")
    coinbase = block.txs[0]
    stack = coinbase.vin[0].witness
    reserved = stack[0] if len(stack) == 1 and len(stack[0]) == 32 else WITNESS_RESERVED_VALUE
    # The coinbase counts as zero in the witness tree, so editing it does not change the root.
    commitment = sha256d(block.witness_merkle_root() + reserved)
    out = TxOut(0, witness_commitment_script(commitment))
    vout = list(coinbase.vout)
    pos = block.witness_commitment_index()
    if pos is None:
        vout.append(out)
    else:
        vout[pos] = out
    vin0 = dataclasses.replace(coinbase.vin[0], witness=(reserved,))
    new_cb = dataclasses.replace(coinbase, vin=(vin0, *coinbase.vin[1:]), vout=tuple(vout))
    txs = (new_cb, *block.txs[1:])
    root = Block(block.header, txs).computed_merkle_root[0]
    return Block(dataclasses.replace(block.header, merkle_root=root), txs)
