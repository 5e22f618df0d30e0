"""Signed spends through verify_input: P2PKH, P2WPKH, P2SH-P2WSH multisig, taproot key and script paths.

Core's script vectors carry no tapscript signatures, so these build real ones (BIP340 via our
schnorr module) and check the BIP341/342 rules around them: hash types, annex, OP_CODESEPARATOR
position, CHECKSIGADD, the validation-weight budget, OP_SUCCESSx, control blocks, leaf versions.
"""

from __future__ import annotations

import dataclasses

from core.consensus.hashes import Txid, hash160, sha256
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.crypto.schnorr import schnorr_sign, xonly_pubkey_from_privkey
from core.crypto.taproot import TapBranch, TapLeaf, taproot_info, taproot_tweak_seckey
from core.script.errors import ScriptError
from core.script.flags import MANDATORY_SCRIPT_VERIFY_FLAGS, STANDARD_SCRIPT_VERIFY_FLAGS, ScriptFlags
from core.script.interpreter import verify_input
from core.script.script import parse_script_str, push_data
from core.script.sighash import (
    SIGHASH_ALL,
    PrecomputedTxData,
    legacy_sighash,
    segwit_v0_sighash,
    taproot_sighash,
)

E = ScriptError
STANDARD = STANDARD_SCRIPT_VERIFY_FLAGS
MANDATORY = MANDATORY_SCRIPT_VERIFY_FLAGS
AMOUNT = 100_000
SK_A = (7).to_bytes(32, "big")
SK_B = (11).to_bytes(32, "big")
PK_A = pubkey_from_privkey(SK_A)
PK_B = pubkey_from_privkey(SK_B)
X_A = xonly_pubkey_from_privkey(SK_A)
X_B = xonly_pubkey_from_privkey(SK_B)
AUX = bytes(32)


def _tx(script_sig: bytes = b"", witness: tuple[bytes, ...] = ()) -> Transaction:
    txin = TxIn(OutPoint(Txid(b"\x11" * 32), 3), script_sig, 0xFFFFFFFD, witness)
    return Transaction(version=2, vin=(txin,), vout=(TxOut(AMOUNT - 500, b"\x51"),), locktime=0)


def _with(tx: Transaction, script_sig: bytes = b"", witness: tuple[bytes, ...] = ()) -> Transaction:
    return dataclasses.replace(tx, vin=(dataclasses.replace(tx.vin[0], script_sig=script_sig, witness=witness),))


def _verify(tx: Transaction, spk: bytes, flags: int = STANDARD, amount: int = AMOUNT) -> ScriptError | None:
    return verify_input(tx, 0, [TxOut(amount, spk)], flags)


def _ecdsa(sk: bytes, sighash: bytes, hash_type: int = SIGHASH_ALL) -> bytes:
    return ecdsa_sign(sk, sighash) + bytes((hash_type,))


# --- ECDSA ------------------------------------------------------------------------------------------


def test_p2pkh() -> None:
    spk = b"\x76\xa9\x14" + hash160(PK_A) + b"\x88\xac"
    tx = _tx()
    sig = _ecdsa(SK_A, legacy_sighash(tx, 0, spk, SIGHASH_ALL))
    assert _verify(_with(tx, push_data(sig) + push_data(PK_A)), spk) is None
    wrong = _ecdsa(SK_B, legacy_sighash(tx, 0, spk, SIGHASH_ALL))
    assert _verify(_with(tx, push_data(wrong) + push_data(PK_A)), spk) is E.NULLFAIL
    assert _verify(_with(tx, push_data(wrong) + push_data(PK_A)), spk, MANDATORY) is E.EVAL_FALSE
    assert _verify(_with(tx, push_data(sig) + push_data(PK_B)), spk) is E.EQUALVERIFY


