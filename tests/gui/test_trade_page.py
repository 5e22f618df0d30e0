"""The trade page against a real sandbox, a real local Nostr relay (nostr-relay) and the sandbox bots
(a bot trader and a bot arbitrator with their own wallets and light nodes): nothing is mocked.

As buyer: unlock trading, take the bot's sell offer, chat, mine the deposit, "I have paid", the bot
releases, the payout confirms into the wallet (to the satoshi, less our fee shares), rate, and the
receipt shows in the reputation tab. As seller: publish an offer, the bot buyer takes it and marks it
paid, the release checklist must be complete before the release, then the trade completes with the
balance exact. Every wait is bounded (qtbot.waitUntil).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
)

from app.context import AppPaths
from app.format import amount
from app.pages.trade import TradePage
from app.trade.relays_dialog import RelaysDialog
from app.trade.step_dialogs import RuleDialog
from core.consensus.hashes import Txid
from core.sandbox.errors import SandboxError
from core.settings import Unit
from core.trade.contract import PayoutKind
from core.trade.messages import message_from_json
from core.trade.offer import Side
from core.trade.payout import decode_psbt
from core.trade.protocol_types import State
from core.trade.session import SessionState
from core.wallet.setup import SetupKind, WalletPlan, create_wallet_file
from tests.functional.trade_support import payout_of
from tests.gui.conftest import WAIT_MS, App, run, start_app
from tests.gui.wallet_support import FAST_KDF, MNEMONIC, PASSWORD, click, close_app, dialog, wait_dialog
from tests.unit.trade_fixture import contract_of

FUNDS = (5_000_000, 3_000_000)


def start_trading(qtbot: Any, datadir: Path, password: str | None) -> tuple[App, TradePage]:
    """The app with trading on (relay and bots) over a wallet of MNEMONIC holding FUNDS, confirmed."""
    plan = WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=MNEMONIC, password=password)
    create_wallet_file(AppPaths(datadir, "sandbox").wallet, plan, kdf=FAST_KDF)
    app = start_app(qtbot, datadir, trade=True)
    ctx, wallet, sbx = app.ctx, app.ctx.wallet, app.ctx.sandbox
    assert wallet is not None and sbx is not None
    qtbot.waitUntil(lambda: ctx.trade.bots_ready or bool(app.task_errors), timeout=WAIT_MS)  # their funding is mined
    assert not app.task_errors, app.task_errors

    async def fund() -> None:
        for value in FUNDS:
            script = wallet.new_address().script_pubkey
            for _attempt in range(10):
                try:
                    await sbx.faucet(script, value)
                    break
                except SandboxError:  # the sandbox's traffic can hold every mature coin for a moment
                    await sbx.generate(1)
        await sbx.generate(1)

    run(qtbot, fund())
    qtbot.waitUntil(lambda: wallet.balance().confirmed == sum(FUNDS) and wallet.balance().unconfirmed == 0, timeout=WAIT_MS)
    page = app.window.show_page("trade")
    assert isinstance(page, TradePage)
    return app, page


def mine_after(qtbot: Any, app: App, txid_hex: str) -> None:
    """Mine a block once the sandbox has the transaction in its mempool."""
    sbx = app.ctx.sandbox
    assert sbx is not None
    run(qtbot, sbx.wait_mempool(Txid.from_hex(txid_hex)))
    run(qtbot, sbx.generate(1))


def state_of(page: TradePage, trade_id: str) -> State | None:
    assert page.engine is not None
    row = page.engine.store.trade(trade_id)
    return None if row is None else row.state


def action_button(page: TradePage) -> QPushButton:
    return page.trades.detail.findChild(QPushButton, "trade_action")


def wait_action(qtbot: Any, page: TradePage, text: str) -> QPushButton:
    button = action_button(page)
    qtbot.waitUntil(lambda: button.isVisible() and button.text() == text, timeout=WAIT_MS)
    return button


def test_buy_from_the_bot_chat_pay_release_rate(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    app, page = start_trading(qtbot, tmp_path / "data", PASSWORD)
    ctx, wallet = app.ctx, app.ctx.wallet
    assert wallet is not None
    notices: list[str] = []  # what the trade announced (tray or status bar), whichever page is open
    page.notifier.shown.connect(notices.append)
    try:
        # An encrypted wallet: trading waits for the password.
        qtbot.waitUntil(lambda: ctx.trade.status.state is SessionState.LOCKED, timeout=WAIT_MS)
        unlock = page.findChild(QPushButton, "unlock_trading")
        assert unlock.isVisible()
        qtbot.mouseClick(unlock, Qt.MouseButton.LeftButton)
        pw = wait_dialog(qtbot, "password_dialog")
        pw.findChild(QLineEdit, "password_input").setText(PASSWORD)
        click(qtbot, pw, "password_ok")
        qtbot.waitUntil(lambda: page.engine is not None and not unlock.isVisible(), timeout=WAIT_MS)

        # The book: the bot's offers on both sides, and another platform's order, read-only.
        book = page.book
        qtbot.waitUntil(lambda: sum(1 for r in book.shown if r.name == "Sandbox bot") >= 4
                        and any(r.read_only for r in book.shown), timeout=WAIT_MS)
        foreign = next(r for r in book.shown if r.read_only)
        assert book.select(foreign.key) and not book.take.isEnabled()
        assert "read-only" in book.findChild(QTableWidget, "book_table").item(book.shown.index(foreign), 7).text()
        book.findChild(QComboBox, "book_side").setCurrentIndex(1)  # I want to buy
        book.findChild(QLineEdit, "book_amount").setText("0.001")
        assert book.shown and all(r.user_side is Side.BUY and (r.read_only or r.min_sat <= 100_000 <= r.max_sat)
                                  for r in book.shown)
        offer = next(r for r in book.shown if r.currency == "EUR" and "sepa" in r.methods and not r.read_only)
        assert book.select(offer.key)
        click(qtbot, book, "take_offer")
        take = wait_dialog(qtbot, "take_dialog")
        take.findChild(QLineEdit, "take_amount").setText("0.001")
        assert take.findChild(QComboBox, "take_method").currentData() == "sepa"
        assert take.findChild(QLabel, "take_fiat").text().startswith("= 60.00 EUR")
        click(qtbot, take, "take_confirm")
        assert "enter your payment account" in take.findChild(QLabel, "take_error").text().lower()
        take.findChild(QLineEdit, "take_account").setText("Alice Example, IBAN DE00 1234")
        click(qtbot, take, "take_confirm")
        qtbot.waitUntil(lambda: page.trades.selected_id() is not None and page.tab_widget.currentWidget() is page.trades,
                        timeout=WAIT_MS)
        trade = page.trades.selected_id()
        assert trade is not None

        # Deposit broadcast: payment details are there; "I have paid" is not offered before it confirms.
        detail = page.trades.detail
        qtbot.waitUntil(lambda: state_of(page, trade) is State.DEPOSIT_BROADCAST, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: detail.findChild(QLabel, "trade_state").text().startswith("Deposit broadcast"),
                        timeout=WAIT_MS)
        assert not action_button(page).isVisible()
        account = detail.findChild(QLabel, "trade_peer_account")
        qtbot.waitUntil(lambda: account.text() == "Sandbox Bot · IBAN XX00 0000 0000 0000 01", timeout=WAIT_MS)

        # Chat, end to end: our message and the bot's answer.
        detail.findChild(QLineEdit, "chat_input").setText("Hello, paying by SEPA once the deposit confirms")
        click(qtbot, detail, "chat_send")
        chat = detail.findChild(QListWidget, "chat_list")
        qtbot.waitUntil(lambda: chat.count() == 2, timeout=WAIT_MS)
        assert chat.item(0).text().startswith("You") and "paying by SEPA" in chat.item(0).text()
        assert chat.item(1).text().startswith("Seller") and "sandbox bot" in chat.item(1).text()
        assert f"Trade {trade[:8]}: a new chat message." in notices
        # The exported transcript is evidence anyone can check: every message verifies on its own.
        run(qtbot, page.export(trade, "chat", tmp_path / "chat.json"))
        exported = json.loads((tmp_path / "chat.json").read_text())["messages"]
        texts = [message_from_json(m).body["text"] for m in exported]
        assert len(texts) == 2 and texts[0] == "Hello, paying by SEPA once the deposit confirms"

        ctx_row = page.engine.store.trade(trade)  # type: ignore[union-attr]
        assert ctx_row is not None
        mine_after(qtbot, app, ctx_row.ctx.deposit_txid)
        paid = wait_action(qtbot, page, "I have paid")
        assert detail.findChild(QLabel, "trade_state").text() == "Deposit confirmed: pay the seller now"
        assert any(n.startswith(f"Trade {trade[:8]}: the deposit confirmed: pay the seller now") for n in notices)
        assert app.window.statusBar().currentMessage().startswith(f"Trade {trade[:8]}:")  # no tray offscreen
        qtbot.mouseClick(paid, Qt.MouseButton.LeftButton)
        dlg = wait_dialog(qtbot, "paid_dialog")
        dlg.findChild(QLineEdit, "paid_note").setText("SEPA reference 42")
        click(qtbot, dlg, "paid_confirm")

        # The bot checks and releases; the payout confirms into our wallet.
        qtbot.waitUntil(lambda: state_of(page, trade) is State.PAYOUT_BROADCAST, timeout=WAIT_MS)
        row = page.engine.store.trade(trade)  # type: ignore[union-attr]
        assert row is not None and row.ctx.paid_note == "SEPA reference 42"
        mine_after(qtbot, app, row.ctx.payout_txid)
        qtbot.waitUntil(lambda: state_of(page, trade) is State.COMPLETED, timeout=WAIT_MS)
        row = page.engine.store.trade(trade)  # type: ignore[union-attr]
        assert row is not None
        contract = row.ctx.contract_obj()
        payout = wallet.transaction(Txid.from_hex(row.ctx.payout_txid))
        assert payout is not None
        buyer_out, _seller_out, _fee = payout_of(contract, PayoutKind.RELEASE, payout)
        cost = _deposit_cost(row.ctx)
        deposit_fee_share = cost - contract.buyer_deposit_sat
        payout_fee_share = contract.amount_sat + contract.buyer_deposit_sat - buyer_out
        assert 0 < deposit_fee_share < 5_000 and 0 < payout_fee_share <= contract.payout_fee_cap_sat
        expected = sum(FUNDS) + contract.amount_sat - deposit_fee_share - payout_fee_share
        qtbot.waitUntil(lambda: wallet.balance().confirmed == expected and wallet.balance().unconfirmed == 0,
                        timeout=WAIT_MS)
        assert wallet.balance().frozen == 0 and contract.amount_sat == 100_000

        # Rate; the receipt signed by both shows in the reputation tab.
        rate = wait_action(qtbot, page, "Rate the trade…")
        qtbot.mouseClick(rate, Qt.MouseButton.LeftButton)
        dlg = wait_dialog(qtbot, "rate_dialog")
        assert dlg.findChild(QComboBox, "rate_value").currentData() == 5
        click(qtbot, dlg, "rate_confirm")
        qtbot.waitUntil(lambda: not action_button(page).isVisible(), timeout=WAIT_MS)
        engine = page.engine
        assert engine is not None
        me = engine.keys.identity.xonly
        qtbot.waitUntil(lambda: [r["buyer_rating"] for r in engine.store.receipts(me)] == [5], timeout=WAIT_MS)
        page.show_tab("reputation")
        receipts = page.reputation.findChild(QTableWidget, "rep_receipts")
        qtbot.waitUntil(lambda: receipts.rowCount() == 1, timeout=WAIT_MS)
        assert receipts.item(0, 1).text() == "bought" and receipts.item(0, 5).text() == "\u2605" * 5
        assert receipts.item(0, 4).text() == "\u2605" * 5  # the bot rated us too
        assert page.reputation.findChild(QLabel, "rep_summary").text().startswith("1 with 1 partner")
        assert page.reputation.findChild(QTableWidget, "rep_counterparties").rowCount() == 1
    finally:
        close_app(qtbot, app)


def sell_until_paid(qtbot: Any, app: App, page: TradePage) -> str:
    """Publish a sell offer by SEPA; the bot takes it, the deposit is mined, the bot marks it paid."""
    qtbot.waitUntil(lambda: page.engine is not None, timeout=WAIT_MS)
    page.show_tab("create")
    form = page.create
    qtbot.waitUntil(lambda: form.findChild(QComboBox, "offer_arbitrator").currentText() == "Sandbox bot arbitrator",
                    timeout=WAIT_MS)
    for name, text in (("offer_min", "0.0006"), ("offer_max", "0.003"), ("offer_price", "60000"),
                       ("offer_account", "Alice Example, IBAN DE00 1234")):
        form.findChild(QLineEdit, name).setText(text)
    form.check_method("sepa")
    click(qtbot, form, "offer_publish")
    engine = page.engine
    assert engine is not None
    qtbot.waitUntil(lambda: len(engine.store.offers(mine=True)) == 1, timeout=WAIT_MS)
    offer_id = engine.store.offers(mine=True)[0][0]["id"]
    qtbot.waitUntil(lambda: any(r.ctx.offer.get("id") == offer_id for r in engine.store.trades()), timeout=WAIT_MS)
    trade = next(r.trade_id for r in engine.store.trades() if r.ctx.offer.get("id") == offer_id)
    page.show_tab("trades")
    qtbot.waitUntil(lambda: page.trades.select(trade), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: state_of(page, trade) is State.DEPOSIT_BROADCAST, timeout=WAIT_MS)
    mine_after(qtbot, app, engine.store.trade(trade).ctx.deposit_txid)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: state_of(page, trade) is State.PAYMENT_SENT, timeout=WAIT_MS)
    return trade


def test_sell_to_the_bot_checklist_before_release(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    app, page = start_trading(qtbot, tmp_path / "data", None)
    wallet = app.ctx.wallet
    assert wallet is not None
    try:
        # The form says what is missing, and warns about reversible methods.
        qtbot.waitUntil(lambda: page.engine is not None, timeout=WAIT_MS)
        page.show_tab("create")
        form = page.create
        for name, text in (("offer_min", "0.0006"), ("offer_max", "0.003"), ("offer_price", "60000"),
                           ("offer_account", "Alice Example, IBAN DE00 1234")):
            form.findChild(QLineEdit, name).setText(text)
        click(qtbot, form, "offer_publish")
        assert form.findChild(QLabel, "offer_error").text() == "Choose at least one payment method."
        form.check_method("revolut")
        assert "can be reversed" in form.findChild(QLabel, "offer_method_warning").text()
        form.check_method("revolut", False)
        assert form.findChild(QLabel, "offer_method_warning").text() == ""
        # Published by SEPA; the bot buyer takes it at its minimum (start small), pays and says so.
        trade = sell_until_paid(qtbot, app, page)
        engine = page.engine
        assert engine is not None

        # The bot marks it paid: the next action is the checklist, and nothing releases without it.
        received = wait_action(qtbot, page, "I have received the payment…")
        assert page.trades.detail.findChild(QLabel, "trade_state").text() == "The buyer says they paid: check your account"
        qtbot.mouseClick(received, Qt.MouseButton.LeftButton)
        check = wait_dialog(qtbot, "release_checklist_dialog")
        confirm = check.findChild(QPushButton, "release_confirm")
        boxes = [check.findChild(QCheckBox, n) for n in ("check_credited", "check_sender", "check_not_reversible")]
        assert not confirm.isEnabled()
        boxes[0].setChecked(True)
        boxes[1].setChecked(True)
        assert not confirm.isEnabled()  # one point is still open
        click(qtbot, check, "release_cancel")
        qtbot.waitUntil(lambda: dialog("release_checklist_dialog") is None and page.task is not None and page.task.done(),
                        timeout=WAIT_MS)
        row = engine.store.trade(trade)
        assert row is not None and row.state is State.PAYMENT_SENT and row.ctx.release_psbt == ""
        qtbot.mouseClick(wait_action(qtbot, page, "I have received the payment…"), Qt.MouseButton.LeftButton)
        check = wait_dialog(qtbot, "release_checklist_dialog")
        for name in ("check_credited", "check_sender", "check_not_reversible"):
            check.findChild(QCheckBox, name).setChecked(True)
        assert check.findChild(QPushButton, "release_confirm").isEnabled()
        click(qtbot, check, "release_confirm")

        qtbot.waitUntil(lambda: state_of(page, trade) is State.PAYOUT_BROADCAST, timeout=WAIT_MS)
        row = engine.store.trade(trade)
        assert row is not None
        mine_after(qtbot, app, row.ctx.payout_txid)
        qtbot.waitUntil(lambda: state_of(page, trade) is State.COMPLETED, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: page.trades.detail.findChild(QLabel, "trade_state").text() == "Completed", timeout=WAIT_MS)

        # To the satoshi: we gave the amount, plus our share of the deposit's and the payout's fees.
        row = engine.store.trade(trade)
        assert row is not None
        contract = row.ctx.contract_obj()
        assert contract.amount_sat == 60_000 and contract.method == "sepa"
        payout = wallet.transaction(Txid.from_hex(row.ctx.payout_txid))
        assert payout is not None
        _buyer_out, seller_out, _fee = payout_of(contract, PayoutKind.RELEASE, payout)
        deposit_fee_share = _deposit_cost(row.ctx) - contract.seller_funding
        payout_fee_share = contract.seller_deposit_sat - seller_out
        assert 0 < deposit_fee_share < 5_000 and 0 < payout_fee_share <= contract.payout_fee_cap_sat
        expected = sum(FUNDS) - contract.amount_sat - deposit_fee_share - payout_fee_share
        qtbot.waitUntil(lambda: wallet.balance().confirmed == expected and wallet.balance().unconfirmed == 0,
                        timeout=WAIT_MS)
        assert wallet.balance().frozen == 0
        page.show_tab("offers")
        table = page.my_offers.findChild(QTableWidget, "my_offers_table")
        qtbot.waitUntil(lambda: table.rowCount() == 1 and table.item(0, 5).text() != "open", timeout=WAIT_MS)
    finally:
        close_app(qtbot, app)


def _deposit_cost(ctx: Any) -> int:
    """What our side put into the deposit transaction: our escrow share plus our fee share."""
    part = decode_psbt(ctx.my_part)
    return sum(i.witness_utxo.value for i in part.inputs) - part.tx.total_out()


def test_seller_disputes_a_payment_that_never_came(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    app, page = start_trading(qtbot, tmp_path / "data", None)
    wallet = app.ctx.wallet
    assert wallet is not None
    try:
        trade = sell_until_paid(qtbot, app, page)
        engine = page.engine
        assert engine is not None
        detail = page.trades.detail
        detail.findChild(QLineEdit, "chat_input").setText("Payment not received: nothing on my account")
        click(qtbot, detail, "chat_send")
        qtbot.waitUntil(lambda: detail.findChild(QListWidget, "chat_list").count() >= 1, timeout=WAIT_MS)
        dispute = detail.findChild(QPushButton, "trade_dispute")
        qtbot.waitUntil(dispute.isVisible, timeout=WAIT_MS)
        qtbot.mouseClick(dispute, Qt.MouseButton.LeftButton)
        dlg = wait_dialog(qtbot, "dispute_dialog")
        click(qtbot, dlg, "dispute_confirm")
        assert dlg.findChild(QLabel, "dispute_error").text() and dlg.isVisible()  # a reason is required
        dlg.findChild(QLineEdit, "dispute_reason").setText("The buyer says they paid; nothing arrived")
        dlg.findChild(QPlainTextEdit, "dispute_notes").setPlainText("Account statement: no SEPA credit from the buyer")
        click(qtbot, dlg, "dispute_confirm")

        # The bot arbitrator reads the signed transcript: everyone gets back what they put in.
        qtbot.waitUntil(lambda: state_of(page, trade) is State.ARBITRATED, timeout=WAIT_MS)
        row = engine.store.trade(trade)
        assert row is not None and row.ctx.ruling is not None and row.ctx.dispute_by == "seller"
        contract = row.ctx.contract_obj()
        split = (row.ctx.ruling["buyer_sat"], row.ctx.ruling["seller_sat"])
        assert split == contract.payout_split(PayoutKind.CANCEL)
        mine_after(qtbot, app, row.ctx.payout_txid)
        qtbot.waitUntil(lambda: detail.findChild(QLabel, "trade_state").text() == "Settled by the arbitrator",
                        timeout=WAIT_MS)
        payout = wallet.transaction(Txid.from_hex(row.ctx.payout_txid))
        assert payout is not None
        _buyer_out, seller_out, _fee = payout_of(contract, PayoutKind.RULING, payout, split)
        deposit_fee_share = _deposit_cost(row.ctx) - contract.seller_funding
        payout_fee_share = contract.seller_funding - seller_out
        assert 0 < payout_fee_share <= contract.payout_fee_cap_sat
        expected = sum(FUNDS) - deposit_fee_share - payout_fee_share  # nothing lost but our fee shares
        qtbot.waitUntil(lambda: wallet.balance().confirmed == expected and wallet.balance().unconfirmed == 0,
                        timeout=WAIT_MS)
    finally:
        close_app(qtbot, app)


def test_the_relays_dialog_keeps_only_relay_urls(qtbot: Any) -> None:
    dlg = RelaysDialog(("wss://a.example",), False, None)
    qtbot.addWidget(dlg)
    text = dlg.findChild(QPlainTextEdit, "relays_text")
    assert text.toPlainText() == "wss://a.example"
    text.setPlainText("wss://a.example\nhttps://not-a-relay.example\n")
    click(qtbot, dlg, "relays_save")
    assert "expected wss://" in dlg.findChild(QLabel, "relays_error").text() and dlg.relays == ("wss://a.example",)
    text.setPlainText(" wss://b.example \n\nwss://a.example:444\nwss://b.example")
    click(qtbot, dlg, "relays_save")
    assert dlg.relays == ("wss://b.example", "wss://a.example:444")


def test_the_arbitrators_ruling_dialog_offers_the_contract_splits(qtbot: Any) -> None:
    contract = contract_of(Side.SELL)
    dlg = RuleDialog(contract, Unit.SAT, None)
    qtbot.addWidget(dlg)
    preset = dlg.findChild(QComboBox, "rule_preset")
    assert dlg.split == contract.payout_split(PayoutKind.RELEASE)
    preset.setCurrentIndex(1)
    assert dlg.split == contract.payout_split(PayoutKind.CANCEL)
    assert dlg.findChild(QLabel, "rule_seller").text() == amount(contract.seller_funding, Unit.SAT)
    preset.setCurrentIndex(2)
    assert dlg.split == (0, contract.escrow_value)
