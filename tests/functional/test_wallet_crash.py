"""Crash safety of the whole wallet: a worker process SIGKILLed at random moments of sync and of send.

The test runs one sandbox node in-process for the whole file. A worker subprocess opens the wallet file,
attaches a light node (its datadir kept between runs, or now and then a fresh one so kills land in a
full rescan) to the sandbox and, on every chain tip it reaches, hands out an address (printing it after
the call returned) and, in "send" mode, pays someone from up to two confirmed coins (printing each txid
after `broadcast` returned). The test answers each tip the worker reports by paying two of the printed
addresses and mining a block, so the worker is always syncing something; it kills the worker after a
random delay (seeded; the seed is printed). After each kill the wallet file opens, passes SQLite's
integrity check, holds every printed address as handed out and every printed transaction, no address
was printed twice and no change index was paid by two transactions. At the end a clean sync, with the
wallet's unconfirmed transactions rebroadcast and mined, gives exactly the sandbox's UTXOs for the
wallet's scripts.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.sandbox.node import SandboxNode
from core.script.address import address_to_script
from core.validation.utxo import outpoint_key
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, sandbox, utxo_set
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
KILLS = {"sync": 50, "send": 50}
#: Seconds the worker lives after saying "ready" (wallet open, node started), by mode.
DELAY = {"sync": (0.0, 0.45), "send": (0.05, 0.5)}
FRESH_DATADIR = 0.15  # share of sync runs that start on an empty node datadir (a full rescan)
PAYMENT = 200_000

WORKER = r"""
import asyncio, random, sys
from pathlib import Path
sys.path.insert(0, sys.argv[7])
from core.chain.params import params_for
from core.mempool.feerate import FeeRate
from core.node.events import ChainTip
from core.node.node import LightNode, LightNodeConfig
from core.wallet.errors import WalletError
from core.wallet.spending import Payment
from core.wallet.wallet import Wallet

wallet_path, datadir, port, mode, seed, dest = sys.argv[1:7]

async def main():
    rng = random.Random(int(seed))
    wallet = Wallet.open(wallet_path)
    cfg = LightNodeConfig(Path(datadir), connect=(("127.0.0.1", int(port)),), dns_seed=False,
                          ping_interval=None, min_filter_peers=1)
    node = LightNode(params_for("sandbox"), cfg, scan_target=wallet)
    tips = asyncio.Queue()
    node.add_listener(lambda e: tips.put_nowait(e.height) if isinstance(e, ChainTip) else None)
    await node.start()
    wallet.attach(node)
    print("ready", flush=True)
    print("addr", wallet.new_address().address, flush=True)
    while True:
        height = await tips.get()
        print("addr", wallet.new_address().address, flush=True)
        if mode == "send":
            coins = [c for c in wallet.coins() if c.confirmations > 0 and not c.immature and not c.frozen]
            for coin in rng.sample(coins, min(2, len(coins))):
                try:
                    draft = wallet.draft([Payment(dest, rng.randrange(10_000, 60_000))], FeeRate.per_vb(2),
                                         coins=[coin.outpoint])
                except WalletError:
                    continue  # too small a coin
                await wallet.sign(draft.psbt, None)
                tx = wallet.finalize(draft.psbt)
                wallet.broadcast(tx)
                print("tx", tx.txid, flush=True)
        print("synced", height, flush=True)

