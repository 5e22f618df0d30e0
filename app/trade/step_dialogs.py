"""The dialogs of a trade's steps: "I have paid", the seller's release checklist, a dispute with evidence
notes, a cancellation, the arbitrator's ruling and the rating.

The release checklist is the only way to the seller's release signature (TRADE.md): its button stays
disabled until every point is ticked, and it says plainly that a reversible method can be charged back
after the release. Dialogs are non-modal (`await_dialog`); each keeps what the user entered for the page.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.spend_dialogs import dialog_buttons as buttons
from app.trade.text import method_name, method_risk
from app.wallet_widgets import ERROR_STYLE, error_label
from app.widgets import Facts, muted, scaled_font
from core.settings import Unit
from core.trade.contract import Contract, PayoutKind
from core.trade.offer import payment_method
from core.trade.views import TradeView

WARN_STYLE = "color: #c27c0e;"


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setFont(scaled_font(label, 1.3, bold=True))
    return label


def wrapped(text: str, style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if style:
        label.setStyleSheet(style)
    return label


class _StepDialog(QDialog):
    def __init__(self, name: str, title: str, parent: QWidget | None, width: int = 560) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setMinimumWidth(width)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(heading(title))


class PaidDialog(_StepDialog):
    """The buyer confirms having sent the payment; `note` is an optional reference for the seller."""

    def __init__(self, view: TradeView, unit: Unit, parent: QWidget | None) -> None:
        super().__init__("paid_dialog", "I have paid", parent)
        facts = Facts()
        facts.add("paid_amount", "You sent", f"{view.fiat_amount} {view.currency} by {method_name(view.method)}")
        facts.add("paid_to", "To the seller's account", view.peer_account or "—")
        facts.add("paid_for", "For", fmt.amount(view.amount_sat, unit))
        self.layout_.addLayout(facts)
        self.layout_.addWidget(wrapped(
            "Press this only after the payment has left your account. It changes nothing on chain: it asks the "
            "seller to check their account and release.", WARN_STYLE,
        ))
        self.note = QLineEdit()
        self.note.setObjectName("paid_note")
        self.note.setPlaceholderText("Payment reference (optional), e.g. the transfer's reference text")
        self.layout_.addWidget(self.note)
        box, _ = buttons(self, "I have paid", "paid_confirm", "paid_cancel")
        box.accepted.connect(self.accept)
        self.layout_.addWidget(box)


class ReleaseChecklistDialog(_StepDialog):
    """The seller's checklist before "I have received the payment" (see the module docstring)."""

    def __init__(self, view: TradeView, paid_note: str, unit: Unit, parent: QWidget | None) -> None:
        super().__init__("release_checklist_dialog", "Release the bitcoin?", parent, width=640)
        self.layout_.addWidget(wrapped(
            f"Releasing is final: the buyer receives {fmt.amount(view.amount_sat, unit)}. Check each point in your "
            "bank or payment app itself, not in anything the buyer sent you."
        ))
        facts = Facts()
        facts.add("release_expected", "Expected payment", f"{view.fiat_amount} {view.currency}")
        facts.add("release_from", "From the buyer's account", view.peer_account or "— (not received)")
        facts.add("release_method", "Method", method_risk(view.method))
        facts.add("release_note", "Buyer's note", paid_note or "—")
        self.layout_.addLayout(facts)
        self.credited = QCheckBox("The money is credited to my account (I checked the account, not a receipt, "
                                  "screenshot or e-mail)")
        self.credited.setObjectName("check_credited")
        self.sender_match = QCheckBox("The sender's name matches the buyer's account shown above")
        self.sender_match.setObjectName("check_sender")
        self.final = QCheckBox("The payment cannot be reversed (no chargeback, card payment or pending transfer)")
        self.final.setObjectName("check_not_reversible")
        for box in (self.credited, self.sender_match, self.final):
            self.layout_.addWidget(box)
            box.toggled.connect(self._update)
        if payment_method(view.method).reversible:
            warning = wrapped(
                f"{method_name(view.method)} payments can be reversed after you release: "
                f"{payment_method(view.method).note}. Only tick the last box if you are sure this one cannot.",
                ERROR_STYLE,
            )
            warning.setObjectName("release_reversible_warning")
            self.layout_.addWidget(warning)
        self.hint = muted(QLabel("Tick every point to release."))
        self.hint.setObjectName("release_hint")
        self.layout_.addWidget(self.hint)
        box, self.confirm = buttons(self, "I have received the payment: release", "release_confirm", "release_cancel")
        box.accepted.connect(self._accept)
        self.layout_.addWidget(box)
        self._update()

    @property
    def complete(self) -> bool:
        return self.credited.isChecked() and self.sender_match.isChecked() and self.final.isChecked()

    def _update(self) -> None:
        self.confirm.setEnabled(self.complete)
        self.hint.setText("" if self.complete else "Tick every point to release.")

    def _accept(self) -> None:
        if self.complete:
            self.accept()


