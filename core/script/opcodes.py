"""Script opcodes with Bitcoin Core's names (script/script.h) and its GetOpName / IsOpSuccess."""

from __future__ import annotations

from enum import IntEnum

from core.script.errors import ScriptDecodeError

# Consensus limits (script/script.h).
MAX_SCRIPT_ELEMENT_SIZE = 520
MAX_OPS_PER_SCRIPT = 201
MAX_PUBKEYS_PER_MULTISIG = 20
MAX_PUBKEYS_PER_MULTI_A = 999
MAX_SCRIPT_SIZE = 10000
MAX_STACK_SIZE = 1000
LOCKTIME_THRESHOLD = 500_000_000


class Opcode(IntEnum):
    """Core's opcodetype. Aliases (OP_FALSE, OP_TRUE, OP_NOP2, OP_NOP3) resolve to the first name."""

    # push value
    OP_0 = 0x00
    OP_FALSE = 0x00
    OP_PUSHDATA1 = 0x4C
    OP_PUSHDATA2 = 0x4D
    OP_PUSHDATA4 = 0x4E
    OP_1NEGATE = 0x4F
    OP_RESERVED = 0x50
    OP_1 = 0x51
    OP_TRUE = 0x51
    OP_2 = 0x52
    OP_3 = 0x53
    OP_4 = 0x54
    OP_5 = 0x55
    OP_6 = 0x56
    OP_7 = 0x57
    OP_8 = 0x58
    OP_9 = 0x59
    OP_10 = 0x5A
    OP_11 = 0x5B
    OP_12 = 0x5C
    OP_13 = 0x5D
    OP_14 = 0x5E
    OP_15 = 0x5F
    OP_16 = 0x60
    # control
    OP_NOP = 0x61
    OP_VER = 0x62
    OP_IF = 0x63
    OP_NOTIF = 0x64
    OP_VERIF = 0x65
    OP_VERNOTIF = 0x66
    OP_ELSE = 0x67
    OP_ENDIF = 0x68
    OP_VERIFY = 0x69
    OP_RETURN = 0x6A
    # stack ops
    OP_TOALTSTACK = 0x6B
    OP_FROMALTSTACK = 0x6C
    OP_2DROP = 0x6D
    OP_2DUP = 0x6E
    OP_3DUP = 0x6F
    OP_2OVER = 0x70
    OP_2ROT = 0x71
    OP_2SWAP = 0x72
    OP_IFDUP = 0x73
    OP_DEPTH = 0x74
    OP_DROP = 0x75
    OP_DUP = 0x76
    OP_NIP = 0x77
    OP_OVER = 0x78
    OP_PICK = 0x79
    OP_ROLL = 0x7A
    OP_ROT = 0x7B
    OP_SWAP = 0x7C
    OP_TUCK = 0x7D
    # splice ops
    OP_CAT = 0x7E
    OP_SUBSTR = 0x7F
    OP_LEFT = 0x80
    OP_RIGHT = 0x81
    OP_SIZE = 0x82
    # bit logic
    OP_INVERT = 0x83
    OP_AND = 0x84
    OP_OR = 0x85
    OP_XOR = 0x86
    OP_EQUAL = 0x87
    OP_EQUALVERIFY = 0x88
    OP_RESERVED1 = 0x89
    OP_RESERVED2 = 0x8A
    # numeric
    OP_1ADD = 0x8B
    OP_1SUB = 0x8C
    OP_2MUL = 0x8D
    OP_2DIV = 0x8E
    OP_NEGATE = 0x8F
    OP_ABS = 0x90
    OP_NOT = 0x91
    OP_0NOTEQUAL = 0x92
    OP_ADD = 0x93
    OP_SUB = 0x94
    OP_MUL = 0x95
    OP_DIV = 0x96
    OP_MOD = 0x97
    OP_LSHIFT = 0x98
    OP_RSHIFT = 0x99
    OP_BOOLAND = 0x9A
    OP_BOOLOR = 0x9B
    OP_NUMEQUAL = 0x9C
    OP_NUMEQUALVERIFY = 0x9D
    OP_NUMNOTEQUAL = 0x9E
    OP_LESSTHAN = 0x9F
    OP_GREATERTHAN = 0xA0
    OP_LESSTHANOREQUAL = 0xA1
    OP_GREATERTHANOREQUAL = 0xA2
    OP_MIN = 0xA3
    OP_MAX = 0xA4
    OP_WITHIN = 0xA5
    # crypto
    OP_RIPEMD160 = 0xA6
    OP_SHA1 = 0xA7
    OP_SHA256 = 0xA8
    OP_HASH160 = 0xA9
    OP_HASH256 = 0xAA
    OP_CODESEPARATOR = 0xAB
    OP_CHECKSIG = 0xAC
    OP_CHECKSIGVERIFY = 0xAD
    OP_CHECKMULTISIG = 0xAE
    OP_CHECKMULTISIGVERIFY = 0xAF
    # expansion
    OP_NOP1 = 0xB0
    OP_CHECKLOCKTIMEVERIFY = 0xB1
    OP_NOP2 = 0xB1
    OP_CHECKSEQUENCEVERIFY = 0xB2
    OP_NOP3 = 0xB2
    OP_NOP4 = 0xB3
    OP_NOP5 = 0xB4
    OP_NOP6 = 0xB5
    OP_NOP7 = 0xB6
    OP_NOP8 = 0xB7
    OP_NOP9 = 0xB8
    OP_NOP10 = 0xB9
    # Opcode added by BIP 342 (Tapscript)
    OP_CHECKSIGADD = 0xBA
    OP_INVALIDOPCODE = 0xFF


# Core's MAX_OPCODE: the highest opcode ParseScript knows by name (OP_CHECKSIGADD is not among them).
MAX_OPCODE = Opcode.OP_NOP10

_NAMES: dict[int, str] = {int(op): op.name for op in Opcode}
_NAMES[0x00] = "0"
_NAMES[0x4F] = "-1"
for _n in range(1, 17):
    _NAMES[0x50 + _n] = str(_n)


def get_op_name(opcode: int) -> str:
    """Core's GetOpName: "0", "-1", "1".."16" for small-number opcodes, "OP_UNKNOWN" for the rest."""
    return _NAMES.get(opcode, "OP_UNKNOWN")


def is_op_success(opcode: int) -> bool:
    """BIP342 OP_SUCCESSx: opcodes that make a tapscript succeed unconditionally (Core's IsOpSuccess)."""
    return (
        opcode == 80
        or opcode == 98
        or 126 <= opcode <= 129
        or 131 <= opcode <= 134
        or 137 <= opcode <= 138
        or 141 <= opcode <= 142
        or 149 <= opcode <= 153
        or 187 <= opcode <= 254
    )


def decode_op_n(opcode: int) -> int:
    """Core's DecodeOP_N: the small integer 0..16 an OP_0 / OP_1..OP_16 opcode pushes."""
    if opcode == Opcode.OP_0:
        return 0
    if not Opcode.OP_1 <= opcode <= Opcode.OP_16:
        raise ScriptDecodeError(f"not a small-integer opcode: {opcode:#x}")
    return opcode - (Opcode.OP_1 - 1)


def encode_op_n(n: int) -> int:
    """Core's EncodeOP_N: the opcode pushing the small integer 0..16."""
    if not 0 <= n <= 16:
        raise ScriptDecodeError(f"not a small integer: {n}")
    return Opcode.OP_0 if n == 0 else Opcode.OP_1 + n - 1