asyncio.run(main())
"""


@dataclass
class Printed:
    """What workers printed (complete lines only: a line torn by the kill does not count)."""

    addrs: list[str] = field(default_factory=list)
    txids: list[str] = field(default_factory=list)
    tips: int = 0


class Crasher:
    """Runs workers against one sandbox node and checks the wallet file after each kill."""

    def __init__(self, tmp: Path, sbx: SandboxNode, rng: random.Random, seed: int) -> None:
        self.tmp, self.sbx, self.rng, self.seed = tmp, sbx, rng, seed
        self.wallet_path = tmp / "wallet.sqlite"
        self.datadir = tmp / "node"
        self.script = tmp / "worker.py"
        self.script.write_text(WORKER)
        self.dest = Keychain.from_mnemonic(OTHER_MNEMONIC, "bip84", SANDBOX).address(KeychainKind.RECEIVE, 0)
        self.printed = Printed()
        self.runs = 0

    async def _pay_and_mine(self) -> None:
        for addr in self.rng.sample(self.printed.addrs, min(2, len(self.printed.addrs))):
            await self.sbx.faucet(address_to_script(addr, SANDBOX), PAYMENT)
        await self.sbx.generate(1)

    async def _read(self, proc: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            if not line.endswith(b"\n"):
                break  # torn by the kill
            kind, _, value = line.decode().strip().partition(" ")
            if kind == "ready":
                ready.set()
            elif kind == "addr":
                self.printed.addrs.append(value)
            elif kind == "tx":
                self.printed.txids.append(value)
            elif kind == "synced":
                self.printed.tips += 1
                if int(value) >= self.sbx.tip.height:  # caught up: give it the next block to sync
                    await self._pay_and_mine()

    async def run_once(self, mode: str) -> None:
        """One worker life: start, let it work for a random time, SIGKILL, check the file."""
        run_no = self.runs
        self.runs += 1
        fresh = mode == "sync" and self.rng.random() < FRESH_DATADIR
        datadir = self.tmp / f"fresh{run_no}" if fresh else self.datadir
        err = self.tmp / f"stderr{run_no}"
        with err.open("wb") as err_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(self.script), str(self.wallet_path), str(datadir), str(self.sbx.port), mode,
                str(self.rng.randrange(2**32)), self.dest, str(REPO), stdout=asyncio.subprocess.PIPE, stderr=err_file,
            )
            ready = asyncio.Event()
            reader = asyncio.create_task(self._read(proc, ready))
            exited = asyncio.create_task(proc.wait())
            started = asyncio.create_task(ready.wait())
            try:
                await asyncio.wait({exited, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
                assert ready.is_set() and not exited.done(), self._died(run_no, proc, err)
                # Let it work for a random time; it must not exit on its own meanwhile.
                await asyncio.wait({exited}, timeout=self.rng.uniform(*DELAY[mode]))
                assert not exited.done(), self._died(run_no, proc, err)
                proc.send_signal(signal.SIGKILL)
                assert await exited == -signal.SIGKILL, self._died(run_no, proc, err)
            finally:
                started.cancel()
                if proc.returncode is None:
                    proc.kill()
                await exited
                await reader
        self.check_file(run_no)

    def _died(self, run_no: int, proc: asyncio.subprocess.Process, err: Path) -> str:
        tail = err.read_text(errors="replace")[-3000:] if err.exists() else ""
        return f"run {run_no}: worker exited with {proc.returncode} (seed {self.seed})\n{tail}"

    def check_file(self, run_no: int) -> None:
        where = f"run {run_no}, seed {self.seed}"
        wallet = Wallet.open(self.wallet_path)
        try:
            db = wallet.db
            assert db.integrity_check() == ["ok"], where
            handed = {a.address for k in KeychainKind for a in wallet.addresses(k, handed_out_only=True)}
            addrs = self.printed.addrs
            assert len(addrs) == len(set(addrs)), f"{where}: an address was handed out twice"
            assert set(addrs) <= handed, f"{where}: a printed address is not recorded as handed out"
            for txid in self.printed.txids:
                assert db.get_transaction(bytes(Txid.from_hex(txid))) is not None, f"{where}: tx {txid} lost"
            change = wallet.tracker.descriptor_id(KeychainKind.CHANGE)
            reused = db.conn.execute(
                "SELECT idx FROM outputs WHERE descriptor_id = ? GROUP BY idx HAVING COUNT(DISTINCT txid) > 1", (change,)
            ).fetchall()
            assert reused == [], f"{where}: change indexes paid by two transactions: {reused}"
        finally:
            wallet.close()

    async def final_check(self) -> None:
        """A clean sync; our unconfirmed transactions rebroadcast and mined; then the wallet equals the chain."""
        sbx = self.sbx
        wallet = Wallet.open(self.wallet_path)
        log = EventLog(wallet)
        try:
            async with attached(wallet, sbx, self.datadir) as node:
                await node.wait_synced(60)
                own = wallet.unconfirmed_own()
                await sbx.wait_for(lambda: all(in_mempool(sbx, bytes(t.txid)) for t in own), 30)
                await sbx.generate(1)
                await log.wait(lambda: wallet.tip_height == sbx.tip.height and wallet.balance().unconfirmed == 0)
            truth = {
                key: coin.txout.value
                for key, coin in (await utxo_set(sbx)).items()
                if wallet.keychain.index_of(coin.txout.script_pubkey) is not None
            }
            coins = {outpoint_key(c.outpoint): c.value for c in wallet.coins()}
            assert coins == truth, f"seed {self.seed}: the wallet's coins differ from the chain's"
            bal = wallet.balance()
            assert bal.confirmed == sum(truth.values()) and bal.unconfirmed == bal.immature == 0
            for txid in self.printed.txids:
                rec = wallet.db.get_transaction(bytes(Txid.from_hex(txid)))
                assert rec is not None and rec.height is not None, f"seed {self.seed}: tx {txid} not mined"
        finally:
            wallet.close()


def test_sigkill_during_sync_and_send_keeps_the_wallet_consistent(tmp_path: Path) -> None:
    seed = int(os.environ.get("WALLET_CRASH_SEED", random.SystemRandom().randrange(2**32)))
    print(f"wallet crash test seed: {seed} (rerun with WALLET_CRASH_SEED={seed})")
    started = time.monotonic()

    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=120) as sbx:
            Wallet.create(tmp_path / "wallet.sqlite", SANDBOX, MNEMONIC, password=None).close()
            crasher = Crasher(tmp_path, sbx, random.Random(seed), seed)
            for mode, kills in KILLS.items():
                before = (len(crasher.printed.addrs), len(crasher.printed.txids), crasher.printed.tips)
                for _ in range(kills):
                    await crasher.run_once(mode)
                after = (len(crasher.printed.addrs), len(crasher.printed.txids), crasher.printed.tips)
                print(f"{mode}: {kills} kills, {after[0] - before[0]} addresses, {after[1] - before[1]} sends, "
                      f"{after[2] - before[2]} tips synced")
                assert after[2] > before[2], f"the {mode} workers never reached a tip (seed {seed})"
            assert crasher.printed.txids, f"the send workers never sent (seed {seed})"
            await crasher.final_check()
            print(f"chain height {sbx.tip.height}, {time.monotonic() - started:.1f} s")

    run(scenario)
