"""Coins: the wallet's unspent outputs; freeze coins (coin selection never spends them) or thaw them, and
"spend selected" opens the send page with exactly those coins chosen (coin control)."""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QPushButton, QTableView

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from app.models.coins import COIN, CoinColumns, CoinRow, CoinsModel
from app.wallet_widgets import status
from app.widgets import Card, Page, hbox, muted
from core.wallet.errors import StorageError
from core.wallet.wallet import Wallet


class CoinsPage(Page):
    """UTXO table with freeze / unfreeze / spend actions on the selected rows."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Coins", "Each unspent output the wallet owns. Frozen coins are never spent until you thaw them.")
        self.setObjectName("page_coins")
        self.ctx = ctx
        self._dirty = True
        self._generation = 0  # of the latest read asked for; only its result is shown
        self._shown = -1  # the generation whose rows the table shows
        self._shown_changed = asyncio.Event()
        card = Card("Unspent outputs", "coins_list_card")
        self.summary = muted(QLabel(""))
        self.summary.setObjectName("coins_summary")
        card.content.addWidget(self.summary)
        self.model = CoinsModel()
        self.table = QTableView()
        self.table.setObjectName("coins_table")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setResizeContentsPrecision(0)  # fit the rows in view: measuring 1,000 rows took ~0.5 s
        header.setSectionResizeMode(COIN, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        card.content.addWidget(self.table, 1)
        self.freeze = QPushButton("Freeze")
        self.freeze.setObjectName("freeze_coins")
        self.freeze.clicked.connect(lambda: self.set_frozen(True))
        self.thaw = QPushButton("Unfreeze")
        self.thaw.setObjectName("unfreeze_coins")
        self.thaw.clicked.connect(lambda: self.set_frozen(False))
        self.spend = QPushButton("Spend selected…")
        self.spend.setObjectName("spend_coins")
        self.spend.clicked.connect(self.spend_selected)
        card.content.addLayout(hbox(self.freeze, self.thaw, None, self.spend))
        self.body.addWidget(card, 1)
        bridge.wallet_opened.connect(self._reload_on)
        bridge.wallet_changed.connect(self.reload)
        bridge.chain_tip.connect(self._on_tip)
        bridge.settings_changed.connect(self._reload_on)
        self.reload()

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _reload_on(self, *_: object) -> None:
        self.reload()

    def _on_tip(self, *_: object) -> None:
        self.model.layoutChanged.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.reload()

    def reload(self) -> None:
        """Re-read the coins in a worker thread, then show them keeping the selected ones selected (only
        while shown: a hidden page re-reads when it is shown). A later reload supersedes an earlier one."""
        if not self.isVisible() and self.ctx.wallet is not None:
            self._dirty = True
            return
        self._dirty = False
        self._generation += 1
        wallet = self.ctx.wallet
        if wallet is None:
            self._show(None, CoinColumns(), {}, self._generation)
            return
        if self._shown < 0:
            self.summary.setText("Reading the coins…")
        self.ctx.spawn(self._load(wallet, self._generation), "coins page read")

    async def _load(self, wallet: Wallet, generation: int) -> None:
        try:
            cols, addr_labels = await wallet.coin_snapshot_async(CoinsModel.build)
        except StorageError:  # the wallet closed meanwhile (another wallet opened, or the app closing)
            return
        if generation != self._generation or self.ctx.wallet is not wallet or not shiboken6.isValid(self):
            return
        self._show(wallet, cols, addr_labels, generation)

    def _show(self, wallet: Wallet | None, cols: CoinColumns, addr_labels: dict[str, str], generation: int) -> None:
        keep = {(bytes(c.outpoint.txid), c.outpoint.n) for c in self.selected()}
        unit = self.ctx.settings.unit
        self.model.set_rows(wallet, unit, cols, addr_labels)
        self._update_summary()
        selection = self.table.selectionModel()
        for row, coin in enumerate(zip(cols.txid, cols.vout, strict=True) if keep else ()):
            if coin in keep:
                selection.select(self.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        self._update_buttons()
        self._shown = generation
        self._shown_changed.set()

    def _update_summary(self) -> None:
        wallet, unit = self.ctx.wallet, self.ctx.settings.unit
        if wallet is None:
            self.summary.setText("No wallet is open.")
            return
        bal = wallet.balance()
        n = self.model.rowCount()
        self.summary.setText(
            f"{n:,} coin{'s' if n != 1 else ''}: {fmt.amount(bal.spendable, unit)} spendable, "
            f"{fmt.amount(bal.frozen, unit)} frozen, {fmt.amount(bal.immature, unit)} immature"
        )

    async def wait_loaded(self) -> None:
        """Return once the latest read's coins are in the table (tests; --screenshots via screenshot_hook)."""
        while self._dirty or self._shown != self._generation:
            self._shown_changed.clear()
            await self._shown_changed.wait()

    screenshot_hook = wait_loaded

    def selected(self) -> list[CoinRow]:
        return [self.model.coin(i.row()) for i in self.table.selectionModel().selectedRows()]

    def _update_buttons(self) -> None:
        coins = self.selected()
        self.freeze.setEnabled(any(not c.frozen for c in coins))
        self.thaw.setEnabled(any(c.frozen for c in coins))
        self.spend.setEnabled(bool(coins) and all(self.model.selectable(c) for c in coins))

    def set_frozen(self, frozen: bool) -> None:
        """Freeze or thaw the selected coins (the wallet reports the change; the list follows)."""
        wallet = self.ctx.wallet
        if wallet is None:
            return
        for row in sorted(i.row() for i in self.table.selectionModel().selectedRows()):
            coin = self.model.coin(row)
            if coin.frozen != frozen:
                wallet.set_frozen(coin.outpoint, frozen)
                self.model.set_frozen(row, frozen)  # at once; the re-read below agrees
        self._update_summary()
        self._update_buttons()
        self.reload()

    def spend_selected(self) -> None:
        """Open the send page with the selected coins as its coin control choice."""
        coins = [c.outpoint for c in self.selected() if self.model.selectable(c)]
        window = self.window()
        show_page = getattr(window, "show_page", None)  # MainWindow (not imported: it imports this registry)
        if not coins or show_page is None:
            return
        send = show_page("send")
        use = getattr(send, "use_coins", None)
        if use is not None:
            use(coins)
            status(self, f"Sending from {len(coins)} chosen coin{'s' if len(coins) != 1 else ''}.")
