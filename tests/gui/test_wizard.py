"""The first-run wizard: it creates a wallet (words shown, three confirmed, password) and restores one
(a mistyped word is named; no password on the sandbox, with a warning) and the app then opens it over a
real embedded sandbox — the restored "abandon … about" wallet's first address is the known BIP84 one.
Also: a watch-only import, the mainnet password rule, and when the app shows the wizard at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QDialog, QWizard

from app.context import AppContext, AppPaths
from app.pages.send import SendPage
from app.wizard import FirstRunWizard, needs_wizard, run_first_run
from core.settings import Settings, load_settings
from core.wallet.keychain import KeychainKind
from tests.gui.conftest import WAIT_MS, run, start_app
from tests.gui.wallet_support import FAST_KDF, MNEMONIC, close_app

# BIP84 m/84'/1'/0'/0/0 of MNEMONIC on a regtest-like chain (tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl on testnet).
FIRST_ADDRESS = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
ACCOUNT_TPUB = "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M"


def _wizard(qtbot: Any, root: Path, network: str = "sandbox") -> FirstRunWizard:
    wizard = FirstRunWizard(root, network, kdf=FAST_KDF)
    qtbot.addWidget(wizard)
    wizard.open()
    return wizard


def _next(wizard: FirstRunWizard) -> int:
    before = wizard.currentId()
    wizard.next()
    return wizard.currentId() if wizard.currentId() != before else -1


def _finish(qtbot: Any, wizard: FirstRunWizard) -> None:
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: wizard.result() == QDialog.DialogCode.Accepted and not wizard.isVisible(), timeout=WAIT_MS)


def test_wizard_creates_a_wallet_the_app_opens(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    root = tmp_path / "data"
    wizard = _wizard(qtbot, root)
    assert wizard.start_page.buttons["create"].isChecked()
    wizard.start_page.template.setCurrentIndex(wizard.start_page.template.findData("bip86"))
    _next(wizard)
    words_page = wizard.words_page
    words_page.count.setCurrentIndex(1)  # 24 words
    words = words_page.mnemonic.split()
    assert len(words) == 24 and words_page.findChild(type(words_page.words[0]), "wizard_word_24").text().endswith(words[23])
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert _next(wizard) == -1, "the words must be confirmed as written down first"
    words_page.written.setChecked(True)
    _next(wizard)
    confirm = wizard.confirm_page
    assert len(confirm.fields) == 3
    for pos, field in zip(confirm.positions, confirm.fields, strict=True):
        field.setText(words[pos - 1])
    confirm.fields[1].setText("wrong")
    assert _next(wizard) == -1
    assert f"word {confirm.positions[1]}" in confirm.error.text().lower()
    confirm.fields[1].setText(f" {words[confirm.positions[1] - 1].upper()} ")
    _next(wizard)
    password = wizard.password_page
    password.password.setText("pw one")
    password.confirm.setText("pw two")
    assert _next(wizard) == -1 and "differ" in password.error.text()
    password.confirm.setText("pw one")
    _next(wizard)
    assert "Finish creates a new wallet on Sandbox" in wizard.finish_page.summary.text()
    _finish(qtbot, wizard)
    assert wizard.network == "sandbox" and AppPaths(root, "sandbox").wallet.exists()

    app = start_app(qtbot, root)
    try:
        wallet = app.ctx.wallet
        assert wallet is not None and wallet.info.encrypted and wallet.info.template == "bip86"
        assert bytes(run(qtbot, wallet.mnemonic("pw one"))).decode() == " ".join(words)
        assert wallet.balance().total == 0  # the sandbox did not make (or fund) a wallet of its own
        assert wallet.addresses(KeychainKind.RECEIVE)[0].address.startswith("bcrt1p")
        qtbot.waitUntil(lambda: app.bridge.last_sync is not None and app.bridge.last_sync.stage.value == "synced",
                        timeout=WAIT_MS)
    finally:
        close_app(qtbot, app)


def test_wizard_restores_abandon_about(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    root = tmp_path / "data"
    wizard = _wizard(qtbot, root)
    wizard.start_page.buttons["restore"].setChecked(True)
    _next(wizard)
    restore = wizard.restore_page
    typo = MNEMONIC.split()
    typo[2] = "abandn"
    restore.words.setPlainText(" ".join(typo))
    assert _next(wizard) == -1
    assert restore.error.text().startswith("Word 3 'abandn' is not in the BIP39 English list; did you mean 'abandon'")
    restore.words.setPlainText("  " + MNEMONIC.upper().replace(" ", "\n") + " ")
    _next(wizard)
    password = wizard.password_page
    assert "Without a password" in password.warning.text()  # none is allowed on the sandbox, with a warning
    _next(wizard)
    _finish(qtbot, wizard)

    app = start_app(qtbot, root)
    try:
        wallet = app.ctx.wallet
        assert wallet is not None and not wallet.info.encrypted and not wallet.info.watch_only
        assert wallet.addresses(KeychainKind.RECEIVE)[0].address == FIRST_ADDRESS
        # It is a working wallet on the live sandbox: a payment to that address arrives.
        sbx, node = app.ctx.sandbox, app.ctx.node
        assert sbx is not None and node is not None
        run(qtbot, node.wait_synced(WAIT_MS / 1000))  # the node follows the mempool once synced
        run(qtbot, sbx.faucet(wallet.addresses(KeychainKind.RECEIVE)[0].script_pubkey, 123_456))
        qtbot.waitUntil(lambda: wallet.balance().unconfirmed == 123_456, timeout=WAIT_MS)
    finally:
        close_app(qtbot, app)


def test_watch_only_and_network_rules(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    root = tmp_path / "data"
    # Mainnet: no wallet → the app shows the wizard; a password is required there.
    main_ctx = AppContext("main", root, settings=Settings())
    assert needs_wizard(main_ctx) and not needs_wizard(AppContext("sandbox", root, settings=Settings()))
    assert needs_wizard(AppContext("sandbox", root, settings=Settings()), force=True)
    wizard = _wizard(qtbot, root, "main")
    wizard.start_page.buttons["restore"].setChecked(True)
    _next(wizard)
    wizard.restore_page.words.setPlainText(MNEMONIC)
    _next(wizard)
    assert wizard.password_page.warning.text() == ""
    assert _next(wizard) == -1 and "choose a password" in wizard.password_page.error.text().lower()
    wizard.reject()

    # Watch-only through run_first_run: the chosen network is remembered in the settings.
    task = loop.create_task(run_first_run(root, "main"))
    qtbot.waitUntil(lambda: isinstance(_open_wizard(), FirstRunWizard), timeout=WAIT_MS)
    wizard = _open_wizard()
    wizard.kdf = FAST_KDF
    start = wizard.start_page
    start.network.setCurrentIndex(start.network.findData("sandbox"))
    start.buttons["watch_only"].setChecked(True)
    _next(wizard)
    wizard.watch_page.text.setPlainText("not a key at all")
    assert _next(wizard) == -1 and wizard.watch_page.error.text()
    wizard.watch_page.text.setPlainText(f"wpkh({ACCOUNT_TPUB}/<0;1>/*)")
    _next(wizard)
    _finish(qtbot, wizard)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result() == "sandbox" and load_settings(root / "settings.json").network == "sandbox"

    app = start_app(qtbot, root)
    try:
        wallet = app.ctx.wallet
        assert wallet is not None and wallet.info.watch_only
        assert wallet.addresses(KeychainKind.RECEIVE)[0].address == FIRST_ADDRESS
        send = app.window.pages["send"]
        assert isinstance(send, SendPage) and send.review_button.text() == "Review and export PSBT…"
    finally:
        close_app(qtbot, app)
    # A wallet now exists for the sandbox: the wizard offers to open it instead of making another.
    wizard = _wizard(qtbot, root, "sandbox")
    assert wizard.start_page.buttons["existing"].isChecked()
    assert not needs_wizard(AppContext("sandbox", root, settings=Settings()), force=True)


def _open_wizard() -> FirstRunWizard | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunWizard) and w.isVisible()), None)
