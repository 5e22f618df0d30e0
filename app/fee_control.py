"""FeeRateControl: pick a fee rate from the node's own estimates (1, 3, 6, 24 blocks, each with the basis
it rests on) or type a custom one in sat/vB.

The estimates come from `LightNode.estimate_fees`, which reads the mempool and recent blocks the node saw
(no fee server); the basis line says how much of that data had known fees, so a thin estimate looks thin.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app import format as fmt
from app.widgets import muted
from core.mempool.feerate import FeeRate
from core.node.fee_estimator import FeeEstimate
from core.wallet.payment_input import parse_fee_rate

TARGETS = (1, 3, 6, 24)
DEFAULT_TARGET = 6
CUSTOM = -1  # item data of the "Custom" entry
MINUTES_PER_BLOCK = 10


def _target_text(target: int) -> str:
    minutes = target * MINUTES_PER_BLOCK
    when = f"~{minutes} min" if minutes < 120 else f"~{minutes // 60} h"
    return f"{target} block{'s' if target != 1 else ''} ({when})"


class FeeRateControl(QWidget):
    """A target chooser with the estimate's rate and basis, plus a custom sat/vB field.

    `fee_rate()` gives the chosen exact FeeRate (PaymentInputError for a bad custom value)."""

    changed = Signal()

    def __init__(self, prefix: str = "fee", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.estimates: list[FeeEstimate] = []
        self._choice: int | None = None  # the target (or CUSTOM) the user picked; kept across new estimates
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.target = QComboBox()
        self.target.setObjectName(f"{prefix}_target")
        self.target.setMinimumContentsLength(28)
        self.custom = QLineEdit("1")
        self.custom.setObjectName(f"{prefix}_custom")
        self.custom.setPlaceholderText("sat/vB")
        self.custom.setMaximumWidth(110)
        row.addWidget(QLabel("Confirm within"))
        row.addWidget(self.target, 1)
        row.addWidget(self.custom)
        row.addWidget(QLabel("sat/vB"))
        layout.addLayout(row)
        self.basis = muted(QLabel("Estimates appear once the node has seen some transactions."))
        self.basis.setObjectName(f"{prefix}_basis")
        self.basis.setWordWrap(True)
        layout.addWidget(self.basis)
        self.target.currentIndexChanged.connect(self._on_target)
        self.target.activated.connect(lambda _i: setattr(self, "_choice", self.target.currentData()))
        self.custom.textEdited.connect(lambda _t: self.changed.emit())
        self.set_estimates([])

    def set_estimates(self, estimates: Sequence[FeeEstimate]) -> None:
        """Show new estimates, keeping the chosen target (or custom) when possible."""
        self.estimates = [e for e in estimates if e.target in TARGETS]
        self.target.blockSignals(True)
        self.target.clear()
        for est in self.estimates:
            self.target.addItem(f"{_target_text(est.target)} — {fmt.fee_rate(est.fee_rate)}", est.target)
        self.target.addItem("Custom fee rate", CUSTOM)
        wanted = self._choice if self._choice is not None else DEFAULT_TARGET
        index = self.target.findData(wanted)
        self.target.setCurrentIndex(index if index >= 0 else self.target.count() - 1)
        self.target.blockSignals(False)
        self._on_target()

    def select_custom(self, text: str) -> None:
        """Choose the custom entry with `text` sat/vB."""
        self._choice = CUSTOM
        self.target.setCurrentIndex(self.target.findData(CUSTOM))
        self.custom.setText(text)
        self.changed.emit()

    def _chosen(self) -> FeeEstimate | None:
        target = self.target.currentData()
        return next((e for e in self.estimates if e.target == target), None)

    def _on_target(self) -> None:
        est = self._chosen()
        self.custom.setEnabled(est is None)
        if est is None:
            if not self.estimates:
                self.basis.setText("No estimates yet (the node has not seen enough transactions): enter a rate.")
            else:
                self.basis.setText("Custom rate: the transaction pays exactly this many sat per virtual byte.")
        else:
            self.custom.setText(fmt.fee_rate(est.fee_rate).removesuffix(" sat/vB"))
            based = f"{est.sample_size:,} transaction{'s' if est.sample_size != 1 else ''}"
            self.basis.setText(f"Based on {est.basis} ({based}).")
        self.changed.emit()

    def fee_rate(self) -> FeeRate:
        """The chosen rate; PaymentInputError if the custom field is not a valid rate."""
        est = self._chosen()
        return est.fee_rate if est is not None else parse_fee_rate(self.custom.text())
