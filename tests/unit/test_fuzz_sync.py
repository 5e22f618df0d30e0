"""Fuzz: random, unrequested and out-of-order headers/cfheaders/cfilter/cfcheckpt messages from several
peers into HeaderSync and FilterSync never raise; bad peers are punished instead."""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.chain.headers import HeaderTree
from core.chain.params import params_for
from core.consensus.block import BlockHeader
from core.consensus.hashes import BlockHash
from core.filters.basic import FilterType
from core.node.filter_sync import FilterSync
from core.node.header_sync import HeadersChanged, HeaderSync
from core.p2p.messages import MsgCFCheckpt, MsgCFHeaders, MsgCFilter, MsgHeaders
from core.p2p.services import ServiceFlags
from tests.functional.sync_support import Wallet
from tests.unit.peer_harness import run

PARAMS = params_for("regtest")
GENESIS = PARAMS.genesis.header


class FakePeer:
    """Just enough of a Peer for the sync code: sends are recorded, disconnects close it."""

    def __init__(self, n: int) -> None:
        self.address = (f"10.0.0.{n}", 18444)
        self.start_height = 10
        self.services = ServiceFlags.NODE_NETWORK | ServiceFlags.NODE_COMPACT_FILTERS
        self.handshake_complete = True
        self.is_closed = False
        self.sent: list[Any] = []

    def send(self, msg: Any) -> bool:
        self.sent.append(msg)
        return not self.is_closed

    def disconnect(self, detail: str = "") -> None:
        self.is_closed = True


class FakePeerSet:
    def __init__(self, peers: list[FakePeer]) -> None:
        self.all = peers
        self.punished: list[tuple[FakePeer, str]] = []

    def peers(self) -> list[FakePeer]:
        return [p for p in self.all if not p.is_closed]

    def filter_peers(self) -> list[FakePeer]:
        return self.peers()

    def punish(self, peer: FakePeer, reason: str) -> None:
        self.punished.append((peer, reason))
        peer.disconnect(reason)

    def report_stall(self, peer: FakePeer) -> None:
        peer.disconnect("stall")


hashes = st.binary(min_size=32, max_size=32)
u32 = st.integers(0, 2**32 - 1)
header = st.one_of(
    st.builds(BlockHeader, st.integers(-(2**31), 2**31 - 1), hashes, hashes, u32, u32, u32),
    st.builds(lambda t, n: BlockHeader(4, GENESIS.hash, bytes(32), GENESIS.time + t, GENESIS.bits, n), st.integers(1, 10**6), u32),
)
message = st.one_of(
    st.builds(lambda hs: MsgHeaders(tuple(hs)), st.lists(header, max_size=5)),
    st.builds(lambda s, p, hs: MsgCFHeaders(FilterType.BASIC, BlockHash(s), p, tuple(hs)), hashes, hashes, st.lists(hashes, max_size=5)),
    st.builds(lambda t, s, f: MsgCFilter(t, BlockHash(s), f), st.integers(0, 2), hashes, st.binary(max_size=40)),
    st.builds(lambda s, hs: MsgCFCheckpt(FilterType.BASIC, BlockHash(s), tuple(hs)), hashes, st.lists(hashes, max_size=3)),
)
inputs = st.lists(st.tuples(st.integers(0, 2), message), max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_random_sync_messages_never_raise(seq: list[tuple[int, Any]]) -> None:
    async def scenario() -> None:
        ex = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.get_running_loop()

        async def run_on(fn: Any, *args: Any) -> Any:
            return await loop.run_in_executor(ex, fn, *args)

        peers = [FakePeer(i) for i in range(3)]
        pset = FakePeerSet(peers)
        tree = HeaderTree(PARAMS)
        with tempfile.TemporaryDirectory() as tmp:
            hs = HeaderSync(PARAMS, tree, pset, run_on, stall_timeout=5)
            fs = FilterSync(PARAMS, tree, Path(tmp) / "f.sqlite", pset, Wallet([b"\x51"]), run_on, request_timeout=0.05)
            hs.listeners.append(fs.on_headers_changed)
            await fs.start()
            for p in peers:
                hs.on_peer_up(p)  # type: ignore[arg-type]
                fs.on_peer_up(p)  # type: ignore[arg-type]
            fs.on_headers_changed(HeadersChanged(None, 0, tree.tip.hash, True))
            for i, msg in seq:
                await hs.on_message(peers[i], msg)  # type: ignore[arg-type]
                await fs.on_message(peers[i], msg)  # type: ignore[arg-type]
                await asyncio.sleep(0)
            await hs.close()
            await fs.close()
        ex.shutdown(wait=True)
        assert all(p.is_closed for p, _ in pset.punished)

    run(scenario)
