"""peerwallet-cli's wallet commands in-process, offline: argument values, usage and input errors, the
commands that need no network (addresses, labels, PSBT sign/combine/finalize/decode), and fuzzed values."""

from __future__ import annotations

import contextlib
import json
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cli.main import CliError, main
from core.cli.wallet_psbt_cmds import load_psbt
from core.cli.wallet_session import parse_feerate, parse_sats, parse_txid, wallet_name
from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.script.address import address_to_script
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.psbt import create_psbt, psbt_to_base64, serialize_psbt
from core.wallet.tx_builder import annotate_psbt

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
FIRST_ADDRESS = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
BIP86_FIRST = "bcrt1p8wpt9v4frpf3tkn0srd97pksgsxc5hs52lafxwru9kgeephvs7rqjeprhg"
OTHER = "bcrt1qjgx204hxfwuse548jc34fjzg6ffq8pvrz8x53u"


def _run(capsys: pytest.CaptureFixture[str], datadir: Path, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(["--network", "sandbox", "--datadir", str(datadir), "wallet", *argv])
    except SystemExit as e:  # argparse's usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


# -- values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sat_per_vb"),
    [("1", Fraction(1)), ("2.5", Fraction(5, 2)), ("1.001", Fraction(1001, 1000)), (" 20 ", Fraction(20)), ("10000", Fraction(10000))],
)
def test_feerate_is_exact(text: str, sat_per_vb: Fraction) -> None:
    assert parse_feerate(text) == FeeRate(sat_per_vb)


@pytest.mark.parametrize(
    ("text", "why"),
    [("0", "below"), ("0.999", "below"), ("1.0001", "3 decimals"), ("-2", "sat/vB"), ("2e3", "sat/vB"),
     ("", "sat/vB"), ("10000.001", "absurdly"), ("nan", "sat/vB"), ("٣", "sat/vB")],
)
def test_bad_feerate_names_the_problem(text: str, why: str) -> None:
    with pytest.raises(CliError, match=why):
        parse_feerate(text)


@pytest.mark.parametrize("text", ["0", "-5", "1.5", "1e3", "", "2100000000000001", "٣٣", "0x10"])
def test_bad_amount(text: str) -> None:
    with pytest.raises(CliError, match="amount"):
        parse_sats(text)


def test_amount_and_txid() -> None:
    assert parse_sats("2100000000000000") == 2_100_000_000_000_000
    assert parse_txid("ab" + "00" * 31) == Txid(bytes(31) + b"\xab")
    for bad in ("ab", "zz" * 32, "00" * 33):
        with pytest.raises(CliError, match="txid"):
            parse_txid(bad)


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "w.sqlite", "x" * 65, "a b"])
def test_wallet_names_are_plain_file_names(name: str) -> None:
    with pytest.raises(Exception, match="wallet name"):
        wallet_name(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_values_raise_only_cli_errors(text: str) -> None:
    for parse in (parse_feerate, parse_sats, parse_txid):
        with contextlib.suppress(CliError):
            parse(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=200).map(lambda b: b"psbt\xff" + b)))
def test_fuzz_psbt_files_raise_only_cli_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.psbt"
        path.write_bytes(data)
        text = data.decode("latin-1")
        # "-" is not PSBT text but the documented "read standard input" marker.
        for arg in (str(path), *([text] if text != "-" else [])):
            with contextlib.suppress(CliError):
                load_psbt(arg)


# -- commands -------------------------------------------------------------------------------------------


def test_create_prints_words_once_and_the_descriptor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, tmp_path, "create", "--words", "24", "--template", "bip86", "--no-password")
    assert rc == 0, err
    words, descriptor = out.splitlines()
    assert words.startswith("mnemonic ") and len(words.split()) == 25
    assert descriptor.startswith("descriptor tr([") and "/86h/1h/0h]tpub" in descriptor and "#" in descriptor
    assert "not encrypted" in err and words.split()[1] not in err
    rc, out, err = _run(capsys, tmp_path, "create", "--no-password")
    assert rc == 1 and "already exists" in err and out == ""


