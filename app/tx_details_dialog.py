"""The details of one wallet transaction: status, amounts, fee and rate, every input and output (ours
marked), with buttons for a fee bump or a CPFP child while it is unconfirmed."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.models.history import status_text
from app.wallet_widgets import copy_text
from app.widgets import Facts, hbox, scaled_font
from core.mempool.feerate import FeeRate
from core.settings import Unit
from core.wallet.keychain import KeychainKind
from core.wallet.tx_details import TxDetails

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _table(name: str, headers: list[str], rows: list[tuple[str, ...]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setShowGrid(False)
    table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if c == 1:
                item.setTextAlignment(RIGHT)
            table.setItem(r, c, item)
    table.setMinimumHeight(min(70 + 30 * len(rows), 220))
    return table


class TxDetailsDialog(QDialog):
    """Read-only view; `bump_requested` / `cpfp_requested` ask the page to start those flows."""

    bump_requested = Signal()
    cpfp_requested = Signal()

    def __init__(self, d: TxDetails, unit: Unit, tip: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("tx_details_dialog")
        self.setWindowTitle("Transaction details")
        self.resize(900, 620)
        layout = QVBoxLayout(self)
        net = d.received - d.sent
        head = QLabel(("+" if net > 0 else "") + fmt.amount(net, unit))
        head.setObjectName("details_net")
        head.setFont(scaled_font(head, 1.5, bold=True))
        layout.addWidget(head)
        facts = Facts()
        facts.add("details_txid", "Transaction ID", str(d.txid))
        facts.add("details_status", "Status", status_text(d.height, tip) + ("" if d.height is None else f" (block {d.height:,})"))
        facts.add("details_time", "Date", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.time)) if d.time else "—")
        facts.add("details_label", "Label", d.label or "—")
        if d.fee is not None:
            rate = fmt.fee_rate(FeeRate.from_fee(d.fee, d.vsize))
            facts.add("details_fee", "Fee", f"{fmt.amount(d.fee, unit)} ({rate}, {fmt.vsize(d.vsize)})")
        else:
            facts.add("details_fee", "Fee", f"unknown (not all inputs are this wallet's), {fmt.vsize(d.vsize)}")
        if d.height is None:
            facts.add("details_rbf", "Replaceable", "yes (BIP125)" if d.replaceable else "no")
        layout.addLayout(facts)

        layout.addWidget(QLabel(f"Inputs ({len(d.inputs)})"))
        inputs = [
            (
                f"{i.prevout.txid}:{i.prevout.n}",
                fmt.amount(i.value, unit) if i.value is not None else "unknown",
                ("yours: " if i.is_mine else "") + (i.address or ""),
            )
            for i in d.inputs
        ]
        layout.addWidget(_table("details_inputs", ["Coin", "Amount", "From"], inputs), 1)
        layout.addWidget(QLabel(f"Outputs ({len(d.outputs)})"))
        kind_text = {KeychainKind.RECEIVE: "yours (receive)", KeychainKind.CHANGE: "yours (change)", None: ""}
        outputs = [(o.address or "(non-standard)", fmt.amount(o.value, unit), kind_text[o.kind]) for o in d.outputs]
        layout.addWidget(_table("details_outputs", ["Address", "Amount", ""], outputs), 1)

        copy = QPushButton("Copy transaction ID")
        copy.setObjectName("details_copy_txid")
        copy.clicked.connect(lambda: copy_text(str(d.txid)))
        self.bump = QPushButton("Bump fee…")
        self.bump.setObjectName("details_bump")
        self.bump.setEnabled(d.height is None and d.replaceable and any(i.is_mine for i in d.inputs))
        self.bump.clicked.connect(self._bump)
        self.cpfp = QPushButton("Speed up with a child (CPFP)…")
        self.cpfp.setObjectName("details_cpfp")
        self.cpfp.setEnabled(d.height is None and any(o.is_mine for o in d.outputs))
        self.cpfp.clicked.connect(self._cpfp)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        layout.addLayout(hbox(copy, self.bump, self.cpfp, None, box))

    def _bump(self) -> None:
        self.accept()
        self.bump_requested.emit()

    def _cpfp(self) -> None:
        self.accept()
        self.cpfp_requested.emit()
