"""The interpreter's self-contained opcodes: stack shuffles, comparisons, arithmetic and hashes.

Each handler takes (stack, require_minimal) and follows Core's EvalScript case for its opcode,
raising ScriptFailure with the same error. Opcodes needing more context (conditionals, the
altstack, signatures, lock times) are handled in evalscript.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from core.consensus.hashes import hash160, ripemd160, sha256, sha256d
from core.script.errors import ScriptError, ScriptFailure
from core.script.opcodes import Opcode as O
from core.script.scriptnum import cast_to_bool, decode_num, encode_num, num_to_int32

TRUE = b"\x01"
FALSE = b""

StackOp = Callable[[list[bytes], bool], None]


def _need(stack: list[bytes], n: int) -> None:
    if len(stack) < n:
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)


def _nop(stack: list[bytes], minimal: bool) -> None:
    pass


def _verify(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 1)
    if not cast_to_bool(stack[-1]):
        raise ScriptFailure(ScriptError.VERIFY)
    stack.pop()


def _return(stack: list[bytes], minimal: bool) -> None:
    raise ScriptFailure(ScriptError.OP_RETURN)


def _2drop(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    del stack[-2:]


def _2dup(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    stack += stack[-2:]


def _3dup(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 3)
    stack += stack[-3:]


def _2over(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 4)
    stack += stack[-4:-2]


def _2rot(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 6)
    moved = stack[-6:-4]
    del stack[-6:-4]
    stack += moved


def _2swap(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 4)
    stack[-4:] = stack[-2:] + stack[-4:-2]


def _ifdup(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 1)
    if cast_to_bool(stack[-1]):
        stack.append(stack[-1])


def _depth(stack: list[bytes], minimal: bool) -> None:
    stack.append(encode_num(len(stack)))


def _drop(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 1)
    stack.pop()


def _dup(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 1)
    stack.append(stack[-1])


def _nip(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    del stack[-2]


def _over(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    stack.append(stack[-2])


def _pick_roll(stack: list[bytes], minimal: bool, roll: bool) -> None:
    _need(stack, 2)
    n = num_to_int32(decode_num(stack[-1], minimal))
    stack.pop()
    if n < 0 or n >= len(stack):
        raise ScriptFailure(ScriptError.INVALID_STACK_OPERATION)
    item = stack[-n - 1]
    if roll:
        del stack[-n - 1]
    stack.append(item)


def _pick(stack: list[bytes], minimal: bool) -> None:
    _pick_roll(stack, minimal, False)


def _roll(stack: list[bytes], minimal: bool) -> None:
    _pick_roll(stack, minimal, True)


def _rot(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 3)
    stack.append(stack.pop(-3))


def _swap(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    stack[-2], stack[-1] = stack[-1], stack[-2]


def _tuck(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    stack.insert(-2, stack[-1])


def _size(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 1)
    stack.append(encode_num(len(stack[-1])))


def _equal(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    equal = stack.pop() == stack.pop()
    stack.append(TRUE if equal else FALSE)


def _equalverify(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    if stack.pop() != stack.pop():
        stack.append(FALSE)
        raise ScriptFailure(ScriptError.EQUALVERIFY)


# --- numeric --------------------------------------------------------------------------------------


def _unary(fn: Callable[[int], int]) -> StackOp:
    def op(stack: list[bytes], minimal: bool) -> None:
        _need(stack, 1)
        stack[-1] = encode_num(fn(decode_num(stack[-1], minimal)))

    return op


def _binary(fn: Callable[[int, int], int]) -> StackOp:
    def op(stack: list[bytes], minimal: bool) -> None:
        _need(stack, 2)
        a = decode_num(stack[-2], minimal)
        b = decode_num(stack[-1], minimal)
        del stack[-2:]
        stack.append(encode_num(fn(a, b)))

    return op


def _numequalverify(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 2)
    a = decode_num(stack[-2], minimal)
    b = decode_num(stack[-1], minimal)
    del stack[-2:]
    if a != b:
        stack.append(FALSE)
        raise ScriptFailure(ScriptError.NUMEQUALVERIFY)


def _within(stack: list[bytes], minimal: bool) -> None:
    _need(stack, 3)
    x = decode_num(stack[-3], minimal)
    lo = decode_num(stack[-2], minimal)
    hi = decode_num(stack[-1], minimal)
    del stack[-3:]
    stack.append(TRUE if lo <= x < hi else FALSE)


# --- crypto ---------------------------------------------------------------------------------------


def _hash(fn: Callable[[bytes], bytes]) -> StackOp:
    def op(stack: list[bytes], minimal: bool) -> None:
        _need(stack, 1)
        stack[-1] = fn(stack[-1])

    return op


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


STACK_OPS: dict[int, StackOp] = {
    O.OP_NOP: _nop,
    O.OP_VERIFY: _verify,
    O.OP_RETURN: _return,
    O.OP_2DROP: _2drop,
    O.OP_2DUP: _2dup,
    O.OP_3DUP: _3dup,
    O.OP_2OVER: _2over,
    O.OP_2ROT: _2rot,
    O.OP_2SWAP: _2swap,
    O.OP_IFDUP: _ifdup,
    O.OP_DEPTH: _depth,
    O.OP_DROP: _drop,
    O.OP_DUP: _dup,
    O.OP_NIP: _nip,
    O.OP_OVER: _over,
    O.OP_PICK: _pick,
    O.OP_ROLL: _roll,
    O.OP_ROT: _rot,
    O.OP_SWAP: _swap,
    O.OP_TUCK: _tuck,
    O.OP_SIZE: _size,
    O.OP_EQUAL: _equal,
    O.OP_EQUALVERIFY: _equalverify,
    O.OP_1ADD: _unary(lambda a: a + 1),
    O.OP_1SUB: _unary(lambda a: a - 1),
    O.OP_NEGATE: _unary(lambda a: -a),
    O.OP_ABS: _unary(abs),
    O.OP_NOT: _unary(lambda a: int(a == 0)),
    O.OP_0NOTEQUAL: _unary(lambda a: int(a != 0)),
    O.OP_ADD: _binary(lambda a, b: a + b),
    O.OP_SUB: _binary(lambda a, b: a - b),
    O.OP_BOOLAND: _binary(lambda a, b: int(a != 0 and b != 0)),
    O.OP_BOOLOR: _binary(lambda a, b: int(a != 0 or b != 0)),
    O.OP_NUMEQUAL: _binary(lambda a, b: int(a == b)),
    O.OP_NUMEQUALVERIFY: _numequalverify,
    O.OP_NUMNOTEQUAL: _binary(lambda a, b: int(a != b)),
    O.OP_LESSTHAN: _binary(lambda a, b: int(a < b)),
    O.OP_GREATERTHAN: _binary(lambda a, b: int(a > b)),
    O.OP_LESSTHANOREQUAL: _binary(lambda a, b: int(a <= b)),
    O.OP_GREATERTHANOREQUAL: _binary(lambda a, b: int(a >= b)),
    O.OP_MIN: _binary(min),
    O.OP_MAX: _binary(max),
    O.OP_WITHIN: _within,
    O.OP_RIPEMD160: _hash(ripemd160),
    O.OP_SHA1: _hash(_sha1),
    O.OP_SHA256: _hash(sha256),
    O.OP_HASH160: _hash(hash160),
    O.OP_HASH256: _hash(sha256d),
}
# Plain int keys: the interpreter looks opcodes up as ints, and int keys hash fastest.
STACK_OPS = {int(k): v for k, v in STACK_OPS.items()}
