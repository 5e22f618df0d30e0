"""Receive: a fresh address with its QR code, a BIP21 payment request (amount, label, message), copy
buttons, and the list of the wallet's receive and change addresses with editable labels."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
)

from app.bridge import CoreBridge
from app.context import AppContext
from app.models.addresses import ADDRESS, CHAIN, LABEL, AddressesModel
from app.qr import QrView
from app.wallet_widgets import copy_text, error_label, status
from app.widgets import Card, Page, hbox, muted
from core.errors import PeerwalletError
from core.wallet.bip21 import PaymentRequest, build_uri
from core.wallet.keychain import KeychainKind
from core.wallet.payment_input import parse_amount_text
from core.wallet.wallet import Wallet

ADDRESS_WIDTH = 250
FILTERS = (("All addresses", ""), ("Receive", "receive"), ("Change", "change"))


class ReceivePage(Page):
    """The current receive address and request on the left, all addresses on the right."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Receive", "Give the payer an address or a payment link. Use a new address for every payment.")
        self.setObjectName("page_receive")
        self.ctx = ctx
        self.address: str | None = None
        self.uri = ""
        self._dirty = True
        columns = QHBoxLayout()
        columns.setSpacing(14)
        columns.addWidget(self._request_card(), 0)
        columns.addWidget(self._addresses_card(), 1)
        self.body.addLayout(columns, 1)
        bridge.wallet_opened.connect(self._on_wallet_opened)
        bridge.wallet_changed.connect(self.refresh_addresses)
        self._on_wallet_opened(ctx.wallet)

    # --- building ----------------------------------------------------------------------------------
    def _request_card(self) -> Card:
        card = Card("Your address", "receive_card")
        card.setFixedWidth(400)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.address_label = QLabel("—")
        self.address_label.setObjectName("receive_address")
        self.address_label.setFont(mono)
        self.address_label.setWordWrap(True)
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        card.content.addWidget(self.address_label)
        self.used_note = muted(QLabel(""))
        self.used_note.setObjectName("receive_used_note")
        self.used_note.setWordWrap(True)
        card.content.addWidget(self.used_note)
        self.copy_address = QPushButton("Copy address")
        self.copy_address.setObjectName("copy_address")
        self.copy_address.clicked.connect(lambda: self._copy(self.address or "", "Address"))
        self.new_button = QPushButton("New address")
        self.new_button.setObjectName("new_address")
        self.new_button.clicked.connect(self.take_new_address)
        card.content.addLayout(hbox(self.copy_address, self.new_button, None))

        form = QFormLayout()
        form.setHorizontalSpacing(12)
        self.amount = QLineEdit()
        self.amount.setObjectName("request_amount")
        self.label = QLineEdit()
        self.label.setObjectName("request_label")
        self.label.setPlaceholderText("who pays, what for (saved as the address label)")
        self.message = QLineEdit()
        self.message.setObjectName("request_message")
        self.message.setPlaceholderText("shown to the payer")
        self.unit_label = QLabel(self.ctx.settings.unit.value)
        form.addRow("Amount", hbox(self.amount, self.unit_label, spacing=6))
        form.addRow("Label", self.label)
        form.addRow("Message", self.message)
        card.content.addLayout(form)
        self.request_error = error_label("request_error")
        card.content.addWidget(self.request_error)
        for field in (self.amount, self.label, self.message):
            field.textChanged.connect(self._update_request)
        self.label.editingFinished.connect(self._save_label)

        qr_row = QHBoxLayout()
        self.qr = QrView(240)
        self.qr.setObjectName("receive_qr")
        qr_row.addStretch(1)
        qr_row.addWidget(self.qr)
        qr_row.addStretch(1)
        card.content.addLayout(qr_row)
        self.uri_label = muted(QLabel(""))
        self.uri_label.setObjectName("receive_uri")
        self.uri_label.setWordWrap(True)
        self.uri_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        card.content.addWidget(self.uri_label)
        self.copy_uri = QPushButton("Copy payment link")
        self.copy_uri.setObjectName("copy_uri")
        self.copy_uri.clicked.connect(lambda: self._copy(self.uri, "Payment link"))
        card.content.addLayout(hbox(self.copy_uri, None))
        card.content.addStretch(1)
        return card

    def _addresses_card(self) -> Card:
        card = Card("Addresses", "addresses_card")
        self.filter = QComboBox()
        self.filter.setObjectName("address_filter")
        for text, key in FILTERS:
            self.filter.addItem(text, key)
        note = muted(QLabel("Double-click a label to edit it."))
        card.content.addLayout(hbox(self.filter, None, note))
        self.model = AddressesModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(CHAIN)
        self.filter.currentIndexChanged.connect(self._apply_filter)
        self.table = QTableView()
        self.table.setObjectName("address_table")
        self.table.setModel(self.proxy)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(LABEL, QHeaderView.ResizeMode.Stretch)
        # Addresses are elided in the middle (full text in the tooltip) so the labels keep room.
        header.setSectionResizeMode(ADDRESS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(ADDRESS, ADDRESS_WIDTH)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        card.content.addWidget(self.table, 1)
        return card

    # --- behaviour ---------------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        key = self.filter.currentData()
        self.proxy.setFilterRegularExpression(f"^{key}$" if key else "")

    def _on_wallet_opened(self, wallet: Wallet | None) -> None:
        self.address = None
        self.refresh_addresses()
        enabled = wallet is not None
        for w in (self.copy_address, self.new_button, self.copy_uri, self.amount, self.label, self.message):
            w.setEnabled(enabled)
        if wallet is None:
            self.address_label.setText("No wallet is open.")
        elif self.isVisible():
            self._pick_address(wallet)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh_addresses()
        wallet = self.ctx.wallet
        if wallet is not None and self.address is None:
            self._pick_address(wallet)

    def _pick_address(self, wallet: Wallet) -> None:
        """Reuse the newest handed-out address that has not received anything; else hand out a new one."""
        unused = [a for a in wallet.addresses(KeychainKind.RECEIVE, handed_out_only=True) if not a.used]
        if unused:
            self._show_address(unused[-1].address, unused[-1].label)
        else:
            self.take_new_address()

    def take_new_address(self) -> None:
        """Hand out the next receive address (recorded before it is shown)."""
        wallet = self.ctx.wallet
        if wallet is None:
            return
        info = wallet.new_address()
        self._show_address(info.address, info.label)
        self.refresh_addresses()

    def _show_address(self, address: str, label: str | None) -> None:
        self.address = address
        self.address_label.setText(address)
        self.used_note.setText("")
        for field in (self.amount, self.message):
            field.blockSignals(True)
            field.clear()
            field.blockSignals(False)
        self.label.blockSignals(True)
        self.label.setText(label or "")
        self.label.blockSignals(False)
        self._update_request()

    def _update_request(self) -> None:
        wallet, address = self.ctx.wallet, self.address
        if wallet is None or address is None:
            self.uri = ""
            self.uri_label.setText("")
            self.qr.set_payload("")
            return
        amount: int | None = None
        self.request_error.setText("")
        if self.amount.text().strip():
            try:
                amount = parse_amount_text(self.amount.text(), self.ctx.settings.unit)
            except PeerwalletError as e:
                self.request_error.setText(f"Amount: {e}")
        label, message = self.label.text().strip() or None, self.message.text().strip() or None
        self.uri = build_uri(PaymentRequest(address, amount, label, message), wallet.network)
        self.uri_label.setText(self.uri)
        # A bare address scans everywhere; a link only when it carries more than the address.
        self.qr.set_payload(self.uri if (amount or label or message) else address)

    def _save_label(self) -> None:
        wallet, address = self.ctx.wallet, self.address
        if wallet is None or address is None:
            return
        text = self.label.text().strip() or None
        if text != wallet.label_of("addr", address):
            wallet.set_label("addr", address, text)
            self.refresh_addresses()

    def refresh_addresses(self) -> None:
        """Re-read the address list (after wallet changes; while hidden only marked for a re-read when shown);
        note when the shown address got paid."""
        wallet = self.ctx.wallet
        if not self.isVisible() and wallet is not None:
            self._dirty = True
            return
        self._dirty = False
        self.model.reload(wallet)
        self.unit_label.setText(self.ctx.settings.unit.value)
        if wallet is not None and self.address is not None:
            row = self.model.row_of(self.address)
            if row is not None and self.model.rows[row].used:
                self.used_note.setText("This address has received a payment. Take a new one for the next payment.")

    def _copy(self, text: str, what: str) -> None:
        if text:
            copy_text(text)
            status(self, f"{what} copied to the clipboard.")
