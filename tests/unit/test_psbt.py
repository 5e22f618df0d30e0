"""PSBT (BIP174/BIP371): the BIPs' test vectors, the BIP174 role example end to end, and round
trips with our own keys through create → update → sign → finalize → extract."""

from __future__ import annotations

import base64
import copy

import pytest

from core.consensus.hashes import Txid, hash160
from core.consensus.network import TESTNET
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.base58 import b58check_decode
from core.crypto.ecdsa import pubkey_from_privkey
from core.crypto.schnorr import xonly_pubkey_from_privkey
from core.crypto.taproot import TapLeaf, tapleaf_hash, taproot_info
from core.crypto.wif import decode_wif
from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.wallet.errors import PsbtError
from core.wallet.psbt import KeyOrigin, parse_psbt, psbt_from_base64, psbt_to_base64, serialize_psbt
from core.wallet.psbt.roles import (
    combine_psbts,
    create_psbt,
    extract_transaction,
    finalize_psbt,
    update_from_provider,
    update_input,
)
from core.wallet.psbt.scripts import multisig_script, p2sh, p2tr, p2wpkh, p2wsh
from core.wallet.psbt.signer import sign_psbt
from tests.unit import psbt_bip_vectors as v

H = 0x80000000


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{i}-{name[:60]}" for i, (name, _) in enumerate(cases)]


# --- BIP test vectors --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "b64"), v.BIP174_INVALID + v.BIP371_INVALID, ids=_ids(v.BIP174_INVALID + v.BIP371_INVALID))
def test_invalid_vectors_rejected(name: str, b64: str) -> None:
    with pytest.raises(PsbtError):
        psbt_from_base64(b64)
    with pytest.raises(PsbtError):
        parse_psbt(base64.b64decode(b64))


_VALID = v.BIP174_VALID + v.BIP371_VALID + v.BIP174_SIGNER


@pytest.mark.parametrize(("name", "b64"), _VALID, ids=_ids(_VALID))
def test_valid_vectors_roundtrip(name: str, b64: str) -> None:
    psbt = psbt_from_base64(b64)
    assert psbt_to_base64(psbt) == b64
    assert serialize_psbt(parse_psbt(base64.b64decode(b64))) == base64.b64decode(b64)


@pytest.mark.parametrize(("name", "b64"), v.BIP174_SIGNER, ids=_ids(v.BIP174_SIGNER))
def test_signer_check_vectors_refused(name: str, b64: str) -> None:
    psbt = psbt_from_base64(b64)
    with pytest.raises(PsbtError):
        sign_psbt(psbt, [bytes(31) + b"\x01"])


def test_valid_vector_fields() -> None:
    """Spot-check decoded fields of the BIP371 key-path vector with a signature."""
    psbt = psbt_from_base64(v.BIP371_VALID[1][1])
    inp = psbt.inputs[0]
    assert inp.tap_key_sig is not None and len(inp.tap_key_sig) == 64
    assert inp.tap_internal_key is not None and len(inp.tap_internal_key) == 32
    (origin,) = inp.tap_bip32_derivation.values()
    assert origin.leaf_hashes == () and len(origin.origin.path) == 5


# --- BIP174 role example -------------------------------------------------------------------------

_TPRV = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"
_PUBKEYS = [
    "029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f",
    "02dab61ff49a14db6a7d02b0cd1fbb78fc4b18312b5b4e54dae4dba2fbfef536d7",
    "03089dc10c7ac6db54f91329af617333db388cead0c231f723379d1b99030b02dc",
    "023add904f3d6dcf59ddb906b0dee23529b7ffb9ed50e5e86151926860221f0e73",
    "03a9a4c37f5996d3aa25dbac6b570af0650394492942460b354753ed9eeca58771",
    "027f6399757d2eff55a136ad02c684b1838b6556e5f1b6b34282a94b6b50051096",
]
_SCRIPTS = [
    "5221029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f2102dab61ff49a14db6a7d02b0cd1fbb78fc4b18312b5b4e54dae4dba2fbfef536d752ae",
    "00208c2353173743b595dfb4a07b72ba8e42e3797da74e87fe7d9d7497e3b2028903",
    "522103089dc10c7ac6db54f91329af617333db388cead0c231f723379d1b99030b02dc21023add904f3d6dcf59ddb906b0dee23529b7ffb9ed50e5e86151926860221f0e7352ae",
]
_SIGNER_1 = ["cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQr", "cR6SXDoyfQrcp4piaiHE97Rsgta9mNhGTen9XeonVgwsh4iSgw6d"]
_SIGNER_2 = ["cT7J9YpCwY3AVRFSjN6ukeEeWY6mhpbJPxRaDaP5QTdygQRxP9Au", "cNBc3SWUip9PPm1GjRoLEJT6T41iNzCYtD7qro84FMnM5zEqeJsE"]


