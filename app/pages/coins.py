"""Coins: the wallet's unspent outputs; freeze coins (coin selection never spends them) or thaw them, and
"spend selected" opens the send page with exactly those coins chosen (coin control)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QPushButton, QTableView

from app import format as fmt
from app.bridge import CoreBridge
from app.context import AppContext
from app.models.coins import COIN, CoinRow, CoinsModel
from app.wallet_widgets import status
from app.widgets import Card, Page, hbox, muted


class CoinsPage(Page):
    """UTXO table with freeze / unfreeze / spend actions on the selected rows."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Coins", "Each unspent output the wallet owns. Frozen coins are never spent until you thaw them.")
        self.setObjectName("page_coins")
        self.ctx = ctx
        self._dirty = True
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
        bridge.wallet_opened.connect(lambda _w: self.reload())
        bridge.wallet_changed.connect(self.reload)
        bridge.chain_tip.connect(lambda _t: self.model.layoutChanged.emit())
        bridge.settings_changed.connect(lambda *_: self.reload())
        self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.reload()

    def reload(self) -> None:
        """Re-read the coins, keeping the selected ones selected (only while shown: a wallet with very many
        coins takes a while to read; a hidden page re-reads when it is shown)."""
        if not self.isVisible() and self.ctx.wallet is not None:
            self._dirty = True
            return
        self._dirty = False
        keep = {c.outpoint for c in self.selected()}
        wallet = self.ctx.wallet
        unit = self.ctx.settings.unit
        self.model.reload(wallet, unit)
        if wallet is None:
            self.summary.setText("No wallet is open.")
        else:
            bal = wallet.balance()
            n = len(self.model.rows)
            self.summary.setText(
                f"{n:,} coin{'s' if n != 1 else ''}: {fmt.amount(bal.spendable, unit)} spendable, "
                f"{fmt.amount(bal.frozen, unit)} frozen, {fmt.amount(bal.immature, unit)} immature"
            )
        selection = self.table.selectionModel()
        for row, coin in enumerate(self.model.rows):
            if coin.outpoint in keep:
                selection.select(self.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        self._update_buttons()

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
        for coin in self.selected():
            if coin.frozen != frozen:
                wallet.set_frozen(coin.outpoint, frozen)
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
