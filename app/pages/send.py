"""Send: recipients (address or BIP21 link, amount in BTC or sat, several rows, send max), the fee rate
(the node's own estimates with their basis, or custom), RBF, coin control, then review → password →
sign off the loop → broadcast. PSBTs can be exported for another signer and imported back signed.

Nothing in the wallet changes until a transaction is broadcast: a draft only peeks at the change address,
so an error, a cancelled review or a wrong password leave balance, history and addresses as they were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.bridge import CoreBridge
from app.coin_control import CoinControlDialog
from app.context import AppContext
from app.fee_control import TARGETS, FeeRateControl
from app.models.coins import CoinsModel
from app.pages.send_rows import RecipientRow
from app.psbt_dialogs import PsbtExportDialog, PsbtImportDialog
from app.spend_dialogs import await_dialog
from app.spend_flow import describe_error, review_and_send
from app.wallet_widgets import error_label, status
from app.widgets import Card, Page, hbox, muted
from core.consensus.tx import OutPoint
from core.errors import PeerwalletError
from core.settings import Settings, Unit
from core.wallet.spending import Draft, Payment
from core.wallet.tx_details import describe_signed_psbt
from core.wallet.wallet import Wallet

RIGHT_WIDTH = 430


class SendPage(Page):
    """The payment form and its flows; `task` is the running flow (one at a time)."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Send", "Pay one or more recipients. You review every output and the fee before anything is signed.")
        self.setObjectName("page_send")
        self.ctx = ctx
        self.unit: Unit = ctx.settings.unit
        self.rows: list[RecipientRow] = []
        self.coins: list[OutPoint] | None = None
        self.task: asyncio.Task[Any] | None = None
        self.last_sent: str | None = None  # txid of the last broadcast (tests, status)
        self._state_stale = False  # the wallet changed while the page was hidden

        columns = QHBoxLayout()
        columns.setSpacing(14)
        columns.addWidget(self._recipients_card(), 1)
        right = QVBoxLayout()
        right.setSpacing(14)
        right.addWidget(self._fee_card())
        right.addWidget(self._coins_card())
        right.addWidget(self._actions_card(), 1)
        holder = QWidget()
        holder.setLayout(right)
        holder.setFixedWidth(RIGHT_WIDTH)
        right.setContentsMargins(0, 0, 0, 0)
        columns.addWidget(holder)
        self.body.addLayout(columns, 1)
        self.add_row()

        bridge.wallet_opened.connect(self._on_wallet_opened)
        bridge.wallet_changed.connect(self._on_wallet_changed)
        bridge.node_ready.connect(self._estimates_on)
        bridge.block_connected.connect(self._estimates_on)
        bridge.settings_changed.connect(self._on_settings)
        self._wallet_state()

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _on_wallet_opened(self, *_: object) -> None:
        self._wallet_state()

    def _estimates_on(self, *_: object) -> None:
        self.refresh_estimates()

    def _on_settings(self, settings: Settings, _restart: object) -> None:
        self._set_unit(settings.unit)

    # --- building ----------------------------------------------------------------------------------

    def _recipients_card(self) -> Card:
        card = Card("Recipients", "recipients_card")
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(6)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 6, 0)
        inner_layout.addLayout(self.rows_box)
        scroll = QScrollArea()
        scroll.setObjectName("recipients_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        self.add_button = QPushButton("Add recipient")
        self.add_button.setObjectName("add_recipient")
        self.add_button.clicked.connect(self.add_row)
        self.send_max = QCheckBox("Send everything (max) to this recipient")
        self.send_max.setObjectName("send_max")
        self.send_max.toggled.connect(self._max_toggled)
        self.unit_box = QComboBox()
        self.unit_box.setObjectName("amount_unit")
        for unit in Unit:
            self.unit_box.addItem(unit.value, unit)
        self.unit_box.setCurrentIndex(self.unit_box.findData(self.unit))
        self.unit_box.currentIndexChanged.connect(lambda _i: self._set_unit(self.unit_box.currentData()))
        inner_layout.addLayout(hbox(self.add_button, self.send_max, None, QLabel("Amounts in"), self.unit_box))
        self.available = muted(QLabel(""))
        self.available.setObjectName("send_available")
        inner_layout.addWidget(self.available)
        self.error = error_label("send_error")
        inner_layout.addWidget(self.error)
        inner_layout.addStretch(1)
        card.content.addWidget(scroll, 1)
        return card

    def _fee_card(self) -> Card:
        card = Card("Fee", "fee_card")
        self.fee = FeeRateControl("fee")
        card.content.addWidget(self.fee)
        self.rbf = QCheckBox("Allow a fee bump later (replace-by-fee)")
        self.rbf.setObjectName("rbf")
        self.rbf.setChecked(True)
        card.content.addWidget(self.rbf)
        return card

    def _coins_card(self) -> Card:
        card = Card("Coins", "coins_card")
        self.coins_summary = muted(QLabel("Automatic: the wallet chooses which coins to spend."))
        self.coins_summary.setObjectName("coin_control_summary")
        self.coins_summary.setWordWrap(True)
        card.content.addWidget(self.coins_summary)
        choose = QPushButton("Choose coins…")
        choose.setObjectName("choose_coins")
        choose.clicked.connect(lambda: self._start(self._choose_coins(), "coin control"))
        clear = QPushButton("Automatic")
        clear.setObjectName("clear_coins")
        clear.clicked.connect(lambda: self.use_coins(None))
        card.content.addLayout(hbox(choose, clear, None))
        return card

    def _actions_card(self) -> Card:
        card = Card("Send", "send_actions_card")
        self.review_button = QPushButton("Review and send…")
        self.review_button.setObjectName("review_button")
        self.review_button.setDefault(True)
        self.review_button.clicked.connect(lambda: self._start(self._send(), "send"))
        export = QPushButton("Export PSBT…")
        export.setObjectName("export_psbt")
        export.setToolTip("Create the transaction unsigned, for a hardware or offline wallet")
        export.clicked.connect(lambda: self._start(self._export(), "export PSBT"))
        import_ = QPushButton("Import signed PSBT…")
        import_.setObjectName("import_psbt")
        import_.clicked.connect(lambda: self._start(self._import(), "import PSBT"))
        clear = QPushButton("Clear form")
        clear.setObjectName("clear_form")
        clear.clicked.connect(self.clear_form)
        card.content.addWidget(self.review_button)
        card.content.addLayout(hbox(export, import_))
        card.content.addLayout(hbox(clear, None))
        self.watch_note = muted(QLabel(""))
        self.watch_note.setObjectName("watch_only_note")
        self.watch_note.setWordWrap(True)
        card.content.addWidget(self.watch_note)
        card.content.addStretch(1)
        return card

    # --- form ----------------------------------------------------------------------------------------
    def add_row(self) -> RecipientRow:
        """Add an empty recipient row (send max applies to a single recipient only)."""
        row = RecipientRow(self.ctx.params.network, self.unit)
        row.remove_requested.connect(self.remove_row)
        self.rows.append(row)
        self.rows_box.addWidget(row)
        self._rows_changed()
        return row

    def remove_row(self, row: RecipientRow) -> None:
        if len(self.rows) <= 1:
            row.clear()
            return
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        self._rows_changed()

    def _rows_changed(self) -> None:
        single = len(self.rows) == 1
        if not single:
            self.send_max.setChecked(False)
        self.send_max.setEnabled(single)
        for row in self.rows:
            row.remove.setEnabled(not single)

    def _max_toggled(self, on: bool) -> None:
        for row in self.rows:
            row.amount.setEnabled(not on)
            if on:
                row.amount.setText("")
                row.amount.setPlaceholderText("everything, minus the fee")
            else:
                row.amount.setPlaceholderText("")

    def _set_unit(self, unit: Unit | str) -> None:
        unit = Unit(unit)  # combo box data comes back as a plain str
        self.unit = unit
        self.unit_box.setCurrentIndex(self.unit_box.findData(unit))
        for row in self.rows:
            row.set_unit(unit)
        self._wallet_state()

    def use_coins(self, outpoints: list[OutPoint] | None) -> None:
        """Spend exactly these coins (None or empty: automatic selection)."""
        self.coins = list(outpoints) if outpoints else None
        wallet = self.ctx.wallet
        if self.coins is None or wallet is None:
            self.coins_summary.setText("Automatic: the wallet chooses which coins to spend.")
            return
        total = sum(wallet.unspent_values(self.coins).values())
        n = len(self.coins)
        self.coins_summary.setText(f"Only {n} chosen coin{'s' if n != 1 else ''} ({fmt.amount(total, self.unit)}).")

    def clear_form(self) -> None:
        for row in self.rows[1:]:
            self.remove_row(row)
        self.rows[0].clear()
        self.send_max.setChecked(False)
        self.use_coins(None)
        self.error.setText("")

    def _on_wallet_changed(self) -> None:
        # During a scan the wallet changes several times a second: a hidden page re-reads when shown.
        if self.isVisible():
            self._wallet_state()
        else:
            self._state_stale = True

    def _wallet_state(self) -> None:
        self._state_stale = False
        wallet = self.ctx.wallet
        if wallet is None:
            self.available.setText("No wallet is open.")
            self.review_button.setEnabled(False)
            return
        bal = wallet.balance()
        frozen = f", {fmt.amount(bal.frozen, self.unit)} frozen" if bal.frozen else ""
        self.available.setText(f"Spendable: {fmt.amount(bal.spendable, self.unit)}{frozen}")
        self.review_button.setEnabled(True)
        self.review_button.setText("Review and export PSBT…" if wallet.info.watch_only else "Review and send…")
        self.watch_note.setText("Watch-only wallet: sign the PSBT with the wallet that holds the keys." if wallet.info.watch_only else "")

    # --- estimates -----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._state_stale:
            self._wallet_state()
        self.refresh_estimates()

    def refresh_estimates(self) -> None:
        if self.ctx.node is not None and self.isVisible():
            self.ctx.spawn(self.update_estimates(), "fee estimates")

    async def update_estimates(self) -> None:
        node = self.ctx.node
        if node is not None:
            self.fee.set_estimates(await node.estimate_fees(TARGETS))

    async def screenshot_hook(self) -> None:
        await self.update_estimates()

    # --- flows ---------------------------------------------------------------------------------------
    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self.task is not None and not self.task.done():
            coro.close()
            return
        self.task = self.ctx.spawn(coro, name)

    async def _draft(self, wallet: Wallet) -> tuple[Draft, str | None]:
        """The draft of the form (PeerwalletError, shown inline, if a field or the wallet refuses)."""
        send_max = self.send_max.isChecked()
        failures = 0
        values = []
        for row in self.rows:
            try:
                values.append(row.read(send_max))
            except PeerwalletError:
                failures += 1
        if failures:
            raise _FormError("Fix the marked recipient fields first.")
        payments = [Payment(v.address, v.amount or 0) for v in values]
        draft = await wallet.draft_async(
            payments, self.fee.fee_rate(), coins=self.coins, send_max=send_max, rbf=self.rbf.isChecked()
        )
        labels = [v.label for v in values if v.label]
        return draft, "; ".join(labels) or None

    async def _send(self) -> None:
        wallet = self.ctx.wallet
        if wallet is None:
            return
        self.error.setText("")
        try:
            draft, label = await self._draft(wallet)
            tx = await review_and_send(wallet, draft, self.unit, self, label=label)
        except PeerwalletError as e:
            self.error.setText(describe_error(e, wallet, self.unit))
            return
        if tx is not None:
            self.last_sent = str(tx.txid)
            self.clear_form()
            status(self, f"Sent: transaction {tx.txid}")

    async def _export(self) -> None:
        wallet = self.ctx.wallet
        if wallet is None:
            return
        self.error.setText("")
        try:
            draft, _ = await self._draft(wallet)
        except PeerwalletError as e:
            self.error.setText(describe_error(e, wallet, self.unit))
            return
        await await_dialog(PsbtExportDialog(draft.psbt, self))

    async def _import(self) -> None:
        wallet = self.ctx.wallet
        if wallet is None:
            return
        self.error.setText("")
        dialog = PsbtImportDialog(self)
        if await await_dialog(dialog) != QDialog.DialogCode.Accepted or dialog.psbt is None:
            return
        try:
            draft, tx = describe_signed_psbt(wallet, dialog.psbt)
            sent = await review_and_send(wallet, draft, self.unit, self, title="Review signed transaction", signed=tx)
        except PeerwalletError as e:
            self.error.setText(describe_error(e, wallet, self.unit))
            return
        if sent is not None:
            self.last_sent = str(sent.txid)
            status(self, f"Sent: transaction {sent.txid}")

    async def _choose_coins(self) -> None:
        wallet = self.ctx.wallet
        if wallet is None:
            return
        coins = await wallet.coin_snapshot_async(CoinsModel.build)  # off the loop: there may be very many
        if self.ctx.wallet is not wallet:
            return
        dialog = CoinControlDialog(wallet, coins, self.unit, self.coins or (), self)
        if await await_dialog(dialog) == QDialog.DialogCode.Accepted:
            self.use_coins(dialog.selected)


class _FormError(PeerwalletError):
    """The form has fields that do not read (each row says which)."""
