"""peerwallet-cli's raw transaction commands, in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.cli.main import main
from core.consensus.hashes import Txid, hash160
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.script.sighash import SIGHASH_ALL, segwit_v0_sighash

# Mainnet tx 23b397ed… (named in Core's tx_valid.json): the first standard OP_CHECKMULTISIG spend.
LEGACY_HEX = (
    "0100000001b14bdcbc3e01bdaad36cc08e81e69c82e1060bc14e518db2b49aa43ad90ba26000000000490047304402203f"
    "16c6f40162ab686621ef3000b04e75418a0c0cb2d8aebeac894ae360ac1e780220ddc15ecdfc3507ac48e1681a33eb6099"
    "6631bf6bf5bc0a0682c4db743ce7ca2b01ffffffff0140420f00000000001976a914660d4ef3a743e3e696ad990364e555"
    "c271ad504b88ac00000000"
)
SK = (0xC0FFEE).to_bytes(32, "big")
PUB = pubkey_from_privkey(SK)
SPK = b"\x00\x14" + hash160(PUB)
AMOUNT = 120_000


def _signed_p2wpkh(amount: int = AMOUNT) -> Transaction:
    unsigned = Transaction(
        2, (TxIn(OutPoint(Txid(b"\x42" * 32), 1), b"", 0xFFFFFFFD),), (TxOut(119_000, SPK), TxOut(0, b"\x6a\x02hi")), 0
    )
    code = b"\x76\xa9\x14" + hash160(PUB) + b"\x88\xac"
    sig = ecdsa_sign(SK, segwit_v0_sighash(unsigned, 0, code, amount, SIGHASH_ALL)) + b"\x01"
    return Transaction(2, (TxIn(unsigned.vin[0].prevout, b"", 0xFFFFFFFD, (sig, PUB)),), unsigned.vout, 0)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_decodetx_legacy_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "decodetx", LEGACY_HEX)
    assert rc == 0
    d = json.loads(out)
    assert d["txid"] == d["hash"] == "23b397edccd3740a74adb603c9756370fafcde9bcc4483eb271ecad09a94dd63"
    assert (d["version"], d["size"], d["vsize"], d["weight"], d["locktime"]) == (1, 158, 158, 632, 0)
    vin = d["vin"][0]
    assert vin["txid"] == "60a20bd93aa49ab4b28d514ec10b06e1829ce6818ec06cd3aabd013ebcdc4bb1"
    assert vin["vout"] == 0 and vin["sequence"] == 0xFFFFFFFF and "txinwitness" not in vin
    # That signature is not strict DER, so Core shows it raw, without a [ALL] suffix.
    assert vin["scriptSig"]["asm"].startswith("0 304402203f16") and "[" not in vin["scriptSig"]["asm"]
    out0 = d["vout"][0]
    assert out0["n"] == 0
    assert out0["scriptPubKey"] == {
        "asm": "OP_DUP OP_HASH160 660d4ef3a743e3e696ad990364e555c271ad504b OP_EQUALVERIFY OP_CHECKSIG",
        "hex": "76a914660d4ef3a743e3e696ad990364e555c271ad504b88ac",
        "address": "1AJbsFZ64EpEfS5UAjAfcUG8pH8Jn3rn1F",
        "type": "pubkeyhash",
    }
    # Amounts print as exact 8-decimal numbers, like Core.
    assert '"value": 0.01000000' in out


def test_decodetx_segwit_fields(capsys: pytest.CaptureFixture[str]) -> None:
    tx = _signed_p2wpkh()
    rc, out, _ = _run(capsys, "--network", "regtest", "decodetx", tx.serialize().hex())
    assert rc == 0
    d = json.loads(out)
    assert d["txid"] == str(tx.txid) and d["hash"] == str(tx.wtxid) and d["hash"] != d["txid"]
    assert d["size"] == len(tx.serialize()) and d["weight"] == 3 * len(tx.serialize_legacy()) + d["size"]
    assert d["vsize"] == (d["weight"] + 3) // 4
    assert d["vin"][0]["txinwitness"] == [w.hex() for w in tx.vin[0].witness]
    assert d["vin"][0]["scriptSig"] == {"asm": "", "hex": ""}
    spk = d["vout"][0]["scriptPubKey"]
    assert spk["type"] == "witness_v0_keyhash" and spk["address"].startswith("bcrt1q")
    assert spk["asm"] == "0 " + hash160(PUB).hex()
    assert d["vout"][1]["scriptPubKey"]["type"] == "nulldata" and "address" not in d["vout"][1]["scriptPubKey"]
    assert '"value": 0.00119000' in out and '"value": 0.00000000' in out


def test_decodetx_coinbase(capsys: pytest.CaptureFixture[str]) -> None:
    cb = Transaction(1, (TxIn(OutPoint(Txid(bytes(32)), 0xFFFFFFFF), b"\x01\x65\x00"),), (TxOut(5_000_000_000, SPK),), 0)
    rc, out, _ = _run(capsys, "decodetx", cb.serialize().hex())
    assert rc == 0
    assert json.loads(out)["vin"] == [{"coinbase": "016500", "sequence": 0xFFFFFFFF}]
    assert '"value": 50.00000000' in out


@pytest.mark.parametrize("garbage", ["zz", "", "0100", "01000000ff", LEGACY_HEX + "00", LEGACY_HEX[:-2]])
def test_decodetx_garbage_is_one_line_error(garbage: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "decodetx", garbage], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_decodescript_multisig_wraps(capsys: pytest.CaptureFixture[str]) -> None:
    k1, k2 = pubkey_from_privkey((1).to_bytes(32, "big")), pubkey_from_privkey((2).to_bytes(32, "big"))
    script = bytes([0x52, 33]) + k1 + bytes([33]) + k2 + bytes([0x52, 0xAE])
    rc, out, _ = _run(capsys, "decodescript", script.hex())
    assert rc == 0
    d = json.loads(out)
    assert d["type"] == "multisig"
    assert d["asm"] == f"2 {k1.hex()} {k2.hex()} 2 OP_CHECKMULTISIG"
    assert d["p2sh"].startswith("3")
    assert d["segwit"]["type"] == "witness_v0_scripthash" and d["segwit"]["address"].startswith("bc1q")
    assert d["segwit"]["p2sh-segwit"].startswith("3")


def test_decodescript_taproot_not_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "decodescript", "5120" + "11" * 32)
    d = json.loads(out)
    assert rc == 0 and d["type"] == "witness_v1_taproot" and "p2sh" not in d and d["address"].startswith("bc1p")


def _prevouts(amount: int = AMOUNT, spk: bytes = SPK) -> str:
    return json.dumps([{"txid": str(Txid(b"\x42" * 32)), "vout": 1, "scriptPubKey": spk.hex(), "amount": amount}])


def test_verifytx_valid_and_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    hex_tx = _signed_p2wpkh().serialize().hex()
    assert _run(capsys, "verifytx", hex_tx, "--prevouts", _prevouts())[:2] == (0, "valid\n")
    # The BIP143 signature commits to the amount: another amount must fail.
    rc, out, _ = _run(capsys, "verifytx", hex_tx, "--prevouts", _prevouts(AMOUNT + 1))
    assert rc == 1 and out.startswith("invalid: input 0:")
    # Under P2SH alone a witness program is not interpreted (anyone-can-spend), so the same spend passes.
    assert _run(capsys, "verifytx", hex_tx, "--prevouts", _prevouts(AMOUNT + 1), "--flags", "P2SH")[:2] == (0, "valid\n")


def test_verifytx_context_free_rules(capsys: pytest.CaptureFixture[str]) -> None:
    tx = _signed_p2wpkh()
    dup = Transaction(2, (tx.vin[0], tx.vin[0]), tx.vout, 0)
    prev = json.loads(_prevouts())
    rc, out, _ = _run(capsys, "verifytx", dup.serialize().hex(), "--prevouts", json.dumps(prev * 2))
    assert (rc, out) == (1, "invalid: bad-txns-inputs-duplicate\n")


def test_verifytx_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    hex_tx = _signed_p2wpkh().serialize().hex()
    rc, _, err = _run(capsys, "verifytx", hex_tx, "--prevouts", "[]")
    assert rc == 2 and "exactly 1" in err
    rc, _, err = _run(capsys, "verifytx", hex_tx, "--prevouts", _prevouts(), "--flags", "P2SH,NOPE")
    assert rc == 2 and "NOPE" in err


def test_validateaddress(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "validateaddress", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    d = json.loads(out)
    assert rc == 0 and d["isvalid"] and d["iswitness"] and d["witness_version"] == 0
    assert d["scriptPubKey"] == "0014751e76e8199196d454941c45d1b3a323f1433bd6"
    rc, out, _ = _run(capsys, "validateaddress", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")
    d = json.loads(out)
    assert rc == 1 and d["isvalid"] is False and d["error"]
    rc, out, _ = _run(capsys, "--network", "mainnet", "validateaddress", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")
    assert rc == 1 and json.loads(out)["isvalid"] is False