def test_p2wpkh() -> None:
    spk = b"\x00\x14" + hash160(PK_A)
    code = b"\x76\xa9\x14" + hash160(PK_A) + b"\x88\xac"
    tx = _tx()
    sig = _ecdsa(SK_A, segwit_v0_sighash(tx, 0, code, AMOUNT, SIGHASH_ALL))
    assert _verify(_with(tx, witness=(sig, PK_A)), spk) is None
    # BIP143 commits to the amount.
    assert _verify(_with(tx, witness=(sig, PK_A)), spk, amount=AMOUNT + 1) is E.NULLFAIL
    assert _verify(_with(tx, witness=(sig, PK_A, b"")), spk) is E.WITNESS_PROGRAM_MISMATCH
    assert _verify(_with(tx, b"\x00", (sig, PK_A)), spk) is E.WITNESS_MALLEATED
    # Uncompressed keys are non-standard in segwit.
    pk_u = pubkey_from_privkey(SK_A, compressed=False)
    spk_u = b"\x00\x14" + hash160(pk_u)
    code_u = b"\x76\xa9\x14" + hash160(pk_u) + b"\x88\xac"
    sig_u = _ecdsa(SK_A, segwit_v0_sighash(tx, 0, code_u, AMOUNT, SIGHASH_ALL))
    assert _verify(_with(tx, witness=(sig_u, pk_u)), spk_u) is E.WITNESS_PUBKEYTYPE
    assert _verify(_with(tx, witness=(sig_u, pk_u)), spk_u, MANDATORY) is None


def test_p2sh_p2wsh_multisig() -> None:
    ws = b"\x52" + push_data(PK_A) + push_data(PK_B) + b"\x52\xae"
    redeem = b"\x00\x20" + sha256(ws)
    spk = b"\xa9\x14" + hash160(redeem) + b"\x87"
    tx = _tx()
    digest = segwit_v0_sighash(tx, 0, ws, AMOUNT, SIGHASH_ALL)
    sig_a, sig_b = _ecdsa(SK_A, digest), _ecdsa(SK_B, digest)
    assert _verify(_with(tx, push_data(redeem), (b"", sig_a, sig_b, ws)), spk) is None
    assert _verify(_with(tx, push_data(redeem), (b"", sig_b, sig_a, ws)), spk) is E.NULLFAIL
    assert _verify(_with(tx, push_data(redeem), (b"\x01", sig_a, sig_b, ws)), spk) is E.SIG_NULLDUMMY
    # The scriptSig must be exactly one push of the redeem script.
    malleated = b"\x4c" + bytes((len(redeem),)) + redeem
    assert _verify(_with(tx, malleated, (b"", sig_a, sig_b, ws)), spk, MANDATORY) is E.WITNESS_MALLEATED_P2SH
    assert _verify(_with(tx, malleated, (b"", sig_a, sig_b, ws)), spk) is E.MINIMALDATA


# --- taproot key path -------------------------------------------------------------------------------


def _key_path() -> tuple[bytes, bytes]:
    info = taproot_info(X_A, None)
    return info.script_pubkey, taproot_tweak_seckey(SK_A, None)


def _tr_sighash(tx: Transaction, spk: bytes, hash_type: int = 0, **kw: object) -> bytes:
    digest = taproot_sighash(tx, 0, hash_type, PrecomputedTxData(tx, [TxOut(AMOUNT, spk)]), **kw)
    assert digest is not None
    return digest


