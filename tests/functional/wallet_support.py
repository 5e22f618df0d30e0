"""Helpers for wallet scenarios: a sandbox node, a light node and a Wallet wired together on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from core.node.node import LightNode, LightNodeConfig
from core.sandbox.node import SandboxNode
from core.wallet.events import WalletEvent
from core.wallet.wallet import Wallet

TIMEOUT = 60.0
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# A second, unrelated seed (BIP39 vector) for "someone else" in scenarios.
OTHER_MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@contextlib.asynccontextmanager
async def attached(wallet: Wallet, sbx: SandboxNode, datadir: Path) -> AsyncIterator[LightNode]:
    """A light node on `sbx` scanning for `wallet`, attached to it; closed (and detached) on exit."""
    cfg = LightNodeConfig(
        datadir, connect=(("127.0.0.1", sbx.port),), dns_seed=False, ping_interval=None, min_filter_peers=1
    )
    node = LightNode(sbx.params, cfg, scan_target=wallet)
    await node.start()
    wallet.attach(node)
    try:
        yield node
    finally:
        wallet.detach()
        await node.close()


class EventLog:
    """Collects a wallet's events and lets a test wait for one matching a predicate."""

    def __init__(self, wallet: Wallet) -> None:
        self.events: list[WalletEvent] = []
        self._changed = asyncio.Event()
        wallet.add_listener(self._on)

    def _on(self, event: WalletEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait(self, pred: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        """Wait until `pred()` holds, re-checking after each wallet event (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while not pred():
                self._changed.clear()
                await self._changed.wait()
