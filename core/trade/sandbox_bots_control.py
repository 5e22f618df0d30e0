"""The sandbox trade bots inside the sandbox node's own process: the `startbots` and `stopbots` line
commands of `peerwallet-sandbox --control` (core.sandbox.control has the others).

The app runs its embedded sandbox as a child process (core.sandbox.process) so that the chain's work
and the bots' wallets and light nodes never hold the window's interpreter lock; the bots live next to
the sandbox node they fund themselves from.

    startbots RELAY_URL FOLDER -> "startbots RELAY_URL" at once (FOLDER: the rest of the line, spaces kept); the bots then start in the background and
                                   later print "event botsready NOSTR ESCROW" (the bot arbitrator's keys)
                                   or "event botsfailed MESSAGE"
    stopbots                   -> "stopbots"           once both bots are closed
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.trade.errors import TradeError
from core.trade.sandbox_bots import SandboxBots

log = logging.getLogger(__name__)
COMMANDS = ("startbots", "stopbots")


class BotsControl:
    """Runs at most one SandboxBots for `node`; `emit(line)` prints an unsolicited line."""

    def __init__(self, node: Any, emit: Callable[[str], None]) -> None:
        self.node = node
        self.emit = emit
        self.bots: SandboxBots | None = None
        self._task: asyncio.Task[None] | None = None

    async def handle(self, line: str) -> str:
        """Answer one `startbots`/`stopbots` command line."""
        name, _, rest = line.strip().partition(" ")
        name = name.lower()
        url, _, folder = rest.strip().partition(" ")
        folder = folder.strip()
        if name == "startbots" and url and folder:
            if self.bots is not None:
                return "error: startbots: the bots run already (stopbots first)"
            if not url.startswith(("ws://", "wss://")):
                return f"error: startbots: RELAY_URL must be a ws:// or wss:// URL, not {url[:80]!r}"
            self.bots = SandboxBots(Path(folder), self.node, url)
            self._task = asyncio.get_running_loop().create_task(self._start(self.bots), name="sandbox bots")
            return f"startbots {url}"
        if name == "stopbots" and not rest:
            await self.close()
            return "stopbots"
        return "error: usage: startbots RELAY_URL FOLDER | stopbots"

    async def _start(self, bots: SandboxBots) -> None:
        try:
            await bots.start()
        except (TradeError, TimeoutError, OSError) as e:  # the user's own trading goes on without them
            log.info("sandbox bots did not start: %s", e)
            self.emit(f"event botsfailed {' '.join(str(e).split())}")
            return
        except Exception as e:  # a bug: logged in full to the sandbox's log, the app told in one line
            log.exception("sandbox bots failed")
            self.emit(f"event botsfailed {type(e).__name__}: {' '.join(str(e).split())}")
            return
        ref = bots.arbitrator_ref
        self.emit(f"event botsready {ref.nostr} {ref.escrow}")

    async def close(self) -> None:
        """Stop the start-up if it still runs, then close both bots."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        bots, self.bots = self.bots, None
        if bots is not None:
            with contextlib.suppress(Exception):
                await bots.close()