def _hex(psbt) -> str:
    return serialize_psbt(psbt).hex()


@pytest.fixture(scope="module")
def updated() -> dict:
    """Creator and Updater steps of the BIP174 example, checked against the BIP's PSBTs."""
    tx = Transaction(
        2,
        (
            TxIn(OutPoint(Txid.from_hex("75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858"), 0)),
            TxIn(OutPoint(Txid.from_hex("1dea7cd05979072a3578cab271c02244ea8a090bbb46aa680a65ecd027048d83"), 1)),
        ),
        (
            TxOut(149_990_000, bytes.fromhex("0014d85c2b71d0060b09c9886aeb815e50991dda124d")),
            TxOut(100_000_000, bytes.fromhex("001400aea9a2e5f0f876a588df5546e8742d1d87008f")),
        ),
    )
    psbt = create_psbt(tx)
    out = {"creator": _hex(psbt)}
    master = b58check_decode(_TPRV)
    fingerprint = hash160(pubkey_from_privkey(master[46:78]))[:4]
    origins = {bytes.fromhex(k): KeyOrigin(fingerprint, (H, H, H + n)) for n, k in enumerate(_PUBKEYS)}
    prev = [Transaction.from_hex(h) for h in v.PREV_TXS]
    update_from_provider(psbt, prev, [bytes.fromhex(s) for s in _SCRIPTS], origins)
    out["updater"] = _hex(psbt)
    for i in range(len(psbt.inputs)):
        update_input(psbt, i, sighash_type=1)
    out["sighash"] = _hex(psbt)
    out["psbt"] = psbt
    return out


def test_bip174_creator(updated: dict) -> None:
    assert updated["creator"] == v.CREATOR


def test_bip174_updater(updated: dict) -> None:
    assert updated["updater"] == v.UPDATER
    assert updated["sighash"] == v.UPDATER_SIGHASH


def _signed(psbt, wifs: list[str]):
    psbt = copy.deepcopy(psbt)
    assert sign_psbt(psbt, [decode_wif(w, TESTNET).secret for w in wifs]) == 2
    return psbt


def test_bip174_signers(updated: dict) -> None:
    assert _hex(_signed(updated["psbt"], _SIGNER_1)) == v.SIGNER_1
    assert _hex(_signed(updated["psbt"], _SIGNER_2)) == v.SIGNER_2


def test_bip174_combiner_finalizer_extractor() -> None:
    combined = combine_psbts([parse_psbt(bytes.fromhex(v.SIGNER_1)), parse_psbt(bytes.fromhex(v.SIGNER_2))])
    assert _hex(combined) == v.COMBINED
    assert finalize_psbt(combined)
    assert _hex(combined) == v.FINALIZED
    assert extract_transaction(combined).serialize().hex() == v.EXTRACTED_TX


def test_bip174_combiner_unknown_keys() -> None:
    a, b = parse_psbt(bytes.fromhex(v.UNKNOWN_1)), parse_psbt(bytes.fromhex(v.UNKNOWN_2))
    assert _hex(combine_psbts([a, b])) == v.UNKNOWN_COMBINED


