"""A light client for the sync tests: header and filter sync over real Peers, with a minimal peer set
and message router standing in for the peer manager and the node actor."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.node.filter_sync import FilterSync
from core.node.header_sync import HeaderSync
from core.p2p.messages import Message
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import PeerConnected, PeerDisconnected, PeerEvent
from core.p2p.services import ServiceFlags


class MiniPeerSet:
    """The PeerSet protocol over a list; punishment and stalls disconnect and are recorded."""

    def __init__(self) -> None:
        self.all: list[Peer] = []
        self.punished: list[tuple[Peer, str]] = []
        self.stalled: list[Peer] = []

    def peers(self) -> list[Peer]:
        return [p for p in self.all if not p.is_closed and p.handshake_complete]

    def filter_peers(self) -> list[Peer]:
        return [p for p in self.peers() if p.services & ServiceFlags.NODE_COMPACT_FILTERS]

    def punish(self, peer: Peer, reason: str) -> None:
        self.punished.append((peer, reason))
        peer.disconnect(f"misbehaving: {reason}")

    def report_stall(self, peer: Peer) -> None:
        self.stalled.append(peer)
        peer.disconnect("stalling")


class Wallet:
    """An in-memory ScanTarget recording what it is told."""

    def __init__(self, scripts: Sequence[bytes], birthday: int = 0) -> None:
        self._scripts = list(scripts)
        self.birthday = birthday
        self.events: list[tuple[str, int, BlockHash]] = []

    def scripts(self) -> Sequence[bytes]:
        return self._scripts

    def block_connected(self, height: int, block: Block) -> None:
        self.events.append(("connect", height, block.hash))

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        self.events.append(("disconnect", height, block_hash))

    def birthday_height(self) -> int:
        return self.birthday


class LightClient:
    """HeaderSync + FilterSync on one worker thread, fed by real peers (the PeerHandler)."""

    def __init__(self, params: ChainParams, datadir: Path, wallet: Wallet) -> None:
        self.params = params
        self.datadir = datadir
        self.wallet = wallet
        self.peerset = MiniPeerSet()
        self.events: list[object] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="light-sync")
        self.ctx = PeerContext(PeerConfig(magic=params.magic, ping_interval=None, v2_transport=True), self)
        self.headers: HeaderSync
        self.filters: FilterSync

    async def run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> LightClient:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.store = await self.run(HeaderStore, self.datadir / "headers.sqlite")
        self.tree = await self.run(HeaderTree, self.params, self.store)
        self.headers = HeaderSync(self.params, self.tree, self.peerset, self.run, emit=self.events.append, stall_timeout=20)
        self.filters = FilterSync(
            self.params, self.tree, self.datadir / "filters.sqlite", self.peerset, self.wallet, self.run,
            emit=self.events.append, request_timeout=20,
        )
        self.headers.listeners.append(self.filters.on_headers_changed)
        await self.filters.start()
        return self

    async def connect(self, port: int) -> Peer:
        return await Peer.connect(self.ctx, "127.0.0.1", port, prefer_v2=True)

    async def stop(self) -> None:
        await self.headers.close()
        await self.filters.close()
        for p in list(self.peerset.all):
            await p.close("client stopping")
        await self.run(self.store.close)
        self._executor.shutdown(wait=True)

    # --- PeerHandler --------------------------------------------------------------------------------
    async def on_message(self, peer: Peer, msg: Message) -> None:
        await self.headers.on_message(peer, msg)
        await self.filters.on_message(peer, msg)

    def on_event(self, event: PeerEvent) -> None:
        if isinstance(event, PeerConnected):
            self.peerset.all.append(event.peer)
            self.headers.on_peer_up(event.peer)
            self.filters.on_peer_up(event.peer)
        elif isinstance(event, PeerDisconnected):
            self.headers.on_peer_down(event.peer)
            self.filters.on_peer_down(event.peer)
