"""Coins, coin control and the history's other actions against a live sandbox: freezing a coin takes it
out of the spendable balance; "spend selected" sends from exactly that coin; an exported PSBT signed
elsewhere comes back through "Import signed PSBT" and is broadcast; transaction details; a CPFP child;
CSV and BIP329 exports; the history search."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTableView, QTableWidget

from app.pages.coins import CoinsPage
from app.pages.send import SendPage
from app.pages.transactions import TransactionsPage
from core.consensus.hashes import Txid
from core.wallet.psbt import psbt_from_base64, psbt_to_base64
from tests.gui.conftest import WAIT_MS, App, run
from tests.gui.wallet_support import (
    COINS,
    PASSWORD,
    click,
    close_app,
    other_address,
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


def _select(view: QTableView, rows: list[int]) -> None:
    view.clearSelection()
    selection = view.selectionModel()
    for r in rows:
        selection.select(view.model().index(r, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)


def test_freeze_and_spend_selected_coin(funded: App, qtbot: Any) -> None:
    wallet = funded.ctx.wallet
    assert wallet is not None
    page = funded.window.show_page("coins")
    assert isinstance(page, CoinsPage)
    table = page.findChild(QTableView, "coins_table")
    run(qtbot, page.wait_loaded())  # the coins are read off the loop
    assert [c.value for c in page.model.rows] == sorted(COINS, reverse=True)

    _select(table, [0])  # the 5,000,000 sat coin
    big = page.model.rows[0].outpoint
    click(qtbot, page, "freeze_coins")
    assert wallet.balance().frozen == COINS[0] and wallet.balance().spendable == COINS[1]
    assert page.model.index(0, 3).data() == "frozen" and not page.spend.isEnabled()  # at once
    run(qtbot, page.wait_loaded())
    assert page.model.rows[0].outpoint == big and page.model.index(0, 3).data() == "frozen"  # and after the re-read
    assert [r.row() for r in table.selectionModel().selectedRows()] == [0]  # still selected
    click(qtbot, page, "unfreeze_coins")
    assert wallet.balance().frozen == 0 and page.model.index(0, 3).data() != "frozen"

    _select(table, [1])  # spend exactly the 3,000,000 sat coin
    small = page.model.rows[1].outpoint
    click(qtbot, page, "spend_coins")
    send = funded.window.pages["send"]
    assert isinstance(send, SendPage) and funded.window.current_key() == "send"
    assert send.coins == [small] and "1 chosen coin" in send.coins_summary.text()
    send.rows[0].address.setText(other_address(0))
    send.send_max.setChecked(True)
    click(qtbot, send, "review_button")
    review = wait_dialog(qtbot, "review_dialog")
    assert review.findChild(QLabel, "review_inputs").text().startswith("1 (")
    outputs = review.findChild(QTableWidget, "review_outputs")
    assert outputs.rowCount() == 1 and outputs.item(0, 0).text() == other_address(0)  # no change with send max
    click(qtbot, review, "review_confirm")
    prompt = wait_dialog(qtbot, "password_dialog")
    prompt.findChild(type(send.rows[0].address), "password_input").setText(PASSWORD)
    click(qtbot, prompt, "password_ok")
    qtbot.waitUntil(lambda: send.last_sent is not None, timeout=WAIT_MS)
    tx = wallet.transaction(Txid.from_hex(send.last_sent))
    assert tx is not None and [i.prevout for i in tx.vin] == [small]
    funded.window.show_page("coins")
    qtbot.waitUntil(lambda: [c.outpoint for c in page.model.rows] == [big], timeout=WAIT_MS)


def test_coin_control_dialog_checks_only_spendable_coins(funded: App, qtbot: Any) -> None:
    wallet = funded.ctx.wallet
    assert wallet is not None
    coins = sorted(wallet.coins(), key=lambda c: -c.value)
    assert [c.value for c in coins] == sorted(COINS, reverse=True)
    big, small = coins[0].outpoint, coins[1].outpoint
    wallet.set_frozen(big)
    send = funded.window.show_page("send")
    assert isinstance(send, SendPage)
    click(qtbot, send, "choose_coins")
    dialog = wait_dialog(qtbot, "coin_control_dialog")
    model = dialog.model  # read off the loop before the dialog opened
    assert [c.outpoint for c in model.rows] == [big, small]
    frozen_flags = model.flags(model.index(0, 0))
    assert not frozen_flags & Qt.ItemFlag.ItemIsEnabled  # a frozen coin cannot be picked
    assert not model.setData(model.index(0, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert model.setData(model.index(1, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    total = dialog.findChild(QLabel, "coin_control_total").text()
    assert total.startswith("1 coin checked: 0.03") and "BTC" in total
    click(qtbot, dialog, "coin_control_ok")
    qtbot.waitUntil(lambda: send.coins == [small], timeout=WAIT_MS)
    assert send.coins_summary.text().startswith("Only 1 chosen coin (0.03")
    click(qtbot, send, "clear_coins")
    assert send.coins is None and send.coins_summary.text().startswith("Automatic")


def test_psbt_export_sign_elsewhere_import_broadcast(funded: App, qtbot: Any) -> None:
    wallet, sbx = funded.ctx.wallet, funded.ctx.sandbox
    assert wallet is not None and sbx is not None
    send = funded.window.show_page("send")
    assert isinstance(send, SendPage)
    send.rows[0].address.setText(other_address(2))
    send.rows[0].amount.setText("0.02")
    click(qtbot, send, "export_psbt")
    export = wait_dialog(qtbot, "psbt_export_dialog")
    text = export.findChild(QPlainTextEdit, "psbt_text").toPlainText()
    click(qtbot, export, "psbt_copy")
    export.save_to(str(Path(funded.ctx.paths.root) / "unsigned.psbt"))
    assert (Path(funded.ctx.paths.root) / "unsigned.psbt").read_bytes().startswith(b"psbt\xff")
    export.reject()
    assert wallet.tx_count() == 2  # exporting changes nothing

    psbt = psbt_from_base64(text)  # "another signer": the same seed, outside the window
    assert wallet.sign_blocking(psbt, PASSWORD) == len(psbt.inputs)
    qtbot.waitUntil(lambda: send.task is not None and send.task.done(), timeout=WAIT_MS)
    click(qtbot, send, "import_psbt")
    importer = wait_dialog(qtbot, "psbt_import_dialog")
    field = importer.findChild(QPlainTextEdit, "psbt_input")
    field.setPlainText("cHNidP8 not base64 at all")
    click(qtbot, importer, "psbt_import_ok")
    assert importer.findChild(QLabel, "psbt_import_error").text().startswith("Not a valid PSBT")
    field.setPlainText(psbt_to_base64(psbt))
    click(qtbot, importer, "psbt_import_ok")
    review = wait_dialog(qtbot, "review_dialog")
    outputs = review.findChild(QTableWidget, "review_outputs")
    assert other_address(2) in {outputs.item(r, 0).text() for r in range(outputs.rowCount())}
    click(qtbot, review, "review_confirm")  # signed already: no password asked
    qtbot.waitUntil(lambda: send.last_sent is not None, timeout=WAIT_MS)
    run(qtbot, sbx.wait_mempool(Txid.from_hex(send.last_sent)))
    assert wallet.tx_count() == 3


def test_details_cpfp_exports_and_search(funded: App, qtbot: Any, tmp_path: Path) -> None:
    wallet, sbx = funded.ctx.wallet, funded.ctx.sandbox
    assert wallet is not None and sbx is not None
    page = funded.window.show_page("transactions")
    assert isinstance(page, TransactionsPage)
    table = page.findChild(QTableView, "history_table")
    # An incoming unconfirmed payment to speed up with a child.
    incoming = run(qtbot, sbx.faucet(wallet.new_address().script_pubkey, 700_000))
    qtbot.waitUntil(lambda: page.model.rowCount() == 3 and page.model.rows[0].txid == incoming.txid, timeout=WAIT_MS)
    page.model.setData(page.model.index(0, 2), "From the faucet")
    assert wallet.label_of("tx", str(incoming.txid)) == "From the faucet"

    known = {e.txid for e in wallet.history(10)[0]}
    table.selectRow(0)
    assert page.cpfp_button.isEnabled() and not page.bump_button.isEnabled()  # not ours to replace
    click(qtbot, page, "tx_details")
    details = wait_dialog(qtbot, "tx_details_dialog")
    assert details.findChild(QLabel, "details_txid").text() == str(incoming.txid)
    assert details.findChild(QLabel, "details_status").text() == "unconfirmed"
    outs = details.findChild(QTableWidget, "details_outputs")
    assert "yours (receive)" in {outs.item(r, 2).text() for r in range(outs.rowCount())}
    assert details.findChild(QTableWidget, "details_inputs").item(0, 1).text() == "unknown"
    click(qtbot, details, "details_cpfp")
    fee_dialog = wait_dialog(qtbot, "fee_dialog")
    fee_dialog.control.select_custom("12")
    click(qtbot, fee_dialog, "fee_ok")
    review = wait_dialog(qtbot, "review_dialog")
    assert review.findChild(QLabel, "review_package") is not None
    click(qtbot, review, "review_confirm")
    prompt = wait_dialog(qtbot, "password_dialog")
    prompt.findChild(type(page.search), "password_input").setText(PASSWORD)
    click(qtbot, prompt, "password_ok")
    qtbot.waitUntil(lambda: wallet.tx_count() == 4, timeout=WAIT_MS)
    child = next(e for e in wallet.history(10)[0] if e.txid not in known)  # same-second rows order by txid
    assert child.label == "CPFP for From the faucet"
    run(qtbot, sbx.wait_mempool(child.txid))

    # Search filters the rows; clearing it shows them all again.
    page.search.setText("faucet")
    assert page.proxy.rowCount() == 2
    page.search.setText(str(incoming.txid)[:12])
    assert page.proxy.rowCount() == 1
    page.search.setText("")
    assert page.proxy.rowCount() == 4

    csv_path, labels_path = tmp_path / "history.csv", tmp_path / "labels.jsonl"
    run(qtbot, page.export_csv(csv_path))
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert [r[1] for r in rows[1:]] == [str(e.txid) for e in wallet.history(10)[0]]
    run(qtbot, page.export_labels(labels_path))
    records = [json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines()]
    assert {"type": "tx", "ref": str(incoming.txid), "label": "From the faucet"}.items() <= next(
        r for r in records if r.get("ref") == str(incoming.txid)).items()
    wallet.set_label("tx", str(incoming.txid), None)
    run(qtbot, page.import_labels(labels_path))
    assert wallet.label_of("tx", str(incoming.txid)) == "From the faucet"
    assert page.model.index(page.model.row_of(incoming.txid), 2).data(Qt.ItemDataRole.DisplayRole) == "From the faucet"
