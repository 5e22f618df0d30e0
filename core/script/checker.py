"""Signature checkers: what the interpreter asks of the transaction it validates.

Ports of Core's BaseSignatureChecker / GenericTransactionSignatureChecker (script/interpreter.h/.cpp):
ECDSA checks over legacy or BIP143 signature hashes, BIP340 Schnorr checks over BIP341/342 ones,
and the CHECKLOCKTIMEVERIFY / CHECKSEQUENCEVERIFY comparisons against the spending transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from core.consensus.tx import Transaction
from core.crypto.ecdsa import ecdsa_verify
from core.crypto.schnorr import schnorr_verify
from core.script.errors import ScriptError, ScriptFailure
from core.script.opcodes import LOCKTIME_THRESHOLD
from core.script.sighash import PrecomputedTxData, legacy_sighash, segwit_v0_sighash, taproot_sighash

SEQUENCE_FINAL = 0xFFFFFFFF
SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
_SEQUENCE_COMPARE_MASK = SEQUENCE_LOCKTIME_TYPE_FLAG | SEQUENCE_LOCKTIME_MASK
_NO_CODESEPARATOR = 0xFFFFFFFF


class SigVersion(IntEnum):
    """Which signature rules a script runs under (Core's SigVersion)."""

    BASE = 0  # bare scripts and P2SH redeem scripts
    WITNESS_V0 = 1  # P2WPKH / P2WSH (BIP143)
    TAPROOT = 2  # taproot key path (BIP341); runs no script
    TAPSCRIPT = 3  # taproot script path, leaf version 0xc0 (BIP342)


@dataclass(slots=True)
class ScriptExecutionData:
    """Core's ScriptExecutionData: per-input state the taproot signature hash commits to."""

    tapleaf_hash: bytes | None = None
    # Opcode position of the last executed OP_CODESEPARATOR (0xFFFFFFFF if none).
    codeseparator_pos: int = _NO_CODESEPARATOR
    # The annex (with its 0x50 tag byte) if the witness has one.
    annex: bytes | None = None
    # Tapscript signature-operation budget (BIP342); None outside tapscript.
    validation_weight_left: int | None = None


def _is_valid_cpubkey(pubkey: bytes) -> bool:
    # CPubKey(vch).IsValid(): the header byte implies the length (02/03: 33, 04/06/07: 65).
    n = len(pubkey)
    if n == 33:
        return pubkey[0] in (0x02, 0x03)
    return n == 65 and pubkey[0] in (0x04, 0x06, 0x07)


class BaseSignatureChecker:
    """A checker with no transaction: every signature and lock-time check fails (Core's default)."""

    def check_ecdsa_signature(
        self, sig: bytes, pubkey: bytes, script_code: bytes, sigversion: SigVersion
    ) -> bool:
        """Does `sig` (DER + hash-type byte) sign the transaction under `pubkey`?"""
        return False

    def check_schnorr_signature(
        self, sig: bytes, pubkey: bytes, sigversion: SigVersion, execdata: ScriptExecutionData
    ) -> None:
        """Raise ScriptFailure unless `sig` is a valid BIP340 signature of the transaction."""
        raise ScriptFailure(ScriptError.UNKNOWN_ERROR, "no transaction to check a signature against")

    def check_lock_time(self, lock_time: int) -> bool:
        """Is the transaction's nLockTime at or past `lock_time` (same kind, input not final)?"""
        return False

    def check_sequence(self, sequence: int) -> bool:
        """Does this input's nSequence satisfy the relative lock `sequence` (BIP112)?"""
        return False


class TransactionSignatureChecker(BaseSignatureChecker):
    """Checks signatures and lock times against input `input_index` of `tx`.

    `amount` is the value of the coin being spent (BIP143 commits to it). `txdata` holds the
    transaction's precomputed hashes; taproot checks need it built with the spent outputs.
    """

    __slots__ = ("amount", "input_index", "tx", "txdata")

    def __init__(
        self, tx: Transaction, input_index: int, amount: int, txdata: PrecomputedTxData | None = None
    ) -> None:
        self.tx = tx
        self.input_index = input_index
        self.amount = amount
        self.txdata = txdata

    def check_ecdsa_signature(
        self, sig: bytes, pubkey: bytes, script_code: bytes, sigversion: SigVersion
    ) -> bool:
        if not _is_valid_cpubkey(pubkey) or not sig:
            return False
        hash_type = sig[-1]
        if sigversion == SigVersion.WITNESS_V0:
            sighash = segwit_v0_sighash(
                self.tx, self.input_index, script_code, self.amount, hash_type, self.txdata
            )
        else:
            sighash = legacy_sighash(self.tx, self.input_index, script_code, hash_type, self.txdata)
        return ecdsa_verify(pubkey, sig[:-1], sighash)

    def check_schnorr_signature(
        self, sig: bytes, pubkey: bytes, sigversion: SigVersion, execdata: ScriptExecutionData
    ) -> None:
        n = len(sig)
        if n not in (64, 65):
            raise ScriptFailure(ScriptError.SCHNORR_SIG_SIZE)
        hash_type = 0
        if n == 65:
            hash_type = sig[64]
            sig = sig[:64]
            # An explicit SIGHASH_DEFAULT byte would be a second encoding of the same signature.
            if hash_type == 0:
                raise ScriptFailure(ScriptError.SCHNORR_SIG_HASHTYPE)
        txdata = self.txdata
        if txdata is None or not txdata.spent_outputs_ready:
            # Core's MissingDataBehavior::FAIL: the check fails without a specific error.
            raise ScriptFailure(ScriptError.UNKNOWN_ERROR, "taproot signature hash needs the spent outputs")
        if sigversion == SigVersion.TAPSCRIPT:
            sighash = taproot_sighash(
                self.tx,
                self.input_index,
                hash_type,
                txdata,
                ext_flag=1,
                annex=execdata.annex,
                leaf_hash=execdata.tapleaf_hash,
                key_version=0,
                codesep_pos=execdata.codeseparator_pos,
            )
        else:
            sighash = taproot_sighash(self.tx, self.input_index, hash_type, txdata, annex=execdata.annex)
        if sighash is None:
            raise ScriptFailure(ScriptError.SCHNORR_SIG_HASHTYPE)
        if not schnorr_verify(pubkey, sighash, sig):
            raise ScriptFailure(ScriptError.SCHNORR_SIG)

    def check_lock_time(self, lock_time: int) -> bool:
        tx_lock_time = self.tx.locktime
        # Compare like with like: block heights with heights, timestamps with timestamps.
        if (tx_lock_time < LOCKTIME_THRESHOLD) != (lock_time < LOCKTIME_THRESHOLD):
            return False
        if lock_time > tx_lock_time:
            return False
        # A final input disables nLockTime (IsFinalTx), which would bypass the check.
        return self.tx.vin[self.input_index].sequence != SEQUENCE_FINAL

    def check_sequence(self, sequence: int) -> bool:
        tx_sequence = self.tx.vin[self.input_index].sequence
        # BIP68 relative lock times only apply from version 2 on (version compared as unsigned).
        if self.tx.version & 0xFFFFFFFF < 2:
            return False
        if tx_sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            return False
        tx_masked = tx_sequence & _SEQUENCE_COMPARE_MASK
        masked = sequence & _SEQUENCE_COMPARE_MASK
        if (tx_masked < SEQUENCE_LOCKTIME_TYPE_FLAG) != (masked < SEQUENCE_LOCKTIME_TYPE_FLAG):
            return False
        return masked <= tx_masked
