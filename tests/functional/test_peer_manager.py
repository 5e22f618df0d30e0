"""The peer manager against real sandbox nodes over loopback, and its group rule with fake addresses.

Every wait is on an event (PeerUp/PeerDown from the manager), bounded by TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from core.chain.params import params_for
from core.node.addrman import AddrMan, network_group
from core.node.events import PeerDown, PeerUp
from core.node.peer_manager import PeerManager, PeerManagerConfig
from core.p2p.messages import Message, MsgAddr
from core.p2p.messages.address import NetworkAddress, TimestampedAddress
from core.p2p.peer_config import PeerConfig, PeerContext
from core.p2p.peer_events import DisconnectKind, DisconnectReason, PeerConnected, PeerDisconnected, PeerEvent
from core.p2p.services import ServiceFlags
from core.sandbox.node import SandboxConfig, SandboxNode
from tests.unit.peer_harness import run

TIMEOUT = 30.0
PARAMS = params_for("sandbox")
E = TypeVar("E")


class Recorder:
    """The node's handler and event sink: records what the manager forwards."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[PeerUp | PeerDown] = asyncio.Queue()
        self.p2p_events: list[PeerEvent] = []
        self.messages: list[Message] = []

    async def on_message(self, peer: Any, msg: Message) -> None:
        self.messages.append(msg)

    def on_event(self, event: PeerEvent) -> None:
        self.p2p_events.append(event)

    async def expect(self, cls: type[E], pred: Callable[[E], bool] = lambda _: True) -> E:
        async def wait() -> E:
            while True:
                ev = await self.events.get()
                if isinstance(ev, cls) and pred(ev):
                    return ev

        return await asyncio.wait_for(wait(), TIMEOUT)


def manager(rec: Recorder, **cfg: Any) -> PeerManager:
    cfg.setdefault("retry_base", 0.05)
    cfg.setdefault("retry_max", 0.2)
    return PeerManager(
        PARAMS,
        rec,
        peer_config=PeerConfig(magic=PARAMS.magic, ping_interval=None, handshake_timeout=TIMEOUT),
        config=PeerManagerConfig(**cfg),
        on_event=rec.events.put_nowait,
    )


@contextlib.asynccontextmanager
async def sandboxes(tmp: Path, *names: str, **kw: Any) -> AsyncIterator[list[SandboxNode]]:
    nodes = [SandboxNode(SandboxConfig(tmp / n, initial_blocks=5, ping_interval=None, **kw)) for n in names]
    try:
        for n in nodes:
            await n.start()
        yield nodes
    finally:
        for n in nodes:
            await n.stop()


def test_connects_to_manual_peers_over_v2(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "a", "b", "c") as nodes:
            rec = Recorder()
            pm = manager(rec, connect=tuple(("127.0.0.1", n.port) for n in nodes))
            await pm.start()
            try:
                ups = [await rec.expect(PeerUp) for _ in nodes]
                assert sorted(u.info.port for u in ups) == sorted(n.port for n in nodes)
                assert {u.info.transport for u in ups} == {"v2"}
                assert all(u.info.height == 5 and not u.info.inbound for u in ups)
                assert len(pm.peers()) == 3 and len(pm.filter_peers()) == 3
                assert sum(isinstance(e, PeerConnected) for e in rec.p2p_events) == 3
                infos = pm.peer_infos()
                assert len(infos) == 3 and all(i.services & ServiceFlags.NODE_COMPACT_FILTERS for i in infos)
                rtt = await pm.peers()[0].ping()
                assert rtt > 0
                assert any(i.ping_ms is not None and i.ping_ms > 0 for i in pm.peer_infos())
            finally:
                await pm.close()
            assert not pm.peers()

    run(scenario)


def test_v1_only_node_gives_v1(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "v1", v2_transport=False) as (node,):
            rec = Recorder()
            pm = manager(rec, connect=(("127.0.0.1", node.port),))
            await pm.start()
            try:
                up = await rec.expect(PeerUp)
                assert up.info.transport == "v1" and up.info.port == node.port
            finally:
                await pm.close()

    run(scenario)


