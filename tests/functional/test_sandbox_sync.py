"""Two sandbox nodes over real loopback sockets: sync, relay, replacement, filters, reorgs.

Each test narrates one behaviour a Bitcoin Core peer would show, with nodes started in a temp
directory and every wait bound to node events with a timeout.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.consensus.tx import OutPoint
from core.filters.basic import BlockFilter, FilterType, compute_filter_header
from core.mempool.results import Accepted
from core.p2p.messages import MsgCFHeaders, MsgCFilter, MsgGetBlocks, MsgGetCFHeaders, MsgGetCFilters, MsgInv
from core.p2p.peer import Peer
from core.sandbox.signer import SandboxKey
from core.sandbox.traffic import TrafficGenerator
from tests.functional.sandbox_support import in_mempool, mempool_txids, payment, sandbox, utxo_set
from tests.unit.peer_harness import Node, run

pytestmark = pytest.mark.slow
SEED = 20261125
OTHER = SandboxKey.derive(b"functional", 1).script_pubkey


async def _mine_with_traffic(node, blocks: int, txs_per_block: int, seed: int) -> int:
    """Mine `blocks` blocks each carrying up to `txs_per_block` traffic transactions; returns txs mined."""
    gen = TrafficGenerator(node.chain.coins, node.chain.traffic_keys, random.Random(seed))
    mined = 0
    for _ in range(blocks):
        for _ in range(txs_per_block):
            p = await node.run(gen.propose, node.tip.height)
            if p is not None and isinstance(await node.submit_tx(p.tx), Accepted):
                await node.run(gen.accepted, p)
        mined += await node.mempool_size()
        await node.generate(1)
    return mined


@pytest.mark.parametrize("b_v2", [True, False], ids=["v2", "v1-only-peer"])
def test_second_node_syncs_and_validates_200_blocks(tmp_path: Path, b_v2: bool) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=110) as a:
            mined = await _mine_with_traffic(a, 90, 4, SEED)
            assert a.tip.height == 200 and mined > 100, f"seed {SEED}"
            async with sandbox(tmp_path, "b", v2_transport=b_v2, connect=(("127.0.0.1", a.port),)) as b:
                await b.wait_for(lambda: b.tip.height == 200)
                assert b.tip.hash == a.tip.hash
                assert {str(p.kind) for p in b.peers} == ({"v2"} if b_v2 else {"v1"})
                # B validated every block itself: its UTXO set is A's.
                assert await utxo_set(b) == await utxo_set(a)

    run(scenario)


def test_transaction_relay_and_replacement_reach_both_mempools(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=105) as a, sandbox(
            tmp_path, "b", connect=(("127.0.0.1", a.port),)
        ) as b:
            await b.wait_for(lambda: b.tip.height == 105)
            coin = (await a.run(a.chain.coins.spendable, a.tip.height))[0]
            original = await payment(a, OTHER, 10**8, 2, coin)
            assert isinstance(await a.submit_tx(original), Accepted)
            await b.wait_for(lambda: in_mempool(b, original.txid))
            # Full RBF: the same coin at a higher fee rate, offered to B, evicts the original on both.
            replacement = await payment(a, OTHER, 10**8 - 5_000, 20, coin)
            assert isinstance(await b.submit_tx(replacement), Accepted)
            await a.wait_for(lambda: in_mempool(a, replacement.txid))
            for node in (a, b):
                assert await mempool_txids(node) == {bytes(replacement.txid)}
            await a.generate(1)
            await b.wait_for(lambda: b.tip.height == 106)
            assert await mempool_txids(b) == set()

    run(scenario)


def test_served_filters_equal_filters_built_locally(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101) as a:
            await _mine_with_traffic(a, 9, 3, SEED + 1)
            client = Node(magic=a.params.magic)
            peer: Peer = await client.connect(a.port, prefer_v2=True)
            stop = a.tip.hash
            peer.send(MsgGetCFHeaders(FilterType.BASIC, 1, stop))
            cfh = await client.expect_message(MsgCFHeaders)
            peer.send(MsgGetCFilters(FilterType.BASIC, 1, stop))
            served = [await client.expect_message(MsgCFilter) for _ in range(a.tip.height)]
            await peer.close()
            # Build every filter here from the blocks and the scripts their inputs spent.
            blocks = [await a.run(a.chain.block, (await a.run(a.chain.chain.chain_at, h)).hash) for h in range(1, 111)]
            outputs = {OutPoint(tx.txid, n): o.script_pubkey for blk in blocks for tx in blk.txs for n, o in enumerate(tx.vout)}
            header = cfh.prev_header
            for blk, got, fhash in zip(blocks, served, cfh.filter_hashes, strict=True):
                spent = [outputs[i.prevout] for tx in blk.txs[1:] for i in tx.vin]
                local = BlockFilter.build_basic(blk, spent)
                assert got.block_hash == blk.hash and got.filter == local.encoded
                assert fhash == local.filter_hash
                header = compute_filter_header(local.filter_hash, header)
            assert header == await a.run(a.chain.chain.filter_header, stop)

    run(scenario)


def test_competing_chains_reorg_to_most_work(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101) as a:
            async with sandbox(tmp_path, "b", connect=(("127.0.0.1", a.port),)) as b:
                await b.wait_for(lambda: b.tip.height == 101)
            # B stopped: the two datadirs now share 101 blocks and go their own ways.
            tx = await a.faucet(OTHER, 5 * 10**8)
            await a.generate(2)  # A's branch confirms tx: 103
            assert not in_mempool(a, tx.txid)
            async with sandbox(tmp_path, "b") as b:
                await b.generate(4)  # B's heavier branch: 105
                b_utxos = await utxo_set(b)
                await a.connect("127.0.0.1", b.port)
                await a.wait_for(lambda: a.tip.hash == b.tip.hash)
                # A's UTXO set is exactly B's; tx (disconnected with A's branch) is back in A's mempool.
                assert await utxo_set(a) == b_utxos
                assert in_mempool(a, tx.txid)

    run(scenario)


def test_getblocks_is_answered_with_block_inventory(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=12) as a:
            client = Node(magic=a.params.magic)
            peer: Peer = await client.connect(a.port, prefer_v2=True)
            genesis = a.params.genesis_hash
            peer.send(MsgGetBlocks(locator=(genesis,)))
            inv = await client.expect_message(MsgInv)
            await peer.close()
            hashes = [(await a.run(a.chain.chain.chain_at, h)).hash for h in range(1, 13)]
            assert [i.hash for i in inv.inventory] == hashes

    run(scenario)
