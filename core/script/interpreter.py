"""Script verification: Bitcoin Core's VerifyScript, VerifyWitnessProgram and ExecuteWitnessScript.

Runs scriptSig and scriptPubKey, then P2SH (BIP16), segwit v0 (BIP141/143) and taproot
(BIP341/342: key path, script path with control-block checks, annex, OP_SUCCESSx and the
signature-validation budget). The opcode interpreter itself is evalscript.eval_script.

API: `verify_script` returns None on success and raises ScriptFailure (its `.error` is Core's
ScriptError) on failure; `verify_input` wraps it for one input of a transaction and returns the
ScriptError instead (None when valid), which suits callers checking many inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.consensus.hashes import hash160, sha256
from core.consensus.serialize import ser_compact_size
from core.consensus.tx import Transaction, TxOut
from core.crypto.taproot import (
    TAPROOT_LEAF_MASK,
    TAPROOT_LEAF_TAPSCRIPT,
    is_valid_control_block_size,
    tapleaf_hash,
    verify_taproot_commitment,
)
from core.script.checker import (
    BaseSignatureChecker,
    ScriptExecutionData,
    SigVersion,
    TransactionSignatureChecker,
)
from core.script.errors import FlagsError, ScriptError, ScriptFailure
from core.script.evalscript import eval_script
from core.script.flags import (
    SCRIPT_VERIFY_CLEANSTACK,
    SCRIPT_VERIFY_DISCOURAGE_OP_SUCCESS,
    SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION,
    SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM,
    SCRIPT_VERIFY_P2SH,
    SCRIPT_VERIFY_SIGPUSHONLY,
    SCRIPT_VERIFY_TAPROOT,
    SCRIPT_VERIFY_WITNESS,
    is_valid_flag_combination,
)
from core.script.opcodes import MAX_SCRIPT_ELEMENT_SIZE, MAX_STACK_SIZE, Opcode, is_op_success
from core.script.script import (
    count_sigops,
    get_op,
    is_p2sh,
    is_push_only,
    push_data,
    witness_program,
)
from core.script.scriptnum import cast_to_bool
from core.script.sighash import PrecomputedTxData
from core.script.sigops import VALIDATION_WEIGHT_OFFSET, eval_checksig

__all__ = [
    "count_witness_sigops",
    "eval_script",
    "execute_witness_script",
    "verify_input",
    "verify_script",
    "verify_witness_program",
]

WITNESS_V0_SCRIPTHASH_SIZE = 32
WITNESS_V0_KEYHASH_SIZE = 20
WITNESS_V1_TAPROOT_SIZE = 32
ANNEX_TAG = 0x50

_E = ScriptError


def _witness_size(stack: Sequence[bytes]) -> int:
    # GetSerializeSize of the witness stack: its count and each item with its length prefix.
    return len(ser_compact_size(len(stack))) + sum(len(ser_compact_size(len(w))) + len(w) for w in stack)


def execute_witness_script(
    stack: list[bytes],
    script: bytes,
    flags: int,
    sigversion: SigVersion,
    checker: BaseSignatureChecker,
    execdata: ScriptExecutionData,
) -> None:
    """Core's ExecuteWitnessScript: run a P2WSH/P2WPKH/tapscript with its witness stack.

    Tapscripts containing an OP_SUCCESSx succeed at once (unless DISCOURAGE_OP_SUCCESS). The
    script must leave exactly one true element (implicit CLEANSTACK).
    """
    if sigversion == SigVersion.TAPSCRIPT:
        # OP_SUCCESSx processing overrides everything, including stack element size limits.
        pc, end = 0, len(script)
        while pc < end:
            op = get_op(script, pc)
            if op is None:
                raise ScriptFailure(_E.BAD_OPCODE)
            if is_op_success(op[0]):
                if flags & SCRIPT_VERIFY_DISCOURAGE_OP_SUCCESS:
                    raise ScriptFailure(_E.DISCOURAGE_OP_SUCCESS)
                return
            pc = op[2]
        # Tapscript enforces initial stack size limits (the altstack is empty here).
        if len(stack) > MAX_STACK_SIZE:
            raise ScriptFailure(_E.STACK_SIZE)
    for item in stack:
        if len(item) > MAX_SCRIPT_ELEMENT_SIZE:
            raise ScriptFailure(_E.PUSH_SIZE)
    eval_script(stack, script, flags, checker, sigversion, execdata)
    if len(stack) != 1:
        raise ScriptFailure(_E.CLEANSTACK)
    if not cast_to_bool(stack[-1]):
        raise ScriptFailure(_E.EVAL_FALSE)


# OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG, around the program
_P2PKH_HEAD = bytes((Opcode.OP_DUP, Opcode.OP_HASH160, 20))
_P2PKH_TAIL = bytes((Opcode.OP_EQUALVERIFY, Opcode.OP_CHECKSIG))


def _execute_p2wpkh(
    stack: list[bytes],
    script: bytes,
    program: bytes,
    flags: int,
    checker: BaseSignatureChecker,
    execdata: ScriptExecutionData,
) -> None:
    """The implied P2PKH script of a P2WPKH spend, run as straight-line code.

    Equivalent to execute_witness_script on DUP HASH160 <program> EQUALVERIFY CHECKSIG with the
    stack [sig, pubkey] (same checks, same order, same errors; a differential test holds the two
    together). It exists because P2WPKH is most inputs and the generic loop costs more than the
    signature check's own Python overhead.
    """
    sig, pubkey = stack
    if len(sig) > MAX_SCRIPT_ELEMENT_SIZE or len(pubkey) > MAX_SCRIPT_ELEMENT_SIZE:
        raise ScriptFailure(_E.PUSH_SIZE)
    if hash160(pubkey) != program:
        raise ScriptFailure(_E.EQUALVERIFY)
    if not eval_checksig(sig, pubkey, script, 0, execdata, flags, checker, SigVersion.WITNESS_V0):
        raise ScriptFailure(_E.EVAL_FALSE)


def verify_witness_program(
    witness: Sequence[bytes],
    version: int,
    program: bytes,
    flags: int,
    checker: BaseSignatureChecker,
    is_p2sh: bool,
) -> None:
    """Core's VerifyWitnessProgram: segwit v0, taproot, or (unconstrained) future versions."""
    flags = int(flags)
    stack = list(witness)
    execdata = ScriptExecutionData()
    if version == 0:
        if len(program) == WITNESS_V0_SCRIPTHASH_SIZE:
            # P2WSH: the last witness item is the script, committed to by its SHA256.
            if not stack:
                raise ScriptFailure(_E.WITNESS_PROGRAM_WITNESS_EMPTY)
            script = stack.pop()
            if sha256(script) != program:
                raise ScriptFailure(_E.WITNESS_PROGRAM_MISMATCH)
            execute_witness_script(stack, script, flags, SigVersion.WITNESS_V0, checker, execdata)
            return
        if len(program) == WITNESS_V0_KEYHASH_SIZE:
            # P2WPKH: exactly signature and pubkey, run against the implied P2PKH script.
            if len(stack) != 2:
                raise ScriptFailure(_E.WITNESS_PROGRAM_MISMATCH)
            script = _P2PKH_HEAD + program + _P2PKH_TAIL
            _execute_p2wpkh(stack, script, program, flags, checker, execdata)
            return
        raise ScriptFailure(_E.WITNESS_PROGRAM_WRONG_LENGTH)
    if version == 1 and len(program) == WITNESS_V1_TAPROOT_SIZE and not is_p2sh:
        _verify_taproot(stack, witness, program, flags, checker, execdata)
        return
    if flags & SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM:
        raise ScriptFailure(_E.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM)
    # Other version/size/P2SH combinations are anyone-can-spend, for future soft forks.


