"""Signature and public-key encoding rules of the interpreter (Core's interpreter.cpp helpers).

Strict DER (BIP66), low S (BIP146), defined hash types and pubkey formats (STRICTENC,
WITNESS_PUBKEYTYPE). Each check raises ScriptFailure with Core's error code, or returns None.
"""

from __future__ import annotations

from core.crypto.ecdsa import SECP256K1_ORDER, is_compressed_or_uncompressed_pubkey, is_compressed_pubkey
from core.script.errors import ScriptError, ScriptFailure
from core.script.flags import (
    SCRIPT_VERIFY_DERSIG,
    SCRIPT_VERIFY_LOW_S,
    SCRIPT_VERIFY_STRICTENC,
    SCRIPT_VERIFY_WITNESS_PUBKEYTYPE,
)

_DER_FLAGS = SCRIPT_VERIFY_DERSIG | SCRIPT_VERIFY_LOW_S | SCRIPT_VERIFY_STRICTENC
_SIGHASH_ANYONECANPAY = 0x80


def is_valid_signature_encoding(sig: bytes) -> bool:
    """Core's IsValidSignatureEncoding: strict DER (BIP66) followed by one hash-type byte.

    Format: 0x30 [total-length] 0x02 [R-length] [R] 0x02 [S-length] [S] [sighash], with R and S
    positive and minimally encoded.
    """
    n = len(sig)
    if n < 9 or n > 73:
        return False
    if sig[0] != 0x30:
        return False
    if sig[1] != n - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= n:
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != n:
        return False
    if sig[2] != 0x02:
        return False
    if len_r == 0:
        return False
    if sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0x00 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02:
        return False
    if len_s == 0:
        return False
    if sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0x00 and not sig[len_r + 7] & 0x80)


def is_defined_hashtype_signature(sig: bytes) -> bool:
    """Core's IsDefinedHashtypeSignature: last byte is ALL/NONE/SINGLE, optionally | ANYONECANPAY."""
    if not sig:
        return False
    base = sig[-1] & ~_SIGHASH_ANYONECANPAY
    return 1 <= base <= 3


def check_low_der_signature(sig: bytes, der_checked: bool = False) -> None:
    """Core's IsLowDERSignature: strict DER and S at most n/2 (SIG_DER / SIG_HIGH_S).

    `der_checked` says the caller has just established strict DER, so it is not checked twice."""
    if not der_checked and not is_valid_signature_encoding(sig):
        raise ScriptFailure(ScriptError.SIG_DER)
    # Strict DER is established, so S can be read in place (what CheckLowS's lax parse would find;
    # R or S at or above the order parse as zero there, which counts as low).
    len_r = sig[3]
    len_s = sig[5 + len_r]
    r = int.from_bytes(sig[4 : 4 + len_r], "big")
    s = int.from_bytes(sig[6 + len_r : 6 + len_r + len_s], "big")
    if r < SECP256K1_ORDER and s < SECP256K1_ORDER and s > SECP256K1_ORDER // 2:
        raise ScriptFailure(ScriptError.SIG_HIGH_S)


def check_signature_encoding(sig: bytes, flags: int) -> None:
    """Core's CheckSignatureEncoding for ECDSA signatures (the empty signature always passes)."""
    if not sig:
        return
    der_checked = bool(flags & _DER_FLAGS)
    if der_checked and not is_valid_signature_encoding(sig):
        raise ScriptFailure(ScriptError.SIG_DER)
    if flags & SCRIPT_VERIFY_LOW_S:
        check_low_der_signature(sig, der_checked)
    if flags & SCRIPT_VERIFY_STRICTENC and not is_defined_hashtype_signature(sig):
        raise ScriptFailure(ScriptError.SIG_HASHTYPE)


def check_pubkey_encoding(pubkey: bytes, flags: int, is_witness_v0: bool) -> None:
    """Core's CheckPubKeyEncoding: STRICTENC formats, and compressed-only in segwit v0 if required."""
    if flags & SCRIPT_VERIFY_STRICTENC and not is_compressed_or_uncompressed_pubkey(pubkey):
        raise ScriptFailure(ScriptError.PUBKEYTYPE)
    if flags & SCRIPT_VERIFY_WITNESS_PUBKEYTYPE and is_witness_v0 and not is_compressed_pubkey(pubkey):
        raise ScriptFailure(ScriptError.WITNESS_PUBKEYTYPE)
