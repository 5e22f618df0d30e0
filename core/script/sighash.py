"""Signature hashing: legacy (pre-segwit), BIP143 (segwit v0) and BIP341/342 (taproot).

Consensus-exact ports of Bitcoin Core's `SignatureHash` and `SignatureHashSchnorr`, including the
legacy quirks (OP_CODESEPARATOR removal, the SIGHASH_SINGLE "one" bug, hash types serialized as the
full 32-bit int they were passed as). No library computes these digests over our transaction type,
hence the hand-written code; the hashing itself is hashlib.

`PrecomputedTxData` mirrors Core's PrecomputedTransactionData: the per-transaction hashes are computed
once (lazily), so hashing every input of a transaction costs time linear in its size for BIP143 and
BIP341.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property, lru_cache

from core.consensus.hashes import sha256, sha256d, tagged_hash
from core.consensus.serialize import i32le, i64le, ser_compact_size, ser_var_bytes, u32le
from core.consensus.tx import Transaction, TxIn, TxOut

SIGHASH_DEFAULT = 0  # taproot only: like ALL, but no hash-type byte is appended to the signature
SIGHASH_ALL = 1
SIGHASH_NONE = 2
SIGHASH_SINGLE = 3
SIGHASH_ANYONECANPAY = 0x80

SIGHASH_OUTPUT_MASK = 3
SIGHASH_INPUT_MASK = 0x80

# Core's uint256::ONE, returned (not an error) by legacy SignatureHash for SIGHASH_SINGLE without a
# matching output; signatures over it are valid consensus-wise, so the value matters.
SIGHASH_ONE = b"\x01" + bytes(31)

_TAPROOT_HASH_TYPES = frozenset((0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83))
_OP_PUSHDATA1 = 0x4C
_OP_PUSHDATA2 = 0x4D
_OP_PUSHDATA4 = 0x4E
_OP_CODESEPARATOR = 0xAB
# CTxOut() as serialized by the legacy SIGHASH_SINGLE path: nValue = -1 and an empty script.
_NULL_TXOUT = i64le(-1) + b"\x00"
_TAPSIGHASH_EPOCH = b"\x00"


def _blank_input(txin: TxIn) -> bytes:
    """An input as legacy sighash writes the inputs not being signed: empty scriptSig."""
    return txin.prevout.serialize() + b"\x00" + u32le(txin.sequence)


class PrecomputedTxData:
    """Per-transaction hashes shared by all of its inputs (Core's PrecomputedTransactionData).

    BIP143 values (`hash_prevouts`, `hash_sequence`, `hash_outputs`) are double SHA-256; the BIP341
    ones (`sha_*`) are single SHA-256. `sha_amounts` and `sha_scriptpubkeys` need `spent_outputs`
    (one TxOut per input, in input order) and are None without them. Everything is computed on
    first use and then reused.
    """

    def __init__(self, tx: Transaction, spent_outputs: Sequence[TxOut] | None = None) -> None:
        self.tx = tx
        if spent_outputs is not None and len(spent_outputs) != len(tx.vin):
            # Core asserts this: a caller bug, not a property of untrusted data.
            raise ValueError(f"{len(spent_outputs)} spent outputs for {len(tx.vin)} inputs")
        self.spent_outputs: tuple[TxOut, ...] | None = (
            tuple(spent_outputs) if spent_outputs is not None else None
        )

    @property
    def spent_outputs_ready(self) -> bool:
        return self.spent_outputs is not None

    # --- BIP341 single-SHA256 hashes (BIP143 ones are their SHA256) ----------------------------
    @cached_property
    def sha_prevouts(self) -> bytes:
        return sha256(b"".join(txin.prevout.serialize() for txin in self.tx.vin))

    @cached_property
    def sha_sequences(self) -> bytes:
        return sha256(b"".join(u32le(txin.sequence) for txin in self.tx.vin))

    @cached_property
    def sha_outputs(self) -> bytes:
        return sha256(b"".join(txout.serialize() for txout in self.tx.vout))

    @cached_property
    def sha_amounts(self) -> bytes | None:
        if self.spent_outputs is None:
            return None
        return sha256(b"".join(i64le(o.value) for o in self.spent_outputs))

    @cached_property
    def sha_scriptpubkeys(self) -> bytes | None:
        if self.spent_outputs is None:
            return None
        return sha256(b"".join(ser_var_bytes(o.script_pubkey) for o in self.spent_outputs))

    # --- BIP143 double-SHA256 hashes -----------------------------------------------------------
    @cached_property
    def hash_prevouts(self) -> bytes:
        return sha256(self.sha_prevouts)

    @cached_property
    def hash_sequence(self) -> bytes:
        return sha256(self.sha_sequences)

    @cached_property
    def hash_outputs(self) -> bytes:
        return sha256(self.sha_outputs)

    @cached_property
    def v0_all_parts(self) -> tuple[bytes, bytes]:
        """The BIP143 SIGHASH_ALL preimage's fixed head (version, hashPrevouts, hashSequence) and
        tail (hashOutputs, locktime, hash type)."""
        tx = self.tx
        head = i32le(tx.version) + self.hash_prevouts + self.hash_sequence
        return head, self.hash_outputs + u32le(tx.locktime) + u32le(SIGHASH_ALL)

    # --- legacy serialization pieces -----------------------------------------------------------
    @cached_property
    def legacy_blank_inputs(self) -> tuple[bytes, ...]:
        """Each input serialized with an empty scriptSig, as legacy sighash writes other inputs."""
        return tuple(_blank_input(txin) for txin in self.tx.vin)

    @cached_property
    def legacy_outputs(self) -> bytes:
        """All outputs with their count prefix, as legacy SIGHASH_ALL writes them."""
        vout = self.tx.vout
        return ser_compact_size(len(vout)) + b"".join(o.serialize() for o in vout)


def _get_op_end(script: bytes, pc: int) -> tuple[int, bool]:
    """Core's GetScriptOp reduced to positions: (new pc, success).

    On failure the returned pc is where Core's iterator stops (after the opcode and any length
    bytes it could read); legacy script-code serialization depends on that exact position.
    """
    end = len(script)
    if pc >= end:
        return pc, False
    opcode = script[pc]
    pc += 1
    if opcode > _OP_PUSHDATA4:
        return pc, True
    if opcode < _OP_PUSHDATA1:
        size = opcode
    elif opcode == _OP_PUSHDATA1:
        if end - pc < 1:
            return pc, False
        size = script[pc]
        pc += 1
    elif opcode == _OP_PUSHDATA2:
        if end - pc < 2:
            return pc, False
        size = int.from_bytes(script[pc : pc + 2], "little")
        pc += 2
    else:
        if end - pc < 4:
            return pc, False
        size = int.from_bytes(script[pc : pc + 4], "little")
        pc += 4
    if end - pc < size:
        return pc, False
    return pc + size, True


@lru_cache(maxsize=256)
def _legacy_script_code(script_code: bytes) -> bytes:
    """Serialize script_code as Core's CTransactionSignatureSerializer does: OP_CODESEPARATORs
    removed, length prefix counting only the parsed separators.

    Faithful to a quirk: if a push is truncated, the bytes from where parsing stopped are not
    written although the length prefix still counts them. Cached because every input of a
    transaction spending the same kind of output hashes the same script code.
    """
    if _OP_CODESEPARATOR not in script_code:
        # Without a separator byte, only a truncated push can change the output.
        pc, ok = 0, True
        while ok:
            pc, ok = _get_op_end(script_code, pc)
        if pc >= len(script_code):
            return ser_var_bytes(script_code)
        return ser_compact_size(len(script_code)) + script_code[:pc]
    pieces: list[bytes] = []
    begin = 0
    separators = 0
    pc = 0
    while True:
        new_pc, ok = _get_op_end(script_code, pc)
        if not ok:
            break
        if script_code[pc] == _OP_CODESEPARATOR:
            separators += 1
            pieces.append(script_code[begin:pc])
            begin = new_pc
        pc = new_pc
    if begin != len(script_code):
        pieces.append(script_code[begin:new_pc])
    return ser_compact_size(len(script_code) - separators) + b"".join(pieces)


def legacy_sighash(
    tx: Transaction,
    input_index: int,
    script_code: bytes,
    hash_type: int,
    cache: PrecomputedTxData | None = None,
) -> bytes:
    """Core's SignatureHash for SigVersion::BASE (pre-segwit and P2SH spends).

    `hash_type` is the full int Core passes (usually the signature's last byte); it is serialized as
    4 little-endian bytes. Returns SIGHASH_ONE for SIGHASH_SINGLE without a matching output and for
    an out-of-range input index. `cache` only saves re-serializing the other inputs.
    """
    vin = tx.vin
    n_in = len(vin)
    if not 0 <= input_index < n_in:
        return SIGHASH_ONE
    base_type = hash_type & 0x1F
    single = base_type == SIGHASH_SINGLE
    none = base_type == SIGHASH_NONE
    if single and input_index >= len(tx.vout):
        return SIGHASH_ONE
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    me = vin[input_index]
    my_input = me.prevout.serialize() + _legacy_script_code(script_code) + u32le(me.sequence)

    h = hashlib.sha256(i32le(tx.version))
    if anyone_can_pay:
        h.update(b"\x01" + my_input)
    else:
        h.update(ser_compact_size(n_in))
        if single or none:
            # Other inputs' sequences are zeroed so they can be updated at will.
            before = b"".join(t.prevout.serialize() + bytes(5) for t in vin[:input_index])
            after = b"".join(t.prevout.serialize() + bytes(5) for t in vin[input_index + 1 :])
        else:
            if cache is not None:
                blank = cache.legacy_blank_inputs
                before = b"".join(blank[:input_index])
                after = b"".join(blank[input_index + 1 :])
            else:
                before = b"".join(_blank_input(t) for t in vin[:input_index])
                after = b"".join(_blank_input(t) for t in vin[input_index + 1 :])
        h.update(before)
        h.update(my_input)
        h.update(after)
    if none:
        h.update(b"\x00")
    elif single:
        h.update(ser_compact_size(input_index + 1))
        h.update(_NULL_TXOUT * input_index)
        h.update(tx.vout[input_index].serialize())
    elif cache is not None:
        h.update(cache.legacy_outputs)
    else:
        h.update(ser_compact_size(len(tx.vout)))
        h.update(b"".join(o.serialize() for o in tx.vout))
    h.update(u32le(tx.locktime))
    h.update(u32le(hash_type & 0xFFFFFFFF))
    return hashlib.sha256(h.digest()).digest()


def segwit_v0_sigmsg(
    tx: Transaction,
    input_index: int,
    script_code: bytes,
    amount: int,
    hash_type: int,
    cache: PrecomputedTxData | None = None,
) -> bytes:
    """The BIP143 preimage ("hash preimage" in the BIP's examples); its double SHA-256 is the sighash.

    `script_code` is serialized as is (BIP143 does not strip OP_CODESEPARATOR; the caller passes the
    script from the last executed separator on). Without `cache`, a throwaway one is used.
    """
    if cache is None:
        cache = PrecomputedTxData(tx)
    txin = tx.vin[input_index]
    if hash_type == SIGHASH_ALL:
        # The common case, with the per-transaction parts serialized once.
        head, tail = cache.v0_all_parts
        return b"".join(
            (head, txin.prevout.serialize(), ser_var_bytes(script_code), i64le(amount), u32le(txin.sequence), tail)
        )
    base_type = hash_type & 0x1F
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    zero = bytes(32)
    hash_prevouts = zero if anyone_can_pay else cache.hash_prevouts
    if anyone_can_pay or base_type in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_sequence = zero
    else:
        hash_sequence = cache.hash_sequence
    if base_type not in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_outputs = cache.hash_outputs
    elif base_type == SIGHASH_SINGLE and input_index < len(tx.vout):
        hash_outputs = sha256d(tx.vout[input_index].serialize())
    else:
        # Unlike legacy SIGHASH_SINGLE there is no "one" bug: a missing output commits to zero.
        hash_outputs = zero
    return b"".join(
        (
            i32le(tx.version),
            hash_prevouts,
            hash_sequence,
            txin.prevout.serialize(),
            ser_var_bytes(script_code),
            i64le(amount),
            u32le(txin.sequence),
            hash_outputs,
            u32le(tx.locktime),
            u32le(hash_type & 0xFFFFFFFF),
        )
    )


def segwit_v0_sighash(
    tx: Transaction,
    input_index: int,
    script_code: bytes,
    amount: int,
    hash_type: int,
    cache: PrecomputedTxData | None = None,
) -> bytes:
    """BIP143 signature hash (Core's SignatureHash for SigVersion::WITNESS_V0).

    Pass the transaction's `cache` when hashing several inputs so the shared hashes are computed once.
    """
    return sha256d(segwit_v0_sigmsg(tx, input_index, script_code, amount, hash_type, cache))


def taproot_sigmsg(
    tx: Transaction,
    input_index: int,
    hash_type: int,
    cache: PrecomputedTxData,
    *,
    ext_flag: int = 0,
    annex: bytes | None = None,
    leaf_hash: bytes | None = None,
    key_version: int = 0,
    codesep_pos: int = 0xFFFFFFFF,
) -> bytes | None:
    """The preimage of the taproot sighash: epoch byte 0x00 followed by BIP341 SigMsg(hash_type,
    ext_flag) and, for ext_flag 1, the BIP342 extension. This is what the BIP341 vectors call sigMsg.

    `annex` includes its 0x50 prefix. Returns None where Core's SignatureHashSchnorr fails.
    """
    if hash_type not in _TAPROOT_HASH_TYPES:
        return None
    if not 0 <= input_index < len(tx.vin) or cache.spent_outputs is None:
        return None
    output_type = SIGHASH_ALL if hash_type == SIGHASH_DEFAULT else hash_type & SIGHASH_OUTPUT_MASK
    anyone_can_pay = (hash_type & SIGHASH_INPUT_MASK) == SIGHASH_ANYONECANPAY
    if output_type == SIGHASH_SINGLE and input_index >= len(tx.vout):
        return None
    if ext_flag == 1 and leaf_hash is None:
        raise ValueError("tapscript signature hash needs the leaf hash")

    parts: list = [_TAPSIGHASH_EPOCH, bytes((hash_type,)), i32le(tx.version), u32le(tx.locktime)]
    if not anyone_can_pay:
        parts += (cache.sha_prevouts, cache.sha_amounts, cache.sha_scriptpubkeys, cache.sha_sequences)
    if output_type == SIGHASH_ALL:
        parts.append(cache.sha_outputs)
    parts.append(bytes(((ext_flag << 1) + (annex is not None),)))
    if anyone_can_pay:
        txin = tx.vin[input_index]
        parts += (
            txin.prevout.serialize(),
            cache.spent_outputs[input_index].serialize(),
            u32le(txin.sequence),
        )
    else:
        parts.append(u32le(input_index))
    if annex is not None:
        parts.append(sha256(ser_var_bytes(annex)))
    if output_type == SIGHASH_SINGLE:
        parts.append(sha256(tx.vout[input_index].serialize()))
    if ext_flag == 1:
        parts += (leaf_hash, bytes((key_version,)), u32le(codesep_pos))
    return b"".join(parts)


def taproot_sighash(
    tx: Transaction,
    input_index: int,
    hash_type: int,
    cache: PrecomputedTxData,
    *,
    ext_flag: int = 0,
    annex: bytes | None = None,
    leaf_hash: bytes | None = None,
    key_version: int = 0,
    codesep_pos: int = 0xFFFFFFFF,
) -> bytes | None:
    """BIP341/342 signature hash (Core's SignatureHashSchnorr): tagged hash "TapSighash", epoch 0.

    ext_flag 0 is a key-path spend; ext_flag 1 a tapscript signature, which also commits to
    `leaf_hash`, `key_version` and `codesep_pos` (position of the last executed OP_CODESEPARATOR, or
    0xFFFFFFFF). Returns None for an invalid hash type, SIGHASH_SINGLE without a matching output,
    or when `cache` lacks the spent outputs.
    """
    msg = taproot_sigmsg(
        tx,
        input_index,
        hash_type,
        cache,
        ext_flag=ext_flag,
        annex=annex,
        leaf_hash=leaf_hash,
        key_version=key_version,
        codesep_pos=codesep_pos,
    )
    return None if msg is None else tagged_hash("TapSighash", msg)
