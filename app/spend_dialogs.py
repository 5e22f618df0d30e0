"""Dialogs of the spending flows: the review of exactly what a transaction sends, the password prompt
(checked off the loop, wrong passwords answered inline), and a fee-rate picker for fee bumps and CPFP.

Every dialog is opened non-modally (`open()`); `await_dialog` turns its result into an awaitable so a
flow reads top to bottom without a nested event loop (app/errors.py says why not `exec()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.fee_control import FeeRateControl
from app.wallet_widgets import error_label
from app.widgets import Facts, muted, scaled_font
from core.errors import PeerwalletError
from core.mempool.feerate import FeeRate
from core.node.fee_estimator import FeeEstimate
from core.settings import Unit
from core.wallet.errors import WrongPassword
from core.wallet.spending import Draft
from core.wallet.wallet import Wallet


async def await_dialog(dialog: QDialog) -> int:
    """Open `dialog` (window-modal, no nested loop) and wait for its result code."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not fut.done():
            fut.set_result(result)

    dialog.finished.connect(done)
    dialog.open()
    try:
        return await fut
    finally:
        if dialog.isVisible():  # the flow was cancelled (page closed): take the dialog down with it
            dialog.reject()


def dialog_buttons(
    dialog: QDialog, ok_text: str, ok_name: str, cancel_name: str
) -> tuple[QDialogButtonBox, QPushButton]:
    """OK (named `ok_name`, default) and Cancel (named `cancel_name`, rejects `dialog`)."""
    box = QDialogButtonBox()
    ok = box.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
    ok.setObjectName(ok_name)
    ok.setDefault(True)
    cancel = box.addButton(QDialogButtonBox.StandardButton.Cancel)
    cancel.setObjectName(cancel_name)
    box.rejected.connect(dialog.reject)
    return box, ok


class ReviewDialog(QDialog):
    """Every output (payment, change, to yourself), the fee and its rate, the change and the total."""

    def __init__(self, draft: Draft, unit: Unit, parent: QWidget | None, *, title: str = "Review payment",
                 action: str = "Sign and send") -> None:
        super().__init__(parent)
        self.setObjectName("review_dialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)
        head = QLabel(title)
        head.setFont(scaled_font(head, 1.3, bold=True))
        layout.addWidget(head)
        layout.addWidget(muted(QLabel("This is exactly what will be signed and sent. Check every address.")))

        table = QTableWidget(len(draft.outputs), 3)
        table.setObjectName("review_outputs")
        table.setHorizontalHeaderLabels(["To", "Amount", ""])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for r, out in enumerate(draft.outputs):
            kind = "change (back to you)" if out.is_change else ("to yourself" if out.is_mine else "payment")
            cells = (out.address or "(non-standard script)", fmt.amount(out.amount, unit), kind)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.setMinimumHeight(min(60 + 32 * len(draft.outputs), 260))
        layout.addWidget(table)

        paid = sum(o.amount for o in draft.outputs if not o.is_mine)
        change = sum(o.amount for o in draft.outputs if o.is_change)
        spent = sum(i.value for i in draft.inputs)
        rbf = any(txin.sequence < 0xFFFFFFFE for txin in draft.psbt.tx.vin)
        facts = Facts()
        facts.add("review_sent", "Paid to recipients", fmt.amount(paid, unit))
        facts.add("review_fee", "Network fee", fmt.amount(draft.fee, unit))
        facts.add("review_fee_rate", "Fee rate", f"{fmt.fee_rate(draft.fee_rate)} ({fmt.vsize(draft.vsize)})")
        facts.add("review_change", "Change back to you", fmt.amount(change, unit))
        facts.add("review_total", "Total leaving the wallet", fmt.amount(draft.sent, unit))
        facts.add("review_inputs", "Coins spent", f"{len(draft.inputs)} ({fmt.amount(spent, unit)})")
        facts.add("review_rbf", "Replaceable (RBF)", "yes: the fee can be bumped later" if rbf else "no")
        if draft.replaces is not None:
            facts.add("review_replaces", "Replaces", str(draft.replaces))
        if draft.parent is not None and draft.package_rate is not None:
            facts.add("review_package", "Parent + child rate", fmt.fee_rate(draft.package_rate))
        layout.addLayout(facts)
        box, _ = dialog_buttons(self, action, "review_confirm", "review_cancel")
        box.accepted.connect(self.accept)
        layout.addWidget(box)


class PasswordDialog(QDialog):
    """Asks for the wallet password; `verify(password)` (async, off the loop) must pass before it accepts."""

    def __init__(self, verify: Callable[[str], Awaitable[None]], parent: QWidget | None, purpose: str = "sign") -> None:
        super().__init__(parent)
        self.setObjectName("password_dialog")
        self.setWindowTitle("Wallet password")
        self.setMinimumWidth(420)
        self._verify = verify
        self._task: asyncio.Task[None] | None = None
        self.password = ""
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Enter the wallet password to {purpose}."))
        self.input = QLineEdit()
        self.input.setObjectName("password_input")
        self.input.setEchoMode(QLineEdit.EchoMode.Password)
        layout.addWidget(self.input)
        self.error = error_label("password_error")
        layout.addWidget(self.error)
        self.box, _ = dialog_buttons(self, "OK", "password_ok", "password_cancel")
        self.box.accepted.connect(self._check)
        layout.addWidget(self.box)

    def _check(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run_check(self.input.text()))

    async def _run_check(self, password: str) -> None:
        self.box.setEnabled(False)
        self.error.setText("Checking…")
        try:
            await self._verify(password)
        except WrongPassword:
            self.error.setText("Wrong password. Nothing was signed or sent.")
            self.input.selectAll()
            self.input.setFocus()
            return
        finally:
            self.box.setEnabled(True)
        self.password = password
        self.error.setText("")
        self.accept()


async def obtain_password(wallet: Wallet, parent: QWidget | None, purpose: str = "sign") -> tuple[bool, str | None]:
    """(True, password) once the user gave the right one; (True, None) for a wallet without a password;
    (False, None) if they cancelled."""
    if not wallet.info.encrypted:
        return True, None
    dialog = PasswordDialog(lambda pw: wallet.check_password_async(pw), parent, purpose)
    if await await_dialog(dialog) != QDialog.DialogCode.Accepted:
        return False, None
    return True, dialog.password


class FeeDialog(QDialog):
    """A fee rate for a fee bump or a CPFP child; `rate` is set when accepted."""

    def __init__(self, title: str, text: str, estimates: list[FeeEstimate], parent: QWidget | None,
                 minimum: FeeRate | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fee_dialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.rate: FeeRate | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(text)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.control = FeeRateControl("bump")
        self.control.set_estimates(estimates)
        if minimum is not None and (not estimates or self.control.fee_rate() <= minimum):
            # Suggest at least one sat/vB more than today's rate (BIP125 needs a higher rate and fee).
            self.control.select_custom(str(int(minimum.sat_per_vb) + 1))
        layout.addWidget(self.control)
        self.error = error_label("fee_error")
        layout.addWidget(self.error)
        box, _ = dialog_buttons(self, "Continue", "fee_ok", "fee_cancel")
        box.accepted.connect(self._ok)
        layout.addWidget(box)

    def _ok(self) -> None:
        try:
            self.rate = self.control.fee_rate()
        except PeerwalletError as e:
            self.error.setText(str(e))
            return
        self.accept()