def test_taproot_key_path() -> None:
    spk, tweaked = _key_path()
    tx = _tx()
    sig = schnorr_sign(tweaked, _tr_sighash(tx, spk), AUX)
    assert _verify(_with(tx, witness=(sig,)), spk) is None
    sig_all = schnorr_sign(tweaked, _tr_sighash(tx, spk, SIGHASH_ALL), AUX) + b"\x01"
    assert _verify(_with(tx, witness=(sig_all,)), spk) is None
    assert _verify(_with(tx, witness=(sig + b"\x00",)), spk) is E.SCHNORR_SIG_HASHTYPE
    assert _verify(_with(tx, witness=(sig + b"\x04",)), spk) is E.SCHNORR_SIG_HASHTYPE
    assert _verify(_with(tx, witness=(sig[:63],)), spk) is E.SCHNORR_SIG_SIZE
    assert _verify(_with(tx, witness=(bytes(64),)), spk) is E.SCHNORR_SIG
    assert _verify(_with(tx, witness=()), spk) is E.WITNESS_PROGRAM_WITNESS_EMPTY
    # Without TAPROOT the output is anyone-can-spend.
    assert _verify(_with(tx, witness=(bytes(64),)), spk, ScriptFlags.P2SH | ScriptFlags.WITNESS) is None


def test_taproot_annex() -> None:
    spk, tweaked = _key_path()
    tx = _tx()
    annex = b"\x50\x01\x02"
    sig = schnorr_sign(tweaked, _tr_sighash(tx, spk, annex=annex), AUX)
    assert _verify(_with(tx, witness=(sig, annex)), spk) is None
    assert _verify(_with(tx, witness=(sig,)), spk) is E.SCHNORR_SIG
    plain = schnorr_sign(tweaked, _tr_sighash(tx, spk), AUX)
    assert _verify(_with(tx, witness=(plain, annex)), spk) is E.SCHNORR_SIG


# --- tapscript --------------------------------------------------------------------------------------

CHECKSIG_A = push_data(X_A) + b"\xac"
MULTI_A = push_data(X_A) + b"\xac" + push_data(X_B) + b"\xba\x52\x9c"  # A CHECKSIG B CHECKSIGADD 2 NUMEQUAL
CODESEP = b"\xab" + CHECKSIG_A
SUCCESS = b"\x50"
WEIGHTY = (b"\x76" + push_data(X_A) + b"\xad") * 20 + CHECKSIG_A  # (DUP A CHECKSIGVERIFY) x20, A CHECKSIG
LEAVES = [
    TapLeaf(CHECKSIG_A),
    TapLeaf(MULTI_A),
    TapLeaf(CODESEP),
    TapLeaf(SUCCESS),
    TapLeaf(WEIGHTY),
    TapLeaf(b"\x51", leaf_version=0xC2),
    TapLeaf(parse_script_str("IF 1 ELSE 1 ENDIF")),
    TapLeaf(b"\x51\x00\x51\xae"),  # 1 0 1 CHECKMULTISIG
    TapLeaf(push_data(bytes(33)) + b"\xac"),  # unknown public key type
]
TREE = TapBranch(
    TapBranch(TapBranch(LEAVES[0], LEAVES[1]), TapBranch(LEAVES[2], LEAVES[3])),
    TapBranch(TapBranch(LEAVES[4], LEAVES[5]), TapBranch(LEAVES[6], TapBranch(LEAVES[7], LEAVES[8]))),
)
INFO = taproot_info(X_B, TREE)
SPK = INFO.script_pubkey
CONTROL = {info.leaf.script: INFO.control_block(info) for info in INFO.leaves}


def _leaf_sig(tx: Transaction, sk: bytes, script: bytes, codesep_pos: int = 0xFFFFFFFF, annex=None) -> bytes:
    leaf_hash = next(i.leaf_hash for i in INFO.leaves if i.leaf.script == script)
    digest = _tr_sighash(tx, SPK, ext_flag=1, leaf_hash=leaf_hash, codesep_pos=codesep_pos, annex=annex)
    return schnorr_sign(sk, digest, AUX)


def _spend(tx: Transaction, stack: tuple[bytes, ...], script: bytes, flags: int = STANDARD, annex=None):
    witness = (*stack, script, CONTROL[script]) + ((annex,) if annex else ())
    return _verify(_with(tx, witness=witness), SPK, flags)


