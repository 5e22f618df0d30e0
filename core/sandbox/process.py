"""A sandbox node in a child process, driven through its `--control` line protocol.

The app's embedded sandbox runs here rather than on the app's own loop: the chain's work (reopening a
long chain rebuilds its coins, validation, mining, signing, serving filters) and the sandbox's trade
bots (their wallets and light nodes) are Python code that would otherwise hold the interpreter lock the
window needs to stay responsive. Over a pipe the app pays only for reading one line per command.

The child is `python -m core.sandbox.cli --control ...` from source, or the frozen app itself with
SANDBOX_FLAG first (packaging/launcher.py hands the rest to core.sandbox.cli). Its stdout carries one
answer line per command, in order, plus lines it prints on its own: "tip HEIGHT HASH" and "event ...";
its log goes to `sandbox.log` in its data directory. It asks for SIGTERM when its parent dies and stops
at the end of its stdin, so it never outlives the app.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import core
from core.chain.params import ChainParams
from core.childproc import die_with_parent
from core.consensus.hashes import BlockHash, Txid
from core.sandbox.errors import SandboxError
from core.sandbox.node import SandboxConfig
from core.script.address import script_to_address

log = logging.getLogger(__name__)

#: The frozen app's first argument that makes it run the sandbox node's CLI instead of the window.
SANDBOX_FLAG = "--sandbox-node"
#: Longest wait for one answer; the slowest command (mining the first 110 blocks) takes ~1 s.
COMMAND_TIMEOUT = 120.0
#: Cap on one line from the child (a tip line is ~80 characters).
MAX_LINE = 64 * 1024
LISTENING = "sandbox node listening on "


@dataclass(frozen=True, slots=True)
class SandboxTip:
    """The child's chain tip as it last reported it."""

    height: int
    hash: BlockHash


@dataclass(frozen=True, slots=True)
class FaucetPayment:
    """A faucet payment the child made (unconfirmed until mined)."""

    txid: Txid


def sandbox_command(config: SandboxConfig, *, frozen: bool | None = None, executable: str | None = None) -> list[str]:
    """The argv that runs a sandbox node for `config` with control commands on stdin."""
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    exe = executable or sys.executable
    args = [
        "--datadir", str(config.datadir), "--host", config.host, "--port", str(config.port),
        "--blocks", str(config.initial_blocks), "--control",
    ]
    if config.traffic_interval:
        args += ["--traffic", "--traffic-interval", repr(config.traffic_interval)]
    if config.block_interval:
        args += ["--block-interval", repr(config.block_interval)]
    if config.traffic_seed is not None:
        args += ["--seed", str(config.traffic_seed)]
    if not config.v2_transport:
        args.append("--v1-only")
    for host, port in config.connect:
        args += ["--connect", f"{host}:{port}"]
    return [exe, SANDBOX_FLAG, *args] if frozen else [exe, "-m", "core.sandbox.cli", *args]


