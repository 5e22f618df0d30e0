"""The sandbox as the product runs it: a block timer, generated traffic, and the command-line entry point."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.sandbox.events import TipChanged, TxAccepted
from tests.functional.sandbox_support import sandbox
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def test_block_timer_and_traffic_keep_the_mempool_alive(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101):
            pass  # mature coins first; then restart the node with a block timer and traffic
        async with sandbox(tmp_path, "a", block_interval=0.5, traffic_interval=0.02, traffic_seed=11) as a:
            events = a.subscribe()
            accepted, tips, fee_rates = 0, 0, set()
            while tips < 2 or accepted < 20:
                ev = await asyncio.wait_for(events.get(), 30)
                if isinstance(ev, TxAccepted):
                    accepted += 1
                    fee_rates.add(ev.fee * 1000 // ev.vsize // 1000)
                elif isinstance(ev, TipChanged):
                    tips += 1
            assert len(fee_rates) >= 5, f"traffic seed 11 gave fee rates {sorted(fee_rates)}"

    run(scenario)


def test_traffic_never_replaces_a_faucet_payment(tmp_path: Path) -> None:
    """Regression: the traffic proposed a payment, the faucet then spent the same free coin, and the
    traffic's higher fee replaced the faucet's payment (a bot waited forever for its funding). Faucet
    payments back to back while the traffic runs flat out: every one is mined in the next block."""

    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=300, traffic_interval=0.0005, traffic_seed=5) as a:
            for rnd in range(8):
                paid = [await a.faucet(bytes([0, 20, rnd, i]) + bytes(18), 1_000_000) for i in range(40)]
                (block,) = await a.generate(1)
                mined = {tx.txid for tx in block.txs}
                assert [tx.txid for tx in paid if tx.txid not in mined] == [], f"round {rnd}"

    run(scenario)


def test_peerwallet_sandbox_command_starts_and_stops(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.sandbox.cli", "--datadir", str(tmp_path / "s"), "--port", "0", "--blocks", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("sandbox node listening on 127.0.0.1:") and ", height 5, tip " in line, line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
