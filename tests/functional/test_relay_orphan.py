"""A local relay never outlives its parent: an app killed with SIGKILL takes its relay with it (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

WORKER = """
import asyncio, sys
from core.trade.nostr.relay_process import LocalRelay

async def main():
    relay = LocalRelay(sys.argv[1])
    await relay.start()
    print(relay._proc.pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too; it only waits for its (gone) parent's successor to reap it.
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}").exists() else "X"
    return state not in ("Z", "X")


def test_relay_dies_with_a_killed_parent(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path / "relay")], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert worker.stdout is not None
        relay_pid = int(worker.stdout.readline())
        assert _alive(relay_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(relay_pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a condition with a deadline, not sleeping as synchronisation
        assert not _alive(relay_pid), "the relay outlived its killed parent"
    finally:
        if worker.poll() is None:
            worker.kill()
