"""Broadcasting our own transactions, and knowing whether the network took them.

`broadcast(tx)` announces the transaction with `inv` (by wtxid to BIP339 peers, by txid to
others) and serves it to the peers that ask with `getdata`. Peers no longer say why they refuse
a transaction (`reject` is gone from Bitcoin Core), so acceptance is observed instead: the
transaction counts as propagated when a peer announces it to us — a peer we did not announce it
to (it learnt it from the network), or one we did that announces it back. To make that
observable, when we have two or more peers we keep at least one out of the first announcement
(we announce to all but one peer, but to at least two when we have three or more).

Until a block given to `on_block` contains it, the transaction is announced again every
`rebroadcast_interval` seconds to the peers not known to have it (a restarted peer, a new
connection). If no peer announces it within `propagation_timeout`, a `TxNotPropagated` warning
goes out once; the transaction stays "unconfirmed, not propagated" and is still rebroadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction
from core.node.tx_events import TxBroadcast, TxConfirmed, TxNotPropagated, TxPropagated
from core.p2p.messages import Inv, InvType, Message, MsgGetData, MsgInv, MsgNotFound, MsgTx
from core.p2p.peer import Peer

__all__ = ["BroadcastState", "BroadcastStatus", "Broadcaster"]

_TX_TYPES = (InvType.TX, InvType.WTX, InvType.WITNESS_TX)
#: How often to rebroadcast unconfirmed transactions (Core's wallet: every 12-36 h; ours is shorter
#: because a light wallet has no mempool of its own to fall back on).
DEFAULT_REBROADCAST_INTERVAL = 15 * 60.0
DEFAULT_PROPAGATION_TIMEOUT = 60.0


class PeerSet(Protocol):
    def peers(self) -> list[Peer]: ...


class BroadcastState(StrEnum):
    UNCONFIRMED = "unconfirmed"  # announced, not yet seen back
    PROPAGATED = "propagated"  # a peer announced it to us
    CONFIRMED = "confirmed"  # in a block


@dataclass(eq=False)
class BroadcastStatus:
    """One of our transactions and what we know of its fate."""

    tx: Transaction
    first_sent: float
    state: BroadcastState = BroadcastState.UNCONFIRMED
    attempts: int = 0
    announced_to: set[int] = field(default_factory=set)  # peer ids, this connection
    have_it: set[int] = field(default_factory=set)  # peer ids that fetched or announced it
    propagated_by: str | None = None
    confirmed_in: BlockHash | None = None
    warned: bool = False


class Broadcaster:
    """Announces, serves and follows our transactions; see the module docstring."""

    def __init__(
        self,
        peerset: PeerSet,
        *,
        emit: Callable[[object], None] | None = None,
        rebroadcast_interval: float = DEFAULT_REBROADCAST_INTERVAL,
        propagation_timeout: float = DEFAULT_PROPAGATION_TIMEOUT,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.peerset = peerset
        self._emit = emit or (lambda _e: None)
        self.rebroadcast_interval = rebroadcast_interval
        self.propagation_timeout = propagation_timeout
        self._rng = rng or random.Random()
        self._clock = clock
        self._txs: dict[bytes, BroadcastStatus] = {}  # txid -> status
        self._by_hash: dict[bytes, bytes] = {}  # txid or wtxid -> txid
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the timer task (rebroadcasts and propagation timeouts)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._timer(), name="broadcast timer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def on_peer_up(self, peer: Peer) -> None:
        """Announce our unconfirmed transactions to a new peer at once: a wallet re-broadcasting on start
        does so before any peer is connected, and a short-lived session must not wait for the timer."""
        if not peer.relay:
            return
        for st in self.pending():
            if peer.id not in st.have_it:
                self._announce(st, [peer])

    def on_peer_down(self, peer: Peer) -> None:
        for st in self._txs.values():
            st.announced_to.discard(peer.id)
            st.have_it.discard(peer.id)

    # --- API ---------------------------------------------------------------------------------------

    def status(self, txid: bytes) -> BroadcastStatus | None:
        return self._txs.get(bytes(txid))

    def pending(self) -> list[BroadcastStatus]:
        """Our transactions not yet confirmed."""
        return [s for s in self._txs.values() if s.state != BroadcastState.CONFIRMED]

    def broadcast(self, tx: Transaction) -> BroadcastStatus:
        """Start broadcasting `tx` (again, if it already is) and return its status."""
        txid = bytes(tx.txid)
        st = self._txs.get(txid)
        if st is None:
            st = BroadcastStatus(tx, self._clock())
            self._txs[txid] = st
            self._by_hash[txid] = txid
            self._by_hash[bytes(tx.wtxid)] = txid
        peers = [p for p in self.peerset.peers() if p.relay]  # relay=False: no tx invs
        self._announce(st, self._first_targets(peers) if st.attempts == 0 else peers)
        self._wake.set()
        return st

    def _first_targets(self, peers: list[Peer]) -> list[Peer]:
        """All peers but one held back to watch for the transaction coming back (see docstring)."""
        if len(peers) < 2:
            return peers
        chosen = list(peers)
        self._rng.shuffle(chosen)
        return chosen[: max(2, len(chosen) - 1)] if len(chosen) >= 3 else chosen[:1]

    def _announce(self, st: BroadcastStatus, peers: list[Peer]) -> None:
        tx = st.tx
        sent = 0
        for p in peers:
            if p.id in st.have_it:
                continue
            inv = Inv(InvType.WTX, tx.wtxid) if p.wtxid_relay else Inv(InvType.TX, tx.txid)
            if p.send(MsgInv((inv,))):
                st.announced_to.add(p.id)
                sent += 1
        st.attempts += 1
        self._emit(TxBroadcast(tx.txid, tx.wtxid, sent, st.attempts))

    # --- messages ----------------------------------------------------------------------------------

    async def on_message(self, peer: Peer, msg: Message) -> None:
        """Serve getdata for our transactions; watch inv for them coming back."""
        if isinstance(msg, MsgGetData):
            self._on_getdata(peer, msg)
        elif isinstance(msg, MsgInv):
            for inv in msg.inventory:
                if inv.type in _TX_TYPES:
                    txid = self._by_hash.get(bytes(inv.hash))
                    if txid is not None:
                        self._seen_from(peer, self._txs[txid])

    def _on_getdata(self, peer: Peer, msg: MsgGetData) -> None:
        notfound = []
        for inv in msg.inventory:
            if inv.type not in _TX_TYPES:
                continue  # blocks etc.: not ours to serve
            txid = self._by_hash.get(bytes(inv.hash))
            if txid is None:
                notfound.append(inv)
                continue
            st = self._txs[txid]
            st.have_it.add(peer.id)
            peer.send(MsgTx(st.tx))
        if notfound:
            peer.send(MsgNotFound(tuple(notfound)))

    def _seen_from(self, peer: Peer, st: BroadcastStatus) -> None:
        st.have_it.add(peer.id)
        if st.state != BroadcastState.UNCONFIRMED:
            return
        st.state = BroadcastState.PROPAGATED
        host, port = peer.address
        st.propagated_by = f"{host}:{port}"
        self._emit(TxPropagated(st.tx.txid, st.propagated_by, self._clock() - st.first_sent))

    def on_block(self, block: Block) -> list[BroadcastStatus]:
        """Mark our transactions in `block` confirmed; returns them."""
        done = []
        for tx in block.txs:
            st = self._txs.get(bytes(tx.txid))
            if st is not None and st.state != BroadcastState.CONFIRMED:
                st.state = BroadcastState.CONFIRMED
                st.confirmed_in = block.hash
                done.append(st)
                self._emit(TxConfirmed(tx.txid, block.hash))
        return done

    def on_block_disconnected(self, block: Block) -> None:
        """A reorg removed `block`: our transactions in it are unconfirmed again and rebroadcast."""
        for tx in block.txs:
            st = self._txs.get(bytes(tx.txid))
            if st is not None and st.confirmed_in == block.hash:
                st.state = BroadcastState.UNCONFIRMED
                st.confirmed_in = None
                st.have_it.clear()
        self._wake.set()

    # --- timer -------------------------------------------------------------------------------------

    async def _timer(self) -> None:
        next_rebroadcast = self._clock() + self.rebroadcast_interval
        while True:
            now = self._clock()
            if now >= next_rebroadcast:
                next_rebroadcast = now + self.rebroadcast_interval
                for st in self.pending():
                    self._announce(st, [p for p in self.peerset.peers() if p.relay])
            deadlines = [next_rebroadcast]
            for st in self.pending():
                if st.state != BroadcastState.UNCONFIRMED or st.warned:
                    continue
                due = st.first_sent + self.propagation_timeout
                if now >= due:
                    st.warned = True
                    self._emit(
                        TxNotPropagated(
                            st.tx.txid,
                            f"transaction {st.tx.txid} was not seen from any peer within "
                            f"{self.propagation_timeout:g} s; it may have been refused",
                        )
                    )
                else:
                    deadlines.append(due)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, min(deadlines) - now))
