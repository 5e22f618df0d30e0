"""The sandbox node in a child process (core.sandbox.process), as the app runs its embedded sandbox: real
processes, real pipes, a real light node connecting to the child over loopback."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.chain.params import params_for
from core.consensus.hashes import Txid
from core.sandbox.errors import SandboxError
from core.sandbox.node import SandboxConfig
from core.sandbox.process import SANDBOX_FLAG, SandboxProcess, sandbox_command
from core.trade.sandbox_bots_control import BotsControl
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PARAMS = params_for("sandbox")
SPK = b"\x00\x14" + bytes(range(20))


def test_commands_tips_and_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        sbx = SandboxProcess(SandboxConfig(tmp_path / "s", initial_blocks=105, traffic_interval=0.05, traffic_seed=3), PARAMS)
        await sbx.start()
        try:
            assert sbx.running and sbx.port > 0 and sbx.tip.height == 105
            start_hash = sbx.tip.hash
            paid = await sbx.faucet(SPK, 123_456)
            await sbx.wait_mempool(paid.txid, 30)
            assert await sbx.has_tx(paid.txid)
            tip = await sbx.generate(2)
            assert tip.height == 107 and sbx.tip == tip and tip.hash != start_hash
            assert not await sbx.has_tx(paid.txid)  # mined
            await sbx.wait_height(107, 30)
            # The child's error answers arrive as SandboxError with its message; the child goes on.
            with pytest.raises(SandboxError, match="N must be a whole number"):
                await sbx.command("generate 0")
            with pytest.raises(SandboxError, match="unknown command 'mine"):
                await sbx.command("mine 1")
            with pytest.raises(SandboxError, match=r"not in the mempool within 0\.05 s"):
                await sbx.wait_mempool(Txid(bytes(32)), 0.05)
            with pytest.raises(SandboxError, match="standard address"):
                await sbx.faucet(b"\x6a\x01\x00", 1000)  # OP_RETURN: no address to pay
            with pytest.raises(ValueError, match="one command per line"):
                await sbx.command("generate 1\ngenerate 1")
            assert (await sbx.generate(1)).height == 108
        finally:
            await sbx.stop()
        assert not sbx.running
        with pytest.raises(SandboxError, match="was stopped"):
            await sbx.generate(1)
        # Stopped cleanly: reopening finds the chain it left.
        again = SandboxProcess(SandboxConfig(tmp_path / "s"), PARAMS)
        await again.start()
        try:
            assert again.tip.height == 108
        finally:
            await again.stop()

    run(scenario)


def test_a_dead_child_fails_commands_instead_of_hanging(tmp_path: Path) -> None:
    async def scenario() -> None:
        sbx = SandboxProcess(SandboxConfig(tmp_path / "s", initial_blocks=101), PARAMS)
        await sbx.start()
        try:
            assert sbx._proc is not None
            os.killpg(sbx._proc.pid, signal.SIGKILL)
            with pytest.raises(SandboxError, match="exit"):
                await sbx.wait_mempool(Txid(bytes(32)), 60)  # answered by the child's death, not the timeout
            with pytest.raises(SandboxError, match="exit"):
                await sbx.generate(1)
        finally:
            await sbx.stop()

    run(scenario)


def test_waiting_for_the_bots_ends_when_the_child_dies(tmp_path: Path) -> None:
    async def scenario() -> None:
        sbx = SandboxProcess(SandboxConfig(tmp_path / "s", initial_blocks=101), PARAMS)
        await sbx.start()
        try:
            waiting = asyncio.create_task(sbx.start_bots(tmp_path / "bots", "ws://127.0.0.1:1"))  # no relay there
            await asyncio.sleep(0)  # a yield, not a wait: the task sends "startbots" before our next command
            assert not await sbx.has_tx(Txid(bytes(32)))  # answered after "startbots": the bots are starting now
            assert sbx._proc is not None and not waiting.done()
            os.killpg(sbx._proc.pid, signal.SIGKILL)
            with pytest.raises(SandboxError, match="bots did not start"):
                await asyncio.wait_for(waiting, 60)
        finally:
            await sbx.stop()

    run(scenario)


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "s"
    blocker.mkdir()
    (blocker / "chain.sqlite").write_bytes(b"this is not a database" * 100)

    async def scenario() -> None:
        sbx = SandboxProcess(SandboxConfig(blocker), PARAMS)
        with pytest.raises(SandboxError, match="exited during start"):
            await sbx.start()
        assert not sbx.running

    run(scenario)


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    # A parent process that starts a sandbox child and is then killed: the child must not linger.
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from core.chain.params import params_for\n"
        "from core.sandbox.node import SandboxConfig\n"
        "from core.sandbox.process import SandboxProcess\n"
        "async def main():\n"
        f"    sbx = SandboxProcess(SandboxConfig(Path({str(tmp_path / 's')!r}), initial_blocks=3), params_for('sandbox'))\n"
        "    await sbx.start()\n"
        "    print(sbx._proc.pid, flush=True)\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        pidfd = os.pidfd_open(child)
    finally:
        parent.kill()
        parent.wait(timeout=30)
    try:
        ready, _, _ = select.select([pidfd], [], [], 30)  # readable once the child has exited
        assert ready, "the sandbox child outlived its parent by 30 s"
    finally:
        os.close(pidfd)


def test_command_line_from_source_and_frozen(tmp_path: Path) -> None:
    cfg = SandboxConfig(tmp_path / "s", port=0, initial_blocks=110, traffic_interval=0.5, block_interval=30.0,
                        traffic_seed=9, v2_transport=False, connect=(("127.0.0.1", 18444),))
    tail = ["--datadir", str(tmp_path / "s"), "--host", "127.0.0.1", "--port", "0", "--blocks", "110", "--control",
            "--traffic", "--traffic-interval", "0.5", "--block-interval", "30.0", "--seed", "9", "--v1-only",
            "--connect", "127.0.0.1:18444"]
    assert sandbox_command(cfg, frozen=False, executable="/usr/bin/python3") == ["/usr/bin/python3", "-m", "core.sandbox.cli", *tail]
    frozen = sandbox_command(cfg, frozen=True, executable="/opt/peerwallet/peerwallet")
    assert frozen == ["/opt/peerwallet/peerwallet", SANDBOX_FLAG, *tail]
    plain = sandbox_command(SandboxConfig(tmp_path / "p"), frozen=False, executable="py")
    assert "--traffic" not in plain and "--block-interval" not in plain and "--seed" not in plain


def test_frozen_app_runs_the_sandbox_through_its_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bundle without PyInstaller: a `peerwallet` program that is the launcher script, seen from a
    # process that believes it is frozen, so SandboxProcess starts `peerwallet --sandbox-node ...`.
    program = tmp_path / "peerwallet"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} {REPO / "packaging" / "launcher.py"} "$@"\n')
    program.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(program))

    async def scenario() -> None:
        sbx = SandboxProcess(SandboxConfig(tmp_path / "s", initial_blocks=101), PARAMS)
        await sbx.start()
        try:
            assert sbx._proc is not None
            cmdline = (Path("/proc") / str(sbx._proc.pid) / "cmdline").read_bytes().split(b"\0")
            assert SANDBOX_FLAG.encode() in cmdline
            assert (await sbx.generate(1)).height == 102
        finally:
            await sbx.stop()

    run(scenario)


def test_bots_commands_refuse_bad_lines() -> None:
    async def scenario() -> None:
        lines: list[str] = []
        bots = BotsControl(None, lines.append)  # no node: none of these lines gets as far as starting bots
        assert (await bots.handle("startbots http://127.0.0.1:1 /tmp/x")).startswith(
            "error: startbots: RELAY_URL must be a ws:// or wss:// URL"
        )
        assert await bots.handle("startbots ws://127.0.0.1:1") == "error: usage: startbots RELAY_URL FOLDER | stopbots"
        assert await bots.handle("stopbots now") == "error: usage: startbots RELAY_URL FOLDER | stopbots"
        assert await bots.handle("stopbots") == "stopbots"  # nothing running: nothing to stop
        assert lines == [] and bots.bots is None

    run(scenario)
