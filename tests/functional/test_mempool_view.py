"""The mempool view against a real sandbox with generated traffic, over loopback.

The view learns the sandbox's mempool only from announcements: once traffic stops, what it
tracks must be exactly the announced part of the sandbox mempool, with the same sizes and — where
it could price them — the same fees. A mined block evicts what it confirmed; an RBF replacement
is counted and evicts the original.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.mempool.results import Accepted
from core.node.fee_estimator import FeeEstimator
from core.node.mempool_view import MempoolView
from core.node.tx_events import MempoolStats
from core.sandbox.node import SandboxNode
from core.sandbox.signer import SandboxKey
from tests.functional.node_tx_support import EventLog, TinyPeerSet, executor_run
from tests.functional.sandbox_support import payment, sandbox
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
OTHER = SandboxKey.derive(b"mempool-view", 1).script_pubkey


async def _stop_traffic(node: SandboxNode) -> None:
    """Cancel the sandbox's traffic task so its mempool holds still (test-only reach into the node)."""
    for task in list(node._tasks):
        if task.get_name() == "traffic":
            task.cancel()
    await node.run(lambda: None)  # a transaction being accepted on the chain thread finishes first


async def _mempool(node: SandboxNode) -> dict[bytes, tuple[bytes, int, int]]:
    """txid -> (wtxid, vsize, fee) of the sandbox mempool."""
    return await node.run(lambda: {bytes(e.txid): (bytes(e.wtxid), e.vsize, e.fee) for e in node.chain.mempool})


def test_view_tracks_traffic_evicts_on_block_and_counts_replacements(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = EventLog()
        peers = TinyPeerSet()
        view = MempoolView(peers, executor_run(), emit=log.emit, stats_interval=0.0)
        peers.routes.append(view)
        view.start()
        async with sandbox(tmp_path, "a", initial_blocks=101, traffic_interval=0.02, traffic_seed=5) as a:
            await peers.connect(a.port)
            await log.expect(MempoolStats, lambda s: s.count >= 30 and s.fee_known_count >= 5, timeout=60)
            await _stop_traffic(a)
            pool = await _mempool(a)
            expected = {t for t, (w, _, _) in pool.items() if w in peers.announced or t in peers.announced}
            assert len(expected) >= 30
            # Everything announced and still in the sandbox mempool arrives; nothing else is tracked.
            await log.expect(MempoolStats, lambda _s: set(view.ledger.txs) == expected)
            led = view.ledger
            assert led.vsize == sum(pool[t][1] for t in expected)
            priced = {t: x.fee for t, x in led.txs.items() if x.fee is not None}
            assert priced and all(fee == pool[t][2] for t, fee in priced.items())
            stats = view.stats()
            assert stats.count == len(expected) and stats.histogram
            assert sum(b.count for b in stats.histogram) == stats.fee_known_count == len(priced)
            assert 0 < stats.coverage <= 1 and stats.coverage == stats.fee_known_vsize / stats.vsize
            assert stats.min_fee_filter == 0 and stats.arrival_rate > 0
            est = FeeEstimator().estimates(await view.sample(), min_fee_filter=stats.min_fee_filter)
            assert est[0].basis.startswith(f"mempool: {stats.count:,} txs, {stats.coverage:.0%} fee coverage")
            assert est[0].sample_size == stats.fee_known_count and est[0].fee_rate >= est[-1].fee_rate

            # A block: what it confirms leaves the view, and its fees are accounted.
            (block,) = await a.generate(1)
            mined = {bytes(tx.txid) for tx in block.txs}
            outcome = await view.on_block(block)
            assert outcome.confirmed == len(expected & mined) > 0
            assert not (set(led.txs) & mined)
            assert outcome.fees.tx_count == len(block.txs) - 1 and outcome.fees.known

            # RBF: the same coin paid again at a higher rate replaces the original.
            coin = (await a.run(a.chain.coins.spendable, a.tip.height))[0]
            original = await payment(a, OTHER, 10**8, 2, coin)
            assert isinstance(await a.submit_tx(original), Accepted)
            await log.expect(MempoolStats, lambda _s: bytes(original.txid) in led.txs)
            before = led.replacements
            replacement = await payment(a, OTHER, 10**8 - 5_000, 20, coin)
            assert isinstance(await a.submit_tx(replacement), Accepted)
            await log.expect(MempoolStats, lambda s: s.replacements == before + 1)
            assert bytes(replacement.txid) in led.txs and bytes(original.txid) not in led.txs
            await peers.close()
        await view.close()
        await log.settle()

    run(scenario)
