"""Script verification flags: Bitcoin Core's SCRIPT_VERIFY_* (script/interpreter.h) and policy flag sets."""

from __future__ import annotations

from enum import IntFlag

from core.script.errors import FlagsError


class ScriptFlags(IntFlag):
    """Core's SCRIPT_VERIFY_* bits, named without the prefix (as the test vectors name them)."""

    NONE = 0
    P2SH = 1 << 0
    STRICTENC = 1 << 1
    DERSIG = 1 << 2
    LOW_S = 1 << 3
    NULLDUMMY = 1 << 4
    SIGPUSHONLY = 1 << 5
    MINIMALDATA = 1 << 6
    DISCOURAGE_UPGRADABLE_NOPS = 1 << 7
    CLEANSTACK = 1 << 8
    CHECKLOCKTIMEVERIFY = 1 << 9
    CHECKSEQUENCEVERIFY = 1 << 10
    WITNESS = 1 << 11
    DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = 1 << 12
    MINIMALIF = 1 << 13
    NULLFAIL = 1 << 14
    WITNESS_PUBKEYTYPE = 1 << 15
    CONST_SCRIPTCODE = 1 << 16
    TAPROOT = 1 << 17
    DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = 1 << 18
    DISCOURAGE_OP_SUCCESS = 1 << 19
    DISCOURAGE_UPGRADABLE_PUBKEYTYPE = 1 << 20


F = ScriptFlags

# Plain-int copies under Core's names, for the interpreter's hot paths (IntFlag arithmetic is slow).
SCRIPT_VERIFY_P2SH = int(ScriptFlags.P2SH)
SCRIPT_VERIFY_STRICTENC = int(ScriptFlags.STRICTENC)
SCRIPT_VERIFY_DERSIG = int(ScriptFlags.DERSIG)
SCRIPT_VERIFY_LOW_S = int(ScriptFlags.LOW_S)
SCRIPT_VERIFY_NULLDUMMY = int(ScriptFlags.NULLDUMMY)
SCRIPT_VERIFY_SIGPUSHONLY = int(ScriptFlags.SIGPUSHONLY)
SCRIPT_VERIFY_MINIMALDATA = int(ScriptFlags.MINIMALDATA)
SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_NOPS = int(ScriptFlags.DISCOURAGE_UPGRADABLE_NOPS)
SCRIPT_VERIFY_CLEANSTACK = int(ScriptFlags.CLEANSTACK)
SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY = int(ScriptFlags.CHECKLOCKTIMEVERIFY)
SCRIPT_VERIFY_CHECKSEQUENCEVERIFY = int(ScriptFlags.CHECKSEQUENCEVERIFY)
SCRIPT_VERIFY_WITNESS = int(ScriptFlags.WITNESS)
SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = int(ScriptFlags.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM)
SCRIPT_VERIFY_MINIMALIF = int(ScriptFlags.MINIMALIF)
SCRIPT_VERIFY_NULLFAIL = int(ScriptFlags.NULLFAIL)
SCRIPT_VERIFY_WITNESS_PUBKEYTYPE = int(ScriptFlags.WITNESS_PUBKEYTYPE)
SCRIPT_VERIFY_CONST_SCRIPTCODE = int(ScriptFlags.CONST_SCRIPTCODE)
SCRIPT_VERIFY_TAPROOT = int(ScriptFlags.TAPROOT)
SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = int(ScriptFlags.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION)
SCRIPT_VERIFY_DISCOURAGE_OP_SUCCESS = int(ScriptFlags.DISCOURAGE_OP_SUCCESS)
SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_PUBKEYTYPE = int(ScriptFlags.DISCOURAGE_UPGRADABLE_PUBKEYTYPE)


# Every defined flag (what Core's tx_valid test means by "all flags").
ALL_FLAGS = F((1 << 21) - 1)

# policy/policy.h: rules every block must obey after the soft forks that introduced them.
MANDATORY_SCRIPT_VERIFY_FLAGS = (
    F.P2SH | F.DERSIG | F.NULLDUMMY | F.CHECKLOCKTIMEVERIFY | F.CHECKSEQUENCEVERIFY | F.WITNESS | F.TAPROOT
)

# policy/policy.h: what the mempool enforces on relayed transactions.
STANDARD_SCRIPT_VERIFY_FLAGS = (
    MANDATORY_SCRIPT_VERIFY_FLAGS
    | F.STRICTENC
    | F.MINIMALDATA
    | F.DISCOURAGE_UPGRADABLE_NOPS
    | F.CLEANSTACK
    | F.MINIMALIF
    | F.NULLFAIL
    | F.LOW_S
    | F.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM
    | F.WITNESS_PUBKEYTYPE
    | F.CONST_SCRIPTCODE
    | F.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION
    | F.DISCOURAGE_OP_SUCCESS
    | F.DISCOURAGE_UPGRADABLE_PUBKEYTYPE
)

STANDARD_NOT_MANDATORY_VERIFY_FLAGS = STANDARD_SCRIPT_VERIFY_FLAGS & ~MANDATORY_SCRIPT_VERIFY_FLAGS

_BY_NAME: dict[str, ScriptFlags] = {f.name: f for f in ScriptFlags if f.name and f is not F.NONE}


def parse_flags(text: str) -> ScriptFlags:
    """Core's ParseScriptFlags: comma-separated names; "" and "NONE" mean no flags."""
    flags = F.NONE
    if not text or text == "NONE":
        return flags
    for word in text.split(","):
        flag = _BY_NAME.get(word)
        if flag is None:
            raise FlagsError(f"unknown verification flag {word!r}")
        flags |= flag
    return flags


def format_flags(flags: int) -> str:
    """Comma-separated names of the set flags, in bit order ("" for none)."""
    return ",".join(name for name, f in _BY_NAME.items() if flags & f)


def is_valid_flag_combination(flags: int) -> bool:
    """Core's IsValidFlagCombination: CLEANSTACK needs WITNESS, and WITNESS needs P2SH."""
    if flags & SCRIPT_VERIFY_CLEANSTACK and not flags & SCRIPT_VERIFY_WITNESS:
        return False
    return not (flags & SCRIPT_VERIFY_WITNESS and not flags & SCRIPT_VERIFY_P2SH)
