"""Transactions: the wallet's history (lazy, any size), search, editable labels, details, fee bump and
CPFP for unconfirmed transactions, CSV and BIP329 label export (and label import).

Search filters the loaded rows; while a search is active the view keeps fetching pages as it needs rows
to fill itself (QSortFilterProxyModel forwards fetchMore), one page per event-loop turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QSortFilterProxyModel, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
)

from app.bridge import CoreBridge
from app.context import AppContext
from app.fee_control import TARGETS
from app.models.history import AMOUNT, DATE, FEE, LABEL, STATUS, TXID, HistoryModel
from app.notify import PaymentNotifier
from app.spend_dialogs import FeeDialog, await_dialog
from app.spend_flow import review_and_send, show_error
from app.tx_details_dialog import TxDetailsDialog
from app.wallet_widgets import message, status
from app.widgets import Card, Page, hbox, muted
from core.consensus.hashes import Txid
from core.errors import PeerwalletError
from core.mempool.feerate import FeeRate
from core.node.fee_estimator import FeeEstimate
from core.wallet.tx_details import describe_transaction, history_csv_pages
from core.wallet.wallet import HistoryEntry


class TransactionsPage(Page):
    """History table and its actions; `task` is the running flow (one at a time)."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Transactions", "Newest first. Double-click a label to edit it; open a transaction for its details.")
        self.setObjectName("page_transactions")
        self.ctx = ctx
        self.task: asyncio.Task[Any] | None = None
        self._stale = False  # the wallet changed while the page was hidden
        self.details: TxDetailsDialog | None = None
        self.notifier = PaymentNotifier(ctx, bridge, self)

        card = Card("History", "history_card")
        self.search = QLineEdit()
        self.search.setObjectName("history_search")
        self.search.setPlaceholderText("Search label, transaction ID, amount, date…")
        self.search.setClearButtonEnabled(True)
        self.count = muted(QLabel(""))
        self.count.setObjectName("history_count")
        card.content.addLayout(hbox(self.search, self.count))

        self.model = HistoryModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.textChanged.connect(self._search)
        self.table = QTableView()
        self.table.setObjectName("history_table")
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._show_model(self.model)
        self.table.doubleClicked.connect(self._double_clicked)
        card.content.addWidget(self.table, 1)

        self.details_button = self._button("Details…", "tx_details", lambda: self._start(self.show_details(), "details"))
        self.bump_button = self._button("Bump fee…", "bump_fee", lambda: self._start(self.bump_selected(), "bump fee"))
        self.cpfp_button = self._button("Speed up (CPFP)…", "cpfp", lambda: self._start(self.cpfp_selected(), "CPFP"))
        csv = self._button("Export CSV…", "export_csv", lambda: self._ask_path("history.csv", self.export_csv))
        labels = self._button("Export labels…", "export_labels", lambda: self._ask_path("labels.jsonl", self.export_labels))
        imp = self._button("Import labels…", "import_labels", lambda: self._ask_path("", self.import_labels, save=False))
        card.content.addLayout(hbox(self.details_button, self.bump_button, self.cpfp_button, None, csv, labels, imp))
        self.body.addWidget(card, 1)

        bridge.wallet_opened.connect(self._reload_on)
        bridge.wallet_changed.connect(self._on_wallet_changed)
        bridge.chain_tip.connect(self._on_tip)
        bridge.settings_changed.connect(self._reload_on)
        self.reload()

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _reload_on(self, *_: object) -> None:
        self.reload()

    def _on_tip(self, *_: object) -> None:
        self.model.tip_changed()

    def _button(self, text: str, name: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    # --- data ----------------------------------------------------------------------------------------
    def _on_wallet_changed(self) -> None:
        # During a scan the wallet changes several times a second: a hidden page re-reads when shown.
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def reload(self) -> None:
        """Re-read the history (keeps the selected transaction selected)."""
        self._stale = False
        selected = self.selected()
        wallet = self.ctx.wallet
        self.model.reload(wallet, self.ctx.settings.unit)
        n = wallet.tx_count() if wallet is not None else 0
        self.count.setText(f"{n:,} transaction{'s' if n != 1 else ''}" if wallet is not None else "No wallet is open.")
        if selected is not None:
            self.select_txid(selected.txid)
        self._update_buttons()

    def _show_model(self, model: QAbstractItemModel) -> None:
        """Show the history model itself, or the search proxy while a search is active: the proxy asks for
        every role of every painted cell one call at a time, the model answers all of a cell's at once
        (multiData), which keeps scrolling a long history well inside a frame."""
        old = self.table.selectionModel()
        self.table.setModel(model)
        if old is not None:
            old.deleteLater()  # setModel leaves the previous selection model to us
        header = self.table.horizontalHeader()
        # Fixed widths, never ResizeToContents: that would measure every loaded row on each fetch.
        for col, width in ((DATE, 135), (STATUS, 130), (AMOUNT, 150), (FEE, 135), (TXID, 200)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(LABEL, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

    def _search(self, text: str) -> None:
        selected = self.selected()
        self.proxy.setFilterFixedString(text)
        want = self.proxy if text else self.model
        if self.table.model() is not want:
            self._show_model(want)
            if selected is not None:
                self.select_txid(selected.txid)
            self._update_buttons()

    def selected(self) -> HistoryEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0]
        if self.table.model() is self.proxy:
            index = self.proxy.mapToSource(index)
        return self.model.entry(index.row())

    def select_txid(self, txid: Txid) -> bool:
        """Select a loaded transaction's row (True if it is loaded)."""
        row = self.model.row_of(txid)
        if row is None:
            return False
        index = self.model.index(row, 0)
        if self.table.model() is self.proxy:
            index = self.proxy.mapFromSource(index)
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        return True

    def _update_buttons(self) -> None:
        e = self.selected()
        self.details_button.setEnabled(e is not None)
        unconfirmed = e is not None and e.height is None
        self.bump_button.setEnabled(unconfirmed and e is not None and e.sent > 0)
        self.cpfp_button.setEnabled(unconfirmed)

    def _double_clicked(self, index: Any) -> None:
        if index.column() != LABEL:
            self._start(self.show_details(), "details")

    # --- flows ---------------------------------------------------------------------------------------
    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self.task is not None and not self.task.done():
            coro.close()
            return
        self.task = self.ctx.spawn(coro, name)

    async def show_details(self) -> None:
        e, wallet = self.selected(), self.ctx.wallet
        if e is None or wallet is None:
            return
        try:
            details = describe_transaction(wallet, e.txid)
        except PeerwalletError as exc:  # dropped (replaced) since the list was read
            show_error(self, exc, wallet, self.ctx.settings.unit, "Transaction")
            return
        self.details = TxDetailsDialog(details, self.ctx.settings.unit, wallet.tip_height, self)
        choice: list[str] = []
        self.details.bump_requested.connect(lambda: choice.append("bump"))
        self.details.cpfp_requested.connect(lambda: choice.append("cpfp"))
        await await_dialog(self.details)
        if choice == ["bump"]:
            await self.bump_selected()
        elif choice == ["cpfp"]:
            await self.cpfp_selected()

    async def _estimates(self) -> list[FeeEstimate]:
        node = self.ctx.node
        return list(await node.estimate_fees(TARGETS)) if node is not None else []

    async def bump_selected(self) -> None:
        """Replace the selected unconfirmed transaction with one paying a higher fee rate (BIP125)."""
        await self._fee_flow(bump=True)

    async def cpfp_selected(self) -> None:
        """Spend an output of the selected unconfirmed transaction with a child paying for both."""
        await self._fee_flow(bump=False)

    async def _fee_flow(self, bump: bool) -> None:
        e, wallet = self.selected(), self.ctx.wallet
        if e is None or wallet is None or e.height is not None:
            return
        unit = self.ctx.settings.unit
        current = None
        if e.fee is not None and e.sent:
            tx = wallet.transaction(e.txid)
            current = FeeRate.from_fee(e.fee, tx.vsize) if tx is not None else None
        if bump:
            title, text = "Bump fee", "The transaction is replaced by one paying a higher fee rate (same payments, less change)."
        else:
            title, text = ("Speed up with a child (CPFP)",
                           "A new transaction spends this one's output to you and pays enough for both to confirm together.")
        dialog = FeeDialog(title, text, await self._estimates(), self, minimum=current if bump else None)
        if await await_dialog(dialog) != QDialog.DialogCode.Accepted or dialog.rate is None:
            return
        try:
            draft = wallet.bump_fee(e.txid, dialog.rate) if bump else wallet.cpfp(e.txid, dialog.rate)
            label = e.label if bump else (f"CPFP for {e.label}" if e.label else None)
            tx = await review_and_send(wallet, draft, unit, self, title=f"Review: {title.lower()}", label=label)
        except PeerwalletError as exc:
            show_error(self, exc, wallet, unit, title)
            return
        if tx is not None:
            self.reload()
            self.select_txid(tx.txid)
            status(self, f"Sent: transaction {tx.txid}")

    # --- files ---------------------------------------------------------------------------------------
    def _ask_path(self, suggested: str, then: Any, save: bool = True) -> None:
        dialog = QFileDialog(self, "Export" if save else "Import labels", str(Path.home() / suggested))
        dialog.setObjectName("history_file_dialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # a native dialog would block the loop
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen)
        if not save:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self._start(then(Path(path)), "history file"))
        dialog.open()

    async def export_csv(self, path: Path) -> None:
        """Write the whole history as CSV, yielding to the loop between pages."""
        wallet = self.ctx.wallet
        if wallet is None:
            return
        chunks = []
        for chunk in history_csv_pages(wallet):
            chunks.append(chunk)
            await asyncio.sleep(0)
        await self._write(path, "".join(chunks), "History")

    async def export_labels(self, path: Path) -> None:
        """Write every label as BIP329 JSON Lines."""
        if self.ctx.wallet is not None:
            await self._write(path, self.ctx.wallet.export_labels(), "Labels")

    async def import_labels(self, path: Path) -> None:
        """Read BIP329 labels (all or nothing)."""
        wallet = self.ctx.wallet
        if wallet is None:
            return
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            count = wallet.import_labels(text)
        except (OSError, UnicodeDecodeError) as e:
            message(self, "Import labels", f"Could not read {path}: {e}", error=True)
            return
        except PeerwalletError as e:
            show_error(self, e, wallet, self.ctx.settings.unit, "Import labels")
            return
        self.reload()
        status(self, f"Imported {count} label{'s' if count != 1 else ''}.")

    async def _write(self, path: Path, text: str, what: str) -> None:
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as e:
            message(self, "Export", f"Could not write {path}: {e.strerror or e}", error=True)
            return
        status(self, f"{what} exported to {path}")
