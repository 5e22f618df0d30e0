"""A tiny peer set for the mempool-view and broadcast tests: real Peer connections to sandboxes,
every message and peer event routed to the objects under test (the peer manager's job in the node)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from core.chain.params import params_for
from core.p2p.messages import Message, MsgInv
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import PeerConnected, PeerDisconnected, PeerEvent

TIMEOUT = 30.0
E = TypeVar("E")


class TinyPeerSet:
    """PeerSet + PeerHandler: connects to sandboxes and routes to `routes` (on_message/on_peer_up/down)."""

    def __init__(self) -> None:
        cfg = PeerConfig(magic=params_for("sandbox").magic, ping_interval=None, handshake_timeout=TIMEOUT)
        self.ctx = PeerContext(cfg, self)
        self.routes: list[Any] = []
        self._peers: list[Peer] = []
        self.announced: set[bytes] = set()  # every tx hash any peer announced to us

    def peers(self) -> list[Peer]:
        return [p for p in self._peers if p.close_reason is None]

    async def connect(self, port: int) -> Peer:
        return await asyncio.wait_for(Peer.connect(self.ctx, "127.0.0.1", port), TIMEOUT)

    async def on_message(self, peer: Peer, msg: Message) -> None:
        if isinstance(msg, MsgInv):
            self.announced.update(bytes(i.hash) for i in msg.inventory)
        for r in self.routes:
            await r.on_message(peer, msg)

    def on_event(self, event: PeerEvent) -> None:
        if isinstance(event, PeerConnected):
            self._peers.append(event.peer)
            for r in self.routes:
                r.on_peer_up(event.peer)
        elif isinstance(event, PeerDisconnected):
            if event.peer in self._peers:
                self._peers.remove(event.peer)
            for r in self.routes:
                r.on_peer_down(event.peer)

    async def close(self) -> None:
        for p in list(self._peers):
            await p.close("test over")


class EventLog:
    """Collects emitted events; `expect` waits (bounded) for one matching a predicate."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._changed = asyncio.Condition()

    def emit(self, event: object) -> None:
        self.events.append(event)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def expect(self, cls: type[E], pred: Callable[[E], bool] = lambda _: True, timeout: float = TIMEOUT) -> E:
        def find() -> E | None:
            for e in self.events:
                if isinstance(e, cls) and pred(e):
                    return e
            return None

        async def wait() -> E:
            async with self._changed:
                await self._changed.wait_for(lambda: find() is not None)
            got = find()
            assert got is not None
            return got

        return await asyncio.wait_for(wait(), timeout)

    async def settle(self) -> None:
        """Let pending notification tasks finish (so the strict runner sees no leftover task)."""
        for _ in range(3):
            await asyncio.sleep(0)


def executor_run() -> Callable[..., Any]:
    """The node's executor_run: run a function on the loop's default executor."""
    loop = asyncio.get_running_loop()
    return lambda fn, *args: loop.run_in_executor(None, fn, *args)
