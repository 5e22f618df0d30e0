"""EvalScript: run one script on a stack, exactly as Bitcoin Core's interpreter does.

A port of `EvalScript` in Core's script/interpreter.cpp, check for check and error for error:
limits (script size, push size, opcode count, stack size), disabled opcodes, MINIMALDATA,
conditionals, lock-time opcodes and the signature opcodes. Self-contained opcodes live in
stackops.py, signature opcodes in sigops.py. Failures raise ScriptFailure.
"""

from __future__ import annotations

from core.script.checker import BaseSignatureChecker, ScriptExecutionData, SigVersion
from core.script.errors import ScriptError, ScriptFailure
from core.script.flags import (
    SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY,
    SCRIPT_VERIFY_CHECKSEQUENCEVERIFY,
    SCRIPT_VERIFY_CONST_SCRIPTCODE,
    SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_NOPS,
    SCRIPT_VERIFY_MINIMALDATA,
    SCRIPT_VERIFY_MINIMALIF,
)
from core.script.opcodes import (
    MAX_OPS_PER_SCRIPT,
    MAX_SCRIPT_ELEMENT_SIZE,
    MAX_SCRIPT_SIZE,
    MAX_STACK_SIZE,
)
from core.script.opcodes import Opcode as O
from core.script.script import check_minimal_push
from core.script.scriptnum import cast_to_bool, decode_num, encode_num
from core.script.sigops import eval_checkmultisig, eval_checksig
from core.script.stackops import FALSE, STACK_OPS, TRUE

_PUSHDATA1 = int(O.OP_PUSHDATA1)
_PUSHDATA2 = int(O.OP_PUSHDATA2)
_PUSHDATA4 = int(O.OP_PUSHDATA4)
_OP_16 = int(O.OP_16)
_OP_IF = int(O.OP_IF)
_OP_NOTIF = int(O.OP_NOTIF)
_OP_ELSE = int(O.OP_ELSE)
_OP_ENDIF = int(O.OP_ENDIF)
_OP_TOALTSTACK = int(O.OP_TOALTSTACK)
_OP_FROMALTSTACK = int(O.OP_FROMALTSTACK)
_OP_CODESEPARATOR = int(O.OP_CODESEPARATOR)
_OP_CHECKSIG = int(O.OP_CHECKSIG)
_OP_CHECKSIGVERIFY = int(O.OP_CHECKSIGVERIFY)
_OP_CHECKMULTISIG = int(O.OP_CHECKMULTISIG)
_OP_CHECKMULTISIGVERIFY = int(O.OP_CHECKMULTISIGVERIFY)
_OP_CHECKSIGADD = int(O.OP_CHECKSIGADD)
_OP_CLTV = int(O.OP_CHECKLOCKTIMEVERIFY)
_OP_CSV = int(O.OP_CHECKSEQUENCEVERIFY)

# Small-number opcodes and what they push: OP_1NEGATE, OP_1..OP_16.
_SMALL_INTS: dict[int, bytes] = {int(O.OP_1NEGATE): encode_num(-1)}
_SMALL_INTS.update({int(O.OP_1) + k: encode_num(k + 1) for k in range(16)})

# Disabled since 2010 (CVE-2010-5137); they fail even in unexecuted branches.
_DISABLED = frozenset(
    int(op)
    for op in (
        O.OP_CAT, O.OP_SUBSTR, O.OP_LEFT, O.OP_RIGHT, O.OP_INVERT, O.OP_AND, O.OP_OR, O.OP_XOR,
        O.OP_2MUL, O.OP_2DIV, O.OP_MUL, O.OP_DIV, O.OP_MOD, O.OP_LSHIFT, O.OP_RSHIFT,
    )
)  # fmt: skip
_UPGRADABLE_NOPS = frozenset(int(op) for op in (O.OP_NOP1, *range(O.OP_NOP4, O.OP_NOP10 + 1)))

_MINIMALDATA = SCRIPT_VERIFY_MINIMALDATA
_MINIMALIF = SCRIPT_VERIFY_MINIMALIF
_CONST_SCRIPTCODE = SCRIPT_VERIFY_CONST_SCRIPTCODE
_DISCOURAGE_UPGRADABLE_NOPS = SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_NOPS
_CHECKLOCKTIMEVERIFY = SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY
_CHECKSEQUENCEVERIFY = SCRIPT_VERIFY_CHECKSEQUENCEVERIFY
_SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
_LOCKTIME_NUM_SIZE = 5  # CLTV/CSV operands may be 5 bytes: nLockTime/nSequence are uint32

_BASE = SigVersion.BASE
_WITNESS_V0 = SigVersion.WITNESS_V0
_TAPSCRIPT = SigVersion.TAPSCRIPT


def _fail(error: ScriptError) -> ScriptFailure:
    return ScriptFailure(error)


