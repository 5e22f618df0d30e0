"""CoreBridge: the core's typed events as Qt signals, on the window's (qasync) loop.

The node, the wallet and the AppContext call plain listeners synchronously; the bridge sorts each
event onto one signal whose payload is the core's own dataclass. Frequent events (SyncProgress
during a sync, MempoolStats under traffic, new mempool transactions) are throttled to at most
`THROTTLE_HZ` deliveries a second, always delivering the latest value (so the final "synced" is
never lost). Listeners do no work beyond emitting: slots run on the same loop and must stay short.
The latest sync progress, mempool stats and chain tip are kept, so a page created later can show
them at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.context import AppContext, ContextEvent, NodeStarted, SettingsChanged, WalletOpened
from core.consensus.tx import Transaction
from core.node.events import (
    BlockConnected,
    BlockDisconnected,
    ChainTip,
    NodeWarning,
    PeerDown,
    PeerUp,
    SyncProgress,
)
from core.node.node import LightNode
from core.node.tx_events import MempoolStats, TxBroadcast, TxConfirmed, TxNotPropagated, TxPropagated
from core.wallet.events import WalletEvent
from core.wallet.wallet import Wallet

THROTTLE_HZ = 10
_NOTHING = object()


class Throttle:
    """Deliver at most one value per `interval` seconds, always the newest; the last one always arrives.

    `merge(old, new)` combines values pending in the same interval (default: keep the newest).
    """

    def __init__(
        self,
        interval: float,
        deliver: Callable[[Any], None],
        parent: QObject,
        merge: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.interval = interval
        self._deliver = deliver
        self._merge = merge
        self._pending: Any = _NOTHING
        self._last = float("-inf")
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)

    def push(self, value: Any) -> None:
        if self._pending is not _NOTHING and self._merge is not None:
            value = self._merge(self._pending, value)
        self._pending = value
        if self._timer.isActive():
            return
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self._timer.start(max(1, int(wait * 1000)))

    def flush(self) -> None:
        """Deliver what is pending now."""
        value, self._pending = self._pending, _NOTHING
        if value is _NOTHING:
            return
        self._last = time.monotonic()
        self._deliver(value)


class CoreBridge(QObject):
    """Signals for everything the window shows. Payload types are named beside each signal."""

    node_ready = Signal(object)  # LightNode: started; peer_infos(), estimate_fees(), mempool are usable
    wallet_opened = Signal(object)  # core.wallet.wallet.Wallet (also after the node restarted with it)
    settings_changed = Signal(object, tuple)  # Settings, fields that need a restart
    peer_up = Signal(object)  # core.node.events.PeerInfo
    peer_down = Signal(object)  # core.node.events.PeerDown
    peers_changed = Signal()  # after peer_up / peer_down
    sync_progress = Signal(object)  # core.node.events.SyncProgress (throttled)
    chain_tip = Signal(object)  # core.node.events.ChainTip: the scanned (filter-checked) tip
    block_connected = Signal(int)  # height
    block_disconnected = Signal(int)  # height
    mempool_stats = Signal(object)  # core.node.tx_events.MempoolStats (throttled)
    mempool_txs = Signal(object)  # tuple[Transaction, ...] newly seen in the mempool (coalesced)
    node_warning = Signal(str)
    tx_status = Signal(object)  # TxBroadcast | TxPropagated | TxConfirmed | TxNotPropagated (core.node.tx_events)
    wallet_event = Signal(object)  # each core.wallet.events.WalletEvent (TxAdded, BalanceChanged, ...), unthrottled
    wallet_changed = Signal()  # coalesced "the wallet changed": refresh balances and lists

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.last_sync: SyncProgress | None = None
        self.last_mempool: MempoolStats | None = None
        self.last_tip: ChainTip | None = None
        interval = 1.0 / THROTTLE_HZ
        self._sync = Throttle(interval, self._deliver_sync, self)
        self._mempool = Throttle(interval, self.mempool_stats.emit, self)
        self._txs = Throttle(interval, self.mempool_txs.emit, self, merge=lambda a, b: (*a, *b)[-500:])
        self._wallet = Throttle(interval, lambda _: self.wallet_changed.emit(), self)
        ctx.add_listener(self._on_context_event)
        if ctx.node is not None:  # the bridge was made after start()
            self._attach_node(ctx.node)
        if ctx.wallet is not None:
            self._attach_wallet(ctx.wallet)

    # --- wiring ----------------------------------------------------------------------------------
    def _on_context_event(self, event: ContextEvent) -> None:
        if isinstance(event, NodeStarted):
            self._attach_node(event.node)
        elif isinstance(event, WalletOpened):
            self._attach_wallet(event.wallet)
        elif isinstance(event, SettingsChanged):
            self.settings_changed.emit(event.settings, event.restart_needed)

    def _attach_node(self, node: LightNode) -> None:
        node.add_listener(self._on_node_event)
        node.mempool.tx_listeners.append(self._on_mempool_txs)
        self.node_ready.emit(node)

    def _attach_wallet(self, wallet: Wallet) -> None:
        wallet.add_listener(self._on_wallet_event)
        self.wallet_opened.emit(wallet)
        self.wallet_changed.emit()

    # --- events ----------------------------------------------------------------------------------
    def _deliver_sync(self, event: SyncProgress) -> None:
        self.sync_progress.emit(event)

    def _on_node_event(self, event: object) -> None:
        if isinstance(event, SyncProgress):
            self.last_sync = event
            self._sync.push(event)
        elif isinstance(event, MempoolStats):
            self.last_mempool = event
            self._mempool.push(event)
        elif isinstance(event, ChainTip):
            self.last_tip = event
            self.chain_tip.emit(event)
        elif isinstance(event, PeerUp):
            self.peer_up.emit(event.info)
            self.peers_changed.emit()
        elif isinstance(event, PeerDown):
            self.peer_down.emit(event)
            self.peers_changed.emit()
        elif isinstance(event, BlockConnected):
            self.block_connected.emit(event.height)
        elif isinstance(event, BlockDisconnected):
            self.block_disconnected.emit(event.height)
        elif isinstance(event, NodeWarning):
            self.node_warning.emit(event.message)
        elif isinstance(event, TxBroadcast | TxPropagated | TxConfirmed | TxNotPropagated):
            self.tx_status.emit(event)

    def _on_mempool_txs(self, txs: Sequence[Transaction]) -> None:
        self._txs.push(tuple(txs))

    def _on_wallet_event(self, event: WalletEvent) -> None:
        self.wallet_event.emit(event)
        self._wallet.push(None)

    def flush(self) -> None:
        """Deliver throttled events now (before the window closes, and in tests)."""
        for t in (self._sync, self._mempool, self._txs, self._wallet):
            t.flush()
