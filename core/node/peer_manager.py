"""The light node's outbound connections (Core's CConnman::ThreadOpenConnections, for a client).

`PeerManager` is the PeerHandler of every peer it opens: it vets each handshake (a full-relay peer
must offer NODE_NETWORK|NODE_WITNESS or NODE_NETWORK_LIMITED|NODE_WITNESS), reports PeerUp/PeerDown,
and forwards messages and events of the peers it keeps to the node's own handler. With a `connect`
list it dials exactly those peers and keeps redialling them with backoff (Core's -connect, which
also disables automatic connections). Otherwise it keeps `max_outbound` peers picked from the
address book, at most one per network group (an attacker controlling one /16 gets at most one of
our slots), at least `min_filter_peers` of them serving BIP157 filters (a non-filter peer is
replaced when short), and asks the DNS seeds when the book is empty. v2 (BIP324) is tried toward
addresses advertising NODE_P2P_V2 and toward manual peers; the Peer layer falls back to v1.
A SOCKS5 proxy (Tor) carries every outbound connection when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.chain.params import ChainParams
from core.node.addrman import AddrInfo, AddrMan, Net, is_local, network_group, network_of, normalize_host
from core.node.events import PeerDown, PeerInfo, PeerUp
from core.node.proxy import socks5_opener
from core.p2p.errors import PeerConnectError
from core.p2p.messages import Message, MsgAddr, MsgAddrV2
from core.p2p.peer import Peer
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import PeerConnected, PeerDisconnected, PeerEvent, PeerHandler
from core.p2p.services import ServiceFlags

log = logging.getLogger(__name__)

SF = ServiceFlags
#: Core's HasAllDesirableServiceFlags for a peer we sync from: full or limited (BIP159), with witness.
FULL_SERVICES = SF.NODE_NETWORK | SF.NODE_WITNESS
LIMITED_SERVICES = SF.NODE_NETWORK_LIMITED | SF.NODE_WITNESS
#: A connection that lasted this long resets its address's backoff.
STABLE_CONNECTION = 60.0
#: Core's DUMP_PEERS_INTERVAL: the address book is written every 15 minutes.
SAVE_INTERVAL = 15 * 60.0

Key = tuple[str, int]
Connector = Callable[[PeerContext, str, int, int, "bool | None"], Awaitable[Peer]]
NodeEventSink = Callable[[PeerUp | PeerDown], None]


def has_required_services(services: int) -> bool:
    """Whether a peer offers the blocks and witnesses a light client needs."""
    return (services & FULL_SERVICES) == FULL_SERVICES or (services & LIMITED_SERVICES) == LIMITED_SERVICES


@dataclass(frozen=True)
class PeerManagerConfig:
    """How many peers to keep, which ones, and how to reach them."""

    max_outbound: int = 8
    min_filter_peers: int = 2
    #: Manual peers; when set, the only ones dialled (Core's -connect).
    connect: tuple[Key, ...] = ()
    #: "socks5://host:port": every outbound connection goes through this proxy (Tor).
    proxy: str | None = None
    #: Where the address book is kept; None keeps it in memory only.
    addrman_path: Path | None = None
    dns_seed: bool = True
    #: Backoff after a failed or short-lived connection: retry_base * 2**failures, capped.
    retry_base: float = 1.0
    retry_max: float = 300.0
    #: The DNS seeds are asked at most this often.
    seed_interval: float = 300.0


async def default_connector(ctx: PeerContext, host: str, port: int, services: int, prefer_v2: bool | None) -> Peer:
    """Dial with `Peer.connect`, requiring witness at the version message."""
    return await Peer.connect(
        ctx, host, port, remote_services=services, prefer_v2=prefer_v2, required_services=SF.NODE_WITNESS
    )


@dataclass
class _Slot:
    key: Key
    manual: bool


class PeerManager:
    """Keeps the outbound peer set; implements PeerSet (`peers`, `filter_peers`, `punish`, `report_stall`)."""

    def __init__(
        self,
        params: ChainParams,
        handler: PeerHandler,
        *,
        peer_config: PeerConfig | None = None,
        config: PeerManagerConfig | None = None,
        addrman: AddrMan | None = None,
        on_event: NodeEventSink | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.params = params
        self.config = cfg = config or PeerManagerConfig()
        pcfg = peer_config or PeerConfig(magic=params.magic)
        if cfg.proxy is not None:
            pcfg = dataclasses.replace(pcfg, open_connection=socks5_opener(cfg.proxy))
        self.ctx = PeerContext(pcfg, self)
        self.handler = handler
        self.addrman = addrman if addrman is not None else (
            AddrMan.load(cfg.addrman_path) if cfg.addrman_path is not None else AddrMan()
        )
        self._on_node_event = on_event
        self._connector = connector or default_connector
        self._peers: dict[Peer, _Slot | None] = {}  # vetted peers; the slot is known once the dial returns
        self._dialing: dict[Key, bool] = {}  # key -> manual
        self._added: list[Key] = []  # manual peers added at run time (Core's addnode), beside `connect`
        self._backoff: dict[Key, tuple[int, float]] = {}  # key -> (failures, next try, loop time)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakeup: asyncio.Event | None = None
        self._last_seed = float("-inf")
        self._closing = False

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the connection loop."""
        self._wakeup = asyncio.Event()
        self._spawn(self._maintain(), "peer-manager")

    async def close(self) -> None:
        """Stop dialling, close every peer, save the address book."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for peer in list(self._peers):
            await peer.close("node stopping")
        self.save()

    def save(self) -> None:
        """Write the address book (if it has a path)."""
        path = self.config.addrman_path
        if path is not None:
            try:
                self.addrman.save(path)
            except OSError as e:
                log.warning("cannot save address book %s: %s", path, e)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    # --- PeerSet ---------------------------------------------------------------------------------

    def peers(self) -> list[Peer]:
        """Handshaken peers that passed our service checks."""
        return [p for p in self._peers if not p.is_closed]

    def filter_peers(self) -> list[Peer]:
        """Peers serving BIP157 compact block filters."""
        return [p for p in self.peers() if p.services & SF.NODE_COMPACT_FILTERS]

    def punish(self, peer: Peer, reason: str) -> None:
        """Disconnect a misbehaving peer and discourage its address; a loopback peer is only disconnected."""
        if is_local(peer.address[0]):
            peer.disconnect(f"misbehaving: {reason}")
        else:
            peer.misbehaving(reason)

    def report_stall(self, peer: Peer) -> None:
        """Drop a peer that stopped serving us; the connection loop opens a replacement."""
        slot = self._peers.get(peer)
        key = slot.key if slot is not None else (peer.address[0], peer.address[1])
        self.addrman.attempt(*key)  # counted as a failure: not selected again for a while
        self._bump_backoff(key)
        peer.disconnect("stalled")

    def peer_infos(self) -> list[PeerInfo]:
        """A display snapshot of every connected peer."""
        return [peer_info(p) for p in self.peers()]

    def add_peer(self, host: str, port: int) -> None:
        """Dial `host:port` and keep redialling it, beside the other peers (Core's `addnode add`)."""
        key = (normalize_host(host), port)
        if key not in self._added and key not in self.config.connect:
            self._added.append(key)
        self._wake()

    def disconnect_peer(self, host: str, port: int) -> bool:
        """Close the connection to `host:port` and forget it if it was added (Core's `disconnectnode`).

        A peer of the `connect` list is redialled later, as Core does. False if no such peer.
        """
        key = (normalize_host(host), port)
        if key in self._added:
            self._added.remove(key)
        found = [p for p in self.peers() if (normalize_host(p.address[0]), p.address[1]) == key]
        for peer in found:
            peer.disconnect("disconnected by the user")
        return bool(found)

    # --- PeerHandler -----------------------------------------------------------------------------

    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Learn addresses, then forward messages of kept peers to the node's handler."""
        if peer not in self._peers:
            return  # rejected at its handshake; its messages mean nothing to us
        if isinstance(msg, MsgAddr | MsgAddrV2) and not self.config.connect and self.addrman.add_message(
            msg, peer.address[0]
        ):
            self._wake()  # new candidates: a free slot or a missing filter peer may be filled now
        await self.handler.on_message(peer, msg)

    def on_event(self, event: PeerEvent) -> None:
        """Vet handshakes, report up/down, forward to the node's handler."""
        if isinstance(event, PeerConnected):
            peer = event.peer
            if not has_required_services(peer.services):
                peer.disconnect(f"missing services: offers {peer.services}")
                return
            if self._closing:
                peer.disconnect("node stopping")
                return
            self._peers[peer] = None
            self._emit(PeerUp(peer_info(peer)))
        elif isinstance(event, PeerDisconnected):
            peer = event.peer
            if peer not in self._peers:
                return
            slot = self._peers.pop(peer)
            if slot is not None and time.time() - peer.connected_since < STABLE_CONNECTION:
                self._bump_backoff(slot.key)
            elif slot is not None:
                self._backoff.pop(slot.key, None)
            host, port = peer.address
            self._emit(PeerDown(f"{host}:{port}", str(event.reason)))
            self._wake()
        self._forward(event)

    def _forward(self, event: PeerEvent) -> None:
        try:
            self.handler.on_event(event)
        except Exception:
            log.exception("node handler failed on %s", type(event).__name__)

    def _emit(self, event: PeerUp | PeerDown) -> None:
        if self._on_node_event is not None:
            try:
                self._on_node_event(event)
            except Exception:
                log.exception("event sink failed on %s", type(event).__name__)

    # --- the connection loop ---------------------------------------------------------------------

    async def _maintain(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        last_save = loop.time()
        while True:
            self._wakeup.clear()
            delay = self._fill()
            if loop.time() - last_save > SAVE_INTERVAL:
                last_save = loop.time()
                self.save()  # so a crash loses at most this much of the book (Core: 15 min)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()

    def _slots(self) -> list[_Slot]:
        return [s for p, s in self._peers.items() if s is not None and not p.is_closed]

    def _ready(self, key: Key, now: float) -> tuple[bool, float]:
        """Whether `key` is out of backoff, and the loop time when it will be."""
        _, next_try = self._backoff.get(key, (0, 0.0))
        return next_try <= now, next_try

    def _fill(self) -> float:
        """Start the dials the peer set lacks; returns how long to sleep before looking again."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = 30.0
        connected = {s.key for s in self._slots()}
        for key in (*self.config.connect, *self._added):
            if key in connected or key in self._dialing:
                continue
            ready, at = self._ready(key, now)
            if ready:
                self._dial(key, 0, manual=True)
            else:
                wait = min(wait, at - now)
        if not self.config.connect:
            self._fill_automatic()
        return max(wait, 0.01)

    def _fill_automatic(self) -> None:
        cfg = self.config
        slots = [s for s in self._slots() if not s.manual]
        used_keys = {s.key for s in slots} | set(self._dialing)
        used_groups = {network_group(k[0]) for k in used_keys}
        filter_count = len(self.filter_peers()) + sum(
            1 for k in self._dialing if self._advertises_filters(k)
        )
        open_slots = cfg.max_outbound - len(slots) - len(self._dialing)
        reachable = self._reachable

        def exclude(info: AddrInfo) -> bool:
            return info.key in used_keys or info.group in used_groups or not reachable(info.host)

        def exclude_non_filter(info: AddrInfo) -> bool:
            return exclude(info) or not has_required_services(info.services) or not (
                info.services & SF.NODE_COMPACT_FILTERS
            )

        while open_slots > 0:
            short = filter_count < cfg.min_filter_peers
            info = self.addrman.select(discouraged=self.ctx.discouraged, exclude=exclude_non_filter) if short else None
            if info is None:
                info = self.addrman.select(discouraged=self.ctx.discouraged, exclude=exclude)
            if info is None:
                self._maybe_query_seeds()
                break
            used_keys.add(info.key)
            used_groups.add(info.group)
            filter_count += bool(info.services & SF.NODE_COMPACT_FILTERS)
            open_slots -= 1
            self._dial(info.key, info.services, manual=False)
        if open_slots <= 0 and filter_count < cfg.min_filter_peers:
            self._replace_non_filter_peer(exclude_non_filter)

    def _replace_non_filter_peer(self, exclude_non_filter: Callable[[AddrInfo], bool]) -> None:
        """Full but short of filter peers: drop the youngest non-filter peer if a filter candidate exists."""
        if self.addrman.select(discouraged=self.ctx.discouraged, exclude=exclude_non_filter) is None:
            return
        victims = [
            p for p, s in self._peers.items()
            if s is not None and not s.manual and not p.is_closed and not p.services & SF.NODE_COMPACT_FILTERS
        ]
        if victims:
            max(victims, key=lambda p: p.connected_since).disconnect("replaced by a compact-filter peer")

    def _advertises_filters(self, key: Key) -> bool:
        info = self.addrman.get(*key)
        return info is not None and bool(info.services & SF.NODE_COMPACT_FILTERS)

    def _reachable(self, host: str) -> bool:
        net = network_of(host)
        if net == Net.ONION:
            return self.config.proxy is not None
        return net in (Net.IPV4, Net.IPV6)

    def _bump_backoff(self, key: Key) -> None:
        failures, _ = self._backoff.get(key, (0, 0.0))
        delay = min(self.config.retry_max, self.config.retry_base * 2**failures)
        self._backoff[key] = (failures + 1, asyncio.get_running_loop().time() + delay)

    def _dial(self, key: Key, services: int, *, manual: bool) -> None:
        self._dialing[key] = manual
        self._spawn(self._dial_task(key, services, manual), f"dial {key[0]}:{key[1]}")

    async def _dial_task(self, key: Key, services: int, manual: bool) -> None:
        host, port = key
        if not manual:
            self.addrman.attempt(host, port)
        # Manual peers: try v2 when we speak it (Core does for -connect/-addnode); the Peer falls back.
        prefer_v2 = self.ctx.config.v2_transport if manual else None
        try:
            peer = await self._connector(self.ctx, host, port, services, prefer_v2)
        except PeerConnectError as e:
            log.debug("connect %s:%d failed: %s", host, port, e)
            self._bump_backoff(key)
            return
        finally:
            self._dialing.pop(key, None)
            self._wake()
        if peer not in self._peers or peer.is_closed:
            self._bump_backoff(key)  # rejected at the handshake, or already gone
            return
        self._peers[peer] = _Slot(key, manual)
        if not manual:
            self.addrman.good(host, port, int(peer.services))

    # --- DNS seeds -------------------------------------------------------------------------------

    def _maybe_query_seeds(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        if not cfg.dns_seed or not self.params.dns_seeds or cfg.proxy is not None:
            return  # through Tor, seeds would leak DNS lookups (Core asks them via the proxy instead)
        if len(self.addrman) and loop.time() - self._last_seed < cfg.seed_interval * 4:
            return
        if loop.time() - self._last_seed < cfg.seed_interval:
            return
        self._last_seed = loop.time()
        self._spawn(self._query_seeds(), "dns seeds")

    async def _query_seeds(self) -> None:
        """Resolve each seed with the loop's resolver and add what they return."""
        loop = asyncio.get_running_loop()
        port = self.params.default_port
        for seed in self.params.dns_seeds:
            try:
                infos = await loop.getaddrinfo(seed, port, type=socket.SOCK_STREAM)
            except OSError as e:
                log.info("DNS seed %s: %s", seed, e)
                continue
            for _family, _type, _proto, _name, sockaddr in infos:
                # Seeds list nodes with NODE_NETWORK|NODE_WITNESS (Core assumes these services for them).
                self.addrman.add(str(sockaddr[0]), port, int(FULL_SERVICES))
        self._wake()


def peer_info(peer: Peer) -> PeerInfo:
    """The display snapshot of one peer."""
    host, port = peer.address
    ping = peer.min_ping_time
    return PeerInfo(
        address=host,
        port=port,
        transport=str(peer.kind),
        services=int(peer.services),
        height=peer.start_height,
        ping_ms=None if ping is None else ping * 1000.0,
        bytes_in=peer.bytes_recv,
        bytes_out=peer.bytes_sent,
        connected_since=peer.connected_since,
        user_agent=peer.user_agent,
        inbound=peer.inbound,
    )