def _child_env() -> dict[str, str]:
    # From source the child must import this very `core` package, wherever the app was started from.
    root = str(Path(core.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=root if not path else f"{root}{os.pathsep}{path}")


class SandboxProcess:
    """A sandbox node running in a child process: `await start()`, the commands, `await stop()`.

    Offers what the app asks of an embedded sandbox (`port`, `tip`, `faucet`, `generate`, mempool
    checks, the trade bots); every command failing in the child raises SandboxError with its message.
    """

    def __init__(self, config: SandboxConfig, params: ChainParams, start_timeout: float = COMMAND_TIMEOUT) -> None:
        self.config = config
        self.params = params
        self.start_timeout = start_timeout
        self.port = 0
        self.tip = SandboxTip(-1, BlockHash(bytes(32)))
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: collections.deque[asyncio.Future[str]] = collections.deque()
        self._events: asyncio.Queue[str] = asyncio.Queue()
        self._exit_reason: str | None = None
        self._tip_changed = asyncio.Event()

    @property
    def log_path(self) -> Path:
        """Where the child writes its log."""
        return Path(self.config.datadir) / "sandbox.log"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.returncode is None

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the child and wait until it listens (SandboxError if it exits or times out first)."""
        if self._proc is not None:
            return
        self._exit_reason = None
        datadir = Path(self.config.datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        logfile = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child; one run's log
        try:
            proc = self._proc = await asyncio.create_subprocess_exec(
                *sandbox_command(self.config),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=logfile,
                env=_child_env(), start_new_session=True,  # the app's Ctrl+C is the app's to handle
                preexec_fn=die_with_parent, limit=MAX_LINE,
            )
        finally:
            logfile.close()
        try:
            await asyncio.wait_for(self._wait_listening(proc), self.start_timeout)
        except TimeoutError:
            await self.stop()
            raise SandboxError(f"the sandbox node did not start within {self.start_timeout:g} s; see {self.log_path}") from None
        except BaseException:
            await self.stop()
            raise
        self._reader = asyncio.get_running_loop().create_task(self._read(proc), name="sandbox process reader")

    async def _wait_listening(self, proc: asyncio.subprocess.Process) -> None:
        while True:
            line = await self._readline(proc)
            if line is None:
                raise SandboxError(f"the sandbox node exited during start: {self._log_tail()}")
            if line.startswith(LISTENING):  # "... on HOST:PORT, height H, tip HASH"
                where, _, rest = line[len(LISTENING):].partition(", height ")
                height, _, block = rest.partition(", tip ")
                try:
                    self.port = int(where.rpartition(":")[2])
                    self._set_tip(SandboxTip(int(height), BlockHash.from_hex(block)))
                except ValueError:
                    raise SandboxError(f"the sandbox node said {line[:200]!r} on start") from None
                return
            self._unsolicited(line)  # tips of the blocks mined at start

    async def stop(self, timeout: float = 30.0) -> None:
        """End the child's input (it stops its node and exits); SIGTERM, then SIGKILL, if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            log.warning("the sandbox node did not stop within %g s; terminating it", timeout)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5.0)
                    break
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._exit_reason = "the sandbox node was stopped"
        self._fail_pending(self._exit_reason)

    # --- reading ---------------------------------------------------------------------------------
    @staticmethod
    async def _readline(proc: asyncio.subprocess.Process) -> str | None:
        assert proc.stdout is not None
        try:
            raw = await proc.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):  # a line over MAX_LINE: not our child's output
            raise SandboxError("the sandbox node printed an over-long line") from None
        if not raw:
            return None
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        try:
            while (line := await self._readline(proc)) is not None:
                if line.startswith(("tip ", "event ")):
                    self._unsolicited(line)
                    continue
                while self._pending:
                    fut = self._pending.popleft()
                    if not fut.done():  # a caller that timed out left its future behind: skip it
                        fut.set_result(line)
                        break
                else:
                    log.warning("sandbox node said %r unasked", line[:200])
            reason = "the sandbox node exited"
        except SandboxError as e:
            reason = str(e)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5.0)
        reason += f" (exit code {proc.returncode}); see {self.log_path}"
        self._exit_reason = reason
        self._fail_pending(reason)
        self._tip_changed.set()  # wakes wait_height, which then sees the exit
        self._events.put_nowait(f"botsfailed {reason}")  # wakes start_bots

    def _unsolicited(self, line: str) -> None:
        if line.startswith("tip "):
            parts = line.split()
            try:
                self._set_tip(SandboxTip(int(parts[1]), BlockHash.from_hex(parts[2])))
            except (IndexError, ValueError):
                log.warning("bad tip line from the sandbox node: %r", line[:200])
        elif line.startswith("event "):
            self._events.put_nowait(line[len("event "):])

    def _set_tip(self, tip: SandboxTip) -> None:
        self.tip = tip
        changed, self._tip_changed = self._tip_changed, asyncio.Event()
        changed.set()

    def _fail_pending(self, reason: str) -> None:
        while self._pending:
            fut = self._pending.popleft()
            if not fut.done():
                fut.set_exception(SandboxError(reason))

    def _log_tail(self, lines: int = 3) -> str:
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
            if tail:
                return " | ".join(tail)
        return f"no output (see {self.log_path})"

    # --- commands --------------------------------------------------------------------------------
    async def command(self, line: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Send one control line; its answer, or SandboxError for an "error: ..." answer or a dead child."""
        proc = self._proc
        if proc is None or proc.stdin is None or self._reader is None or self._reader.done():
            raise SandboxError(self._exit_reason or "the sandbox node is not running")
        if "\n" in line or "\r" in line:
            raise ValueError("one command per line")
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # Appended and written with no await between: answers come back in the order commands went out.
        self._pending.append(fut)
        proc.stdin.write(line.encode() + b"\n")
        try:
            await proc.stdin.drain()
            answer = await asyncio.wait_for(fut, timeout)
        except (ConnectionError, BrokenPipeError):
            raise SandboxError(self._exit_reason or "the sandbox node exited") from None
        except TimeoutError:
            raise SandboxError(f"the sandbox node did not answer {line.split()[0]!r} within {timeout:g} s") from None
        if answer.startswith("error:"):
            raise SandboxError(answer[len("error:"):].strip())
        return answer

    async def faucet(self, script_pubkey: bytes, amount: int) -> FaucetPayment:
        """Pay `amount` satoshis to `script_pubkey` from the sandbox's coins (unconfirmed until mined)."""
        address = script_to_address(script_pubkey, self.params.network)
        if address is None:
            raise SandboxError("the faucet pays only to a standard address")
        answer = await self.command(f"fund {address} {int(amount)}")
        return FaucetPayment(Txid.from_hex(answer.split()[1]))

    async def generate(self, count: int) -> SandboxTip:
        """Mine `count` blocks (mempool included); the new tip."""
        _, height, block = (await self.command(f"generate {int(count)}")).split()
        tip = SandboxTip(int(height), BlockHash.from_hex(block))
        if tip.height > self.tip.height:  # its tip line may have come first
            self._set_tip(tip)
        return tip

    async def wait_height(self, height: int, timeout: float = 60.0) -> None:
        """Return once the child has reported a tip at `height` or above (SandboxError after `timeout`)."""

        async def reached() -> None:
            while self.tip.height < height:
                if self._exit_reason is not None or not self.running:
                    raise SandboxError(self._exit_reason or "the sandbox node is not running")
                await self._tip_changed.wait()

        try:
            await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            raise SandboxError(f"the sandbox did not reach height {height} within {timeout:g} s (tip {self.tip.height})") from None

    async def has_tx(self, txid: Txid) -> bool:
        """Is `txid` in the sandbox's mempool now."""
        return (await self.command(f"inmempool {txid}")).split()[-1] == "yes"

    async def wait_mempool(self, txid: Txid, timeout: float = 60.0) -> None:
        """Return once `txid` is in the sandbox's mempool (SandboxError after `timeout` seconds)."""
        await self.command(f"waitmempool {txid} {timeout:g}", timeout + 10.0)

    async def start_bots(self, folder: Path, relay_url: str) -> tuple[str, str]:
        """Start the trade bots in the child (core.trade.sandbox_bots_control) and wait until they run;
        the bot arbitrator's (nostr, escrow) x-only keys. SandboxError if they did not start."""
        await self.command(f"startbots {relay_url} {folder}")
        while True:
            event = await self._events.get()
            kind, _, rest = event.partition(" ")
            if kind == "botsready":
                nostr, escrow = rest.split()
                return nostr, escrow
            if kind == "botsfailed":
                raise SandboxError(f"the sandbox bots did not start: {rest}")

    async def stop_bots(self) -> None:
        """Close the trade bots (if they run)."""
        await self.command("stopbots")
