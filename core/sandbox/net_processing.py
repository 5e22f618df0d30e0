"""The sandbox node's message handling: Bitcoin Core's PeerManager, reduced to what a regtest peer needs.

Serves headers, blocks, transactions and BIP157 filters; syncs headers-first from peers and
fetches the blocks of the best header chain; relays transactions by wtxid (or txid to peers that
did not negotiate wtxidrelay) and announces blocks with `headers` (BIP130) or `inv`. Peers that
send consensus-invalid data are disconnected and discouraged, as Core does — except loopback
peers, which Core only disconnects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import TYPE_CHECKING

from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction
from core.filters.basic import FilterType
from core.mempool.results import Accepted
from core.p2p.messages import (
    Inv,
    InvType,
    Message,
    MsgAddr,
    MsgBlock,
    MsgCFCheckpt,
    MsgCFHeaders,
    MsgCFilter,
    MsgGetAddr,
    MsgGetBlocks,
    MsgGetCFCheckpt,
    MsgGetCFHeaders,
    MsgGetCFilters,
    MsgGetData,
    MsgGetHeaders,
    MsgHeaders,
    MsgInv,
    MsgMempool,
    MsgNotFound,
    MsgTx,
)
from core.p2p.peer import Peer
from core.p2p.peer_events import PeerConnected, PeerDisconnected, PeerEvent
from core.sandbox.events import BlockRejected, TipChanged, TxAccepted, TxRejected

if TYPE_CHECKING:
    from core.sandbox.chain_service import BlockOutcome
    from core.sandbox.node import SandboxNode

log = logging.getLogger(__name__)
#: Answers of many messages (a getcfilters range) give the event loop a turn after this many.
SEND_BATCH = 100
_BLOCK_TYPES = (InvType.BLOCK, InvType.WITNESS_BLOCK)
_TX_TYPES = (InvType.TX, InvType.WITNESS_TX, InvType.WTX)


def _is_loopback(peer: Peer) -> bool:
    try:
        return ipaddress.ip_address(peer.address[0]).is_loopback
    except ValueError:
        return False


class NetProcessing:
    """Handles every message of every peer of one sandbox node (PeerHandler)."""

    def __init__(self, node: SandboxNode) -> None:
        self.node = node
        self.peers: set[Peer] = set()
        self._known: dict[Peer, set[bytes]] = {}  # tx hashes each peer has or was sent
        self._in_flight: dict[bytes, Peer] = {}  # blocks requested, and from whom

    # --- lifecycle -----------------------------------------------------------------------------------
    def on_event(self, event: PeerEvent) -> None:
        if isinstance(event, PeerConnected):
            self.peers.add(event.peer)
            self._known[event.peer] = set()
            self.node.spawn(self._start_sync(event.peer), f"sync {event.peer.address}")
        elif isinstance(event, PeerDisconnected):
            self.peers.discard(event.peer)
            self._known.pop(event.peer, None)
            self._in_flight = {h: p for h, p in self._in_flight.items() if p is not event.peer}

    async def _start_sync(self, peer: Peer) -> None:
        locator = await self.node.run(self.node.chain.locator)
        peer.send(MsgGetHeaders(locator=tuple(locator)))

    def punish(self, peer: Peer, detail: str) -> None:
        """Core's Misbehaving: discourage and disconnect (loopback peers: disconnect only)."""
        log.info("peer %s misbehaved: %s", peer.address, detail)
        if _is_loopback(peer):
            peer.disconnect(f"misbehaving: {detail}")
        else:
            peer.misbehaving(detail)

    # --- dispatch --------------------------------------------------------------------------------------
    async def on_message(self, peer: Peer, msg: Message) -> None:
        log.debug("%s from %s", msg, peer.address)
        handler = getattr(self, f"_on_{msg.COMMAND}", None)
        if handler is not None:
            await handler(peer, msg)

    async def _on_getheaders(self, peer: Peer, msg: MsgGetHeaders) -> None:
        headers = await self.node.run(self.node.chain.headers_after, msg.locator, msg.hash_stop)
        peer.send(MsgHeaders(tuple(headers)))

    async def _on_getblocks(self, peer: Peer, msg: MsgGetBlocks) -> None:
        # Core answers with an inv of up to 500 blocks after the locator's fork point.
        headers = await self.node.run(self.node.chain.headers_after, msg.locator, msg.hash_stop)
        if headers:
            peer.send(MsgInv(tuple(Inv(InvType.BLOCK, h.hash) for h in headers[:500])))

    async def _on_headers(self, peer: Peer, msg: MsgHeaders) -> None:
        if not msg.headers:
            return
        out = await self.node.run(self.node.chain.accept_headers, msg.headers)
        if out.punish:
            self.punish(peer, f"invalid header: {out.result.reason}")  # type: ignore[union-attr]
            return
        self._request_blocks(peer, out.missing)
        if len(msg.headers) == 2000 and out.last_known is not None:
            peer.send(MsgGetHeaders(locator=(out.last_known,)))

    def _request_blocks(self, peer: Peer, missing: tuple[BlockHash, ...]) -> None:
        want = [h for h in missing if bytes(h) not in self._in_flight]
        if want:
            for h in want:
                self._in_flight[bytes(h)] = peer
            peer.send(MsgGetData(tuple(Inv(InvType.WITNESS_BLOCK, h) for h in want)))

    async def _on_block(self, peer: Peer, msg: MsgBlock) -> None:
        self._in_flight.pop(bytes(msg.block.hash), None)
        outcome = await self.node.run(self.node.chain.process_block, msg.block)
        if outcome.reject is not None:
            self.node.emit(BlockRejected(msg.block.hash, outcome.reject))
            if outcome.punish:
                self.punish(peer, f"invalid block {msg.block.hash}: {outcome.reject}")
            return
        self.after_block(outcome, source=peer)
        if not self._in_flight:
            self._request_blocks(peer, await self.node.run(self.node.chain.missing_blocks))

    def after_block(self, outcome: BlockOutcome, source: Peer | None = None) -> None:
        """Report a tip change and announce the new blocks to every other peer."""
        update = outcome.update
        if not update.tip_changed:
            return
        tip = outcome.tip
        self.node.tip = tip
        self.node.emit(TipChanged(tip.height, tip.hash, len(update.disconnected), len(update.connected)))
        for p in list(self.peers):
            if p is source:
                continue
            if p.prefers_headers:
                p.send(MsgHeaders(tuple(b.header for b in update.connected)))
            else:
                p.send(MsgInv((Inv(InvType.BLOCK, update.connected[-1].hash),)))

    async def _on_inv(self, peer: Peer, msg: MsgInv) -> None:
        blocks = any(inv.type in _BLOCK_TYPES for inv in msg.inventory)
        txs = [inv for inv in msg.inventory if inv.type in _TX_TYPES]
        self._known.setdefault(peer, set()).update(bytes(inv.hash) for inv in txs)
        chain = self.node.chain
        # One trip to the chain thread for the whole announcement, not one per entry.
        missing = await self.node.run(lambda: [inv for inv in txs if chain.mempool_tx(inv.hash) is None])
        want = [Inv(InvType.WITNESS_TX if inv.type == InvType.TX else inv.type, inv.hash) for inv in missing]
        if want:
            peer.send(MsgGetData(tuple(want)))
        if blocks:
            locator = await self.node.run(self.node.chain.locator)
            peer.send(MsgGetHeaders(locator=tuple(locator)))

    async def _on_getdata(self, peer: Peer, msg: MsgGetData) -> None:
        notfound: list[Inv] = []
        for inv in msg.inventory:
            if inv.type in _BLOCK_TYPES:
                block = await self.node.run(self.node.chain.block, inv.hash)
                if block is None:
                    notfound.append(inv)
                else:
                    peer.send(MsgBlock(block))
            elif inv.type in _TX_TYPES:
                tx = await self.node.run(self.node.chain.mempool_tx, inv.hash)
                if tx is None:
                    notfound.append(inv)
                else:
                    peer.send(MsgTx(tx))
        if notfound:
            peer.send(MsgNotFound(tuple(notfound)))

    async def _on_tx(self, peer: Peer, msg: MsgTx) -> None:
        tx = msg.tx
        self._known.setdefault(peer, set()).update((bytes(tx.txid), bytes(tx.wtxid)))
        result = await self.node.run(self.node.chain.accept_tx, tx)
        if isinstance(result, Accepted):
            self.after_tx(tx, result, source=peer)
            return
        # Core master never disconnects or discourages for a transaction: relay policy and soft-fork
        # upgrades must not split the network.
        self.node.emit(TxRejected(tx.txid, str(result)))

    def after_tx(self, tx: Transaction, result: Accepted, source: Peer | None = None) -> None:
        """Report an accepted transaction and announce it to peers that do not have it."""
        self.node.emit(TxAccepted(tx.txid, tx.wtxid, result.fee, result.vsize))
        rate_kvb = result.fee * 1000 // max(result.vsize, 1)
        for p in list(self.peers):
            known = self._known.setdefault(p, set())
            if p is source or bytes(tx.wtxid) in known or not p.relay or rate_kvb < p.fee_filter:
                continue
            known.update((bytes(tx.txid), bytes(tx.wtxid)))
            inv = Inv(InvType.WTX, tx.wtxid) if p.wtxid_relay else Inv(InvType.TX, tx.txid)
            p.send(MsgInv((inv,)))

    async def _on_mempool(self, peer: Peer, msg: MsgMempool) -> None:
        txs = await self.node.run(self.node.chain.mempool.txs_for_relay)
        invs = [Inv(InvType.WTX, t.wtxid) if peer.wtxid_relay else Inv(InvType.TX, t.txid) for t in txs]
        for i in range(0, len(invs), 50_000):
            peer.send(MsgInv(tuple(invs[i : i + 50_000])))

    async def _on_getaddr(self, peer: Peer, msg: MsgGetAddr) -> None:
        peer.send(MsgAddr(()))

    # --- BIP157 ---------------------------------------------------------------------------------------
    async def _on_getcfilters(self, peer: Peer, msg: MsgGetCFilters) -> None:
        filters = None
        if msg.filter_type == FilterType.BASIC:
            filters = await self.node.run(self.node.chain.chain.cfilters, msg.start_height, msg.stop_hash)
        if filters is None:  # the index refuses what Core refuses (range over 1,000, unknown stop)
            peer.disconnect(f"bad getcfilters request ({msg.start_height}, {msg.stop_hash})")  # as Core does
            return
        for i, f in enumerate(filters):
            peer.send(MsgCFilter(f.filter_type, f.block_hash, f.encoded))
            if i % SEND_BATCH == SEND_BATCH - 1:
                await asyncio.sleep(0)  # framing 1,000 filters takes ~30 ms: let the loop (the app's window) run

    async def _on_getcfheaders(self, peer: Peer, msg: MsgGetCFHeaders) -> None:
        got = None
        if msg.filter_type == FilterType.BASIC:
            got = await self.node.run(self.node.chain.chain.cfheaders, msg.start_height, msg.stop_hash)
        if got is None:  # likewise (range over 2,000, unknown stop)
            peer.disconnect(f"bad getcfheaders request ({msg.start_height}, {msg.stop_hash})")
            return
        prev, hashes = got
        peer.send(MsgCFHeaders(FilterType.BASIC, BlockHash(msg.stop_hash), prev, tuple(hashes)))

    async def _on_getcfcheckpt(self, peer: Peer, msg: MsgGetCFCheckpt) -> None:
        headers = None
        if msg.filter_type == FilterType.BASIC:
            headers = await self.node.run(self.node.chain.chain.cfcheckpt, msg.stop_hash)
        if headers is None:
            peer.disconnect(f"bad getcfcheckpt request ({msg.stop_hash})")
            return
        peer.send(MsgCFCheckpt(FilterType.BASIC, BlockHash(msg.stop_hash), tuple(headers)))