def test_tapscript_checksig_and_checksigadd() -> None:
    tx = _tx()
    assert _spend(tx, (_leaf_sig(tx, SK_A, CHECKSIG_A),), CHECKSIG_A) is None
    assert _spend(tx, (b"",), CHECKSIG_A) is E.EVAL_FALSE  # empty signature: a clean "false"
    assert _spend(tx, (_leaf_sig(tx, SK_B, CHECKSIG_A),), CHECKSIG_A) is E.SCHNORR_SIG
    sig_a, sig_b = _leaf_sig(tx, SK_A, MULTI_A), _leaf_sig(tx, SK_B, MULTI_A)
    assert _spend(tx, (sig_b, sig_a), MULTI_A) is None
    assert _spend(tx, (b"", sig_a), MULTI_A) is E.EVAL_FALSE


def test_tapscript_codeseparator_position() -> None:
    tx = _tx()
    assert _spend(tx, (_leaf_sig(tx, SK_A, CODESEP, codesep_pos=0),), CODESEP) is None
    assert _spend(tx, (_leaf_sig(tx, SK_A, CODESEP),), CODESEP) is E.SCHNORR_SIG


def test_tapscript_validation_weight() -> None:
    tx = _tx()
    sig = _leaf_sig(tx, SK_A, WEIGHTY)
    assert _spend(tx, (sig,), WEIGHTY) is E.TAPSCRIPT_VALIDATION_WEIGHT
    # A large annex enlarges the witness and with it the budget (the signature commits to it).
    annex = b"\x50" + bytes(300)
    assert _spend(tx, (_leaf_sig(tx, SK_A, WEIGHTY, annex=annex),), WEIGHTY, annex=annex) is None


def test_tapscript_rules() -> None:
    tx = _tx()
    assert _spend(tx, (), SUCCESS, MANDATORY) is None
    assert _spend(tx, (), SUCCESS) is E.DISCOURAGE_OP_SUCCESS
    assert _spend(tx, (), b"\x51", MANDATORY) is None  # unknown leaf version 0xc2
    assert _spend(tx, (), b"\x51") is E.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION
    ifscript = LEAVES[6].script
    assert _spend(tx, (b"\x01",), ifscript) is None
    assert _spend(tx, (b"\x02",), ifscript, MANDATORY) is E.TAPSCRIPT_MINIMALIF
    assert _spend(tx, (), LEAVES[7].script) is E.TAPSCRIPT_CHECKMULTISIG
    # A non-empty signature for an unknown key type succeeds (and is charged to the budget).
    unknown = LEAVES[8].script
    assert _spend(tx, (b"\x01",), unknown, MANDATORY) is None
    assert _spend(tx, (b"\x01",), unknown) is E.DISCOURAGE_UPGRADABLE_PUBKEYTYPE


def test_taproot_control_block() -> None:
    tx = _tx()
    sig = _leaf_sig(tx, SK_A, CHECKSIG_A)
    control = CONTROL[CHECKSIG_A]
    for bad in (control[:-1], control + b"\x00", control[:32]):
        witness = (sig, CHECKSIG_A, bad)
        assert _verify(_with(tx, witness=witness), SPK) is E.TAPROOT_WRONG_CONTROL_SIZE
    flipped = bytes((control[0] ^ 1,)) + control[1:]  # wrong output key parity
    assert _verify(_with(tx, witness=(sig, CHECKSIG_A, flipped)), SPK) is E.WITNESS_PROGRAM_MISMATCH
    assert _verify(_with(tx, witness=(sig, MULTI_A, control)), SPK) is E.WITNESS_PROGRAM_MISMATCH
    # Wrapped in P2SH a v1 program is not taproot: anyone-can-spend, but discouraged.
    redeem = SPK
    p2sh = b"\xa9\x14" + hash160(redeem) + b"\x87"
    wrapped = _with(tx, push_data(redeem), (sig,))
    assert _verify(wrapped, p2sh, MANDATORY) is None
    assert _verify(wrapped, p2sh) is E.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM
