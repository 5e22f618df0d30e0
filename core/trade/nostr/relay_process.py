"""A real Nostr relay on loopback for tests and the sandbox: the `nostr-relay` package's `serve`
command (installed through the `test` and `sandbox` extras, and carried by the app bundle), run as a
child process.

From source the child is this Python running nostr-relay's CLI. In a frozen bundle `sys.executable`
is the `peerwallet` program itself, which has no `-c`: the child is that program with RELAY_FLAG
first, and the bundle's launcher (packaging/launcher.py) hands the rest to nostr-relay's CLI.

The config (JSON, which is YAML) names a SQLite file in `datadir`, binds 127.0.0.1 on a free port,
keeps nostr-relay's signature and freshness validators and raises its content cap so gift wraps fit.
`start` waits until the relay accepts a websocket; `stop` sends SIGTERM, then kills; `kill` simulates
a crash. A restarted relay keeps its port and its stored events.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from core.childproc import die_with_parent
from core.trade.errors import RelayError

#: nostr-relay's cap is on the content length of one event; a gift-wrapped trade message of a few
#: kilobytes grows about 1.8x through the two NIP-44 layers.
MAX_EVENT_CONTENT = 256 * 1024
_ENTRY = "import sys; from nostr_relay.cli import main; sys.exit(main())"
#: The frozen app's first argument that makes it run nostr-relay's CLI instead of the window.
RELAY_FLAG = "--nostr-relay"


def local_relay_available() -> bool:
    """True when this installation can run a local relay (the nostr-relay package is importable,
    from source or inside the bundle)."""
    return importlib.util.find_spec("nostr_relay") is not None


def relay_command(config: Path, *, frozen: bool | None = None, executable: str | None = None) -> list[str]:
    """The argv that starts nostr-relay's `serve` on `config` (see the module docstring); `frozen`
    defaults to whether this process runs from a PyInstaller bundle."""
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    exe = executable or sys.executable
    entry = [exe, RELAY_FLAG] if frozen else [exe, "-c", _ENTRY]
    return [*entry, "-c", str(config), "serve", "--use-uvicorn"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relay_config(datadir: Path, port: int) -> dict[str, object]:
    """The nostr-relay configuration for a loopback relay storing into `datadir`/relay.sqlite3."""
    db = (datadir / "relay.sqlite3").resolve()
    return {
        "DEBUG": False,
        "relay_name": "peerwallet local relay",
        "relay_description": "loopback relay for tests and the sandbox",
        "storage": {
            "sqlalchemy.url": f"sqlite+aiosqlite:///{db}",
            "num_concurrent_reqs": 4,
            "num_concurrent_adds": 1,  # SQLite has one writer at a time
            "validators": [
                "nostr_relay.validators.is_not_too_large",
                "nostr_relay.validators.is_signed",
                "nostr_relay.validators.is_recent",
            ],
        },
        "gunicorn": {"bind": f"127.0.0.1:{port}", "workers": 1, "loglevel": "warning", "reload": False},
        "authentication": {"enabled": False},
        "verification": {"nip05_verification": "disabled"},
        "max_event_size": MAX_EVENT_CONTENT,
        "subscription_limit": 64,
        "message_timeout": 3600,
        "max_limit": 6000,
        "logging": {"version": 1, "root": {"level": "WARNING"}},
    }


class LocalRelay:
    """`async with LocalRelay(datadir) as relay:` runs a relay at `relay.url` until the block ends."""

    def __init__(self, datadir: str | Path, port: int | None = None, start_timeout: float = 60.0) -> None:
        self.datadir = Path(datadir)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The relay's websocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.returncode is None

    async def __aenter__(self) -> LocalRelay:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Write the config, start `nostr-relay serve` and wait until it accepts a websocket."""
        if self.running:
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        config = self.datadir / "relay.yaml"
        config.write_text(json.dumps(relay_config(self.datadir, self.port), indent=1))
        log = open(self.datadir / "relay.log", "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *relay_command(config),
                cwd=str(self.datadir), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,  # its own process group: signals reach only the relay
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        try:
            await self._wait_accepting()
        except BaseException:
            await self.stop()
            raise

    async def _wait_accepting(self) -> None:
        # Readiness has no signal we can wait on (the relay logs nothing at our level), so probe the
        # port with a bounded retry until the deadline, failing early if the process died.
        deadline = time.monotonic() + self.start_timeout
        while True:
            if not self.running:
                raise RelayError(f"nostr-relay exited during start; see {self.datadir / 'relay.log'}")
            try:
                async with connect(self.url, open_timeout=2, proxy=None, compression=None):
                    return
            except (OSError, TimeoutError, WebSocketException):
                if time.monotonic() > deadline:
                    raise RelayError(f"nostr-relay not accepting at {self.url} after {self.start_timeout}s") from None
                await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns when the process has exited."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        self._proc = None

    async def kill(self) -> None:
        """SIGKILL the relay (a crash); its SQLite file keeps what it had committed."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        self._proc = None

    async def restart(self) -> None:
        """Stop (if running) and start again on the same port with the same data."""
        await self.stop()
        await self.start()
