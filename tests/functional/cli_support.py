"""Real processes for CLI scenarios: sandbox nodes driven through `--control` on stdin, and the CLI itself.

Every wait reads process output (a reader thread per process feeds a queue, read with a timeout), so
tests synchronise on what the processes say, never on sleeps.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(REPO))
TIMEOUT = 120.0


class SandboxProcess:
    """`python -m core.sandbox.cli --control` with its stdout lines in a queue."""

    def __init__(self, datadir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.sandbox.cli", "--datadir", str(datadir), "--port", "0", "--control", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.expect("sandbox node listening on")
        self.port = int(first.split(":")[1].split(",")[0])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def expect(self, prefix: str, timeout: float = TIMEOUT) -> str:
        """The next line starting with `prefix` (or an "error:" answer, which fails the test)."""
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith(prefix):
                return line
            assert line != "", f"sandbox exited while waiting for {prefix!r}"
            assert not line.startswith("error:"), line

    def command(self, line: str, answer: str) -> str:
        """Send one control command and return its answer line (which starts with `answer`)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.expect(answer)

    def fund(self, address: str, sats: int) -> str:
        return self.command(f"fund {address} {sats}", "funded ").split()[1]

    def generate(self, n: int = 1) -> int:
        return int(self.command(f"generate {n}", "generated ").split()[1])

    def wait_height(self, height: int) -> None:
        self.command(f"waitheight {height} {TIMEOUT}", "height ")

    def close(self) -> None:
        """End of input stops the node; wait for it to exit cleanly."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0


def run_cli(datadir: Path, ports: tuple[int, ...], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`peerwallet-cli --network sandbox --datadir D --connect ... wallet ARGS`."""
    connect = [a for port in ports for a in ("--connect", f"127.0.0.1:{port}")]
    cmd = [sys.executable, "-m", "core.cli.main", "--network", "sandbox", "--datadir", str(datadir), *connect,
           "wallet", "--timeout", "60", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=dict(ENV, **(env or {})))