def eval_script(
    stack: list[bytes],
    script: bytes,
    flags: int,
    checker: BaseSignatureChecker,
    sigversion: SigVersion = SigVersion.BASE,
    execdata: ScriptExecutionData | None = None,
) -> None:
    """Run `script` on `stack` (modified in place). Raises ScriptFailure with Core's error.

    `sigversion` BASE, WITNESS_V0 or TAPSCRIPT; tapscript needs `execdata` with its budget and
    leaf hash. Success means only that no rule failed: the caller inspects the resulting stack.
    """
    flags = int(flags)  # plain int: IntFlag arithmetic is slow
    if execdata is None:
        execdata = ScriptExecutionData()
    tapscript = sigversion == _TAPSCRIPT
    if not tapscript and len(script) > MAX_SCRIPT_SIZE:
        raise _fail(ScriptError.SCRIPT_SIZE)
    minimal = bool(flags & _MINIMALDATA)
    reject_codesep = sigversion == _BASE and bool(flags & _CONST_SCRIPTCODE)
    count_ops = not tapscript
    op_count = 0
    altstack: list[bytes] = []
    # Core's ConditionStack: only its size and the position of the first false entry (-1: none).
    cond_size = 0
    first_false = -1
    pbegincodehash = 0
    execdata.codeseparator_pos = 0xFFFFFFFF
    opcode_pos = -1
    pc = 0
    end = len(script)
    stack_ops = STACK_OPS
    small_ints = _SMALL_INTS

    while pc < end:
        opcode_pos += 1
        fexec = first_false < 0
        opcode = script[pc]
        pc += 1

        if opcode <= _PUSHDATA4:
            # Decode the push (Core's GetScriptOp); a truncated one is BAD_OPCODE.
            if opcode < _PUSHDATA1:
                size = opcode
            elif opcode == _PUSHDATA1:
                if pc + 1 > end:
                    raise _fail(ScriptError.BAD_OPCODE)
                size = script[pc]
                pc += 1
            elif opcode == _PUSHDATA2:
                if pc + 2 > end:
                    raise _fail(ScriptError.BAD_OPCODE)
                size = script[pc] | script[pc + 1] << 8
                pc += 2
            else:
                if pc + 4 > end:
                    raise _fail(ScriptError.BAD_OPCODE)
                size = int.from_bytes(script[pc : pc + 4], "little")
                pc += 4
            if end - pc < size:
                raise _fail(ScriptError.BAD_OPCODE)
            if size > MAX_SCRIPT_ELEMENT_SIZE:
                raise _fail(ScriptError.PUSH_SIZE)
            if fexec:
                data = script[pc : pc + size]
                if minimal and not check_minimal_push(data, opcode):
                    raise _fail(ScriptError.MINIMALDATA)
                stack.append(data)
            pc += size
        else:
            # OP_RESERVED (0x50) and the small numbers do not count towards the limit.
            if count_ops and opcode > _OP_16:
                op_count += 1
                if op_count > MAX_OPS_PER_SCRIPT:
                    raise _fail(ScriptError.OP_COUNT)
            if opcode in _DISABLED:
                raise _fail(ScriptError.DISABLED_OPCODE)
            if opcode == _OP_CODESEPARATOR and reject_codesep:
                raise _fail(ScriptError.OP_CODESEPARATOR)

            if fexec:
                handler = stack_ops.get(opcode)
                if handler is not None:
                    handler(stack, minimal)
                elif opcode in small_ints:
                    stack.append(small_ints[opcode])
                elif _OP_IF <= opcode <= _OP_ENDIF:
                    cond_size, first_false = _conditional(
                        opcode, stack, cond_size, first_false, True, sigversion, flags
                    )
                elif opcode in (_OP_CHECKSIG, _OP_CHECKSIGVERIFY):
                    if len(stack) < 2:
                        raise _fail(ScriptError.INVALID_STACK_OPERATION)
                    success = eval_checksig(
                        stack[-2], stack[-1], script, pbegincodehash, execdata, flags, checker, sigversion
                    )
                    del stack[-2:]
                    if opcode == _OP_CHECKSIGVERIFY:
                        if not success:
                            raise _fail(ScriptError.CHECKSIGVERIFY)
                    else:
                        stack.append(TRUE if success else FALSE)
                elif opcode in (_OP_CHECKMULTISIG, _OP_CHECKMULTISIGVERIFY):
                    if tapscript:
                        raise _fail(ScriptError.TAPSCRIPT_CHECKMULTISIG)
                    success, op_count = eval_checkmultisig(
                        stack, script[pbegincodehash:], flags, checker, sigversion, op_count
                    )
                    if opcode == _OP_CHECKMULTISIGVERIFY:
                        if not success:
                            raise _fail(ScriptError.CHECKMULTISIGVERIFY)
                    else:
                        stack.append(TRUE if success else FALSE)
                elif opcode == _OP_CHECKSIGADD:
                    # (sig num pubkey -- num+success); tapscript only.
                    if not tapscript:
                        raise _fail(ScriptError.BAD_OPCODE)
                    if len(stack) < 3:
                        raise _fail(ScriptError.INVALID_STACK_OPERATION)
                    num = decode_num(stack[-2], minimal)
                    success = eval_checksig(
                        stack[-3], stack[-1], script, pbegincodehash, execdata, flags, checker, sigversion
                    )
                    del stack[-3:]
                    stack.append(encode_num(num + (1 if success else 0)))
                elif opcode == _OP_TOALTSTACK:
                    if not stack:
                        raise _fail(ScriptError.INVALID_STACK_OPERATION)
                    altstack.append(stack.pop())
                elif opcode == _OP_FROMALTSTACK:
                    if not altstack:
                        raise _fail(ScriptError.INVALID_ALTSTACK_OPERATION)
                    stack.append(altstack.pop())
                elif opcode == _OP_CODESEPARATOR:
                    # Signatures hash the script from here on (tapscript: commit to this position).
                    pbegincodehash = pc
                    execdata.codeseparator_pos = opcode_pos
                elif opcode in (_OP_CLTV, _OP_CSV):
                    _lock_time_op(opcode, stack, flags, minimal, checker)
                elif opcode in _UPGRADABLE_NOPS:
                    if flags & _DISCOURAGE_UPGRADABLE_NOPS:
                        raise _fail(ScriptError.DISCOURAGE_UPGRADABLE_NOPS)
                else:
                    raise _fail(ScriptError.BAD_OPCODE)
            elif _OP_IF <= opcode <= _OP_ENDIF:
                cond_size, first_false = _conditional(
                    opcode, stack, cond_size, first_false, False, sigversion, flags
                )

        if len(stack) + len(altstack) > MAX_STACK_SIZE:
            raise _fail(ScriptError.STACK_SIZE)

    if cond_size:
        raise _fail(ScriptError.UNBALANCED_CONDITIONAL)


