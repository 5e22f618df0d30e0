"""peerwallet-cli's light-node commands as a user runs them: real processes against a sandbox process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(REPO))


@pytest.fixture
def sandbox_port(tmp_path: Path) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.sandbox.cli", "--datadir", str(tmp_path / "sbx"), "--port", "0", "--blocks", "60",
         "--traffic", "--traffic-interval", "0.05", "--seed", "9"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("sandbox node listening on"), line
    yield int(line.split(":")[1].split(",")[0])
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _cli(tmp_path: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "core.cli.main", "--network", "regtest", "--datadir", str(tmp_path / "cli"),
           args[0], "--connect", f"127.0.0.1:{port}", "--timeout", "60", *args[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=ENV)


def test_sync_getcfheader_peers_estimatefee(tmp_path: Path, sandbox_port: int) -> None:
    out = _cli(tmp_path, sandbox_port, "sync")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["height"] == "60" and len(lines["tip"]) == 64 and len(lines["filter_header"]) == 64
    cf = _cli(tmp_path, sandbox_port, "getcfheader", "60")
    assert cf.returncode == 0 and cf.stdout.strip() == lines["filter_header"]
    peers = _cli(tmp_path, sandbox_port, "peers")
    assert peers.returncode == 0 and "v2" in peers.stdout and f"127.0.0.1:{sandbox_port}" in peers.stdout
    fee = _cli(tmp_path, sandbox_port, "estimatefee", "6", "--seconds", "2")
    assert fee.returncode == 0, fee.stderr
    assert "for 6 blocks" in fee.stdout and "basis:" in fee.stdout
    mem = _cli(tmp_path, sandbox_port, "mempool", "--seconds", "2")
    assert mem.returncode == 0 and mem.stdout.startswith("transactions ")


def test_broadcast_garbage_is_a_clear_error(tmp_path: Path, sandbox_port: int) -> None:
    out = _cli(tmp_path, sandbox_port, "broadcast", "00zz")
    assert out.returncode == 2 and out.stderr.startswith("error: not a transaction")
