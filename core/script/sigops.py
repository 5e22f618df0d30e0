"""Signature opcodes: OP_CHECKSIG(VERIFY), OP_CHECKSIGADD and OP_CHECKMULTISIG(VERIFY).

Ports of Core's EvalChecksigPreTapscript, EvalChecksigTapscript and the CHECKMULTISIG case of
EvalScript, with their exact order of checks (it decides which error a bad script reports).
"""

from __future__ import annotations

from core.script.checker import BaseSignatureChecker, ScriptExecutionData, SigVersion
from core.script.errors import ScriptError, ScriptFailure
from core.script.flags import (
    SCRIPT_VERIFY_CONST_SCRIPTCODE,
    SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_PUBKEYTYPE,
    SCRIPT_VERIFY_MINIMALDATA,
    SCRIPT_VERIFY_NULLDUMMY,
    SCRIPT_VERIFY_NULLFAIL,
)
from core.script.opcodes import MAX_OPS_PER_SCRIPT, MAX_PUBKEYS_PER_MULTISIG
from core.script.script import find_and_delete, push_data
from core.script.scriptnum import decode_num, num_to_int32
from core.script.sigencoding import check_pubkey_encoding, check_signature_encoding

# BIP342: every executed signature check with a non-empty signature costs this much of the budget.
VALIDATION_WEIGHT_PER_SIGOP_PASSED = 50
VALIDATION_WEIGHT_OFFSET = 50

_CONST_SCRIPTCODE = SCRIPT_VERIFY_CONST_SCRIPTCODE
_NULLFAIL = SCRIPT_VERIFY_NULLFAIL
_NULLDUMMY = SCRIPT_VERIFY_NULLDUMMY
_DISCOURAGE_UPGRADABLE_PUBKEYTYPE = SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_PUBKEYTYPE


def _drop_signature(script_code: bytes, sig: bytes, flags: int) -> bytes:
    # Pre-segwit scripts cannot sign themselves, so a signature is removed from the code it signs.
    script_code, found = find_and_delete(script_code, push_data(sig))
    if found and flags & _CONST_SCRIPTCODE:
        raise ScriptFailure(ScriptError.SIG_FINDANDDELETE)
    return script_code


def eval_checksig(
    sig: bytes,
    pubkey: bytes,
    script: bytes,
    codesep_end: int,
    execdata: ScriptExecutionData,
    flags: int,
    checker: BaseSignatureChecker,
    sigversion: SigVersion,
) -> bool:
    """Core's EvalChecksig: True/False for the signature check, ScriptFailure if the script must fail.

    The signed script code is `script` from `codesep_end` (just past the last executed
    OP_CODESEPARATOR) on; tapscript signatures commit to the separator's position instead.
    """
    if sigversion == SigVersion.TAPSCRIPT:
        return _eval_checksig_tapscript(sig, pubkey, execdata, flags, checker)
    script_code = script[codesep_end:]
    if sigversion == SigVersion.BASE:
        script_code = _drop_signature(script_code, sig, flags)
    check_signature_encoding(sig, flags)
    check_pubkey_encoding(pubkey, flags, sigversion == SigVersion.WITNESS_V0)
    success = checker.check_ecdsa_signature(sig, pubkey, script_code, sigversion)
    if not success and flags & _NULLFAIL and sig:
        raise ScriptFailure(ScriptError.NULLFAIL)
    return success


def _eval_checksig_tapscript(
    sig: bytes, pubkey: bytes, execdata: ScriptExecutionData, flags: int, checker: BaseSignatureChecker
) -> bool:
    # Order matters: the budget is charged first, unknown key types succeed before signature rules,
    # an empty signature is a clean "false", and any other invalid signature fails the script.
    success = len(sig) > 0
    if success:
        left = execdata.validation_weight_left
        if left is None:
            raise ScriptFailure(ScriptError.UNKNOWN_ERROR, "tapscript without a validation budget")
        left -= VALIDATION_WEIGHT_PER_SIGOP_PASSED
        execdata.validation_weight_left = left
        if left < 0:
            raise ScriptFailure(ScriptError.TAPSCRIPT_VALIDATION_WEIGHT)
    n = len(pubkey)
    if n == 0:
        raise ScriptFailure(ScriptError.TAPSCRIPT_EMPTY_PUBKEY)
    if n == 32:
        if success:
            checker.check_schnorr_signature(sig, pubkey, SigVersion.TAPSCRIPT, execdata)
    elif flags & _DISCOURAGE_UPGRADABLE_PUBKEYTYPE:
        raise ScriptFailure(ScriptError.DISCOURAGE_UPGRADABLE_PUBKEYTYPE)
    return success


def eval_checkmultisig(
    stack: list[bytes],
    script_code: bytes,
    flags: int,
    checker: BaseSignatureChecker,
    sigversion: SigVersion,
    op_count: int,
) -> tuple[bool, int]:
    """OP_CHECKMULTISIG on `stack`: ([sig ...] m [pubkey ...] n -- bool). Returns (success, op_count).

    The n public keys count towards the opcode limit. Pre-tapscript only.
    """
    minimal = bool(flags & SCRIPT_VERIFY_MINIMALDATA)
    i = 1
    if len(stack) < i:
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)
    keys_count = num_to_int32(decode_num(stack[-i], minimal))
    if keys_count < 0 or keys_count > MAX_PUBKEYS_PER_MULTISIG:
        raise ScriptFailure(ScriptError.PUBKEY_COUNT)
    op_count += keys_count
    if op_count > MAX_OPS_PER_SCRIPT:
        raise ScriptFailure(ScriptError.OP_COUNT)
    i += 1
    ikey = i
    # Position of the last non-signature item (top item = 1); NULLFAIL cleanup uses it.
    ikey2 = keys_count + 2
    i += keys_count
    if len(stack) < i:
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)
    sigs_count = num_to_int32(decode_num(stack[-i], minimal))
    if sigs_count < 0 or sigs_count > keys_count:
        raise ScriptFailure(ScriptError.SIG_COUNT)
    i += 1
    isig = i
    i += sigs_count
    if len(stack) < i:
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)

    if sigversion == SigVersion.BASE:
        for k in range(sigs_count):
            script_code = _drop_signature(script_code, stack[-isig - k], flags)

    success = True
    is_witness_v0 = sigversion == SigVersion.WITNESS_V0
    while success and sigs_count > 0:
        sig = stack[-isig]
        pubkey = stack[-ikey]
        # The evaluation order of keys and signatures is observable through these encoding checks.
        check_signature_encoding(sig, flags)
        check_pubkey_encoding(pubkey, flags, is_witness_v0)
        if checker.check_ecdsa_signature(sig, pubkey, script_code, sigversion):
            isig += 1
            sigs_count -= 1
        ikey += 1
        keys_count -= 1
        # More signatures left than keys: too many have failed already.
        if sigs_count > keys_count:
            success = False

    nullfail = not success and flags & _NULLFAIL
    while i > 1:
        i -= 1
        if nullfail and not ikey2 and stack[-1]:
            raise ScriptFailure(ScriptError.NULLFAIL)
        if ikey2 > 0:
            ikey2 -= 1
        stack.pop()

    # The historical off-by-one: one extra, unchecked item is consumed (NULLDUMMY requires it empty).
    if not stack:
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)
    if flags & _NULLDUMMY and stack[-1]:
        raise ScriptFailure(ScriptError.SIG_NULLDUMMY)
    stack.pop()
    return success, op_count