def _verify_taproot(
    stack: list[bytes],
    witness: Sequence[bytes],
    program: bytes,
    flags: int,
    checker: BaseSignatureChecker,
    execdata: ScriptExecutionData,
) -> None:
    if not flags & SCRIPT_VERIFY_TAPROOT:
        return
    if not stack:
        raise ScriptFailure(_E.WITNESS_PROGRAM_WITNESS_EMPTY)
    if len(stack) >= 2 and stack[-1] and stack[-1][0] == ANNEX_TAG:
        # The annex is dropped (non-standard, but the signature hash commits to it).
        execdata.annex = stack.pop()
    if len(stack) == 1:
        # Key path: a single BIP340 signature for the output key.
        checker.check_schnorr_signature(stack[0], program, SigVersion.TAPROOT, execdata)
        return
    # Script path: [... stack, script, control block].
    control = stack.pop()
    script = stack.pop()
    if not is_valid_control_block_size(len(control)):
        raise ScriptFailure(_E.TAPROOT_WRONG_CONTROL_SIZE)
    leaf_version = control[0] & TAPROOT_LEAF_MASK
    execdata.tapleaf_hash = tapleaf_hash(script, leaf_version)
    if not verify_taproot_commitment(control, program, execdata.tapleaf_hash):
        raise ScriptFailure(_E.WITNESS_PROGRAM_MISMATCH)
    if leaf_version == TAPROOT_LEAF_TAPSCRIPT:
        # BIP342 budget: the witness size (annex included) plus a fixed offset.
        execdata.validation_weight_left = _witness_size(witness) + VALIDATION_WEIGHT_OFFSET
        execute_witness_script(stack, script, flags, SigVersion.TAPSCRIPT, checker, execdata)
        return
    if flags & SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION:
        raise ScriptFailure(_E.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION)