def test_addresses_templates_and_watch_only_descriptors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, tmp_path, "--wallet", "tr", "restore", "--mnemonic", MNEMONIC, "--template", "bip86", "--no-password")[0] == 0
    assert _run(capsys, tmp_path, "listaddresses", "--count", "1", "--wallet", "tr")[1].splitlines()[1] == BIP86_FIRST
    assert _run(capsys, tmp_path, "restore", "--mnemonic", MNEMONIC, "--no-password")[0] == 0
    receive = _run(capsys, tmp_path, "listaddresses", "--count", "5")[1].splitlines()
    change = _run(capsys, tmp_path, "listaddresses", "--count", "5", "--change")[1].splitlines()
    assert receive[1] == FIRST_ADDRESS and receive[0].endswith("/0/*)#evh9fu0w") and change[0].split("/")[-2] == "1"
    rc, _, err = _run(capsys, tmp_path, "--wallet", "w", "importxpub", "--descriptor", receive[0], "--descriptor", change[0])
    assert rc == 0, err
    assert _run(capsys, tmp_path, "--wallet", "w", "listaddresses", "--count", "5")[1].splitlines() == receive
    assert _run(capsys, tmp_path, "--wallet", "w", "listaddresses", "--count", "5", "--change")[1].splitlines() == change
    # listaddresses hands nothing out; getnewaddress does, once each.
    assert _run(capsys, tmp_path, "--wallet", "w", "getnewaddress")[1].strip() == FIRST_ADDRESS
    assert _run(capsys, tmp_path, "getnewaddress", "--wallet", "w")[1].strip() == receive[2]
    rc, out, _ = _run(capsys, tmp_path, "listtransactions", "--no-sync")
    assert rc == 0 and json.loads(out) == []
    rc, out, _ = _run(capsys, tmp_path, "getbalance", "--no-sync")
    assert out.splitlines() == ["confirmed 0", "unconfirmed 0", "immature 0", "frozen 0"]


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (("importxpub",), 2, "XPUB or --descriptor"),
        (("importxpub", "--descriptor", "wpkh(x)"), 2, "twice"),
        (("send", OTHER), 2, "SATS or --max"),
        (("send", OTHER, "10", "--max"), 2, "SATS or --max"),
        (("restore", "--mnemonic", MNEMONIC), 2, "--password-env"),
        (("restore", "--mnemonic", MNEMONIC, "--password-env", "UNSET_VAR_X"), 1, "UNSET_VAR_X (for the password) is not set"),
        (("restore", "--mnemonic", "abandon " * 11 + "abandon", "--no-password"), 1, "checksum"),
        (("restore", "--mnemonic", "abandon " * 11, "--no-password"), 1, "not 11"),
        (("listaddresses", "--count", "-1"), 1, "count"),
        (("getbalance", "--no-sync"), 1, "no wallet 'default'"),
        (("--wallet", "../x", "getbalance"), 2, ""),
        (("psbt", "combine", "cHNidP8="), 2, "two or more"),
    ],
)
def test_usage_and_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], code: int, needle: str
) -> None:
    rc, out, err = _run(capsys, tmp_path, *argv)
    assert rc == code and out == "" and "Traceback" not in err
    assert needle in err


def test_stray_words_are_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, tmp_path, "restore", "--no-password", "--mnemonic", "x", "zoo", "zebra")
    assert rc == 2 and "unrecognized arguments: WORD WORD" in err and "zebra" not in err


