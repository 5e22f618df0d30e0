"""Taking an offer: the amount (its fiat value at the offer's price), the payment method with its risk,
our payment account (shown to the other trader only once the deposit is broadcast), what we lock as a
deposit, and the "start small" limit the maker applies to a taker with our history."""

from __future__ import annotations

import time
from decimal import Decimal

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from app import format as fmt
from app.trade.step_dialogs import WARN_STYLE, _StepDialog, buttons, wrapped
from app.trade.text import amount_range, deposit_text, method_risk, price_text, user_side_text
from app.wallet_widgets import error_label, sentence
from core.errors import PeerwalletError
from core.settings import Unit
from core.trade.book_view import BookRow
from core.trade.offer import Side, deposit_of, fiat_amount, payment_method
from core.trade.reputation import Reputation, trade_limit
from core.wallet.payment_input import parse_amount_text


class TakeDialog(_StepDialog):
    """Accepted with `amount_sat`, `method` and `account` set."""

    def __init__(self, row: BookRow, unit: Unit, mine: Reputation, market_price: Decimal | None, arbitrator: str,
                 parent: QWidget | None) -> None:
        assert row.offer is not None
        offer = row.offer
        verb = user_side_text(row.user_side)
        super().__init__("take_dialog", f"{verb} bitcoin for {offer.currency}", parent, width=640)
        self.row, self.offer, self.unit, self.mine = row, offer, unit, mine
        self.market_price = market_price
        self.amount_sat = 0
        self.method = ""
        self.account = ""
        buying = row.user_side is Side.BUY
        self.layout_.addWidget(wrapped(
            f"Price {price_text(offer.price, offer.premium_pct, offer.currency)}, between "
            f"{amount_range(offer.min_sat, offer.max_sat, unit)}. Both traders lock a security deposit of "
            f"{deposit_text(offer.deposit_bp)} in the escrow; it comes back with the payout. Arbitrator: {arbitrator}. "
            + ("If the buyer and the arbitrator both vanish, the seller can take the escrow back alone after "
               f"{offer.t1_blocks} blocks.")
        ))
        self.amount = QLineEdit(fmt.amount(offer.min_sat, unit).rsplit(" ", 1)[0].replace(fmt.NARROW_SPACE, ""))
        self.amount.setObjectName("take_amount")
        self.amount.setPlaceholderText(f"Amount in {unit.value}")
        self.fiat = QLabel("")
        self.fiat.setObjectName("take_fiat")
        self.method_box = QComboBox()
        self.method_box.setObjectName("take_method")
        for m in offer.methods:
            self.method_box.addItem(method_risk(m), m)
        self.account_input = QLineEdit()
        self.account_input.setObjectName("take_account")
        self.account_input.setPlaceholderText(
            "Your name and the account you pay from (e.g. IBAN)" if buying else "Your name and the account the buyer pays into"
        )
        for label, widget in ((f"Amount ({unit.value})", self.amount), ("", self.fiat), ("Payment method", self.method_box),
                              ("Your payment account", self.account_input)):
            if label:
                self.layout_.addWidget(QLabel(label))
            self.layout_.addWidget(widget)
        self.layout_.addWidget(wrapped("Your account is sent to the other trader only once the deposit is broadcast."))
        self.warnings = wrapped("", WARN_STYLE)
        self.warnings.setObjectName("take_warnings")
        self.layout_.addWidget(self.warnings)
        self.error = error_label("take_error")
        self.layout_.addWidget(self.error)
        box, _ = buttons(self, "Take offer", "take_confirm", "take_cancel")
        box.accepted.connect(self._accept)
        self.layout_.addWidget(box)
        self.amount.textChanged.connect(lambda _t: self._update())
        self.method_box.currentIndexChanged.connect(lambda _i: self._update())
        self._update()

    def _read_amount(self) -> int | None:
        try:
            return parse_amount_text(self.amount.text(), self.unit)
        except PeerwalletError:
            return None

    def _update(self) -> None:
        sats = self._read_amount()
        method = str(self.method_box.currentData() or "")
        offer = self.offer
        try:
            price = offer.price_for(self.market_price)
        except PeerwalletError:
            price = None
        if sats is None:
            self.fiat.setText("")
        elif price is None:
            self.fiat.setText("No market price is known for this premium offer.")
        else:
            deposit = deposit_of(sats, offer.deposit_bp)
            self.fiat.setText(
                f"= {fiat_amount(sats, price):,.2f} {offer.currency}; your deposit: {fmt.amount(deposit, self.unit)}"
            )
        notes = []
        m = payment_method(method) if method else None
        if m is not None and m.reversible:
            notes.append(f"This method can be reversed after the release ({m.note})."
                         + (" As the seller you carry that risk." if self.row.user_side is Side.SELL else ""))
        if method:
            limit = trade_limit(self.mine, method)
            if self.mine.is_new:
                notes.append(f"You have no verified trades yet: makers accept at most {fmt.amount(limit, self.unit)} "
                             f"from you by this method. Start small.")
            if sats is not None and sats > limit:
                notes.append(f"Above your limit of {fmt.amount(limit, self.unit)}: the maker will refuse this take.")
        notes.append("A maker without verified receipts is also held to the start-small limit: the app checks its "
                     "receipts when it accepts.")
        self.warnings.setText("\n".join(notes))

    def _accept(self) -> None:
        method = str(self.method_box.currentData() or "")
        try:
            sats = parse_amount_text(self.amount.text(), self.unit)
            self.offer.check_take(sats, method, int(time.time()))
            self.offer.price_for(self.market_price)
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)) + ".")
            return
        if sats > trade_limit(self.mine, method):
            self.error.setText("Start small: this amount is above what makers accept from a trader with your history.")
            return
        account = self.account_input.text().strip()
        if not account:
            self.error.setText("Enter your payment account: the other trader needs it once the deposit is locked.")
            return
        self.amount_sat, self.method, self.account = sats, method, account
        self.accept()
