"""The send page against a live sandbox: form → review (every output, fee, change, total) → password →
broadcast; the history shows the payment unconfirmed, then confirmed after a block; a fee bump from the
history replaces it. Errors (invalid address, amount above balance, dust, wrong password) are explained
and change nothing: balance, history and handed-out addresses stay as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QTableView, QTableWidget

from app import format as fmt
from app.pages.send import SendPage
from app.pages.transactions import TransactionsPage
from core.consensus.hashes import Txid
from core.mempool.feerate import FeeRate
from core.settings import Unit
from tests.gui.conftest import WAIT_MS, App, run
from tests.gui.wallet_support import (
    COINS,
    PASSWORD,
    click,
    close_app,
    dialog,
    other_address,
    snapshot,
    start_funded_app,
    wait_dialog,
)


@pytest.fixture
def funded(loop: Any, qtbot: Any, tmp_path: Path) -> Iterator[App]:
    a = start_funded_app(qtbot, tmp_path / "data")
    try:
        yield a
    finally:
        close_app(qtbot, a)


def _fill(page: SendPage, address: str, amount: str, label: str = "", row: int = 0) -> None:
    r = page.rows[row]
    r.address.setText(address)
    r.amount.setText(amount)
    r.label.setText(label)


def _review_and_sign(qtbot: Any, page: SendPage, password: str = PASSWORD) -> None:
    review = wait_dialog(qtbot, "review_dialog")
    click(qtbot, review, "review_confirm")
    prompt = wait_dialog(qtbot, "password_dialog")
    prompt.findChild(QLineEdit, "password_input").setText(password)
    click(qtbot, prompt, "password_ok")


def _cell(view: QTableView, row: int, col: int) -> str:
    return str(view.model().index(row, col).data(Qt.ItemDataRole.DisplayRole))


def test_send_review_broadcast_confirm_then_bump(funded: App, qtbot: Any) -> None:
    ctx, wallet, sbx = funded.ctx, funded.ctx.wallet, funded.ctx.sandbox
    assert wallet is not None and sbx is not None
    page = funded.window.show_page("send")
    assert isinstance(page, SendPage)
    dest = other_address(0)
    # A pasted BIP21 link fills address, amount and label.
    page.rows[0].address.setText(f"bitcoin:{dest}?amount=0.01&label=Rent")
    assert (page.rows[0].address.text(), page.rows[0].amount.text(), page.rows[0].label.text()) == (dest, "0.01", "Rent")
    page.unit_box.setCurrentIndex(page.unit_box.findData(Unit.SAT))  # amounts now in sat; typed ones converted
    assert page.rows[0].amount.text() == "1000000"
    page.add_row()
    _fill(page, other_address(1), "250000", row=1)
    page.fee.select_custom("2")
    assert page.rbf.isChecked()
    click(qtbot, page, "review_button")

    review = wait_dialog(qtbot, "review_dialog")
    outputs = review.findChild(QTableWidget, "review_outputs")
    rows = {outputs.item(r, 0).text(): (outputs.item(r, 1).text(), outputs.item(r, 2).text()) for r in range(outputs.rowCount())}
    assert rows[dest] == (fmt.amount(1_000_000, page.unit), "payment")
    assert rows[other_address(1)] == (fmt.amount(250_000, page.unit), "payment")
    assert [kind for _, kind in rows.values()].count("change (back to you)") == 1
    fee_text = review.findChild(QLabel, "review_fee").text()
    assert review.findChild(QLabel, "review_fee_rate").text().startswith("2 sat/vB")
    assert review.findChild(QLabel, "review_rbf").text().startswith("yes")
    click(qtbot, review, "review_confirm")
    prompt = wait_dialog(qtbot, "password_dialog")
    prompt.findChild(QLineEdit, "password_input").setText(PASSWORD)
    click(qtbot, prompt, "password_ok")
    qtbot.waitUntil(lambda: page.last_sent is not None, timeout=WAIT_MS)
    txid = Txid.from_hex(page.last_sent)
    run(qtbot, sbx.wait_mempool(txid))
    assert page.rows[0].address.text() == "" and len(page.rows) == 1  # the form is cleared
    fee = wallet.history(1)[0][0].fee
    assert fee is not None and fmt.amount(fee, page.unit) == fee_text
    assert wallet.balance().spendable == sum(COINS) - 1_250_000 - fee

    history = funded.window.show_page("transactions")
    assert isinstance(history, TransactionsPage)
    table = history.findChild(QTableView, "history_table")
    qtbot.waitUntil(lambda: _cell(table, 0, 5) == str(txid), timeout=WAIT_MS)
    assert _cell(table, 0, 1) == "unconfirmed" and _cell(table, 0, 2) == "Rent"
    assert _cell(table, 0, 3) == fmt.amount(-1_250_000 - fee, ctx.settings.unit)

    # Bump its fee from the history: the replacement takes its place.
    table.selectRow(0)
    click(qtbot, history, "bump_fee")
    fee_dialog = wait_dialog(qtbot, "fee_dialog")
    fee_dialog.control.select_custom("6")
    click(qtbot, fee_dialog, "fee_ok")
    review = wait_dialog(qtbot, "review_dialog")
    assert review.findChild(QLabel, "review_replaces").text() == str(txid)
    assert review.findChild(QLabel, "review_fee_rate").text().startswith("6 sat/vB")
    click(qtbot, review, "review_confirm")
    prompt = wait_dialog(qtbot, "password_dialog")
    prompt.findChild(QLineEdit, "password_input").setText(PASSWORD)
    click(qtbot, prompt, "password_ok")
    qtbot.waitUntil(lambda: wallet.transaction(txid) is None and wallet.tx_count() == 3, timeout=WAIT_MS)
    new_txid = wallet.history(1)[0][0].txid
    run(qtbot, sbx.wait_mempool(new_txid))
    assert not run(qtbot, sbx.has_tx(txid))  # replaced
    qtbot.waitUntil(lambda: _cell(table, 0, 5) == str(new_txid), timeout=WAIT_MS)
    assert str(txid) not in {_cell(table, r, 5) for r in range(table.model().rowCount())}
    new = wallet.history(1)[0][0]
    assert new.label == "Rent" and new.fee is not None and new.fee > fee
    assert FeeRate.from_fee(new.fee, wallet.transaction(new_txid).vsize) >= FeeRate.per_vb(6)

    # A block confirms it; the history follows.
    run(qtbot, sbx.generate(1))
    qtbot.waitUntil(lambda: _cell(table, 0, 1) == "1 confirmation", timeout=WAIT_MS)
    assert _cell(table, 0, 5) == str(new_txid)
    assert wallet.balance().unconfirmed == 0 and wallet.balance().confirmed == sum(COINS) - 1_250_000 - new.fee


def test_errors_change_nothing(funded: App, qtbot: Any) -> None:
    wallet = funded.ctx.wallet
    assert wallet is not None
    page = funded.window.show_page("send")
    assert isinstance(page, SendPage)
    before = snapshot(wallet)
    unit = page.unit

    # An invalid address (here: a mainnet one) is marked on its row.
    _fill(page, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "0.001")
    click(qtbot, page, "review_button")
    qtbot.waitUntil(lambda: page.error.text() != "", timeout=WAIT_MS)
    assert "recipient" in page.error.text()
    assert "invalid address" in page.rows[0].error.text() and "mainnet" in page.rows[0].error.text()
    assert dialog("review_dialog") is None and snapshot(wallet) == before

    # More than the balance: InsufficientFunds with the shortfall.
    _fill(page, other_address(0), "1")
    click(qtbot, page, "review_button")
    qtbot.waitUntil(lambda: page.error.text().startswith("Insufficient funds"), timeout=WAIT_MS)
    assert "more is needed" in page.error.text() and fmt.amount(sum(COINS), unit) in page.error.text()
    assert dialog("review_dialog") is None and snapshot(wallet) == before

    # Dust.
    _fill(page, other_address(0), "0.00000100")
    click(qtbot, page, "review_button")
    qtbot.waitUntil(lambda: "dust" in page.error.text().lower(), timeout=WAIT_MS)
    assert dialog("review_dialog") is None and snapshot(wallet) == before

    # A wrong password: said in the prompt, which stays open; cancelling sends nothing.
    _fill(page, other_address(0), "0.001")
    page.error.setText("")
    click(qtbot, page, "review_button")
    _review_and_sign(qtbot, page, "not the password")
    prompt = wait_dialog(qtbot, "password_dialog")
    error = prompt.findChild(QLabel, "password_error")
    qtbot.waitUntil(lambda: error.text().startswith("Wrong password"), timeout=WAIT_MS)
    click(qtbot, prompt, "password_cancel")
    qtbot.waitUntil(lambda: page.task is not None and page.task.done(), timeout=WAIT_MS)
    assert page.last_sent is None and page.error.text() == ""
    assert snapshot(wallet) == before
    assert page.rows[0].address.text() == other_address(0)  # the form is kept for another try
