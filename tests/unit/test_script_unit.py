"""Script parsing, asm text, CScriptNum, FindAndDelete and predicates; hypothesis fuzz of the decoders
and of verify_script (only the script package's own errors may come out)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign
from core.script.checker import BaseSignatureChecker, TransactionSignatureChecker
from core.script.errors import (
    FlagsError,
    ScriptDecodeError,
    ScriptError,
    ScriptFailure,
    ScriptNumError,
    ScriptParseError,
)
from core.script.flags import (
    ALL_FLAGS,
    MANDATORY_SCRIPT_VERIFY_FLAGS,
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptFlags,
    format_flags,
    is_valid_flag_combination,
    parse_flags,
)
from core.script.interpreter import verify_script
from core.script.opcodes import Opcode, get_op_name, is_op_success
from core.script.script import (
    count_p2sh_sigops,
    count_sigops,
    find_and_delete,
    is_p2sh,
    is_push_only,
    iter_ops,
    parse_script_str,
    push_data,
    push_data_minimal,
    push_int,
    script_to_asm,
    witness_program,
)
from core.script.scriptnum import cast_to_bool, decode_num, encode_num, num_to_int32
from core.script.sighash import PrecomputedTxData

PKH = "751e76e8199196d454941c45d1b3a323f1433bd6"
PK = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
X32 = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"


# --- asm: what Core's decodescript / decoderawtransaction print ------------------------------------


@pytest.mark.parametrize(
    ("script_hex", "asm"),
    [
        (f"76a914{PKH}88ac", f"OP_DUP OP_HASH160 {PKH} OP_EQUALVERIFY OP_CHECKSIG"),
        (f"0014{PKH}", f"0 {PKH}"),
        (f"5120{X32}", f"1 {X32}"),
        (f"a914{PKH}87", f"OP_HASH160 {PKH} OP_EQUAL"),
        (f"5221{PK}21{PK}52ae", f"2 {PK} {PK} 2 OP_CHECKMULTISIG"),
        ("6a0568656c6c6f", "OP_RETURN 68656c6c6f"),
        ("6a04deadbeef", "OP_RETURN -1874767326"),  # pushes up to 4 bytes print as CScriptNum
        ("0100", "0"),
        ("0180", "0"),  # negative zero
        ("02ff00", "255"),
        ("4f", "-1"),
        ("4c0107", "7"),
        ("50", "OP_RESERVED"),
        ("b1b2", "OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY"),
        ("ba", "OP_CHECKSIGADD"),
        ("bb", "OP_UNKNOWN"),
        ("ff", "OP_INVALIDOPCODE"),
        ("0201", "[error]"),
        ("4c", "[error]"),
        ("51 4d0100".replace(" ", ""), "1 [error]"),
        ("", ""),
    ],
)
def test_script_to_asm(script_hex: str, asm: str) -> None:
    assert script_to_asm(bytes.fromhex(script_hex)) == asm


def test_asm_sighash_decode() -> None:
    der = ecdsa_sign(b"\x01" * 32, b"\x02" * 32)
    script_sig = push_data(der + b"\x01") + push_data(bytes.fromhex(PK))
    assert script_to_asm(script_sig, attempt_sighash_decode=True) == f"{der.hex()}[ALL] {PK}"
    assert script_to_asm(script_sig) == f"{der.hex()}01 {PK}"
    acp = push_data(der + b"\x83")
    assert script_to_asm(acp, attempt_sighash_decode=True) == f"{der.hex()}[SINGLE|ANYONECANPAY]"
    # Undefined hash type, and OP_RETURN outputs, are never decoded.
    assert script_to_asm(push_data(der + b"\x04"), attempt_sighash_decode=True) == der.hex() + "04"
    op_return = b"\x6a" + push_data(der + b"\x01")
    assert script_to_asm(op_return, attempt_sighash_decode=True) == f"OP_RETURN {der.hex()}01"


def test_get_op_name() -> None:
    assert get_op_name(0) == "0"
    assert get_op_name(Opcode.OP_16) == "16"
    assert get_op_name(Opcode.OP_NOP2) == "OP_CHECKLOCKTIMEVERIFY"
    assert get_op_name(0x01) == "OP_UNKNOWN"
    assert Opcode.OP_FALSE is Opcode.OP_0 and Opcode.OP_TRUE is Opcode.OP_1
    assert Opcode.OP_CHECKSIGADD == 0xBA and Opcode.OP_INVALIDOPCODE == 0xFF
    assert is_op_success(0x50) and is_op_success(0x7E) and is_op_success(0xFE)
    assert not is_op_success(0xBA) and not is_op_success(0xFF) and not is_op_success(0xAC)


# --- ParseScript -------------------------------------------------------------------------------------


def test_parse_script_str() -> None:
    assert parse_script_str("") == b""
    assert parse_script_str("  DUP\tHASH160\n") == bytes((0x76, 0xA9))
    assert parse_script_str("OP_DUP DUP") == bytes((0x76, 0x76))
    assert parse_script_str("0 -1 1 16 17 -2") == bytes.fromhex("004f51600111 0182".replace(" ", ""))
    assert parse_script_str("1000 0xffffffff") == bytes.fromhex("02e803ffffffff")
    assert parse_script_str("0x4c 0x01 0x07") == bytes.fromhex("4c0107")
    assert parse_script_str("'Az' ''") == bytes.fromhex("02417a00")
    assert parse_script_str("'" + "a" * 80 + "'") == b"\x4c\x50" + b"a" * 80
    assert parse_script_str("4294967295 -4294967295") == bytes.fromhex("05ffffffff00 05ffffffff80".replace(" ", ""))
    assert parse_script_str("RESERVED NOP10 CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY") == bytes.fromhex("50b9b1b2")


@pytest.mark.parametrize(
    "text",
    ["4294967296", "-4294967296", "FOO", "OP_1", "1NEGATE", "TRUE", "NOP2", "CHECKSIGADD", "0x", "0xabc", "0xzz", "'"],
)
def test_parse_script_str_rejects(text: str) -> None:
    with pytest.raises(ScriptParseError):
        parse_script_str(text)


# --- pushes, CScriptNum -----------------------------------------------------------------------------


def test_push_encodings() -> None:
    assert push_data(b"") == b"\x00"
    assert push_data(b"\x05") == b"\x01\x05"
    assert push_data(b"x" * 75)[:1] == b"\x4b"
    assert push_data(b"x" * 76)[:2] == b"\x4c\x4c"
    assert push_data(b"x" * 256)[:3] == b"\x4d\x00\x01"
    assert push_data(b"x" * 65536)[:5] == b"\x4e\x00\x00\x01\x00"
    assert push_data_minimal(b"\x05") == b"\x55"
    assert push_data_minimal(b"\x81") == b"\x4f"
    assert push_data_minimal(b"\x11") == b"\x01\x11"
    assert push_int(0) == b"\x00" and push_int(-1) == b"\x4f" and push_int(16) == b"\x60"
    assert push_int(17) == b"\x01\x11" and push_int(-17) == b"\x01\x91"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, ""),
        (1, "01"),
        (-1, "81"),
        (127, "7f"),
        (128, "8000"),
        (-128, "8080"),
        (255, "ff00"),
        (-255, "ff80"),
        (256, "0001"),
        (0x7FFFFFFF, "ffffff7f"),
        (-0x7FFFFFFF, "ffffffff"),
        (0x80000000, "0000008000"),
        (-0x80000000, "0000008080"),
        (2**39 - 1, "ffffffff7f"),
    ],
)
def test_scriptnum_roundtrip(value: int, encoded: str) -> None:
    assert encode_num(value).hex() == encoded
    assert decode_num(bytes.fromhex(encoded), True, 5) == value


def test_scriptnum_limits() -> None:
    with pytest.raises(ScriptNumError):
        decode_num(bytes(5), False)  # default limit: 4 bytes
    assert decode_num(bytes(5), False, 5) == 0
    for non_minimal in ("00", "80", "0100", "0080", "ff0000"):
        with pytest.raises(ScriptNumError) as exc:
            decode_num(bytes.fromhex(non_minimal), True)
        assert exc.value.error is ScriptError.SCRIPTNUM
        decode_num(bytes.fromhex(non_minimal), False)  # fine without MINIMALDATA
    assert decode_num(b"\x00\x80", False) == 0  # negative zero
    assert num_to_int32(2**40) == 0x7FFFFFFF and num_to_int32(-(2**40)) == -0x80000000
    assert not cast_to_bool(b"") and not cast_to_bool(b"\x00\x00") and not cast_to_bool(b"\x00\x80")
    assert cast_to_bool(b"\x80\x00") and cast_to_bool(b"\x00\x01") and cast_to_bool(b"\x01")


# --- FindAndDelete and predicates (cases from Core's script_FindAndDelete test) ------------------------


@pytest.mark.parametrize(
    ("script", "pattern", "expect", "count"),
    [
        ("5152", "52", "51", 1),
        ("0302ff03", "0302ff03", "", 1),
        ("0302ff030302ff03", "0302ff03", "", 2),
        ("0302ff030302ff03", "02", "0302ff030302ff03", 0),  # not at an opcode boundary
        ("0302ff030302ff03", "ff", "0302ff030302ff03", 0),
        ("0302ff030302ff03", "03", "02ff0302ff03", 2),  # strips the push prefix, leaving 02ff03
        ("02", "02", "", 1),  # a truncated push is still matched at its start
        ("0302ff03ab", "ab", "0302ff03", 1),
        ("ab61ab", "ab", "61", 2),
        ("5152", "", "5152", 0),
    ],
)
def test_find_and_delete(script: str, pattern: str, expect: str, count: int) -> None:
    out, n = find_and_delete(bytes.fromhex(script), bytes.fromhex(pattern))
    assert (out.hex(), n) == (expect, count)


def test_predicates_and_sigops() -> None:
    assert witness_program(bytes.fromhex(f"0014{PKH}")) == (0, bytes.fromhex(PKH))
    assert witness_program(bytes.fromhex(f"5120{X32}")) == (1, bytes.fromhex(X32))
    assert witness_program(bytes.fromhex("6002abcd")) == (16, bytes.fromhex("abcd"))
    assert witness_program(bytes.fromhex("0001ab")) is None  # program shorter than 2
    assert witness_program(bytes.fromhex("4f02abcd")) is None
    assert is_p2sh(bytes.fromhex(f"a914{PKH}87")) and not is_p2sh(bytes.fromhex(f"a914{PKH}88"))
    assert is_push_only(bytes.fromhex("00515f4f50")) and not is_push_only(bytes.fromhex("0061"))
    assert not is_push_only(bytes.fromhex("4c"))
    multisig = bytes.fromhex(f"5221{PK}21{PK}52ae")
    assert count_sigops(multisig, True) == 2 and count_sigops(multisig, False) == 20
    assert count_sigops(bytes.fromhex("acadaeaf"), True) == 42
    assert count_sigops(bytes.fromhex("ac4c"), True) == 1  # counting stops at a bad push
    p2sh = bytes.fromhex("a914" + "00" * 20 + "87")
    assert count_p2sh_sigops(p2sh, push_data(multisig)) == 2
    assert count_p2sh_sigops(p2sh, b"\x61" + push_data(multisig)) == 0


def test_flags() -> None:
    assert parse_flags("") == parse_flags("NONE") == ScriptFlags.NONE
    assert parse_flags("P2SH,WITNESS") == ScriptFlags.P2SH | ScriptFlags.WITNESS
    assert format_flags(parse_flags("WITNESS,P2SH")) == "P2SH,WITNESS"
    with pytest.raises(FlagsError):
        parse_flags("P2SH,BOGUS")
    assert STANDARD_SCRIPT_VERIFY_FLAGS & MANDATORY_SCRIPT_VERIFY_FLAGS == MANDATORY_SCRIPT_VERIFY_FLAGS
    assert STANDARD_SCRIPT_VERIFY_FLAGS == ALL_FLAGS & ~(ScriptFlags.SIGPUSHONLY)
    with pytest.raises(FlagsError):
        verify_script(b"", b"\x51", (), ScriptFlags.WITNESS, BaseSignatureChecker())


def test_iter_ops() -> None:
    script = bytes.fromhex("00 4c0107 4d0200abcd 51 ac".replace(" ", ""))
    assert list(iter_ops(script)) == [
        (0, b"", 0),
        (0x4C, b"\x07", 1),
        (0x4D, b"\xab\xcd", 4),
        (0x51, None, 9),
        (0xAC, None, 10),
    ]
    with pytest.raises(ScriptDecodeError):
        list(iter_ops(bytes.fromhex("4e01000000")))


# --- fuzz -------------------------------------------------------------------------------------------

SEED_SCRIPTS = [
    bytes.fromhex(f"76a914{PKH}88ac"),
    bytes.fromhex(f"5221{PK}21{PK}52ae"),
    parse_script_str("1 IF 2 ELSE 3 ENDIF 4 ADD 7 EQUAL"),
    parse_script_str("0x4c 0x02 0x0102 DUP TOALTSTACK FROMALTSTACK 2DUP 3DUP PICK ROLL 0xba"),
]


@st.composite
def _scripts(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=80))
    seed = bytearray(draw(st.sampled_from(SEED_SCRIPTS)))
    for _ in range(draw(st.integers(1, 4))):
        if seed:
            seed[draw(st.integers(0, len(seed) - 1))] = draw(st.integers(0, 255))
    return bytes(seed[: draw(st.integers(0, len(seed)))])


@settings(max_examples=400, deadline=None)
@given(_scripts())
def test_fuzz_decoders(script: bytes) -> None:
    try:
        ops = list(iter_ops(script))
    except ScriptDecodeError:
        ops = None
    asm = script_to_asm(script, attempt_sighash_decode=True)
    assert ("[error]" in asm) == (ops is None)
    if ops is not None:
        # The ops tile the script: each starts where the previous one ended.
        starts = [pos for _, _, pos in ops]
        assert starts == sorted(set(starts)) and (not ops or starts[0] == 0)
    count_sigops(script, True)
    find_and_delete(script, script[:3])
    is_push_only(script)


_TX = Transaction(
    version=2,
    vin=(TxIn(OutPoint(Txid(bytes(range(32))), 0), b"", 0xFFFFFFFE),),
    vout=(TxOut(1000, b"\x51"),),
    locktime=500,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _scripts(),
    _scripts(),
    st.lists(st.binary(max_size=40), max_size=4),
    st.integers(0, int(ALL_FLAGS)),
    st.sampled_from([b"", b"\x00\x14" + bytes(20), b"\x00\x20" + bytes(32), b"\x51\x20" + bytes(32)]),
)
def test_fuzz_verify_script(sig: bytes, spk: bytes, witness: list[bytes], flags: int, program: bytes) -> None:
    spk = program or spk
    txdata = PrecomputedTxData(_TX, [TxOut(1000, spk)])
    checker = TransactionSignatureChecker(_TX, 0, 1000, txdata)
    if not is_valid_flag_combination(flags):
        with pytest.raises(FlagsError):
            verify_script(sig, spk, tuple(witness), flags, checker)
        return
    with contextlib.suppress(ScriptFailure):
        verify_script(sig, spk, tuple(witness), flags, checker)
