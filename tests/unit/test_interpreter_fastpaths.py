"""Differential tests: the interpreter's straight-line paths agree with the generic script loop.

verify_script skips evaluating a witness-program scriptPubKey (it only pushes two items) and runs
P2WPKH's implied P2PKH script as straight-line code. Here both are compared, error for error,
against eval_script / execute_witness_script over many signed, mutated and malformed spends.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Txid, hash160
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.script.checker import ScriptExecutionData, SigVersion, TransactionSignatureChecker
from core.script.errors import ScriptError, ScriptFailure
from core.script.evalscript import eval_script
from core.script.flags import ScriptFlags
from core.script.interpreter import execute_witness_script, verify_input
from core.script.sighash import SIGHASH_ALL, PrecomputedTxData, segwit_v0_sighash

AMOUNT = 50_000
FLAG_BITS = [int(f) for f in ScriptFlags if f]


def _flags(bits: list[bool]) -> int:
    flags = int(ScriptFlags.P2SH | ScriptFlags.WITNESS)
    for on, f in zip(bits, FLAG_BITS, strict=False):
        if on:
            flags |= f
    return flags


def _generic_p2wpkh(tx: Transaction, spk: bytes, flags: int) -> ScriptError | None:
    txin = tx.vin[0]
    if len(txin.witness) != 2:
        return ScriptError.WITNESS_PROGRAM_MISMATCH
    script = b"\x76\xa9\x14" + spk[2:] + b"\x88\xac"
    txdata = PrecomputedTxData(tx, [TxOut(AMOUNT, spk)])
    checker = TransactionSignatureChecker(tx, 0, AMOUNT, txdata)
    try:
        execute_witness_script(list(txin.witness), script, flags, SigVersion.WITNESS_V0, checker, ScriptExecutionData())
    except ScriptFailure as e:
        return e.error
    return None


@st.composite
def p2wpkh_spend(draw: st.DrawFn) -> tuple[Transaction, bytes, int]:
    sk = draw(st.integers(1, 2**64)).to_bytes(32, "big")
    pub = pubkey_from_privkey(sk, compressed=draw(st.booleans()))
    key_for_spk = pub if draw(st.integers(0, 9)) else draw(st.binary(min_size=33, max_size=33))
    spk = b"\x00\x14" + hash160(key_for_spk)
    unsigned = Transaction(2, (TxIn(OutPoint(Txid(bytes(32)), 0), b"", 0xFFFFFFFD),), (TxOut(AMOUNT - 300, b"\x51"),), 0)
    hash_type = draw(st.sampled_from([SIGHASH_ALL, 2, 3, 0x81, 0x83, 0, 4, 0x41]))
    code = b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
    digest = segwit_v0_sighash(unsigned, 0, code, AMOUNT, hash_type & 0xFF, PrecomputedTxData(unsigned, [TxOut(AMOUNT, spk)]))
    sig = ecdsa_sign(sk, digest) + bytes((hash_type,))
    mutation = draw(st.integers(0, 6))
    if mutation == 1:
        sig = b""
    elif mutation == 2:
        i = draw(st.integers(0, len(sig) - 1))
        sig = sig[:i] + bytes(((sig[i] + draw(st.integers(1, 255))) & 0xFF,)) + sig[i + 1 :]
    elif mutation == 3:
        sig = bytes(521)
    witness: tuple[bytes, ...] = (sig, pub)
    if mutation == 4:
        witness = (sig, pub, b"")
    elif mutation == 5:
        witness = (sig,)
    tx = Transaction(2, (TxIn(unsigned.vin[0].prevout, b"", 0xFFFFFFFD, witness),), unsigned.vout, 0)
    return tx, spk, _flags(draw(st.lists(st.booleans(), min_size=len(FLAG_BITS), max_size=len(FLAG_BITS))))


@settings(max_examples=300, deadline=None)
@given(p2wpkh_spend())
def test_p2wpkh_fast_path_matches_generic(case: tuple[Transaction, bytes, int]) -> None:
    tx, spk, flags = case
    if flags & ScriptFlags.CLEANSTACK and not flags & ScriptFlags.WITNESS:
        return
    fast = verify_input(tx, 0, [TxOut(AMOUNT, spk)], flags)
    assert fast == _generic_p2wpkh(tx, spk, flags)


def test_p2wpkh_paths_agree_on_a_valid_spend() -> None:
    sk = (5).to_bytes(32, "big")
    pub = pubkey_from_privkey(sk)
    spk = b"\x00\x14" + hash160(pub)
    unsigned = Transaction(2, (TxIn(OutPoint(Txid(bytes(32)), 0)),), (TxOut(1, b"\x51"),), 0)
    code = b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
    sig = ecdsa_sign(sk, segwit_v0_sighash(unsigned, 0, code, AMOUNT, SIGHASH_ALL)) + b"\x01"
    tx = Transaction(2, (TxIn(unsigned.vin[0].prevout, b"", 0xFFFFFFFF, (sig, pub)),), unsigned.vout, 0)
    flags = _flags([True] * len(FLAG_BITS))
    assert verify_input(tx, 0, [TxOut(AMOUNT, spk)], flags) is None
    assert _generic_p2wpkh(tx, spk, flags) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 16), st.binary(min_size=2, max_size=40))
def test_witness_program_push_shortcut_matches_eval(version: int, program: bytes) -> None:
    spk = bytes((0x50 + version if version else 0, len(program))) + program
    stack: list[bytes] = []
    eval_script(stack, spk, int(ScriptFlags.P2SH | ScriptFlags.WITNESS | ScriptFlags.MINIMALDATA), None, SigVersion.BASE)
    assert stack == [bytes((version,)) if version else b"", program]
