"""peerwallet-cli's wallet commands as a user runs them: real CLI processes against two sandbox processes.

Sandbox A mines and funds (its `--control` stdin); sandbox B follows A, so a transaction the CLI
announces to one comes back from the other and the CLI sees it propagate. Each step waits on process
output: the CLI's exit and lines, the sandbox's control answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.script.address import address_to_script
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.psbt import create_psbt, psbt_to_base64
from core.wallet.tx_builder import annotate_psbt
from tests.functional.cli_support import SandboxProcess, run_cli

pytestmark = pytest.mark.slow
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# BIP84's first receive address of this mnemonic (m/84'/1'/0'/0/0 on test networks), regtest prefix.
FIRST_ADDRESS = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
SECOND_ADDRESS = "bcrt1qd7spv5q28348xl4myc8zmh983w5jx32cs707jh"
# Someone else's address (BIP84 first receive address of the "legal winner ... yellow" vector mnemonic).
OTHER = "bcrt1qjgx204hxfwuse548jc34fjzg6ffq8pvrz8x53u"
PASSWORD_ENV = {"PW": "correct horse battery staple"}


class Sandboxes:
    """A mines and funds; B follows it."""

    def __init__(self, a: SandboxProcess, b: SandboxProcess) -> None:
        self.a, self.b = a, b
        self.ports = (a.port, b.port)

    def mine(self) -> int:
        """One block on A, once B has it too (so either can serve the CLI)."""
        height = self.a.generate(1)
        self.b.wait_height(height)
        return height


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    a = SandboxProcess(tmp_path / "a", "--blocks", "101")
    try:
        b = SandboxProcess(tmp_path / "b", "--blocks", "0", "--connect", f"127.0.0.1:{a.port}")
        try:
            b.wait_height(101)
            yield Sandboxes(a, b)
        finally:
            b.close()
    finally:
        a.close()


def _ok(result: object) -> list[str]:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    assert "warning" not in result.stderr  # type: ignore[attr-defined]
    return result.stdout.splitlines()  # type: ignore[attr-defined]


def _history(cli: object) -> dict[str, dict]:
    return {row["txid"]: row for row in json.loads(cli.stdout)}  # type: ignore[attr-defined]


def test_restore_receive_send_bump_cpfp(tmp_path: Path, sandboxes: Sandboxes) -> None:
    d = tmp_path / "cli"

    def cli(*args: str) -> object:
        return run_cli(d, sandboxes.ports, *args, env=PASSWORD_ENV)

    (line,) = _ok(cli("restore", "--mnemonic", MNEMONIC, "--password-env", "PW"))
    assert line.startswith("descriptor wpkh([73c5da0a/84h/1h/0h]tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2S")
    lines = _ok(cli("listaddresses", "--count", "3"))
    assert lines[0] == line.split(" ", 1)[1] and "#" in lines[0]  # the receive descriptor, with checksum
    assert lines[1:3] == [FIRST_ADDRESS, SECOND_ADDRESS] and len(lines) == 4
    assert _ok(cli("getnewaddress", "--label", "from the faucet")) == [FIRST_ADDRESS]
    assert _ok(cli("getnewaddress")) == [SECOND_ADDRESS]  # handed out once, never again

    funding = sandboxes.a.fund(FIRST_ADDRESS, 1_000_000)
    assert sandboxes.mine() == 102
    assert _ok(cli("getbalance")) == ["confirmed 1000000", "unconfirmed 0", "immature 0", "frozen 0"]

    sent = _ok(cli("send", OTHER, "300000", "--feerate", "2", "--password-env", "PW"))
    assert len(sent) == 1 and len(sent[0]) == 64
    rows = _history(cli("listtransactions"))
    assert rows[funding]["height"] == 102 and rows[funding]["net"] == 1_000_000
    first_fee = rows[sent[0]]["fee"]
    assert rows[sent[0]]["height"] is None and rows[sent[0]]["net"] == -300_000 - first_fee

    (bumped,) = _ok(cli("bumpfee", sent[0], "--feerate", "5", "--password-env", "PW"))
    rows = _history(cli("listtransactions"))
    assert bumped != sent[0] and sent[0] not in rows and rows[bumped]["fee"] > first_fee
    (child,) = _ok(cli("cpfp", bumped, "--feerate", "20", "--password-env", "PW"))

    sandboxes.mine()
    rows = _history(cli("listtransactions"))
    assert {t: r["height"] for t, r in rows.items()} == {funding: 102, bumped: 103, child: 103}
    final = 1_000_000 - 300_000 - rows[bumped]["fee"] - rows[child]["fee"]
    assert _ok(cli("getbalance")) == [f"confirmed {final}", "unconfirmed 0", "immature 0", "frozen 0"]
    coins = json.loads(cli("listunspent", "--no-sync").stdout)
    assert [(c["txid"], c["amount"], c["change"]) for c in coins] == [(child, final, True)]


def test_watch_only_psbt_round_trip(tmp_path: Path, sandboxes: Sandboxes) -> None:
    d = tmp_path / "cli"

    def cli(*args: str) -> object:
        return run_cli(d, sandboxes.ports, *args, env=PASSWORD_ENV)

    (line,) = _ok(cli("--wallet", "seed", "restore", "--mnemonic", MNEMONIC, "--password-env", "PW"))
    descriptor = line.split(" ", 1)[1]
    account_key = descriptor[len("wpkh(") : descriptor.index("/0/*)")]  # [73c5da0a/84h/1h/0h]tpub...
    assert _ok(cli("--wallet", "watch", "importxpub", account_key)) == [line]
    assert _ok(cli("--wallet", "watch", "getnewaddress")) == [FIRST_ADDRESS]

    sandboxes.a.fund(FIRST_ADDRESS, 1_000_000)
    sandboxes.mine()
    unsigned = tmp_path / "unsigned.psbt"
    _ok(cli("--wallet", "watch", "psbt", "create", OTHER, "250000", "--out", str(unsigned)))  # fee: the estimate
    decoded = json.loads(cli("psbt", "decode", str(unsigned)).stdout)
    assert [i["amount"] for i in decoded["inputs"]] == [1_000_000] and not decoded["signed"]
    assert {"address": OTHER, "amount": 250_000} in [{k: o[k] for k in ("address", "amount")} for o in decoded["outputs"]]
    assert decoded["fee"] > 0

    refused = cli("--wallet", "watch", "psbt", "sign", str(unsigned))
    assert refused.returncode == 1 and "watch-only" in refused.stderr
    signed = tmp_path / "signed.psbt"
    out = cli("--wallet", "seed", "psbt", "sign", str(unsigned), "--out", str(signed), "--password-env", "PW")
    assert out.returncode == 0 and "added 1 signature" in out.stderr, out.stderr
    (combined,) = _ok(cli("psbt", "combine", str(unsigned), str(signed)))
    assert json.loads(cli("psbt", "decode", combined).stdout)["signed"]
    (raw,) = _ok(cli("psbt", "finalize", combined))
    (txid,) = _ok(cli("--wallet", "watch", "psbt", "finalize", str(signed), "--broadcast"))
    assert txid == decoded["txid"] and len(raw) > 200

    sandboxes.mine()
    expected = f"confirmed {1_000_000 - 250_000 - decoded['fee']}"
    assert _ok(cli("--wallet", "watch", "getbalance"))[0] == expected
    assert _ok(cli("--wallet", "seed", "getbalance"))[0] == expected  # the seed wallet finds it by scanning

    # Everything out of the seed wallet at the node's estimate (no --feerate), without RBF signalling.
    (swept,) = _ok(cli("--wallet", "seed", "send", OTHER, "--max", "--no-rbf", "--password-env", "PW"))
    rows = _history(cli("--wallet", "seed", "listtransactions", "--no-sync"))
    assert rows[swept]["net"] == -int(expected.split()[1]) and rows[swept]["fee"] > 0
    assert _ok(cli("--wallet", "seed", "getbalance", "--no-sync")) == ["confirmed 0", "unconfirmed 0", "immature 0", "frozen 0"]


def _our_psbt() -> str:
    """An unsigned PSBT spending a made-up coin of the mnemonic's first address."""
    keychain = Keychain.from_mnemonic(MNEMONIC, "bip84", SANDBOX)
    spk = keychain.script_pubkey(KeychainKind.RECEIVE, 0)
    tx = Transaction(2, (TxIn(OutPoint(Txid(b"\x07" * 32), 0)),), (TxOut(90_000, address_to_script(OTHER, SANDBOX)),))
    psbt = create_psbt(tx)
    annotate_psbt(psbt, [TxOut(100_000, spk)], keychain)
    return psbt_to_base64(psbt)


