"""Random transaction and inventory streams through the mempool view: no exception, memory bounded.

A fake peer records the view's getdata; hypothesis drives inv/tx/notfound/block sequences built from
a small pool of related transactions (chains, double spends, confirmations) and random inv hashes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Hash256
from core.node.mempool_view import MempoolView
from core.p2p.messages import Inv, InvType, MsgGetData, MsgInv, MsgNotFound, MsgTx
from tests.unit.node_tx_samples import block, funding_tx, spend

CAP = 8


class FakePeer:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.fee_filter = 1000 * pid
        self.sent: list[Any] = []
        self.address = ("127.0.0.1", 8000 + pid)

    def send(self, msg: Any) -> bool:
        self.sent.append(msg)
        return True


class FakePeerSet:
    def __init__(self, peers: list[FakePeer]) -> None:
        self._peers = peers

    def peers(self) -> list[FakePeer]:
        return self._peers


def _pool() -> list:
    """Related transactions: two funders, children, grandchildren, and double spends of them."""
    f1, f2 = funding_tx(1, [50_000, 60_000]), funding_tx(2, [70_000])
    c1 = spend([(f1, 0)], [48_000, 1_000])
    c1b = spend([(f1, 0)], [40_000])  # replaces c1
    c2 = spend([(f1, 1), (f2, 0)], [120_000])
    g1 = spend([(c1, 0)], [47_000])
    g2 = spend([(c1, 1), (c2, 0)], [100_000])
    bad = spend([(f2, 0)], [10**9])  # pays more than it spends: fee unknowable
    return [f1, f2, c1, c1b, c2, g1, g2, bad]


POOL = _pool()
step = st.one_of(
    st.tuples(st.just("tx"), st.integers(0, len(POOL) - 1), st.integers(0, 1)),
    st.tuples(st.just("inv"), st.lists(st.integers(0, len(POOL) + 5), max_size=12), st.integers(0, 1)),
    st.tuples(st.just("notfound"), st.integers(0, len(POOL) - 1), st.integers(0, 1)),
    st.tuples(st.just("block"), st.lists(st.integers(0, len(POOL) - 1), max_size=4), st.integers(0, 1)),
    st.tuples(st.just("down"), st.integers(0, 1), st.integers(0, 1)),
)


def _hash(i: int, wtx: bool) -> tuple[int, Hash256]:
    if i < len(POOL):
        tx = POOL[i]
        return (InvType.WTX, tx.wtxid) if wtx else (InvType.TX, tx.txid)
    return (InvType.TX, Hash256(i.to_bytes(32, "little")))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(step, max_size=40))
def test_random_streams_keep_the_view_consistent_and_bounded(steps) -> None:
    async def scenario() -> None:
        peers = [FakePeer(1), FakePeer(2)]
        loop = asyncio.get_running_loop()
        view = MempoolView(
            FakePeerSet(peers),
            lambda fn, *a: loop.run_in_executor(None, fn, *a),
            max_tracked=CAP,
            recent_blocks=2,
            max_in_flight=3,
            stats_interval=0.0,
            emit=lambda _e: None,
        )
        height = 0
        for kind, arg, who in steps:
            peer = peers[who]
            if kind == "tx":
                await view.on_message(peer, MsgTx(POOL[arg]))
            elif kind == "inv":
                await view.on_message(peer, MsgInv(tuple(Inv(*_hash(i, bool(who))) for i in arg)))
            elif kind == "notfound":
                await view.on_message(peer, MsgNotFound((Inv(*_hash(arg, False)),)))
            elif kind == "block":
                height += 1
                await view.on_block(block(height, [POOL[i] for i in dict.fromkeys(arg)]))
            else:
                view.on_peer_down(peers[arg])
            if view._task is not None:
                await view._task
            led = view.ledger
            assert len(led) <= CAP and len(led.outputs) <= 2
            assert led.vsize == sum(t.vsize for t in led.txs.values())
            assert led.known_vsize == sum(t.vsize for t in led.txs.values() if t.fee is not None)
            assert sum(led.bucket_count) == led.known_count <= len(led)
            assert len(view._seen) <= 2 * CAP and all(n <= 3 for n in view._in_flight.values())
            spent = [k for t in led.txs.values() for k in t.prevouts]
            assert len(spent) == len(set(spent))  # no two tracked txs spend the same outpoint
        for p in peers:
            for m in p.sent:
                assert isinstance(m, MsgGetData) and len(m.inventory) <= 3
        s = view.stats()
        assert s.count == len(view.ledger) and s.min_fee_filter == 1000
        await view.close()

    asyncio.run(scenario())
