"""Errors of the script package: Bitcoin Core's ScriptError codes and the exceptions that carry them.

Member names are the ones Core's script_tests.json uses (e.g. ``NULLFAIL`` for ``SCRIPT_ERR_SIG_NULLFAIL``),
so ``ScriptError[name]`` maps a vector's expected error directly; values follow Core's enum order.
"""

from __future__ import annotations

from enum import IntEnum

from core.errors import PeerwalletError


class ScriptError(IntEnum):
    """Bitcoin Core's ScriptError_t (script/script_error.h), named as in script_tests.json."""

    OK = 0
    UNKNOWN_ERROR = 1
    EVAL_FALSE = 2
    OP_RETURN = 3
    # Max sizes
    SCRIPT_SIZE = 4
    PUSH_SIZE = 5
    OP_COUNT = 6
    STACK_SIZE = 7
    SIG_COUNT = 8
    PUBKEY_COUNT = 9
    # Failed verify operations
    VERIFY = 10
    EQUALVERIFY = 11
    CHECKMULTISIGVERIFY = 12
    CHECKSIGVERIFY = 13
    NUMEQUALVERIFY = 14
    # Logical/Format/Canonical errors
    BAD_OPCODE = 15
    DISABLED_OPCODE = 16
    INVALID_STACK_OPERATION = 17
    INVALID_ALTSTACK_OPERATION = 18
    UNBALANCED_CONDITIONAL = 19
    # CHECKLOCKTIMEVERIFY and CHECKSEQUENCEVERIFY
    NEGATIVE_LOCKTIME = 20
    UNSATISFIED_LOCKTIME = 21
    # Malleability
    SIG_HASHTYPE = 22
    SIG_DER = 23
    MINIMALDATA = 24
    SIG_PUSHONLY = 25
    SIG_HIGH_S = 26
    SIG_NULLDUMMY = 27
    PUBKEYTYPE = 28
    CLEANSTACK = 29
    MINIMALIF = 30
    NULLFAIL = 31
    # Softfork safeness
    DISCOURAGE_UPGRADABLE_NOPS = 32
    DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = 33
    DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = 34
    DISCOURAGE_OP_SUCCESS = 35
    DISCOURAGE_UPGRADABLE_PUBKEYTYPE = 36
    # Segregated witness
    WITNESS_PROGRAM_WRONG_LENGTH = 37
    WITNESS_PROGRAM_WITNESS_EMPTY = 38
    WITNESS_PROGRAM_MISMATCH = 39
    WITNESS_MALLEATED = 40
    WITNESS_MALLEATED_P2SH = 41
    WITNESS_UNEXPECTED = 42
    WITNESS_PUBKEYTYPE = 43
    # Taproot
    SCHNORR_SIG_SIZE = 44
    SCHNORR_SIG_HASHTYPE = 45
    SCHNORR_SIG = 46
    TAPROOT_WRONG_CONTROL_SIZE = 47
    TAPSCRIPT_VALIDATION_WEIGHT = 48
    TAPSCRIPT_CHECKMULTISIG = 49
    TAPSCRIPT_MINIMALIF = 50
    TAPSCRIPT_EMPTY_PUBKEY = 51
    # Constant scriptCode
    OP_CODESEPARATOR = 52
    SIG_FINDANDDELETE = 53
    # A CScriptNum operand that overflows or is non-minimal (Core's scriptnum_error)
    SCRIPTNUM = 54

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)

    @property
    def message(self) -> str:
        """Core's ScriptErrorString text."""
        return _MESSAGES.get(self, "unknown error")