def test_wrong_password_and_bad_input_are_one_line_errors(tmp_path: Path) -> None:
    d = tmp_path / "cli"

    def cli(*args: str, env: dict[str, str] | None = None) -> object:
        return run_cli(d, (), *args, env=env)

    def error(result: object, code: int, *needles: str) -> str:
        assert result.returncode == code, (result.stdout, result.stderr)  # type: ignore[attr-defined]
        err: str = result.stderr  # type: ignore[attr-defined]
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
        assert all(n in err for n in needles), err
        return err

    bad = MNEMONIC.replace("about", "abuot")
    err = error(cli("restore", "--mnemonic", bad, "--no-password"), 1, "bad mnemonic", "word 12 'abuot'")
    assert "abandon abandon" not in err
    error(cli("restore", "--mnemonic", MNEMONIC), 2, "--password-env")
    _ok(cli("restore", "--mnemonic", MNEMONIC, "--password-env", "PW", env=PASSWORD_ENV))
    wrong = {"PW": "Tr0ub4dor&3"}
    err = error(cli("send", OTHER, "1000", "--password-env", "PW", env=wrong), 1, "wrong password for wallet 'default'")
    assert "Tr0ub4dor" not in err
    error(cli("psbt", "sign", _our_psbt(), "--password-env", "PW", env=wrong), 1, "wrong password")
    error(cli("send", OTHER, "1000"), 2, "encrypted", "--password-env")
    error(cli("send", OTHER, "1000", "--password-env", "NOPE"), 1, "NOPE", "not set")
    error(cli("send", "bcrt1qnotanaddress", "1000", "--password-env", "PW", env=PASSWORD_ENV), 1, "bad address 'bcrt1qnot")
    error(cli("send", OTHER, "12.5", "--password-env", "PW", env=PASSWORD_ENV), 1, "amount '12.5'")
    error(cli("send", OTHER, "1000", "--feerate", "-2", "--password-env", "PW", env=PASSWORD_ENV), 1, "fee rate '-2'")
    error(cli("send", OTHER, "1000", "--max"), 2, "SATS or --max")
    error(cli("bumpfee", "00" * 31, "--feerate", "5", "--password-env", "PW", env=PASSWORD_ENV), 1, "txid")
    error(cli("psbt", "decode", "not-a-psbt"), 1, "'not-a-psbt' is neither a PSBT file nor a base64 PSBT")
    error(cli("--wallet", "w", "importxpub", "tpubNOTAKEY"), 1, "bad xpub")
    error(cli("--wallet", "w", "importxpub", "--descriptor", "wpkh(x)", "--descriptor", "wpkh(y)"), 1, "bad receive descriptor")
    error(cli("--wallet", "nothere", "getbalance"), 1, "no wallet 'nothere'")
    error(cli("restore", "--mnemonic", MNEMONIC, "--no-password"), 1, "already exists")