def test_combine_refuses_conflicts_and_other_tx() -> None:
    a = parse_psbt(bytes.fromhex(v.SIGNER_1))
    b = copy.deepcopy(a)
    pk = next(iter(b.inputs[0].partial_sigs))
    b.inputs[0].partial_sigs[pk] = b.inputs[0].partial_sigs[pk][:-1] + b"\x02"
    with pytest.raises(PsbtError, match="conflicting"):
        combine_psbts([a, b])
    with pytest.raises(PsbtError, match="different transactions"):
        combine_psbts([a, parse_psbt(bytes.fromhex(v.UNKNOWN_1))])


def test_extract_refuses_unfinalized() -> None:
    with pytest.raises(PsbtError, match="not finalized"):
        extract_transaction(parse_psbt(bytes.fromhex(v.COMBINED)))


# --- round trips with our own keys ---------------------------------------------------------------

_SECRETS = [bytes([i]) * 32 for i in (1, 2, 3, 4)]
_FUND = Txid(bytes(range(32)))


def _spend(utxos: list[TxOut]) -> tuple[object, list[TxOut]]:
    tx = Transaction(
        2,
        tuple(TxIn(OutPoint(_FUND, n), sequence=0xFFFFFFFD) for n in range(len(utxos))),
        (TxOut(sum(u.value for u in utxos) - 1000, p2wpkh(pubkey_from_privkey(_SECRETS[3]))),),
    )
    return create_psbt(tx), utxos


def _finish(psbt, utxos: list[TxOut]) -> Transaction:
    # Through the wire format between roles, as separate programs would do it.
    psbt = psbt_from_base64(psbt_to_base64(psbt))
    assert finalize_psbt(psbt)
    tx = extract_transaction(psbt)
    for i in range(len(tx.vin)):
        assert verify_input(tx, i, utxos, STANDARD_SCRIPT_VERIFY_FLAGS) is None
    return tx


def test_roundtrip_p2wpkh_and_taproot_key_path() -> None:
    pk0 = pubkey_from_privkey(_SECRETS[0])
    internal = xonly_pubkey_from_privkey(_SECRETS[1])
    info = taproot_info(internal, None)
    utxos = [TxOut(50_000, p2wpkh(pk0)), TxOut(70_000, info.script_pubkey)]
    psbt, _ = _spend(utxos)
    update_input(psbt, 0, witness_utxo=utxos[0], bip32_derivation={pk0: KeyOrigin(b"\x01\x02\x03\x04", (H + 84, 0))})
    update_input(psbt, 1, witness_utxo=utxos[1], tap_internal_key=internal)
    assert sign_psbt(psbt, {pk0: _SECRETS[0], internal: _SECRETS[1]}, aux_rand=bytes(32)) == 2
    assert len(psbt.inputs[1].tap_key_sig or b"") == 64
    tx = _finish(psbt, utxos)
    assert tx.vin[0].witness[1] == pk0 and len(tx.vin[1].witness) == 1


def test_roundtrip_legacy_nested_and_multisig() -> None:
    pks = [pubkey_from_privkey(s) for s in _SECRETS[:3]]
    ms = multisig_script(2, pks[:3])
    funding = Transaction(2, (TxIn(OutPoint(Txid(bytes(32)), 0)),), (TxOut(10_000, b"\x76\xa9\x14" + hash160(pks[0]) + b"\x88\xac"),))
    utxos = [funding.vout[0], TxOut(20_000, p2sh(p2wpkh(pks[1]))), TxOut(30_000, p2wsh(ms))]
    tx = Transaction(
        2,
        (TxIn(OutPoint(funding.txid, 0)), TxIn(OutPoint(_FUND, 1)), TxIn(OutPoint(_FUND, 2))),
        (TxOut(59_000, p2wpkh(pks[2])),),
    )
    psbt = create_psbt(tx)
    update_from_provider(psbt, [funding], [p2wpkh(pks[1]), ms], {})
    update_input(psbt, 1, witness_utxo=utxos[1])
    update_input(psbt, 2, witness_utxo=utxos[2])
    update_from_provider(psbt, [], [p2wpkh(pks[1]), ms], {})
    first, second = copy.deepcopy(psbt), copy.deepcopy(psbt)
    sign_psbt(first, {pks[0]: _SECRETS[0], pks[1]: _SECRETS[1]})
    sign_psbt(second, {pks[2]: _SECRETS[2]})
    assert not finalize_psbt(copy.deepcopy(second))
    _finish(combine_psbts([first, second]), utxos)


