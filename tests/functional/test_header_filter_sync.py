"""Header and BIP157 filter sync of the light client against real sandbox nodes over loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from core.chain.params import params_for
from core.consensus.hashes import sha256d
from core.filters.basic import FilterType, compute_filter_header
from core.p2p.messages import MsgCFCheckpt, MsgCFHeaders, MsgCFilter
from core.sandbox.net_processing import NetProcessing
from core.sandbox.node import SandboxConfig, SandboxNode
from core.sandbox.signer import SandboxKey
from tests.functional.sync_support import LightClient, Wallet
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
SPK = SandboxKey.derive(b"light-sync", 1).script_pubkey
SPK2 = SandboxKey.derive(b"light-sync", 2).script_pubkey
PARAMS = params_for("sandbox")
T = 60.0
LIE_FROM = 1500
EMPTY_FILTER = b"\x00"


class LyingNet(NetProcessing):
    """Serves a self-consistent but wrong filter chain: empty filters from height LIE_FROM on."""

    def _lie_header(self, height: int):
        chain = self.node.chain.chain
        h = chain.filter_header(chain.chain_at(LIE_FROM - 1).hash)
        for _ in range(LIE_FROM, height + 1):
            h = compute_filter_header(sha256d(EMPTY_FILTER), h)
        return h

    async def _on_getcfilters(self, peer, msg) -> None:
        filters = await self.node.run(self.node.chain.chain.cfilters, msg.start_height, msg.stop_hash)
        for i, f in enumerate(filters or ()):
            data = EMPTY_FILTER if msg.start_height + i >= LIE_FROM else f.encoded
            peer.send(MsgCFilter(FilterType.BASIC, f.block_hash, data))

    async def _on_getcfheaders(self, peer, msg) -> None:
        prev, hashes = await self.node.run(self.node.chain.chain.cfheaders, msg.start_height, msg.stop_hash)
        hashes = [sha256d(EMPTY_FILTER) if msg.start_height + i >= LIE_FROM else h for i, h in enumerate(hashes)]
        if msg.start_height > LIE_FROM:
            prev = await self.node.run(self._lie_header, msg.start_height - 1)
        peer.send(MsgCFHeaders(FilterType.BASIC, msg.stop_hash, prev, tuple(hashes)))

    async def _on_getcfcheckpt(self, peer, msg) -> None:
        headers = await self.node.run(self.node.chain.chain.cfcheckpt, msg.stop_hash)
        out = []
        for i, h in enumerate(headers):
            height = (i + 1) * 1000
            out.append(await self.node.run(self._lie_header, height) if height >= LIE_FROM else h)
        peer.send(MsgCFCheckpt(FilterType.BASIC, msg.stop_hash, tuple(out)))


async def _node(tmp: Path, name: str, liar: bool = False, **kw) -> SandboxNode:
    node = SandboxNode(SandboxConfig(tmp / name, ping_interval=None, traffic_seed=1, **kw))
    if liar:
        node.net = LyingNet(node)
    await node.start()
    return node


async def _three_nodes(tmp: Path, liar: bool = False) -> list[SandboxNode]:
    a = await _node(tmp, "a", initial_blocks=2100)
    await a.faucet(SPK, 70_000)
    await a.generate(1)  # height 2101 pays our script
    await a.generate(3)
    others = [await _node(tmp, "b", connect=(("127.0.0.1", a.port),)),
              await _node(tmp, "c", liar=liar, connect=(("127.0.0.1", a.port),))]
    for n in others:
        await n.wait_for(lambda n=n: n.tip.height == a.tip.height, T)
    return [a, *others]


async def _client(tmp: Path, nodes: list[SandboxNode], params=PARAMS) -> LightClient:
    client = await LightClient(params, tmp / "client", Wallet([SPK, SPK2])).start()
    for n in nodes:
        await client.connect(n.port)
    return client


async def _wait(pred, timeout: float = T) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.02)  # polling a condition with a deadline, not sleeping as synchronisation


def test_sync_scan_reorg_and_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await _three_nodes(tmp_path)
        a = nodes[0]
        client = await _client(tmp_path, nodes)
        try:
            await client.filters.wait_synced(T)
            tip = a.tip
            assert client.tree.tip.hash == tip.hash and tip.height == 2104
            assert client.filters.filter_header_at(tip.height) == await a.run(a.chain.chain.filter_header, tip.hash)
            paid = (await a.run(a.chain.chain.chain_at, 2101)).hash
            assert client.wallet.events == [("connect", 2101, paid)]
            assert not client.peerset.punished
            # Reorg: d forks off at the tip, a mines one block paying us, d two; d's branch wins.
            d = await _node(tmp_path, "d", connect=(("127.0.0.1", a.port),))
            await d.wait_for(lambda: d.tip.height == a.tip.height, T)
            for p in list(d.peers):
                await p.close("fork")
            a1 = (await a.generate(1, SPK))[0]
            await _wait(lambda: ("connect", 2105, a1.hash) in client.wallet.events)
            d_blocks = await d.generate(2, SPK2)  # differs from a's block (mining is deterministic)
            await d.connect("127.0.0.1", a.port)
            await a.wait_for(lambda: a.tip.hash == d_blocks[-1].hash, T)
            await _wait(lambda: client.filters.scan_height == 2106 and client.filters.synced.is_set())
            assert client.wallet.events[-3:] == [

                ("disconnect", 2105, a1.hash),
                ("connect", 2105, d_blocks[0].hash),
                ("connect", 2106, d_blocks[1].hash),
            ]
            await d.stop()
        finally:
            await client.stop()
        # Restart: everything comes from disk.
        client = await _client(tmp_path, nodes[:2])
        try:
            await client.headers.synced.wait()
            await client.filters.wait_synced(T)
            assert client.tree.height == 2106
            assert client.headers.headers_received == 0
            assert client.filters.requests.sent["getcfheaders"] == 0
            assert client.filters.requests.sent["getcfilters"] == 0
            assert client.wallet.events == []
        finally:
            await client.stop()
            for n in nodes:
                await n.stop()

    run(scenario)


def test_lying_filter_peer_is_disconnected(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await _three_nodes(tmp_path, liar=True)
        client = await _client(tmp_path, nodes)
        try:
            await client.filters.wait_synced(T)
            a = nodes[0]
            assert client.filters.filter_header_at(a.tip.height) == await a.run(a.chain.chain.filter_header, a.tip.hash)
            liar_port = nodes[2].port
            assert [p.address[1] for p, _ in client.peerset.punished] == [liar_port]
            paid = (await a.run(a.chain.chain.chain_at, 2101)).hash
            assert client.wallet.events == [("connect", 2101, paid)]
        finally:
            await client.stop()
            for n in nodes:
                await n.stop()

    run(scenario)


@pytest.mark.parametrize(("min_blocks", "stored"), [(5000, 0), (1500, 2104)], ids=["below-minimum", "reaches-minimum"])
def test_low_work_chain_is_stored_only_when_it_reaches_minimum_work(tmp_path: Path, min_blocks: int, stored: int) -> None:
    params = dataclasses.replace(PARAMS, minimum_chain_work=2 * min_blocks)  # a regtest block is 2 units of work

    async def scenario() -> None:
        a = await _node(tmp_path, "a", initial_blocks=2104)
        client = await _client(tmp_path, [a], params)
        try:
            await asyncio.wait_for(client.headers.synced.wait(), T)
            assert client.tree.height == stored
            assert await client.run(client.store.count) == stored + 1  # + genesis
            assert not client.peerset.punished
        finally:
            await client.stop()
            await a.stop()

    run(scenario)
