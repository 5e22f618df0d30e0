"""`peerwallet-cli trade` as a script runs it: three data dirs (seller, buyer, arbitrator), one sandbox
process and one local relay. A whole trade — offer, take, deposit, paid, received, completed — and a
second one through a dispute and the arbitrator's ruling; every step a real CLI process, waiting on
process exits and the trade states they report."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.trade.nostr.relay_process import LocalRelay
from tests.functional.cli_support import ENV, TIMEOUT, SandboxProcess, run_cli
from tests.functional.trade_support import WORDS

pytestmark = pytest.mark.slow


class RelayThread:
    """A LocalRelay run by its own event loop in a thread (the test itself is synchronous)."""

    def __init__(self, datadir: Path) -> None:
        self.relay = LocalRelay(datadir)
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        assert self._ready.wait(TIMEOUT) and self._error is None, self._error

    def _main(self) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            try:
                async with self.relay:
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as e:  # reported to the test thread
                self._error = e
                self._ready.set()

        self._loop.run_until_complete(run())

    def close(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[str]:
    r = RelayThread(tmp_path / "relay")
    try:
        yield r.relay.url
    finally:
        r.close()


@pytest.fixture
def sbx(tmp_path: Path) -> Iterator[SandboxProcess]:
    s = SandboxProcess(tmp_path / "sbx", "--blocks", "101")
    try:
        yield s
    finally:
        s.close()


class Cli:
    """One party's data dir."""

    def __init__(self, tmp: Path, name: str, port: int, relay_url: str) -> None:
        self.dir, self.port, self.relay = tmp / name, port, relay_url
        env = {"WORDS": WORDS[name]}
        r = run_cli(self.dir, (port,), "restore", "--mnemonic-env", "WORDS", "--no-password", env=env)
        assert r.returncode == 0, r.stderr

    def args(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "core.cli.main", "--network", "sandbox", "--datadir", str(self.dir), "trade",
                "--relay", self.relay, "--connect", f"127.0.0.1:{self.port}", "--no-password", "--timeout", "60", *args]

    def run(self, *args: str) -> str:
        r = subprocess.run(self.args(*args), capture_output=True, text=True, timeout=TIMEOUT, env=ENV)
        assert r.returncode == 0, f"trade {' '.join(args)}: {r.stderr}"
        return r.stdout.strip()

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.args(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)

    def address(self) -> str:
        r = run_cli(self.dir, (self.port,), "getnewaddress")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def balance(self) -> dict[str, int]:
        r = run_cli(self.dir, (self.port,), "getbalance")
        assert r.returncode == 0, r.stderr
        return {k: int(v) for k, v in (line.split() for line in r.stdout.splitlines())}


def together(*procs: subprocess.Popen[str]) -> list[str]:
    """Wait for processes running at the same time (two parties online together)."""
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, stderr
        out.append(stdout.strip())
    return out


def status(text: str) -> dict:
    return json.loads(text)


def test_whole_trades_from_the_command_line(tmp_path: Path, sbx: SandboxProcess, relay: str) -> None:
    seller, buyer, arb = (Cli(tmp_path, n, sbx.port, relay) for n in ("seller", "buyer", "arbitrator"))
    sbx.fund(seller.address(), 2_000_000)
    sbx.fund(buyer.address(), 500_000)
    sbx.generate(1)
    arbitrator = arb.run("arbitrator-key")
    offer = seller.run("offer", "--side", "sell", "--min", "100000", "--max", "500000", "--currency", "EUR",
                       "--method", "sepa", "--price", "50000", "--account", "IBAN DE00 1234 seller",
                       "--arbitrator", arbitrator, "--t1", "6", "--confirmations", "1")
    book = json.loads(buyer.run("offers"))
    assert [o["id"] for o in book] == [offer] and book[0]["arbitrator"]["nostr"] == arbitrator.split(":")[0]
    trade = buyer.run("take", offer, "--amount", "400000", "--method", "sepa", "--account", "IBAN DE00 5678 buyer")
    # Both online together until the deposit is out.
    together(seller.start("status", trade, "--wait", "deposit_broadcast"), buyer.start("status", trade, "--wait", "deposit_broadcast"))
    sbx.generate(1)
    view = status(buyer.run("status", trade, "--wait", "deposit_confirmed"))
    assert view["peer_account"] == "IBAN DE00 1234 seller" and "paid" in view["actions"]
    assert buyer.run("paid", trade, "--note", "SEPA ref 1") == "payment_sent"
    # Release needs every checklist flag.
    r = subprocess.run(seller.args("received", trade, "--credited"), capture_output=True, text=True, timeout=TIMEOUT, env=ENV)
    assert r.returncode != 0 and "checklist" in r.stderr
    assert seller.run("received", trade, "--credited", "--sender-matches", "--not-reversible") == "payment_received"
    view = status(buyer.run("status", trade, "--wait", "payout_broadcast"))
    sbx.generate(1)
    together(seller.start("status", trade, "--wait", "completed"), buyer.start("status", trade, "--wait", "completed"))
    escrow = json.loads(buyer.run("export-escrow", trade))
    assert escrow["descriptor"].startswith("tr(50929b74") and escrow["outpoint"]

    # A second trade: the buyer claims to have paid, the seller disputes, the arbitrator rules for the seller.
    assert json.loads(buyer.run("offers")) == []  # the first offer was taken and is done
    offer2 = seller.run("offer", "--side", "sell", "--min", "100000", "--max", "500000", "--currency", "EUR",
                        "--method", "sepa", "--price", "50000", "--account", "IBAN DE00 1234 seller",
                        "--arbitrator", arbitrator, "--t1", "6", "--confirmations", "1")
    trade2 = buyer.run("take", offer2, "--amount", "200000", "--method", "sepa", "--account", "IBAN DE00 5678 buyer")
    together(seller.start("status", trade2, "--wait", "deposit_broadcast"), buyer.start("status", trade2, "--wait", "deposit_broadcast"))
    sbx.generate(1)
    buyer.run("status", trade2, "--wait", "deposit_confirmed")
    buyer.run("paid", trade2)
    seller.run("status", trade2, "--wait", "payment_sent")
    seller.run("chat", trade2, "not received anything")
    assert seller.run("dispute", trade2, "--reason", "no payment", "--notes", "statement attached") == "dispute_open"
    view = status(arb.run("status", trade2, "--wait", "dispute_open"))
    assert view["role"] == "arbitrator"
    contract_value = json.loads(seller.run("export-escrow", trade2))["escrow_value"]
    assert arb.run("rule", trade2, "--buyer", "0", "--seller", str(contract_value), "--reason", "no payment") == "arbitrated"
    seller.run("status", trade2, "--wait", "dispute_open")
    assert seller.run("rule", trade2, "--accept") == "dispute_open"
    seller.run("status", trade2, "--wait", "arbitrated")
    sbx.generate(1)
    buyer.run("status", trade2, "--wait", "arbitrated")
    transcript = json.loads(arb.run("chat", trade2))
    assert transcript == []  # the arbitrator's own chat: nothing said to it directly
