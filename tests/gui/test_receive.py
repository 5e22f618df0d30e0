"""The receive page against a live sandbox: a handed-out address whose QR code, read back from the
rendered pixels, is segno's own matrix for that address; a BIP21 request (amount, label, message) whose
QR is the link; copy buttons; a new address; address labels edited in the list; a payment to the shown
address is announced and marks it used."""

from __future__ import annotations

from typing import Any

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLabel, QTableView

from app.format import amount
from app.models.addresses import ADDRESS, LABEL
from app.pages.receive import ReceivePage
from app.pages.transactions import TransactionsPage
from app.qr import QUIET_ZONE
from core.wallet.bip21 import parse_uri
from core.wallet.keychain import KeychainKind
from tests.gui.conftest import WAIT_MS, App, run
from tests.gui.wallet_support import click


def read_qr(image: QImage, module_px: int) -> list[list[bool]]:
    """The modules of a rendered QR code: the colour at the centre of each module (quiet zone skipped)."""
    n = image.width() // module_px - 2 * QUIET_ZONE
    assert image.width() == image.height() == (n + 2 * QUIET_ZONE) * module_px
    for i in range(image.width()):  # the quiet zone is white all round
        for x, y in ((i, 0), (0, i), (i, image.height() - 1), (image.width() - 1, i)):
            assert image.pixelColor(x, y).lightness() > 128
    half = module_px // 2
    return [
        [image.pixelColor((x + QUIET_ZONE) * module_px + half, (y + QUIET_ZONE) * module_px + half).lightness() < 128
         for x in range(n)]
        for y in range(n)
    ]


def segno_matrix(text: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make_qr(text, error="m").matrix]


def test_address_qr_request_and_labels(app: App, qtbot: Any) -> None:
    wallet, sbx = app.ctx.wallet, app.ctx.sandbox
    assert wallet is not None and sbx is not None
    qtbot.waitUntil(lambda: wallet.balance().unconfirmed > 0, timeout=WAIT_MS)  # the sandbox's welcome payment
    page = app.window.show_page("receive")
    assert isinstance(page, ReceivePage)
    shown = page.findChild(QLabel, "receive_address")
    qtbot.waitUntil(lambda: page.address is not None, timeout=WAIT_MS)
    address = shown.text()
    handed_out = wallet.addresses(KeychainKind.RECEIVE, handed_out_only=True)
    assert address == page.address == handed_out[-1].address and not handed_out[-1].used

    # The QR shows the bare address: read it back from the pixels.
    qr = page.qr
    assert qr.objectName() == "receive_qr" and qr.payload == address
    image = qr.pixmap().toImage()
    assert read_qr(image, qr.module_px) == segno_matrix(address)

    click(qtbot, page, "copy_address")
    assert QGuiApplication.clipboard().text() == address

    # A request with amount, label and message: the QR becomes the BIP21 link.
    page.amount.setText("0.00125")
    page.label.setText("Coffee & cake")
    page.message.setText("Thanks!")
    req = parse_uri(page.uri, wallet.network)
    assert (req.address, req.amount, req.label, req.message) == (address, 125_000, "Coffee & cake", "Thanks!")
    assert page.findChild(QLabel, "receive_uri").text() == page.uri
    assert read_qr(page.qr.pixmap().toImage(), page.qr.module_px) == segno_matrix(page.uri)
    click(qtbot, page, "copy_uri")
    assert QGuiApplication.clipboard().text() == page.uri
    page.label.editingFinished.emit()
    assert wallet.label_of("addr", address) == "Coffee & cake"
    page.amount.setText("1,5")
    assert "comma" in page.findChild(QLabel, "request_error").text()

    # The address list: the label shows, and editing it in the table stores a BIP329 label.
    table = page.findChild(QTableView, "address_table")
    model = page.model
    row = model.row_of(address)
    assert row is not None and model.index(row, LABEL).data() == "Coffee & cake"
    assert model.index(row, 3).data() == "given out"
    change = [r for r, a in enumerate(model.rows) if a.kind is KeychainKind.CHANGE]
    assert change, "change addresses are listed too"
    assert model.setData(model.index(change[0], LABEL), "  change zero ")
    assert wallet.label_of("addr", model.rows[change[0]].address) == "change zero"
    page.filter.setCurrentIndex(page.filter.findData("change"))
    assert table.model().rowCount() == len(change)
    assert table.model().index(0, ADDRESS).data() == model.rows[change[0]].address
    page.filter.setCurrentIndex(0)

    # A new address is the next index.
    click(qtbot, page, "new_address")
    assert page.address != address
    assert wallet.addresses(KeychainKind.RECEIVE, handed_out_only=True)[-1].address == page.address
    assert page.qr.payload == page.address

    # A payment to the old address: announced (status bar, no tray offscreen) and the address is marked used.
    history = app.window.pages["transactions"]
    assert isinstance(history, TransactionsPage)
    with qtbot.waitSignal(history.notifier.shown, timeout=WAIT_MS) as shown_signal:
        run(qtbot, sbx.faucet(wallet.addresses(KeychainKind.RECEIVE)[model.rows[row].index].script_pubkey, 77_000))
    assert shown_signal.args[0] == f"Received {amount(77_000, app.ctx.settings.unit)} (unconfirmed)"
    qtbot.waitUntil(lambda: model.index(model.row_of(address), 3).data() == "used", timeout=WAIT_MS)
    assert app.window.statusBar().currentMessage() == shown_signal.args[0]
    assert table.model().index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "receive"
