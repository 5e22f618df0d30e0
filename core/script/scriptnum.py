"""CScriptNum: the little-endian sign-magnitude integers script arithmetic works on (script/script.h).

Operands are limited to 4 bytes (5 for CHECKLOCKTIMEVERIFY / CHECKSEQUENCEVERIFY) but results may be
longer; Python ints hold either without the int64 bookkeeping Core needs.
"""

from __future__ import annotations

from core.script.errors import ScriptNumError

DEFAULT_MAX_NUM_SIZE = 4
INT32_MAX = 0x7FFFFFFF
INT32_MIN = -0x80000000


def decode_num(vch: bytes, require_minimal: bool, max_size: int = DEFAULT_MAX_NUM_SIZE) -> int:
    """Decode a stack element as Core's CScriptNum(vch, fRequireMinimal, nMaxNumSize) does.

    Raises ScriptNumError (SCRIPTNUM) when longer than `max_size` or, with `require_minimal`,
    not minimally encoded (which also rejects negative zero).
    """
    n = len(vch)
    if n > max_size:
        raise ScriptNumError(f"script number overflow: {n} > {max_size} bytes")
    if n == 0:
        return 0
    last = vch[-1]
    # Minimal unless the top byte (sign bit aside) is zero and is not needed to hold the sign bit.
    if require_minimal and not last & 0x7F and (n == 1 or not vch[-2] & 0x80):
        raise ScriptNumError("non-minimally encoded script number")
    value = int.from_bytes(vch, "little")
    if last & 0x80:
        return -(value & ~(0x80 << (8 * (n - 1))))
    return value


def encode_num(value: int) -> bytes:
    """CScriptNum::serialize: minimal little-endian sign-magnitude bytes (b"" for zero)."""
    if value == 0:
        return b""
    neg = value < 0
    absvalue = -value if neg else value
    out = bytearray(absvalue.to_bytes((absvalue.bit_length() + 7) // 8, "little"))
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def num_to_int32(value: int) -> int:
    """CScriptNum::getint: the value clamped to the int32 range."""
    if value > INT32_MAX:
        return INT32_MAX
    if value < INT32_MIN:
        return INT32_MIN
    return value


def cast_to_bool(vch: bytes) -> bool:
    """Core's CastToBool: false for any encoding of zero, including negative zero."""
    # Skip leading zero bytes; what remains is false only if empty or just the sign bit.
    rest = vch.lstrip(b"\x00")
    return bool(rest) and rest != b"\x80"
