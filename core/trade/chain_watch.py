"""Watching escrow outputs through the light node, without changing the LightNode API.

`TradeScanTarget` wraps the wallet as the node's scan target: it adds the escrow scripts of the open
trades to the wallet's scripts, hands every delivered block to both, and resumes scanning at the lower
of the wallet's progress and the watch's: on every start the watch asks for a rescan from the oldest
open escrow's first height, so each open trade's escrow outpoint is re-checked on chain (funded? spent,
and how?) from the filters, not from memory. BIP158 filters cover both the outputs a block creates
and the scripts its inputs spend, so the same script finds the deposit and its payout.

`ChainWatch` turns blocks and mempool transactions into facts for the engine: an output to a watched
escrow script (with its height, None when unconfirmed), a spend of a watched escrow outpoint, a
disconnected block (a reorganisation), and tip changes (buffered until the engine attaches, since the node starts scanning first). It keeps no state
that matters across restarts: the store has the trades, and the rescan rediscovers the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import OutPoint, Transaction
from core.node.events import BlockConnected, ChainTip
from core.trade.context import TradeContext
from core.trade.protocol_types import State
from core.trade.store import TradeStore

#: States whose escrow is watched on chain (a given-up trade too, once our deposit signatures left).
WATCHED = frozenset(State) - {State.OFFER_OPEN, State.TAKE_REQUESTED}


@dataclass(frozen=True)
class EscrowOutput:
    """A transaction paying a watched escrow script."""

    trade_id: str
    tx: Transaction
    vout: int
    height: int | None


@dataclass(frozen=True)
class EscrowSpend:
    """A transaction spending a watched escrow outpoint."""

    trade_id: str
    tx: Transaction
    input_index: int
    height: int | None


@dataclass(frozen=True)
class Disconnected:
    """A block at `height` left the chain (a reorganisation): what it confirmed is unconfirmed again."""

    height: int


Fact = EscrowOutput | EscrowSpend | Disconnected


class ChainWatch:
    """Escrow scripts and outpoints to look for; reports facts to `on_fact` and tips to `on_tip`."""

    def __init__(self) -> None:
        self._scripts: dict[bytes, str] = {}  # escrow script → trade id
        self._outpoints: dict[OutPoint, str] = {}  # escrow outpoint → trade id
        self._from: dict[str, int] = {}  # trade id → first height to scan
        self.tip_height = -1
        self._sink: Callable[[Fact | int], None] | None = None
        self._buffer: list[Fact | int] = []  # what the node reported before the engine attached

    def attach(self, sink: Callable[[Fact | int], None]) -> None:
        """Deliver facts (and new tip heights, as ints) to `sink` from now on, buffered ones first."""
        self._sink = sink
        buffered, self._buffer = self._buffer, []
        for item in buffered:
            sink(item)

    def detach(self) -> None:
        self._sink = None

    def _emit(self, item: Fact | int) -> None:
        if self._sink is None:
            self._buffer.append(item)
        else:
            self._sink(item)

    # -- what to watch -------------------------------------------------------------------------------

    def watch(self, trade_id: str, script: bytes, from_height: int, outpoint: OutPoint | None = None) -> None:
        """Watch `script` (and `outpoint` once known) for a trade, scanning from `from_height` on restarts."""
        self._scripts[bytes(script)] = trade_id
        if outpoint is not None:
            self._outpoints[outpoint] = trade_id
        if from_height >= 0:
            self._from[trade_id] = min(self._from.get(trade_id, from_height), from_height)

    def unwatch(self, trade_id: str) -> None:
        for table in (self._scripts, self._outpoints):
            for k in [k for k, v in table.items() if v == trade_id]:
                del table[k]
        self._from.pop(trade_id, None)

    def scripts(self) -> list[bytes]:
        return list(self._scripts)

    def resume_height(self) -> int | None:
        """The height through which scanning may be skipped (None: no escrow needs a rescan)."""
        return min(self._from.values()) - 1 if self._from else None

    # -- input: blocks, mempool, node events ------------------------------------------------------------

    def _scan(self, txs: Sequence[Transaction], height: int | None) -> None:
        facts: list[Fact] = []
        for tx in txs:
            for n, out in enumerate(tx.vout):
                trade = self._scripts.get(out.script_pubkey)
                if trade is not None:
                    self._outpoints[OutPoint(tx.txid, n)] = trade
                    facts.append(EscrowOutput(trade, tx, n, height))
            if tx.is_coinbase():
                continue
            for i, txin in enumerate(tx.vin):
                trade = self._outpoints.get(txin.prevout)
                if trade is not None:
                    facts.append(EscrowSpend(trade, tx, i, height))
        for fact in facts:
            self._emit(fact)

    def block_connected(self, height: int, block: Block) -> None:
        self._scan(block.txs, height)

    def transactions_seen(self, txs: Sequence[Transaction]) -> None:
        """Mempool feed (and our own broadcasts)."""
        self._scan(txs, None)

    def on_node_event(self, event: object) -> None:
        """LightNode listener: follow the scanned tip."""
        if isinstance(event, ChainTip) or (isinstance(event, BlockConnected) and event.height > self.tip_height):
            height = event.height  # type: ignore[union-attr]
            if height != self.tip_height:
                self.tip_height = height
                self._emit(height)

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        self.tip_height = min(self.tip_height, height - 1)
        self._emit(Disconnected(height))


class TradeScanTarget:
    """The node's scan target: the wallet plus the escrow watch (see the module docstring)."""

    def __init__(self, wallet: Any, watch: ChainWatch) -> None:
        self.wallet = wallet
        self.watch = watch

    def scripts(self) -> Sequence[bytes]:
        extra = self.watch.scripts()
        return [*self.wallet.scripts(), *extra] if extra else self.wallet.scripts()

    def birthday_height(self) -> int:
        return int(self.wallet.birthday_height())

    def before_scan(self, tip_height: int) -> None:
        # A brand-new seed settles its birthday here (FilterSync calls it before scanning).
        before = getattr(self.wallet, "before_scan", None)
        if callable(before):
            before(tip_height)

    def scan_resume_height(self) -> int:
        own = int(self.wallet.scan_resume_height())
        watch = self.watch.resume_height()
        return own if watch is None else min(own, watch)

    def scan_progress(self, height: int, block_hash: BlockHash) -> None:
        self.wallet.scan_progress(height, block_hash)

    def block_connected(self, height: int, block: Block) -> None:
        self.wallet.block_connected(height, block)
        self.watch.block_connected(height, block)

    def block_disconnected(self, height: int, block_hash: BlockHash) -> None:
        self.wallet.block_disconnected(height, block_hash)
        self.watch.block_disconnected(height, block_hash)


def prepare_watch(store: TradeStore) -> ChainWatch:
    """The chain watch for the trades in `store`: build it before the light node starts (the node asks
    it where to resume scanning), give it to `TradeScanTarget`, then to the engine."""
    watch = ChainWatch()
    for row in store.trades():
        if _watched(row.state, row.ctx) and row.ctx.contract is not None:
            outpoint = row.ctx.deposit_outpoint() if row.ctx.deposit_txid else None
            start = row.ctx.watch_from if row.ctx.watch_from >= 0 else 0
            watch.watch(row.trade_id, row.ctx.contract_obj().escrow_spk(), start, outpoint)
    return watch


def _watched(state: State, ctx: TradeContext) -> bool:
    if state is State.FAILED_BEFORE_DEPOSIT:
        return ctx.deposit_signed
    if state in (State.COMPLETED, State.COOP_CANCELLED, State.ARBITRATED, State.REFUNDED_AFTER_T1):
        return ctx.payout_height < 0  # until the payout is confirmed
    return state in WATCHED
