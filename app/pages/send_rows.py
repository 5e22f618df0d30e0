"""One recipient row of the send form: address (or a pasted BIP21 link that fills the amount and label),
amount, label, remove button, and an inline error line. Reading the fields is the core's
(`core.wallet.payment_input`): a row either yields a Payment or says what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit, QToolButton, QWidget

from app.wallet_widgets import error_label
from core.consensus.network import Network
from core.errors import PeerwalletError
from core.settings import Unit
from core.wallet.bip21 import format_amount
from core.wallet.payment_input import parse_amount_text, parse_recipient


@dataclass(frozen=True)
class RowValue:
    """What a row asks for: amount None when sending the maximum."""

    address: str
    amount: int | None
    label: str


def amount_text(sats: int, unit: Unit) -> str:
    """An amount as the user would type it in `unit` (exact)."""
    return str(sats) if unit is Unit.SAT else format_amount(sats)


class RecipientRow(QFrame):
    """Fields of one payment; `remove_requested` asks the form to drop it."""

    remove_requested = Signal(object)

    def __init__(self, network: Network, unit: Unit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network = network
        self.unit = unit
        self.setObjectName("recipient_row")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        self.address = QLineEdit()
        self.address.setObjectName("recipient_address")
        self.address.setPlaceholderText("Address or bitcoin: payment link")
        self.amount = QLineEdit()
        self.amount.setObjectName("recipient_amount")
        self.amount.setMaximumWidth(190)
        self.unit_label = QLabel(unit.value)
        self.label = QLineEdit()
        self.label.setObjectName("recipient_label")
        self.label.setPlaceholderText("Label (for your history)")
        self.remove = QToolButton()
        self.remove.setObjectName("recipient_remove")
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this recipient")
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self.error = error_label("recipient_error")
        grid.addWidget(QLabel("Pay to"), 0, 0)
        grid.addWidget(self.address, 0, 1, 1, 3)
        grid.addWidget(self.remove, 0, 4)
        grid.addWidget(QLabel("Amount"), 1, 0)
        grid.addWidget(self.amount, 1, 1)
        grid.addWidget(self.unit_label, 1, 2)
        grid.addWidget(self.label, 1, 3)
        grid.addWidget(self.error, 2, 1, 1, 3)
        grid.setColumnStretch(3, 1)
        self.address.textChanged.connect(self._maybe_uri)
        self.address.editingFinished.connect(self._check_address)

    def set_unit(self, unit: Unit) -> None:
        """Switch the amount field's unit, converting what is typed when it reads."""
        if unit == self.unit:
            return
        try:
            sats = parse_amount_text(self.amount.text(), self.unit) if self.amount.text().strip() else None
        except PeerwalletError:
            sats = None
        self.unit = unit
        self.unit_label.setText(unit.value)
        if sats is not None:
            self.amount.setText(amount_text(sats, unit))

    def _maybe_uri(self, text: str) -> None:
        """A pasted `bitcoin:` link fills address, amount and label (when it reads)."""
        if not text.strip().lower().startswith("bitcoin:"):
            return
        try:
            req = parse_recipient(text, self.network)
        except PeerwalletError as e:
            self.error.setText(str(e))
            return
        self.address.blockSignals(True)
        self.address.setText(req.address)
        self.address.blockSignals(False)
        if req.amount is not None:
            self.amount.setText(amount_text(req.amount, self.unit))
        if req.label or req.message:
            self.label.setText(req.label or req.message or "")
        self.error.setText("")

    def _check_address(self) -> None:
        if not self.address.text().strip():
            return
        try:
            parse_recipient(self.address.text(), self.network)
        except PeerwalletError as e:
            self.error.setText(str(e))
            return
        self.error.setText("")

    def read(self, send_max: bool) -> RowValue:
        """The row's payment; PeerwalletError (shown in the row too) if a field does not read."""
        self.error.setText("")
        try:
            req = parse_recipient(self.address.text(), self.network)
            amount = None if send_max else parse_amount_text(self.amount.text(), self.unit)
        except PeerwalletError as e:
            self.error.setText(str(e))
            raise
        return RowValue(req.address, amount, self.label.text().strip())

    def clear(self) -> None:
        for field in (self.address, self.amount, self.label):
            field.clear()
        self.error.setText("")