def test_stopped_node_is_reconnected_when_it_returns(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = SandboxNode(SandboxConfig(tmp_path / "a", initial_blocks=5, ping_interval=None))
        await node.start()
        port = node.port
        rec = Recorder()
        pm = manager(rec, connect=(("127.0.0.1", port),))
        await pm.start()
        try:
            await rec.expect(PeerUp)
            await node.stop()
            down = await rec.expect(PeerDown)
            assert down.address == f"127.0.0.1:{port}"
            assert any(isinstance(e, PeerDisconnected) for e in rec.p2p_events)
            node = SandboxNode(SandboxConfig(tmp_path / "a", port=port, ping_interval=None))
            await node.start()
            up = await rec.expect(PeerUp)
            assert up.info.port == port and up.info.height == 5
        finally:
            await pm.close()
            await node.stop()

    run(scenario)


def test_punish_disconnects_loopback_without_discouraging(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "a") as (node,):
            rec = Recorder()
            pm = manager(rec, connect=(("127.0.0.1", node.port),))
            await pm.start()
            try:
                await rec.expect(PeerUp)
                (peer,) = pm.peers()
                pm.punish(peer, "sent junk")
                down = await rec.expect(PeerDown)
                assert "sent junk" in down.reason
                assert peer.is_closed or peer not in pm.peers()
                assert not pm.ctx.discouraged.is_discouraged("127.0.0.1")
                await rec.expect(PeerUp)  # a local peer may come back (Core's rule for local peers)
            finally:
                await pm.close()

    run(scenario)


def test_report_stall_opens_a_replacement(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "a", "b") as nodes:
            rec = Recorder()
            book = AddrMan(key=bytes(32), rng=random.Random(1))
            for n in nodes:
                book.add("127.0.0.1", n.port, int(ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS),
                         require_routable=False)
            pm = PeerManager(
                PARAMS,
                rec,
                peer_config=PeerConfig(magic=PARAMS.magic, ping_interval=None),
                config=PeerManagerConfig(max_outbound=1, min_filter_peers=0, dns_seed=False),
                addrman=book,
                on_event=rec.events.put_nowait,
            )
            await pm.start()
            try:
                first = await rec.expect(PeerUp)
                (peer,) = pm.peers()
                pm.report_stall(peer)
                down = await rec.expect(PeerDown)
                assert "stalled" in down.reason
                second = await rec.expect(PeerUp)
                assert second.info.port != first.info.port
                assert {first.info.port, second.info.port} == {n.port for n in nodes}
            finally:
                await pm.close()

    run(scenario)


class FakePeer:
    """Just enough of a Peer for the manager's bookkeeping (no socket)."""

    def __init__(self, host: str, port: int, services: int) -> None:
        self.address = (host, port)
        self.services = ServiceFlags(services)
        self.is_closed = False
        self.kind = "v2"
        self.start_height = 0
        self.min_ping_time = None
        self.bytes_recv = self.bytes_sent = 0
        self.connected_since = 0.0
        self.user_agent = "/fake/"
        self.inbound = False
        self.disconnected: str | None = None

    def disconnect(self, detail: str) -> None:
        self.disconnected = detail

    async def close(self, detail: str) -> None:
        self.disconnect(detail)
        self.is_closed = True


def test_one_outbound_per_group_from_the_address_book() -> None:
    async def scenario() -> None:
        rec = Recorder()
        book = AddrMan(key=bytes(32), rng=random.Random(2))
        full = int(ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS | ServiceFlags.NODE_COMPACT_FILTERS)
        for a in range(3):  # 3 groups x 20 addresses
            for i in range(20):
                book.add(f"{11 + a}.7.{i}.{i + 1}", 8333, full, source=f"{50 + a}.1.1.1")
        dialled: list[tuple[str, int]] = []
        pm: PeerManager

        async def connector(ctx: PeerContext, host: str, port: int, services: int, v2: bool | None) -> Any:
            assert v2 is None  # not manual: the address's services decide
            dialled.append((host, port))
            peer = FakePeer(host, port, services)
            pm.on_event(PeerConnected(peer))  # type: ignore[arg-type]
            return peer

        pm = PeerManager(PARAMS, rec, config=PeerManagerConfig(max_outbound=8, dns_seed=False),
                         addrman=book, connector=connector)
        await pm.start()
        try:
            for _ in range(3):
                await rec_wait(lambda: len(pm.peers()) == 3)
            groups = [network_group(h) for h, _ in dialled]
            assert len(groups) == len(set(groups)) == 3
            assert book.tried_count == 3
            # A non-loopback peer that misbehaves is discouraged as well as disconnected.
            victim = pm.peers()[0]
            victim.misbehaving = lambda reason: pm.ctx.discouraged.discourage(victim.address[0])  # type: ignore[method-assign]
            pm.punish(victim, "bad headers")
            assert pm.ctx.discouraged.is_discouraged(victim.address[0])
        finally:
            await pm.close()

    run(scenario)


async def rec_wait(cond: Callable[[], bool]) -> None:
    """Wait (bounded) until `cond()` holds, yielding to the loop between checks."""

    async def wait() -> None:
        while not cond():
            await asyncio.sleep(0)

    await asyncio.wait_for(wait(), TIMEOUT)


def test_non_filter_peer_is_replaced_when_short_of_filter_peers() -> None:
    async def scenario() -> None:
        rec = Recorder()
        book = AddrMan(key=bytes(32), rng=random.Random(4))
        basic = int(ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_WITNESS)
        book.add("11.1.0.1", 8333, basic)
        book.add("12.1.0.1", 8333, basic)
        pm: PeerManager

        async def connector(ctx: PeerContext, host: str, port: int, services: int, v2: bool | None) -> Any:
            peer = ReportingFakePeer(pm, host, port, services)
            pm.on_event(PeerConnected(peer))  # type: ignore[arg-type]
            return peer

        pm = PeerManager(PARAMS, rec, config=PeerManagerConfig(max_outbound=2, min_filter_peers=1, dns_seed=False),
                         addrman=book, connector=connector, on_event=rec.events.put_nowait)
        await pm.start()
        try:
            await rec.expect(PeerUp)
            await rec.expect(PeerUp)
            assert not pm.filter_peers()
            cf = ServiceFlags(basic | ServiceFlags.NODE_COMPACT_FILTERS)
            addr = MsgAddr((TimestampedAddress(int(time.time()), NetworkAddress(cf, "13.1.0.1", 8333)),))
            await pm.on_message(pm.peers()[0], addr)
            down = await rec.expect(PeerDown)
            assert "compact-filter" in down.reason
            up = await rec.expect(PeerUp)
            assert up.info.address == "13.1.0.1"
            assert len(pm.filter_peers()) == 1 and len(pm.peers()) == 2
        finally:
            await pm.close()

    run(scenario)


class ReportingFakePeer(FakePeer):
    """A fake peer whose disconnect reports PeerDisconnected to the manager, as a real one does."""

    def __init__(self, pm: PeerManager, host: str, port: int, services: int) -> None:
        super().__init__(host, port, services)
        self.pm = pm
        self.connected_since = time.time()

    def disconnect(self, detail: str) -> None:
        self.disconnected = detail
        if not self.is_closed:
            self.is_closed = True
            self.pm.on_event(PeerDisconnected(self, DisconnectReason(DisconnectKind.CLOSED_BY_US, detail)))  # type: ignore[arg-type]


class Socks5Server:
    """A minimal SOCKS5 proxy on loopback (no auth, CONNECT only) recording the destinations asked for."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            _ver, n = await reader.readexactly(2)
            await reader.readexactly(n)
            writer.write(b"\x05\x00")
            _ver, _cmd, _rsv, atyp = await reader.readexactly(4)
            if atyp == 1:
                host = ".".join(str(b) for b in await reader.readexactly(4))
            else:
                (length,) = await reader.readexactly(1)
                host = (await reader.readexactly(length)).decode()
            port = int.from_bytes(await reader.readexactly(2), "big")
            self.requests.append((host, port))
            up_r, up_w = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.tasks.discard(task)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def test_outbound_through_socks5_proxy(tmp_path: Path) -> None:
    async def scenario() -> None:
        proxy = Socks5Server()
        proxy_port = await proxy.start()
        try:
            async with sandboxes(tmp_path, "a") as (node,):
                rec = Recorder()
                pm = manager(rec, connect=(("127.0.0.1", node.port),), proxy=f"socks5://127.0.0.1:{proxy_port}")
                await pm.start()
                try:
                    up = await rec.expect(PeerUp)
                    assert (up.info.address, up.info.port) == ("127.0.0.1", node.port)  # not the proxy's
                    assert up.info.transport == "v2"
                    assert proxy.requests == [("127.0.0.1", node.port)]
                finally:
                    await pm.close()
        finally:
            await proxy.close()

    run(scenario)


def test_dns_seeds_fill_an_empty_book_and_weak_peers_are_refused() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        params = params_for("main")
        asked: list[str] = []

        async def fake_getaddrinfo(host: str, port: int, **kw: Any) -> list[Any]:
            asked.append(host)  # the loop's resolver, replaced: no DNS traffic from tests
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"21.{len(asked)}.0.1", port))]

        loop.getaddrinfo = fake_getaddrinfo  # type: ignore[method-assign]
        rec = Recorder()
        dialled: list[ReportingFakePeer] = []
        pm: PeerManager

        async def connector(ctx: PeerContext, host: str, port: int, services: int, v2: bool | None) -> Any:
            # The first peer offers no witness: it must be refused at its handshake.
            offered = ServiceFlags.NODE_NETWORK if not dialled else services
            peer = ReportingFakePeer(pm, host, port, offered)
            dialled.append(peer)
            pm.on_event(PeerConnected(peer))  # type: ignore[arg-type]
            return peer

        # A fixed bucket key: with a random one, two of the eight seed addresses could share a bucket slot.
        book = AddrMan(key=bytes(32), rng=random.Random(1))
        pm = PeerManager(params, rec, config=PeerManagerConfig(max_outbound=3, min_filter_peers=0),
                         addrman=book, connector=connector, on_event=rec.events.put_nowait)
        await pm.start()
        try:
            for _ in range(3):
                await rec.expect(PeerUp)
            assert asked == list(params.dns_seeds)
            assert len(pm.addrman) == len(params.dns_seeds)
            assert dialled[0].disconnected is not None and "missing services" in dialled[0].disconnected
            assert dialled[0] not in pm.peers() and len(pm.peers()) == 3
            assert all(p.address[1] == params.default_port for p in dialled)
            assert sum(isinstance(e, PeerConnected) for e in rec.p2p_events) == 3  # the refused one is not forwarded
        finally:
            await pm.close()

    run(scenario)
