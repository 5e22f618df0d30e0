"""Script bytes: splitting into opcodes, Core's asm text (both directions), push encodings, predicates.

Ports of Bitcoin Core's GetScriptOp, CScript::IsPushOnly / IsPayToScriptHash / IsWitnessProgram /
GetSigOpCount, FindAndDelete (script/script.cpp, interpreter.cpp), ScriptToAsmStr (core_write.cpp)
and ParseScript (core_read.cpp). No library reproduces Core's exact asm text and ParseScript format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.script.errors import ScriptDecodeError, ScriptParseError
from core.script.opcodes import (
    MAX_OPCODE,
    MAX_PUBKEYS_PER_MULTISIG,
    MAX_SCRIPT_SIZE,
    Opcode,
    get_op_name,
)
from core.script.scriptnum import decode_num, encode_num
from core.script.sigencoding import is_defined_hashtype_signature, is_valid_signature_encoding

OP_0 = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1NEGATE = 0x4F
OP_1 = 0x51
OP_16 = 0x60
OP_RETURN = 0x6A
OP_EQUAL = 0x87
OP_HASH160 = 0xA9
OP_CHECKSIG = 0xAC
OP_CHECKSIGVERIFY = 0xAD
OP_CHECKMULTISIG = 0xAE
OP_CHECKMULTISIGVERIFY = 0xAF


def get_op(script: bytes, pc: int) -> tuple[int, bytes | None, int] | None:
    """Core's GetScriptOp at offset `pc`: (opcode, push data or None, next pc), or None if truncated.

    Push opcodes (0x00..0x4e) always return their data (b"" for OP_0); other opcodes return None.
    """
    end = len(script)
    if pc >= end:
        return None
    opcode = script[pc]
    pc += 1
    if opcode > OP_PUSHDATA4:
        return opcode, None, pc
    if opcode < OP_PUSHDATA1:
        size = opcode
    elif opcode == OP_PUSHDATA1:
        if pc + 1 > end:
            return None
        size = script[pc]
        pc += 1
    elif opcode == OP_PUSHDATA2:
        if pc + 2 > end:
            return None
        size = script[pc] | script[pc + 1] << 8
        pc += 2
    else:
        if pc + 4 > end:
            return None
        size = int.from_bytes(script[pc : pc + 4], "little")
        pc += 4
    if end - pc < size:
        return None
    return opcode, script[pc : pc + size], pc + size


def iter_ops(script: bytes) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield (opcode, push data or None, offset of the opcode) for each operation in `script`.

    Opcodes are plain ints (not every byte value is a named Opcode). Raises ScriptDecodeError
    when a push runs past the end of the script.
    """
    pc = 0
    end = len(script)
    while pc < end:
        op = get_op(script, pc)
        if op is None:
            raise ScriptDecodeError(f"truncated push at offset {pc}")
        yield op[0], op[1], pc
        pc = op[2]


def has_valid_ops(script: bytes) -> bool:
    """Core's CScript::HasValidOps: every op decodes and none is above MAX_OPCODE."""
    pc, end = 0, len(script)
    while pc < end:
        op = get_op(script, pc)
        if op is None or op[0] > MAX_OPCODE:
            return False
        pc = op[2]
    return True


# --- push encodings ---------------------------------------------------------------------------------


def push_data(data: bytes) -> bytes:
    """Core's `CScript() << data`: the shortest length prefix (direct, PUSHDATA1/2/4) and the data.

    Never substitutes OP_0 / OP_1..OP_16 / OP_1NEGATE (b"" still encodes as the 0x00 byte);
    see push_data_minimal for the MINIMALDATA-compliant form.
    """
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes((n,)) + data
    if n <= 0xFF:
        return bytes((OP_PUSHDATA1, n)) + data
    if n <= 0xFFFF:
        return bytes((OP_PUSHDATA2,)) + n.to_bytes(2, "little") + data
    return bytes((OP_PUSHDATA4,)) + n.to_bytes(4, "little") + data


def push_data_minimal(data: bytes) -> bytes:
    """The push of `data` that SCRIPT_VERIFY_MINIMALDATA accepts (uses OP_0, OP_1..OP_16, OP_1NEGATE)."""
    if len(data) == 1:
        if 1 <= data[0] <= 16:
            return bytes((OP_1 + data[0] - 1,))
        if data[0] == 0x81:
            return bytes((OP_1NEGATE,))
    return push_data(data)


