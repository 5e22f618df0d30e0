"""The light node as one piece: peer manager + header sync + filter sync against sandbox peers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest

from core.node.events import PeerDown, PeerUp
from core.node.node import LightNode, LightNodeConfig
from core.node.tx_events import MempoolStats, TxConfirmed, TxPropagated
from core.sandbox.net_processing import NetProcessing
from core.sandbox.node import SandboxConfig, SandboxNode
from core.sandbox.signer import SandboxKey
from tests.functional.sandbox_support import in_mempool, payment, sandbox
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def _drain(q: asyncio.Queue[object]) -> list[object]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_light_node_syncs_headers_and_filters_from_three_peers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            a = await stack.enter_async_context(sandbox(tmp_path, "a", initial_blocks=2050))
            b = await stack.enter_async_context(sandbox(tmp_path, "b", connect=(("127.0.0.1", a.port),)))
            c = await stack.enter_async_context(sandbox(tmp_path, "c", connect=(("127.0.0.1", a.port),)))
            await b.wait_for(lambda: b.tip.height == 2050)
            await c.wait_for(lambda: c.tip.height == 2050)
            cfg = LightNodeConfig(
                tmp_path / "light",
                connect=tuple(("127.0.0.1", n.port) for n in (a, b, c)),
                dns_seed=False,
                ping_interval=None,
            )
            node = LightNode(a.params, cfg)
            events = node.subscribe()
            async with node:
                await node.wait_synced(60)
                height, tip_hash = await node.tip()
                assert (height, tip_hash) == (2050, a.tip.hash)
                assert await node.filter_header_at(2050) == await a.run(a.chain.chain.filter_header, a.tip.hash)
                infos = node.peer_infos()
                assert len(infos) == 3 and {i.transport for i in infos} == {"v2"}
                ups = [ev for ev in _drain(events) if isinstance(ev, PeerUp)]
                assert len(ups) == 3 and all(u.info.transport == "v2" for u in ups)
            # Restart: resumes from disk, nothing re-downloaded.
            async with LightNode(a.params, cfg) as node:
                await node.wait_synced(60)
                assert node.headers.headers_received == 0
                assert (await node.tip())[0] == 2050

    run(scenario)


def test_light_node_mempool_fees_and_broadcast(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            a = await stack.enter_async_context(
                sandbox(tmp_path, "a", initial_blocks=150, traffic_interval=0.01, traffic_seed=5)
            )
            # Our payment's coin is set aside first, so the traffic generator cannot spend it.
            tx = await payment(a, SandboxKey.derive(b"light", 3).script_pubkey, 50_000, 3)
            await a.run(a.chain.coins.add_unconfirmed, tx)
            b = await stack.enter_async_context(sandbox(tmp_path, "b", connect=(("127.0.0.1", a.port),)))
            await b.wait_for(lambda: b.tip.height >= 150)
            cfg = LightNodeConfig(
                tmp_path / "light", connect=(("127.0.0.1", a.port), ("127.0.0.1", b.port)), dns_seed=False,
                ping_interval=None,
            )
            node = LightNode(a.params, cfg)
            events = node.subscribe()
            async with node:
                await node.wait_synced(60)
                # The mempool view fills from the sandboxes' traffic announcements.
                stats = await _next(events, lambda e: isinstance(e, MempoolStats) and e.count >= 20)
                assert stats.vsize > 0 and stats.histogram
                # A transaction we broadcast reaches both sandboxes and is reported propagated, then confirmed.
                node.broadcast(tx)
                await a.wait_for(lambda: in_mempool(a, tx.txid))
                await b.wait_for(lambda: in_mempool(b, tx.txid))
                await _next(events, lambda e: isinstance(e, TxPropagated) and e.txid == tx.txid)
                await a.generate(1)
                await _next(events, lambda e: isinstance(e, TxConfirmed) and e.txid == tx.txid)
                fees = await node.estimate_fees()
                assert [f.target for f in fees] == [1, 3, 6, 24]
                assert all(f.basis for f in fees)
                assert fees[0].fee_rate >= fees[-1].fee_rate

    run(scenario)


async def _next(q: asyncio.Queue[object], pred) -> object:
    async def wait() -> object:
        while True:
            ev = await q.get()
            if pred(ev):
                return ev

    return await asyncio.wait_for(wait(), 60)


class _SilentOnHeaders(NetProcessing):
    """A sandbox peer that never answers getheaders: a stalling sync peer."""

    async def _on_getheaders(self, peer, msg) -> None:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stalling_sync_peer_is_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        good_port = _free_port()
        async with contextlib.AsyncExitStack() as stack:
            staller = SandboxNode(SandboxConfig(tmp_path / "s", initial_blocks=5, ping_interval=None))
            staller.net = _SilentOnHeaders(staller)
            await staller.start()
            stack.push_async_callback(staller.stop)
            cfg = LightNodeConfig(
                tmp_path / "light", connect=(("127.0.0.1", staller.port), ("127.0.0.1", good_port)),
                dns_seed=False, ping_interval=None, stall_timeout=1.0,
            )
            node = LightNode(staller.params, cfg)
            events = node.subscribe()
            await stack.enter_async_context(node)
            # Only the staller is up: it becomes the sync peer, stays silent, and is dropped as stalling.
            down = await _next(events, lambda e: isinstance(e, PeerDown))
            assert down.address == f"127.0.0.1:{staller.port}" and "stall" in down.reason
            good = await stack.enter_async_context(sandbox(tmp_path, "g", port=good_port, initial_blocks=40))
            await node.wait_synced(60)
            assert (await node.tip()) == (40, good.tip.hash)

    run(scenario)