_E = ScriptError
_MESSAGES: dict[ScriptError, str] = {
    _E.OK: "No error",
    _E.EVAL_FALSE: "Script evaluated without error but finished with a false/empty top stack element",
    _E.VERIFY: "Script failed an OP_VERIFY operation",
    _E.EQUALVERIFY: "Script failed an OP_EQUALVERIFY operation",
    _E.CHECKMULTISIGVERIFY: "Script failed an OP_CHECKMULTISIGVERIFY operation",
    _E.CHECKSIGVERIFY: "Script failed an OP_CHECKSIGVERIFY operation",
    _E.NUMEQUALVERIFY: "Script failed an OP_NUMEQUALVERIFY operation",
    _E.SCRIPT_SIZE: "Script is too big",
    _E.PUSH_SIZE: "Push value size limit exceeded",
    _E.OP_COUNT: "Operation limit exceeded",
    _E.STACK_SIZE: "Stack size limit exceeded",
    _E.SIG_COUNT: "Signature count negative or greater than pubkey count",
    _E.PUBKEY_COUNT: "Pubkey count negative or limit exceeded",
    _E.BAD_OPCODE: "Opcode missing or not understood",
    _E.DISABLED_OPCODE: "Attempted to use a disabled opcode",
    _E.INVALID_STACK_OPERATION: "Operation not valid with the current stack size",
    _E.INVALID_ALTSTACK_OPERATION: "Operation not valid with the current altstack size",
    _E.OP_RETURN: "OP_RETURN was encountered",
    _E.UNBALANCED_CONDITIONAL: "Invalid OP_IF construction",
    _E.NEGATIVE_LOCKTIME: "Negative locktime",
    _E.UNSATISFIED_LOCKTIME: "Locktime requirement not satisfied",
    _E.SIG_HASHTYPE: "Signature hash type missing or not understood",
    _E.SIG_DER: "Non-canonical DER signature",
    _E.MINIMALDATA: "Data push larger than necessary",
    _E.SIG_PUSHONLY: "Only push operators allowed in signatures",
    _E.SIG_HIGH_S: "Non-canonical signature: S value is unnecessarily high",
    _E.SIG_NULLDUMMY: "Dummy CHECKMULTISIG argument must be zero",
    _E.MINIMALIF: "OP_IF/NOTIF argument must be minimal",
    _E.NULLFAIL: "Signature must be zero for failed CHECK(MULTI)SIG operation",
    _E.DISCOURAGE_UPGRADABLE_NOPS: "NOPx reserved for soft-fork upgrades",
    _E.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: "Witness version reserved for soft-fork upgrades",
    _E.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION: "Taproot version reserved for soft-fork upgrades",
    _E.DISCOURAGE_OP_SUCCESS: "OP_SUCCESSx reserved for soft-fork upgrades",
    _E.DISCOURAGE_UPGRADABLE_PUBKEYTYPE: "Public key version reserved for soft-fork upgrades",
    _E.PUBKEYTYPE: "Public key is neither compressed or uncompressed",
    _E.CLEANSTACK: "Stack size must be exactly one after execution",
    _E.WITNESS_PROGRAM_WRONG_LENGTH: "Witness program has incorrect length",
    _E.WITNESS_PROGRAM_WITNESS_EMPTY: "Witness program was passed an empty witness",
    _E.WITNESS_PROGRAM_MISMATCH: "Witness program hash mismatch",
    _E.WITNESS_MALLEATED: "Witness requires empty scriptSig",
    _E.WITNESS_MALLEATED_P2SH: "Witness requires only-redeemscript scriptSig",
    _E.WITNESS_UNEXPECTED: "Witness provided for non-witness script",
    _E.WITNESS_PUBKEYTYPE: "Using non-compressed keys in segwit",
    _E.SCHNORR_SIG_SIZE: "Invalid Schnorr signature size",
    _E.SCHNORR_SIG_HASHTYPE: "Invalid Schnorr signature hash type",
    _E.SCHNORR_SIG: "Invalid Schnorr signature",
    _E.TAPROOT_WRONG_CONTROL_SIZE: "Invalid Taproot control block size",
    _E.TAPSCRIPT_VALIDATION_WEIGHT: "Too much signature validation relative to witness weight",
    _E.TAPSCRIPT_CHECKMULTISIG: "OP_CHECKMULTISIG(VERIFY) is not available in tapscript",
    _E.TAPSCRIPT_MINIMALIF: "OP_IF/NOTIF argument must be minimal in tapscript",
    _E.TAPSCRIPT_EMPTY_PUBKEY: "Empty public key in tapscript",
    _E.OP_CODESEPARATOR: "Using OP_CODESEPARATOR in non-witness script",
    _E.SIG_FINDANDDELETE: "Signature is found in scriptCode",
    _E.SCRIPTNUM: "Script number overflow or non-minimal encoding",
}


class ScriptPackageError(PeerwalletError):
    """Base of every error the script package raises."""


class ScriptFailure(ScriptPackageError):
    """Script verification failed; `error` is Core's ScriptError for the failure."""

    def __init__(self, error: ScriptError, detail: str = "") -> None:
        text = error.name if not detail else f"{error.name}: {detail}"
        super().__init__(text)
        self.error = error
        self.detail = detail


class ScriptNumError(ScriptFailure):
    """A numeric operand longer than allowed or not minimally encoded (Core's scriptnum_error)."""

    def __init__(self, detail: str) -> None:
        super().__init__(ScriptError.SCRIPTNUM, detail)


class ScriptDecodeError(ScriptPackageError):
    """Script bytes that do not split into opcodes: a push runs past the end of the script."""


class ScriptParseError(ScriptPackageError):
    """Script text (Core's ParseScript format) that does not parse."""


class FlagsError(ScriptPackageError):
    """An unknown verification flag name, or a flag combination Core refuses to run with."""