class DisputeDialog(_StepDialog):
    """Open a dispute: a reason and evidence notes for the arbitrator."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__("dispute_dialog", "Open a dispute", parent)
        self.layout_.addWidget(wrapped(
            "The arbitrator receives the signed contract, your signed chat transcript, your payment details and "
            "these notes, and decides how the escrow is split. The other trader can still settle with you."
        ))
        self.reason = QLineEdit()
        self.reason.setObjectName("dispute_reason")
        self.reason.setPlaceholderText("What went wrong, in one line")
        self.layout_.addWidget(self.reason)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("dispute_notes")
        self.notes.setPlaceholderText("Evidence: payment reference, amount, date, bank statement lines, what was said…")
        self.notes.setMinimumHeight(120)
        self.layout_.addWidget(self.notes)
        self.error = error_label("dispute_error")
        self.layout_.addWidget(self.error)
        box, _ = buttons(self, "Open dispute", "dispute_confirm", "dispute_cancel")
        box.accepted.connect(self._accept)
        self.layout_.addWidget(box)

    def _accept(self) -> None:
        if not self.reason.text().strip():
            self.error.setText("Say in one line what went wrong.")
            return
        self.accept()


class CancelDialog(_StepDialog):
    """Give up before the deposit, or propose returning everything after it."""

    def __init__(self, deposit_made: bool, parent: QWidget | None) -> None:
        super().__init__("cancel_dialog", "Propose to cancel" if deposit_made else "Cancel the trade", parent)
        self.layout_.addWidget(wrapped(
            "Both get back what they put into the escrow, less the payout fee. The other trader must accept."
            if deposit_made else "Nothing is locked yet; the coins reserved for the deposit become free again."
        ))
        self.reason = QLineEdit()
        self.reason.setObjectName("cancel_reason")
        self.reason.setPlaceholderText("Reason (shown to the other trader)")
        self.layout_.addWidget(self.reason)
        box, _ = buttons(self, "Propose to cancel" if deposit_made else "Cancel the trade", "cancel_confirm", "cancel_back")
        box.accepted.connect(self.accept)
        self.layout_.addWidget(box)


class RuleDialog(_StepDialog):
    """The arbitrator's split of the escrow (before the payout fee)."""

    def __init__(self, contract: Contract, unit: Unit, parent: QWidget | None) -> None:
        super().__init__("rule_dialog", "Rule on the dispute", parent)
        self.contract = contract
        self.total = contract.escrow_value
        self.layout_.addWidget(wrapped(
            f"Split the escrow of {fmt.amount(self.total, unit)} between the traders. Both receive your signed "
            "payout; one of them co-signs and broadcasts it."
        ))
        self.preset = QComboBox()
        self.preset.setObjectName("rule_preset")
        release = contract.payout_split(PayoutKind.RELEASE)
        cancel = contract.payout_split(PayoutKind.CANCEL)
        self.preset.addItem("The buyer paid: release as agreed", release)
        self.preset.addItem("No payment: everyone gets back what they put in", cancel)
        self.preset.addItem("The buyer lied about paying: the seller gets everything", (0, self.total))
        self.layout_.addWidget(self.preset)
        facts = Facts()
        self.buyer_label = facts.add("rule_buyer", "To the buyer", "")
        self.seller_label = facts.add("rule_seller", "To the seller", "")
        self.layout_.addLayout(facts)
        self.reason = QLineEdit()
        self.reason.setObjectName("rule_reason")
        self.reason.setPlaceholderText("Reason (sent to both traders)")
        self.layout_.addWidget(self.reason)
        self.unit = unit
        self.preset.currentIndexChanged.connect(lambda _i: self._show())
        box, _ = buttons(self, "Sign the ruling", "rule_confirm", "rule_cancel")
        box.accepted.connect(self.accept)
        self.layout_.addWidget(box)
        self._show()

    @property
    def split(self) -> tuple[int, int]:
        buyer, seller = self.preset.currentData()
        return int(buyer), int(seller)

    def _show(self) -> None:
        buyer, seller = self.split
        self.buyer_label.setText(fmt.amount(buyer, self.unit))
        self.seller_label.setText(fmt.amount(seller, self.unit))


class RateDialog(_StepDialog):
    """A 1..5 rating of the other trader, signed into the trade's receipt."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__("rate_dialog", "Rate the trade", parent, width=460)
        self.layout_.addWidget(wrapped(
            "Your rating is signed into the receipt both of you hold; others can verify it when they trade with them."
        ))
        self.value = QComboBox()
        self.value.setObjectName("rate_value")
        for stars in range(5, 0, -1):
            self.value.addItem("\u2605" * stars + "\u2606" * (5 - stars) + f"  ({stars})", stars)
        self.layout_.addWidget(self.value)
        box, _ = buttons(self, "Sign rating", "rate_confirm", "rate_cancel")
        box.accepted.connect(self.accept)
        self.layout_.addWidget(box)

    @property
    def rating(self) -> int:
        return int(self.value.currentData())
