"""The create-offer tab: side, amount range, a fixed price or a premium over the market, currency,
payment methods (each with its risk; a warning for reversible ones), security deposit, arbitrator, T1,
confirmations and our payment account. `publish_requested(OfferForm)` when the form reads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.trade.step_dialogs import WARN_STYLE, wrapped
from app.trade.text import method_name, method_risk
from app.wallet_widgets import error_label, sentence
from app.widgets import Card, hbox, muted
from core.errors import PeerwalletError
from core.settings import Unit
from core.trade.engine_actions import DEFAULT_T1
from core.trade.offer import (
    DEFAULT_DEPOSIT_BP,
    DEFAULT_T1_BLOCKS,
    MAX_DEPOSIT_BP,
    MAX_T1_BLOCKS,
    MIN_DEPOSIT_BP,
    MIN_T1_BLOCKS,
    NO_ARBITRATOR_MAX_SAT,
    PAYMENT_METHODS,
    ArbitratorRef,
    Side,
    check_hex32,
    payment_method,
)
from core.wallet.payment_input import parse_amount_text

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "BRL", "INR", "JPY")
OTHER = "other"


class FormError(PeerwalletError):
    """A field of the form does not read."""


@dataclass(frozen=True)
class OfferForm:
    """What the form says, ready for TradeEngine.create_offer."""

    side: Side
    min_sat: int
    max_sat: int
    currency: str
    methods: tuple[str, ...]
    account: str
    price: Decimal | None
    premium_pct: Decimal | None
    deposit_bp: int
    arbitrator: ArbitratorRef | None
    t1_blocks: int
    confirmations: int


class CreateOfferTab(QWidget):
    """See the module docstring."""

    publish_requested = Signal(object)

    def __init__(self, network: str, unit: Unit) -> None:
        super().__init__()
        self.setObjectName("trade_create")
        self.network, self.unit = network, unit
        columns = QHBoxLayout(self)
        columns.setContentsMargins(0, 10, 0, 0)
        columns.setSpacing(14)
        form_card = Card("Your offer", "offer_form_card")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.side = QComboBox()
        self.side.setObjectName("offer_side")
        self.side.addItem("I want to sell bitcoin", Side.SELL)
        self.side.addItem("I want to buy bitcoin", Side.BUY)
        self.min = self._line("offer_min", "smallest trade")
        self.max = self._line("offer_max", "largest trade")
        self.price_kind = QComboBox()
        self.price_kind.setObjectName("offer_price_kind")
        self.price_kind.addItem("Fixed price per BTC", "price")
        self.price_kind.addItem("Market premium in %", "premium")
        self.price = self._line("offer_price", "e.g. 60000")
        self.currency = QComboBox()
        self.currency.setObjectName("offer_currency")
        self.currency.setEditable(True)
        self.currency.addItems(CURRENCIES)
        self.deposit = QSpinBox()
        self.deposit.setObjectName("offer_deposit")
        self.deposit.setRange(MIN_DEPOSIT_BP // 100, MAX_DEPOSIT_BP // 100)
        self.deposit.setValue(DEFAULT_DEPOSIT_BP // 100)
        self.deposit.setSuffix(" % each")
        self.arbitrator = QComboBox()
        self.arbitrator.setObjectName("offer_arbitrator")
        self.arbitrator_keys = self._line("offer_arbitrator_keys", "the arbitrator's NOSTR:ESCROW keys (64 hex each)")
        self.t1 = QSpinBox()
        self.t1.setObjectName("offer_t1")
        self.t1.setRange(MIN_T1_BLOCKS.get(network, 144), MAX_T1_BLOCKS)
        self.t1.setValue(max(DEFAULT_T1.get(network, DEFAULT_T1_BLOCKS), self.t1.minimum()))
        self.t1.setSuffix(" blocks")
        self.confirmations = QSpinBox()
        self.confirmations.setObjectName("offer_confirmations")
        self.confirmations.setRange(1, 12)
        self.confirmations.setValue(1 if network == "sandbox" else 2)
        self.account = self._line("offer_account", "name and account (e.g. IBAN); shown only after the deposit")
        self.amount_label = QLabel()
        form.addRow("Side", self.side)
        form.addRow(self.amount_label, hbox(self.min, QLabel("to"), self.max))
        form.addRow(self.price_kind, hbox(self.price, self.currency))
        form.addRow("Security deposit", self.deposit)
        form.addRow("Arbitrator", self.arbitrator)
        form.addRow("", self.arbitrator_keys)
        form.addRow("Seller refund after (T1)", self.t1)
        form.addRow("Deposit confirmations", self.confirmations)
        form.addRow("Your payment account", self.account)
        form_card.content.addLayout(form)
        form_card.content.addWidget(muted(wrapped(
            "Both traders lock the deposit with the trade amount in one escrow. Only the seller's \u201cI have received "
            "the payment\u201d releases it; the arbitrator only decides disputes; after T1 blocks the seller alone "
            "can take it back if everyone else vanished."
        )))
        self.error = error_label("offer_error")
        form_card.content.addWidget(self.error)
        self.publish = QPushButton("Publish offer")
        self.publish.setObjectName("offer_publish")
        self.publish.setDefault(True)
        self.publish.clicked.connect(self._publish)
        form_card.content.addLayout(hbox(None, self.publish))
        columns.addWidget(form_card, 3)

        methods_card = Card("Payment methods", "offer_methods_card")
        self.methods = QListWidget()
        self.methods.setObjectName("offer_methods")
        for name in PAYMENT_METHODS:
            item = QListWidgetItem(method_risk(name, note=False))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(method_risk(name))
            self.methods.addItem(item)
        self.methods.itemChanged.connect(lambda _i: self._methods_changed())
        methods_card.content.addWidget(self.methods, 1)
        self.method_warning = wrapped("", WARN_STYLE)
        self.method_warning.setObjectName("offer_method_warning")
        methods_card.content.addWidget(self.method_warning)
        columns.addWidget(methods_card, 2)
        self.set_arbitrators(None, None)
        self.arbitrator.currentIndexChanged.connect(lambda _i: self._arbitrator_changed())
        self.set_unit(unit)

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        line = QLineEdit()
        line.setObjectName(name)
        line.setPlaceholderText(placeholder)
        return line

    # --- state -----------------------------------------------------------------------------------
    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.amount_label.setText(f"Amount ({unit.value})")

    def set_arbitrators(self, bot: ArbitratorRef | None, own: ArbitratorRef | None) -> None:
        """The choices: the sandbox bot arbitrator (when it runs), none (2-of-2), other keys."""
        if getattr(self, "_choices", None) == (bot, own):
            return
        self._choices = (bot, own)
        current = self.arbitrator.currentData()
        self.arbitrator.blockSignals(True)
        self.arbitrator.clear()
        if bot is not None:
            self.arbitrator.addItem("Sandbox bot arbitrator", bot)
        self.arbitrator.addItem(f"None: 2-of-2, trades up to {NO_ARBITRATOR_MAX_SAT:,} sat", None)
        self.arbitrator.addItem("Another arbitrator (keys)…", OTHER)
        index = self.arbitrator.findData(current) if current is not None else 0
        self.arbitrator.setCurrentIndex(max(index, 0))
        self.arbitrator.blockSignals(False)
        self._own = own
        self._arbitrator_changed()

    def _arbitrator_changed(self) -> None:
        self.arbitrator_keys.setVisible(self.arbitrator.currentData() == OTHER)

    def checked_methods(self) -> tuple[str, ...]:
        return tuple(
            str(self.methods.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.methods.count())
            if self.methods.item(i).checkState() == Qt.CheckState.Checked
        )

    def check_method(self, name: str, on: bool = True) -> None:
        for i in range(self.methods.count()):
            if self.methods.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.methods.item(i).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _methods_changed(self) -> None:
        risky = [m for m in self.checked_methods() if payment_method(m).reversible]
        if risky:
            names = ", ".join(method_name(m) for m in risky)
            self.method_warning.setText(
                f"\u26a0 {names}: payments can be reversed after you release. Sellers risk chargeback fraud; trades "
                "with traders without receipts are limited to half the usual start-small amount."
            )
        else:
            self.method_warning.setText("")

    # --- reading ---------------------------------------------------------------------------------
    def read(self) -> OfferForm:
        """The form's offer (FormError naming the first field that does not read)."""
        try:
            lo = parse_amount_text(self.min.text(), self.unit)
            hi = parse_amount_text(self.max.text(), self.unit)
        except PeerwalletError as e:
            raise FormError(f"amount: {e}") from None
        try:
            number = Decimal(self.price.text().strip().replace(",", ""))
        except InvalidOperation:
            raise FormError("enter the price (or the premium) as a number") from None
        fixed = self.price_kind.currentData() == "price"
        methods = self.checked_methods()
        if not methods:
            raise FormError("choose at least one payment method")
        account = self.account.text().strip()
        if not account:
            raise FormError("enter your payment account: the other trader needs it once the deposit is locked")
        return OfferForm(
            Side(self.side.currentData()), lo, hi, self.currency.currentText().strip().upper(), methods, account,
            number if fixed else None, None if fixed else number, self.deposit.value() * 100, self._read_arbitrator(),
            self.t1.value(), self.confirmations.value(),
        )

    def _read_arbitrator(self) -> ArbitratorRef | None:
        data = self.arbitrator.currentData()
        if data != OTHER:
            return data  # type: ignore[no-any-return]
        nostr, _, escrow = self.arbitrator_keys.text().strip().partition(":")
        try:
            ref = ArbitratorRef(check_hex32(nostr, "arbitrator nostr key"), check_hex32(escrow, "arbitrator escrow key"))
        except PeerwalletError as e:
            raise FormError(f"{e} (write NOSTR:ESCROW)") from None
        if self._own is not None and ref.nostr == self._own.nostr:
            raise FormError("you cannot arbitrate your own offer")
        return ref

    def _publish(self) -> None:
        self.error.setText("")
        try:
            form = self.read()
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)) + ".")
            return
        self.publish_requested.emit(form)

    def show_error(self, text: str) -> None:
        self.error.setText(text)

    def clear(self) -> None:
        """After publishing: the amounts and price go, the rest stays for the next offer."""
        for line in (self.min, self.max, self.price):
            line.clear()
        self.error.setText("")