def verify_script(
    script_sig: bytes,
    script_pubkey: bytes,
    witness: Sequence[bytes],
    flags: int,
    checker: BaseSignatureChecker,
) -> None:
    """Core's VerifyScript: does `script_sig` (+ `witness`) satisfy `script_pubkey` under `flags`?

    Returns None if so; raises ScriptFailure carrying Core's ScriptError if not. Raises FlagsError
    for flag sets Core refuses (CLEANSTACK without WITNESS, WITNESS without P2SH).
    """
    flags = int(flags)  # plain int: IntFlag arithmetic is slow
    if not is_valid_flag_combination(flags):
        raise FlagsError("CLEANSTACK requires WITNESS, and WITNESS requires P2SH")
    if flags & SCRIPT_VERIFY_SIGPUSHONLY and not is_push_only(script_sig):
        raise ScriptFailure(_E.SIG_PUSHONLY)

    # scriptSig and scriptPubKey run in turn on one stack, never concatenated (CVE-2010-5141).
    stack: list[bytes] = []
    if script_sig:  # an empty script leaves the stack as it is
        eval_script(stack, script_sig, flags, checker, SigVersion.BASE)
    stack_copy = list(stack) if flags & SCRIPT_VERIFY_P2SH else []
    spk_program = witness_program(script_pubkey)
    if spk_program is not None and not stack:
        # Evaluating a witness program only pushes its version number and its program.
        version, program = spk_program
        stack += [bytes((version,)) if version else b"", program]
    else:
        eval_script(stack, script_pubkey, flags, checker, SigVersion.BASE)
    if not stack or not cast_to_bool(stack[-1]):
        raise ScriptFailure(_E.EVAL_FALSE)

    had_witness = False
    if flags & SCRIPT_VERIFY_WITNESS:
        prog = spk_program
        if prog is not None:
            had_witness = True
            # The scriptSig must be exactly empty, or it would reintroduce malleability.
            if script_sig:
                raise ScriptFailure(_E.WITNESS_MALLEATED)
            verify_witness_program(witness, prog[0], prog[1], flags, checker, is_p2sh=False)
            # The real stack is not clean for witness programs; skip the CLEANSTACK check below.
            stack = stack[:1]

    if flags & SCRIPT_VERIFY_P2SH and is_p2sh(script_pubkey):
        if not is_push_only(script_sig):
            raise ScriptFailure(_E.SIG_PUSHONLY)
        # Run the redeem script (the last push) on the stack scriptSig left.
        stack = stack_copy
        redeem = stack.pop()
        eval_script(stack, redeem, flags, checker, SigVersion.BASE)
        if not stack or not cast_to_bool(stack[-1]):
            raise ScriptFailure(_E.EVAL_FALSE)
        if flags & SCRIPT_VERIFY_WITNESS:
            prog = witness_program(redeem)
            if prog is not None:
                had_witness = True
                # The scriptSig must be exactly one push of the redeem script.
                if script_sig != push_data(redeem):
                    raise ScriptFailure(_E.WITNESS_MALLEATED_P2SH)
                verify_witness_program(witness, prog[0], prog[1], flags, checker, is_p2sh=True)
                stack = stack[:1]

    # After P2SH and witness evaluation: the non-P2SH view of a P2SH spend is never clean.
    if flags & SCRIPT_VERIFY_CLEANSTACK and len(stack) != 1:
        raise ScriptFailure(_E.CLEANSTACK)
    if flags & SCRIPT_VERIFY_WITNESS and not had_witness and witness:
        raise ScriptFailure(_E.WITNESS_UNEXPECTED)


def verify_input(
    tx: Transaction,
    input_index: int,
    spent_outputs: Sequence[TxOut],
    flags: int,
    txdata: PrecomputedTxData | None = None,
) -> ScriptError | None:
    """Verify the scripts of input `input_index` of `tx`; None if valid, else Core's ScriptError.

    `spent_outputs` has one TxOut per input (taproot signatures commit to all of them); pass the
    same `txdata` for every input of a transaction so its hashes are computed once.
    """
    if txdata is None:
        txdata = PrecomputedTxData(tx, spent_outputs)
    txin = tx.vin[input_index]
    spent = spent_outputs[input_index]
    checker = TransactionSignatureChecker(tx, input_index, spent.value, txdata)
    try:
        verify_script(txin.script_sig, spent.script_pubkey, txin.witness, flags, checker)
    except ScriptFailure as e:
        return e.error
    return None


def count_witness_sigops(script_sig: bytes, script_pubkey: bytes, witness: Sequence[bytes], flags: int) -> int:
    """Core's CountWitnessSigOps: sigops of a native or P2SH-wrapped segwit v0 spend."""
    if not flags & SCRIPT_VERIFY_WITNESS:
        return 0
    prog = witness_program(script_pubkey)
    if prog is None and is_p2sh(script_pubkey) and is_push_only(script_sig):
        data = b""
        pc = 0
        while pc < len(script_sig):
            op = get_op(script_sig, pc)
            if op is None:  # unreachable: is_push_only checked every op decodes
                break
            data = op[1] or b""
            pc = op[2]
        prog = witness_program(data)
    if prog is None or prog[0] != 0:
        return 0
    if len(prog[1]) == WITNESS_V0_KEYHASH_SIZE:
        return 1
    if len(prog[1]) == WITNESS_V0_SCRIPTHASH_SIZE and witness:
        return count_sigops(witness[-1], True)
    return 0
