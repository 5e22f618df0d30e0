"""Crash safety of the wallet file: a writer SIGKILLed at random moments never loses or repeats an address.

A child process hands out addresses and records 3-output transactions, each in its own transaction, and
appends a line to a log *after* each commit returns (as the UI would show the address). The parent kills
it with SIGKILL after a random delay (seeded; the seed is printed), then checks the file: it opens, the
integrity check passes, every logged address is recorded as handed out, no index was handed out twice,
and every transaction has all or none of its outputs.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.wallet.storage.db import WalletDB

REPO = Path(__file__).resolve().parents[2]
KILLS = 40
N_OUTPUTS = 3

CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[3])
from core.wallet.storage.db import OutputRecord, TxRecord, WalletDB

db = WalletDB.open(sys.argv[1])
log = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
if not db.descriptors():
    db.add_descriptor("wpkh(test)#crash", internal=False)
desc = db.descriptors()[0].id
run = int(sys.argv[4])
n = 0
os.write(log, b"ready\n")
while True:
    a = db.next_address(desc, derive=lambda i: b"\x00\x14" + i.to_bytes(20, "big"))
    os.write(log, f"addr {a.index}\n".encode())
    txid = run.to_bytes(4, "big") + n.to_bytes(28, "big")
    outs = [OutputRecord(txid, v, 1000 + v, a.script_pubkey, desc, a.index) for v in range(3)]
    db.add_transaction(TxRecord(txid, os.urandom(200), None, None, n), outs)
    os.write(log, f"tx {txid.hex()}\n".encode())
    n += 1
"""


def _logged(log: Path) -> tuple[list[int], list[bytes]]:
    addrs: list[int] = []
    txids: list[bytes] = []
    data = log.read_bytes() if log.exists() else b""
    for line in data.split(b"\n")[:-1]:  # a torn last line (no newline) is ignored
        kind, _, value = line.decode().partition(" ")
        if kind == "addr":
            addrs.append(int(value))
        elif kind == "tx":
            txids.append(bytes.fromhex(value))
    return addrs, txids


def test_sigkill_never_loses_or_repeats_addresses(tmp_path: Path) -> None:
    seed = int(os.environ.get("WALLET_CRASH_SEED", random.SystemRandom().randrange(2**32)))
    print(f"wallet crash test seed: {seed} (rerun with WALLET_CRASH_SEED={seed})")
    rng = random.Random(seed)
    path = tmp_path / "wallet.sqlite"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    all_addrs: list[int] = []
    all_txids: list[bytes] = []
    started = time.monotonic()
    for run in range(KILLS):
        log = tmp_path / f"log{run}"
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(log), str(REPO), str(run)])
        # wait until it is writing (most kills should land mid-work), then a random extra delay
        deadline = time.monotonic() + 10
        while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        assert proc.poll() is None, f"child exited early with {proc.returncode} (seed {seed})"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL

        addrs, txids = _logged(log)
        all_addrs += addrs
        all_txids += txids
        with WalletDB.open(path) as db:
            assert db.integrity_check() == ["ok"], f"run {run}, seed {seed}"
            [desc] = db.descriptors()
            handed = {a.index for a in db.addresses(desc.id, handed_out_only=True)}
            assert set(all_addrs) <= handed, f"run {run}: a logged address is not recorded (seed {seed})"
            assert len(all_addrs) == len(set(all_addrs)), f"run {run}: an index was handed out twice (seed {seed})"
            assert desc.next_index == max(handed, default=-1) + 1
            assert handed == set(range(desc.next_index))
            counts = dict(db.conn.execute("SELECT txid, count(*) FROM outputs GROUP BY txid").fetchall())
            n_tx = db.conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
            assert len(counts) == n_tx and set(counts.values()) <= {N_OUTPUTS}, f"run {run}: torn transaction"
            assert all(db.get_transaction(t) is not None for t in txids)
    elapsed = time.monotonic() - started
    print(f"{KILLS} kills, {len(all_addrs)} addresses logged, {len(all_txids)} transactions, {elapsed:.1f} s")
    assert len(all_addrs) > KILLS  # the children really were working when killed
