"""The light node as one piece: peer manager + header sync + filter sync against sandbox peers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from core.node.events import PeerUp
from core.node.node import LightNode, LightNodeConfig
from tests.functional.sandbox_support import sandbox
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
            a = await stack.enter_async_context(sandbox(tmp_path, "a", initial_blocks=300))
            b = await stack.enter_async_context(sandbox(tmp_path, "b", connect=(("127.0.0.1", a.port),)))
            c = await stack.enter_async_context(sandbox(tmp_path, "c", connect=(("127.0.0.1", a.port),)))
            await b.wait_for(lambda: b.tip.height == 300)
            await c.wait_for(lambda: c.tip.height == 300)
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
                assert (height, tip_hash) == (300, a.tip.hash)
                assert await node.filter_header_at(300) == await a.run(a.chain.chain.filter_header, a.tip.hash)
                infos = node.peer_infos()
                assert len(infos) == 3 and {i.transport for i in infos} == {"v2"}
                ups = [ev for ev in _drain(events) if isinstance(ev, PeerUp)]
                assert len(ups) == 3 and all(u.info.transport == "v2" for u in ups)
            # Restart: resumes from disk, nothing re-downloaded.
            async with LightNode(a.params, cfg) as node:
                await node.wait_synced(60)
                assert node.headers.headers_received == 0
                assert (await node.tip())[0] == 300

    run(scenario)