def push_int(n: int) -> bytes:
    """Core's `CScript() << int64`: OP_0, OP_1NEGATE, OP_1..OP_16, else a CScriptNum push."""
    if n == -1 or 1 <= n <= 16:
        return bytes((n + (OP_1 - 1),))
    if n == 0:
        return bytes((OP_0,))
    return push_data(encode_num(n))


def check_minimal_push(data: bytes, opcode: int) -> bool:
    """Core's CheckMinimalPush: was `data` pushed with the smallest possible opcode?"""
    n = len(data)
    if n == 0:
        return opcode == OP_0
    if n == 1 and 1 <= data[0] <= 16:
        return opcode == OP_1 + (data[0] - 1)
    if n == 1 and data[0] == 0x81:
        return opcode == OP_1NEGATE
    if n <= 75:
        return opcode == n
    if n <= 255:
        return opcode == OP_PUSHDATA1
    if n <= 65535:
        return opcode == OP_PUSHDATA2
    return True


# --- predicates ---------------------------------------------------------------------------------------


def is_push_only(script: bytes) -> bool:
    """Core's CScript::IsPushOnly: only push opcodes (OP_RESERVED counts as one), and all decode."""
    pc, end = 0, len(script)
    while pc < end:
        op = get_op(script, pc)
        if op is None or op[0] > OP_16:
            return False
        pc = op[2]
    return True


def is_p2sh(script: bytes) -> bool:
    """Core's IsPayToScriptHash: exactly OP_HASH160 <20 bytes> OP_EQUAL."""
    return len(script) == 23 and script[0] == OP_HASH160 and script[1] == 0x14 and script[22] == OP_EQUAL


def witness_program(spk: bytes) -> tuple[int, bytes] | None:
    """Core's IsWitnessProgram: (version, program) for a version opcode and one 2..40 byte push."""
    n = len(spk)
    if n < 4 or n > 42:
        return None
    first = spk[0]
    if first != OP_0 and not OP_1 <= first <= OP_16:
        return None
    if spk[1] + 2 != n:
        return None
    return (0 if first == OP_0 else first - (OP_1 - 1)), spk[2:]


def is_unspendable(script: bytes) -> bool:
    """Core's CScript::IsUnspendable: starts with OP_RETURN or is longer than MAX_SCRIPT_SIZE."""
    return (len(script) > 0 and script[0] == OP_RETURN) or len(script) > MAX_SCRIPT_SIZE


def count_sigops(script: bytes, accurate: bool) -> int:
    """Core's CScript::GetSigOpCount(fAccurate): legacy sigops, stopping at the first bad push.

    CHECKMULTISIG counts as 20 unless `accurate` and preceded by OP_1..OP_16.
    """
    n = 0
    last = Opcode.OP_INVALIDOPCODE
    pc, end = 0, len(script)
    while pc < end:
        op = get_op(script, pc)
        if op is None:
            break
        opcode = op[0]
        if opcode in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
            n += 1
        elif opcode in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
            n += last - (OP_1 - 1) if accurate and OP_1 <= last <= OP_16 else MAX_PUBKEYS_PER_MULTISIG
        last = opcode
        pc = op[2]
    return n


def count_p2sh_sigops(script_pubkey: bytes, script_sig: bytes) -> int:
    """Core's CScript::GetSigOpCount(scriptSig): accurate sigops of the P2SH redeem script."""
    if not is_p2sh(script_pubkey):
        return count_sigops(script_pubkey, True)
    data = b""
    pc, end = 0, len(script_sig)
    while pc < end:
        op = get_op(script_sig, pc)
        if op is None or op[0] > OP_16:
            return 0
        data = op[1] if op[1] is not None else b""
        pc = op[2]
    return count_sigops(data, True)


def _next_op_end(script: bytes, pc: int) -> int | None:
    op = get_op(script, pc)
    return None if op is None else op[2]


