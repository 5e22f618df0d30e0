"""Requests of the filter sync and the answers they wait for: getcfcheckpt, getcfheaders, getcfilters and
getdata(MSG_WITNESS_BLOCK), each awaited with a timeout (a silent peer is reported as stalling).

Answers nobody asked for are ignored (as light clients do); an answer that breaks its request (a cfilter
for a block out of order, a filter type we did not ask for) gets its sender punished by the caller.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.filters.basic import FilterHeader, FilterType
from core.node.errors import NodeError
from core.node.sync_protocols import PeerSet
from core.p2p.messages import (
    Inv,
    InvType,
    Message,
    MsgBlock,
    MsgCFCheckpt,
    MsgCFHeaders,
    MsgCFilter,
    MsgGetCFCheckpt,
    MsgGetCFHeaders,
    MsgGetCFilters,
    MsgGetData,
    MsgNotFound,
)
from core.p2p.peer import Peer


class NoAnswer(NodeError):
    """The peer did not answer (timeout, disconnect, notfound or a broken answer)."""


class NoPeers(NodeError):
    """No peer can serve the request now."""


@dataclass(slots=True)
class _FilterBatch:
    expected: list[BlockHash]
    future: asyncio.Future[list[bytes]]
    got: list[bytes] = field(default_factory=list)


class FilterRequests:
    """Outstanding requests per peer; `sent` counts the requests sent by command."""

    def __init__(self, peerset: PeerSet, timeout: float) -> None:
        self.peerset = peerset
        self.timeout = timeout
        self.sent: Counter[str] = Counter()
        self._waiters: dict[tuple[Peer, str, bytes], asyncio.Future[object]] = {}
        self._batches: dict[Peer, _FilterBatch] = {}

    async def _ask(self, peer: Peer, key: tuple[Peer, str, bytes], msg: Message, fut: asyncio.Future | None = None) -> object:
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[key] = fut
        if peer.is_closed or not peer.send(msg):
            self._drop(key, peer)
            raise NoAnswer(f"{peer.address} is gone")
        self.sent[msg.COMMAND] += 1
        try:
            async with asyncio.timeout(self.timeout):
                return await fut
        except TimeoutError:
            self.peerset.report_stall(peer)
            raise NoAnswer(f"{peer.address} did not answer {msg.COMMAND}") from None
        finally:
            self._drop(key, peer)

    def _drop(self, key: tuple[Peer, str, bytes], peer: Peer) -> None:
        fut = self._waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.cancel()
        if key[1] == "cfilter":
            batch = self._batches.pop(peer, None)
            if batch is not None and not batch.future.done():
                batch.future.cancel()

    async def cfcheckpt(self, peer: Peer, stop_hash: BlockHash) -> tuple[FilterHeader, ...]:
        msg = await self._ask(peer, (peer, "cfcheckpt", bytes(stop_hash)), MsgGetCFCheckpt(FilterType.BASIC, stop_hash))
        return msg.headers  # type: ignore[attr-defined]

    async def cfheaders(self, peer: Peer, start: int, stop_hash: BlockHash) -> MsgCFHeaders:
        msg = MsgGetCFHeaders(FilterType.BASIC, start, stop_hash)
        return await self._ask(peer, (peer, "cfheaders", bytes(stop_hash)), msg)  # type: ignore[return-value]

    async def cfilters(self, peer: Peer, start: int, hashes: list[BlockHash]) -> list[bytes]:
        """The encoded filters of `hashes` (heights start...), in order."""
        if peer in self._batches:
            raise NoAnswer("a cfilters request to this peer is in flight")
        fut: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._batches[peer] = _FilterBatch(list(hashes), fut)
        msg = MsgGetCFilters(FilterType.BASIC, start, hashes[-1])
        return await self._ask(peer, (peer, "cfilter", b""), msg, fut)  # type: ignore[return-value]

    async def block(self, peer: Peer, block_hash: BlockHash) -> Block:
        msg = MsgGetData((Inv(InvType.WITNESS_BLOCK, block_hash),))
        return await self._ask(peer, (peer, "block", bytes(block_hash)), msg)  # type: ignore[return-value]

    # --- answers -------------------------------------------------------------------------------------
    def on_message(self, peer: Peer, msg: Message) -> str:
        """Resolve the request `msg` answers; returns a punishment reason for a broken answer, else ""."""
        if isinstance(msg, MsgCFHeaders):
            self._resolve((peer, "cfheaders", bytes(msg.stop_hash)), msg, msg.filter_type == FilterType.BASIC)
        elif isinstance(msg, MsgCFCheckpt):
            self._resolve((peer, "cfcheckpt", bytes(msg.stop_hash)), msg, msg.filter_type == FilterType.BASIC)
        elif isinstance(msg, MsgBlock):
            self._resolve((peer, "block", bytes(msg.block.hash)), msg.block, True)
        elif isinstance(msg, MsgNotFound):
            for inv in msg.inventory:
                self._resolve((peer, "block", bytes(inv.hash)), None, False)
        elif isinstance(msg, MsgCFilter):
            batch = self._batches.get(peer)
            if batch is None or batch.future.done():
                return ""  # unrequested: ignored
            if msg.filter_type != FilterType.BASIC or msg.block_hash != batch.expected[len(batch.got)]:
                batch.future.set_exception(NoAnswer("cfilter out of order"))
                return "cfilter for a block we did not ask for, or out of order"
            batch.got.append(msg.filter)
            if len(batch.got) == len(batch.expected):
                batch.future.set_result(batch.got)
        return ""

    def _resolve(self, key: tuple[Peer, str, bytes], value: object, ok: bool) -> None:
        fut = self._waiters.get(key)
        if fut is None or fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(NoAnswer(f"bad or missing {key[1]} answer"))

    def peer_gone(self, peer: Peer) -> None:
        """Fail every request to `peer`."""
        for key, fut in list(self._waiters.items()):
            if key[0] is peer and not fut.done():
                fut.set_exception(NoAnswer(f"{peer.address} disconnected"))
        batch = self._batches.get(peer)
        if batch is not None and not batch.future.done():
            batch.future.set_exception(NoAnswer(f"{peer.address} disconnected"))

    def cancel_all(self) -> None:
        for fut in self._waiters.values():
            fut.cancel()
        for batch in self._batches.values():
            batch.future.cancel()
        self._waiters.clear()
        self._batches.clear()
