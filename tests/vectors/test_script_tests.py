"""Bitcoin Core's script_tests.json: every row run through verify_script as script_tests.cpp does.

Rows are [[wit..., amount]?, scriptSig, scriptPubKey, flags, expected_scripterror, comments...].
Each is evaluated as the only input of a spending transaction whose prevout is output 0 of a
crediting coinbase-like transaction (BuildCreditingTransaction / BuildSpendingTransaction).
Besides the exact error, Core's monotonicity property is checked: removing any one flag from a
passing row keeps it passing, adding any one flag to a failing row keeps it failing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.taproot import TAPROOT_LEAF_TAPSCRIPT, tapleaf_hash, taproot_tweak_pubkey
from core.script.checker import TransactionSignatureChecker
from core.script.errors import ScriptError, ScriptFailure
from core.script.flags import ScriptFlags, is_valid_flag_combination, parse_flags
from core.script.interpreter import verify_script
from core.script.script import parse_script_str
from core.script.sighash import PrecomputedTxData

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
SCRIPT_FLAG = "#SCRIPT#"
# script_tests.cpp's key0 (secret 1): the internal key of the generated taproot outputs.
KEY0_XONLY = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
SINGLE_FLAGS = [f for f in ScriptFlags if f is not ScriptFlags.NONE]


def _load() -> list[tuple[str, list]]:
    rows = json.loads((VECTORS / "core_script_tests.json").read_text(), parse_float=Decimal)
    # Rows of a single string are comments.
    return [(f"row{i:04d}", row) for i, row in enumerate(rows) if len(row) > 1]


CASES = _load()


def _build(row: list) -> tuple[bytes, bytes, tuple[bytes, ...], ScriptFlags, ScriptError, int]:
    """Decode a row like script_json_test: witness, amount, scripts, flags, expected error."""
    witness: list[bytes] = []
    amount = 0
    pos = 0
    spk_override = None
    if isinstance(row[0], list):
        *items, value = row[0]
        for item in items:
            if item.startswith(SCRIPT_FLAG):
                witness.append(parse_script_str(item[len(SCRIPT_FLAG) :]))
            elif item == "#CONTROLBLOCK#":
                # A one-leaf tree over the previous item, internal key key0 (TaprootBuilder).
                merkle_root = tapleaf_hash(witness[-1], TAPROOT_LEAF_TAPSCRIPT)
                output_key, parity = taproot_tweak_pubkey(KEY0_XONLY, merkle_root)
                witness.append(bytes((TAPROOT_LEAF_TAPSCRIPT | parity,)) + KEY0_XONLY)
                spk_override = b"\x51\x20" + output_key
            else:
                witness.append(bytes.fromhex(item))
        amount = int(Decimal(value) * 100_000_000)
        pos = 1
    script_sig = parse_script_str(row[pos])
    spk_text = row[pos + 1]
    if spk_text == "0x51 0x20 #TAPROOTOUTPUT#":
        assert spk_override is not None, "no control block to derive the taproot output from"
        script_pubkey = spk_override
    else:
        script_pubkey = parse_script_str(spk_text)
    flags = parse_flags(row[pos + 2])
    expected = ScriptError[row[pos + 3]]
    return script_sig, script_pubkey, tuple(witness), flags, expected, amount


def _run(
    script_sig: bytes, script_pubkey: bytes, witness: tuple[bytes, ...], flags: int, amount: int
) -> ScriptError:
    credit = Transaction(
        version=1,
        vin=(TxIn(OutPoint(Txid(bytes(32)), 0xFFFFFFFF), b"\x00\x00", 0xFFFFFFFF),),
        vout=(TxOut(amount, script_pubkey),),
        locktime=0,
    )
    spend = Transaction(
        version=1,
        vin=(TxIn(OutPoint(credit.txid, 0), script_sig, 0xFFFFFFFF, witness),),
        vout=(TxOut(amount, b""),),
        locktime=0,
    )
    txdata = PrecomputedTxData(spend, [credit.vout[0]])
    checker = TransactionSignatureChecker(spend, 0, amount, txdata)
    try:
        verify_script(script_sig, script_pubkey, witness, flags, checker)
    except ScriptFailure as e:
        return e.error
    return ScriptError.OK


@pytest.mark.parametrize(("row",), [(row,) for _, row in CASES], ids=[i for i, _ in CASES])
def test_script_vector(row: list) -> None:
    script_sig, script_pubkey, witness, flags, expected, amount = _build(row)
    # DoTest: CLEANSTACK is only meaningful (and only allowed) together with P2SH and WITNESS.
    if flags & ScriptFlags.CLEANSTACK:
        flags |= ScriptFlags.P2SH | ScriptFlags.WITNESS
    got = _run(script_sig, script_pubkey, witness, flags, amount)
    assert got is expected, f"{got.name} where {expected.name} expected: {row}"

    # Removing a flag from a passing test, or adding one to a failing test, keeps the verdict.
    passing = expected is ScriptError.OK
    for flag in SINGLE_FLAGS:
        combined = flags & ~flag if passing else flags | flag
        if combined == flags or not is_valid_flag_combination(combined):
            continue
        verdict = _run(script_sig, script_pubkey, witness, combined, amount)
        assert (verdict is ScriptError.OK) == passing, f"flag {flag.name} changed the verdict: {verdict.name}"