def test_labels_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, tmp_path, "restore", "--mnemonic", MNEMONIC, "--no-password")
    assert _run(capsys, tmp_path, "getnewaddress", "--label", "rent ✓")[1].strip() == FIRST_ADDRESS
    export = tmp_path / "labels.jsonl"
    assert _run(capsys, tmp_path, "labels", "export", str(export))[0] == 0
    assert json.loads(export.read_text()) == {"type": "addr", "ref": FIRST_ADDRESS, "label": "rent ✓"}
    _run(capsys, tmp_path, "--wallet", "copy", "restore", "--mnemonic", MNEMONIC, "--no-password")
    assert _run(capsys, tmp_path, "--wallet", "copy", "labels", "import", str(export))[1] == "imported 1 labels\n"
    assert _run(capsys, tmp_path, "--wallet", "copy", "labels", "export")[1] == export.read_text()
    export.write_text('{"type": "addr"}\n')
    rc, _, err = _run(capsys, tmp_path, "labels", "import", str(export))
    assert rc == 1 and "label line 1" in err
    rc, _, err = _run(capsys, tmp_path, "labels", "import", str(tmp_path / "missing.jsonl"))
    assert rc == 1 and "cannot read labels" in err


def _unsigned_spend() -> tuple[str, Transaction]:
    """A PSBT spending a (made-up) coin of the abandon wallet's first address to OTHER, as a watch-only
    wallet would draft it: witness UTXO and BIP32 origins filled in."""
    keychain = Keychain.from_mnemonic(MNEMONIC, "bip84", SANDBOX)
    spk = keychain.script_pubkey(KeychainKind.RECEIVE, 0)
    tx = Transaction(
        2, (TxIn(OutPoint(Txid(b"\x07" * 32), 1), b"", 0xFFFFFFFD),), (TxOut(90_000, address_to_script(OTHER, SANDBOX)),), 0
    )
    psbt = create_psbt(tx)
    annotate_psbt(psbt, [TxOut(100_000, spk)], keychain)
    return psbt_to_base64(psbt), tx


def test_psbt_sign_combine_finalize_decode_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, tmp_path, "restore", "--mnemonic", MNEMONIC, "--no-password")
    unsigned, tx = _unsigned_spend()
    rc, out, err = _run(capsys, tmp_path, "psbt", "decode", unsigned)
    decoded = json.loads(out)
    assert decoded["fee"] == 10_000 and decoded["txid"] == str(tx.txid) and not decoded["signed"]
    assert decoded["inputs"][0]["address"] == FIRST_ADDRESS and decoded["outputs"][0]["address"] == OTHER
    rc, _, err = _run(capsys, tmp_path, "psbt", "finalize", unsigned)
    assert rc == 1 and "not fully signed" in err and "input(s) 0" in err

    binary = tmp_path / "unsigned.psbt"
    binary.write_bytes(serialize_psbt(load_psbt(unsigned)))
    signed_file = tmp_path / "signed.psbt"
    rc, out, err = _run(capsys, tmp_path, "psbt", "sign", str(binary), "--out", str(signed_file))
    assert rc == 0 and out == "" and "added 1 signature(s)" in err
    rc, _, err = _run(capsys, tmp_path, "psbt", "sign", str(signed_file))
    assert rc == 1 and "could not sign any input" in err  # nothing left for us to sign
    rc, combined, _ = _run(capsys, tmp_path, "psbt", "combine", unsigned, str(signed_file))
    decoded = json.loads(_run(capsys, tmp_path, "psbt", "decode", combined.strip())[1])
    assert decoded["signed"] and decoded["inputs"][0]["signatures"] == 1 and not decoded["finalized"]
    rc, raw, err = _run(capsys, tmp_path, "psbt", "finalize", str(signed_file))
    assert rc == 0, err
    final = Transaction.parse(bytes.fromhex(raw.strip()))
    assert final.txid == tx.txid and len(final.vin[0].witness) == 2
    # Another wallet's PSBT: nothing to sign here.
    _run(capsys, tmp_path, "--wallet", "other", "create", "--no-password")
    rc, _, err = _run(capsys, tmp_path, "--wallet", "other", "psbt", "sign", unsigned)
    assert rc == 1 and "could not sign any input" in err