def find_and_delete(script: bytes, pattern: bytes) -> tuple[bytes, int]:
    """Core's FindAndDelete: remove `pattern` wherever it starts at an opcode boundary.

    Returns (new script, number of matches removed); the script is unchanged when none match.
    """
    if not pattern or pattern not in script:
        return script, 0
    found = 0
    parts: list[bytes] = []
    plen = len(pattern)
    end = len(script)
    pc = pc2 = 0
    while True:
        parts.append(script[pc2:pc])
        while end - pc >= plen and script.startswith(pattern, pc):
            pc += plen
            found += 1
        pc2 = pc
        nxt = _next_op_end(script, pc)
        if nxt is None:
            break
        pc = nxt
    if not found:
        return script, 0
    parts.append(script[pc2:])
    return b"".join(parts), found


# --- asm text -----------------------------------------------------------------------------------------

_SIGHASH_NAMES = {
    0x01: "ALL",
    0x81: "ALL|ANYONECANPAY",
    0x02: "NONE",
    0x82: "NONE|ANYONECANPAY",
    0x03: "SINGLE",
    0x83: "SINGLE|ANYONECANPAY",
}


def script_to_asm(script: bytes, attempt_sighash_decode: bool = False) -> str:
    """Core's ScriptToAsmStr: pushes of up to 4 bytes as decimal numbers, longer ones as hex.

    With `attempt_sighash_decode` (scriptSigs), a strict-DER signature's hash-type byte is shown as
    "[ALL]" etc. A truncated push ends the text with "[error]".
    """
    words: list[str] = []
    decode_sig = attempt_sighash_decode and not is_unspendable(script)
    pc, end = 0, len(script)
    while pc < end:
        op = get_op(script, pc)
        if op is None:
            words.append("[error]")
            break
        opcode, data, pc = op
        if data is None:
            words.append(get_op_name(opcode))
        elif len(data) <= 4:
            words.append(str(decode_num(data, False)))
        elif decode_sig and _is_strictenc_signature(data) and data[-1] in _SIGHASH_NAMES:
            words.append(f"{data[:-1].hex()}[{_SIGHASH_NAMES[data[-1]]}]")
        else:
            words.append(data.hex())
    return " ".join(words)


def _is_strictenc_signature(sig: bytes) -> bool:
    # CheckSignatureEncoding(sig, SCRIPT_VERIFY_STRICTENC) for a non-empty signature.
    return is_valid_signature_encoding(sig) and is_defined_hashtype_signature(sig)


# ParseScript's opcode names: OP_NOP..MAX_OPCODE plus OP_RESERVED, with and without the OP_ prefix.
_PARSE_NAMES: dict[str, int] = {}
for _op in range(MAX_OPCODE + 1):
    if _op < Opcode.OP_NOP and _op != Opcode.OP_RESERVED:
        continue
    _name = get_op_name(_op)
    if _name == "OP_UNKNOWN":
        continue
    _PARSE_NAMES[_name] = _op
    if _name.startswith("OP_"):
        _PARSE_NAMES[_name[3:]] = _op

_DECIMAL = re.compile(r"-?[0-9]+\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+\Z")


def parse_script_str(text: str) -> bytes:
    """Core's ParseScript (core_read.cpp), the script language of Core's test vectors.

    Words separated by spaces, tabs or newlines: decimal numbers (pushed as numbers, range
    ±0xFFFFFFFF), 0x-prefixed hex (inserted raw, not pushed), 'single-quoted' strings (pushed),
    and opcode names with or without the OP_ prefix. Raises ScriptParseError.
    """
    out = bytearray()
    for word in re.split(r"[ \t\n]", text):
        if not word:
            continue
        if _DECIMAL.match(word):
            n = int(word)
            if not -0xFFFFFFFF <= n <= 0xFFFFFFFF:
                raise ScriptParseError(
                    "script parse error: decimal numeric value only allowed in the range -0xFFFFFFFF...0xFFFFFFFF"
                )
            out += push_int(n)
        elif word.startswith("0x") and _HEX.match(word, 2):
            out += bytes.fromhex(word[2:])
        elif len(word) >= 2 and word[0] == "'" and word[-1] == "'":
            out += push_data(word[1:-1].encode("utf-8", "surrogateescape"))
        else:
            op = _PARSE_NAMES.get(word)
            if op is None:
                raise ScriptParseError(f"script parse error: unknown opcode {word!r}")
            out.append(op)
    return bytes(out)