def _conditional(
    opcode: int,
    stack: list[bytes],
    cond_size: int,
    first_false: int,
    fexec: bool,
    sigversion: SigVersion,
    flags: int,
) -> tuple[int, int]:
    """OP_IF / OP_NOTIF / OP_ELSE / OP_ENDIF (and OP_VERIF / OP_VERNOTIF, which always fail)."""
    if opcode in (_OP_IF, _OP_NOTIF):
        value = False
        if fexec:
            # Current Core reports a missing condition as a stack error (it was UNBALANCED_CONDITIONAL).
            if not stack:
                raise _fail(ScriptError.INVALID_STACK_OPERATION)
            top = stack[-1]
            # Tapscript requires an exact 0 or 1 (consensus); witness v0 only with MINIMALIF (policy).
            if len(top) > 1 or (len(top) == 1 and top[0] != 1):
                if sigversion == _TAPSCRIPT:
                    raise _fail(ScriptError.TAPSCRIPT_MINIMALIF)
                if sigversion == _WITNESS_V0 and flags & _MINIMALIF:
                    raise _fail(ScriptError.MINIMALIF)
            value = cast_to_bool(top)
            if opcode == _OP_NOTIF:
                value = not value
            stack.pop()
        if first_false < 0 and not value:
            first_false = cond_size
        return cond_size + 1, first_false
    if opcode == _OP_ELSE:
        if not cond_size:
            raise _fail(ScriptError.UNBALANCED_CONDITIONAL)
        # Toggle the top entry; only the first false one is observable.
        if first_false < 0:
            first_false = cond_size - 1
        elif first_false == cond_size - 1:
            first_false = -1
        return cond_size, first_false
    if opcode == _OP_ENDIF:
        if not cond_size:
            raise _fail(ScriptError.UNBALANCED_CONDITIONAL)
        cond_size -= 1
        if first_false == cond_size:
            first_false = -1
        return cond_size, first_false
    raise _fail(ScriptError.BAD_OPCODE)  # OP_VERIF, OP_VERNOTIF


def _lock_time_op(
    opcode: int, stack: list[bytes], flags: int, minimal: bool, checker: BaseSignatureChecker
) -> None:
    """OP_CHECKLOCKTIMEVERIFY (BIP65) and OP_CHECKSEQUENCEVERIFY (BIP112); NOP2/NOP3 when not enabled."""
    is_cltv = opcode == _OP_CLTV
    if not flags & (_CHECKLOCKTIMEVERIFY if is_cltv else _CHECKSEQUENCEVERIFY):
        return
    if not stack:
        raise _fail(ScriptError.INVALID_STACK_OPERATION)
    n = decode_num(stack[-1], minimal, _LOCKTIME_NUM_SIZE)
    if n < 0:
        raise _fail(ScriptError.NEGATIVE_LOCKTIME)
    if is_cltv:
        if not checker.check_lock_time(n):
            raise _fail(ScriptError.UNSATISFIED_LOCKTIME)
    # With the disable flag set, CSV behaves as a NOP (room for future soft forks).
    elif not n & _SEQUENCE_LOCKTIME_DISABLE_FLAG and not checker.check_sequence(n):
        raise _fail(ScriptError.UNSATISFIED_LOCKTIME)