def test_roundtrip_taproot_script_path() -> None:
    leaf_key = xonly_pubkey_from_privkey(_SECRETS[2])
    script = b"\x20" + leaf_key + b"\xac"
    internal = xonly_pubkey_from_privkey(_SECRETS[0])
    info = taproot_info(internal, TapLeaf(script))
    ((_, control_block),) = list(info.control_blocks())
    utxos = [TxOut(40_000, info.script_pubkey)]
    assert info.script_pubkey == p2tr(info.output_key)
    psbt, _ = _spend(utxos)
    update_input(
        psbt,
        0,
        witness_utxo=utxos[0],
        tap_internal_key=internal,
        tap_merkle_root=info.merkle_root,
        tap_leaf_scripts={control_block: (script, 0xC0)},
    )
    assert sign_psbt(psbt, [_SECRETS[2]], aux_rand=bytes(32)) == 1
    assert (leaf_key, tapleaf_hash(script)) in psbt.inputs[0].tap_script_sigs
    tx = _finish(psbt, utxos)
    assert tx.vin[0].witness[1] == script


def test_sighash_type_enforced() -> None:
    pk0 = pubkey_from_privkey(_SECRETS[0])
    utxos = [TxOut(50_000, p2wpkh(pk0))]
    psbt, _ = _spend(utxos)
    update_input(psbt, 0, witness_utxo=utxos[0], sighash_type=0x83)
    with pytest.raises(PsbtError, match="not acceptable"):
        sign_psbt(psbt, [_SECRETS[0]], allowed_sighash=[1])
    assert sign_psbt(psbt, [_SECRETS[0]]) == 1
    psbt.inputs[0].sighash_type = 1
    with pytest.raises(PsbtError, match="sighash type"):
        finalize_psbt(psbt)


def test_extract_rejects_bad_signature() -> None:
    pk0 = pubkey_from_privkey(_SECRETS[0])
    utxos = [TxOut(50_000, p2wpkh(pk0))]
    psbt, _ = _spend(utxos)
    update_input(psbt, 0, witness_utxo=TxOut(50_001, utxos[0].script_pubkey))
    sign_psbt(psbt, [_SECRETS[0]])
    psbt.inputs[0].witness_utxo = utxos[0]  # the amount signed for is no longer the one spent
    assert finalize_psbt(psbt)
    with pytest.raises(PsbtError, match="does not verify"):
        extract_transaction(psbt)


def test_create_and_update_validation() -> None:
    tx = Transaction(2, (TxIn(OutPoint(_FUND, 0), script_sig=b"\x51"),), (TxOut(1, b"\x51"),))
    with pytest.raises(PsbtError):
        create_psbt(tx)
    psbt, _ = _spend([TxOut(1, b"\x51")])
    with pytest.raises(PsbtError, match="outpoint hash"):
        update_input(psbt, 0, non_witness_utxo=Transaction(2, (), (TxOut(1, b"\x51"),)))


def test_sign_with_callback_skips_inputs_it_cannot_resolve() -> None:
    pk0 = pubkey_from_privkey(_SECRETS[0])
    foreign = TxOut(5_000, p2sh(b"\x51"))  # another party's P2SH input, redeemScript not given
    utxos = [TxOut(50_000, p2wpkh(pk0)), foreign]
    psbt, _ = _spend(utxos)
    update_input(psbt, 0, witness_utxo=utxos[0], bip32_derivation={pk0: KeyOrigin(b"\xaa\xbb\xcc\xdd", (H + 84,))})
    update_input(psbt, 1, witness_utxo=foreign)
    asked: list[bytes] = []

    def lookup(pubkey: bytes) -> bytes | None:
        asked.append(pubkey)
        return _SECRETS[0] if pubkey == pk0 else None

    assert sign_psbt(psbt, lookup) == 1
    assert asked == [pk0]
    assert not finalize_psbt(psbt)
    assert psbt.inputs[0].is_finalized() and not psbt.inputs[1].is_finalized()
