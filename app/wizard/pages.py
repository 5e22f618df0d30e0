"""The first-run wizard's pages. Each page only collects input and checks it with the core's rules
(core.wallet.setup, core.wallet.bip39); the wizard (app/wizard/wizard.py) turns the answers into a
WalletPlan and creates the file off the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from app.format import NETWORK_TEXT
from app.wallet_widgets import error_label, sentence
from app.widgets import muted
from core.errors import PeerwalletError
from core.settings import NETWORKS
from core.wallet.bip39 import generate_mnemonic, validate_mnemonic
from core.wallet.setup import (
    SetupKind,
    check_confirmation,
    check_password,
    confirmation_positions,
    parse_watch_only,
)

if TYPE_CHECKING:
    from app.wizard.wizard import FirstRunWizard

START, WORDS, CONFIRM, RESTORE, WATCH, PASSWORD, FINISH = range(7)
TEMPLATE_TEXT = {"bip84": "Native SegWit (BIP84, addresses bc1q…)", "bip86": "Taproot (BIP86, addresses bc1p…)"}
KIND_TEXT = {
    SetupKind.CREATE: "Create a new wallet (new recovery words)",
    SetupKind.RESTORE: "Restore a wallet from its recovery words",
    SetupKind.WATCH_ONLY: "Watch-only: import an xpub or descriptor (no keys on this computer)",
}
EXISTING = "existing"  # start-page choice: open the wallet that exists for the network


def _wizard(page: QWizardPage) -> FirstRunWizard:
    return page.wizard()  # type: ignore[return-value]


class StartPage(QWizardPage):
    """Network, how the wallet comes to be, and its address type."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Welcome to Peerwallet")
        self.setSubTitle("Choose a network and how to set up its wallet.")
        form = QFormLayout(self)
        self.network = QComboBox()
        self.network.setObjectName("wizard_network")
        for key in NETWORKS:
            self.network.addItem(NETWORK_TEXT.get(key, key), key)
        form.addRow("Network", self.network)
        self.existing = muted(QLabel(""))
        self.existing.setObjectName("wizard_existing")
        self.existing.setWordWrap(True)
        form.addRow(self.existing)
        self.kinds = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        box = QVBoxLayout()
        for kind, text in (*KIND_TEXT.items(), (EXISTING, "Open the existing wallet of this network")):
            button = QRadioButton(text)
            button.setObjectName(f"wizard_{kind}")
            self.kinds.addButton(button)
            self.buttons[str(kind)] = button
            box.addWidget(button)
        self.buttons[SetupKind.CREATE].setChecked(True)
        form.addRow("Wallet", box)
        self.template = QComboBox()
        self.template.setObjectName("wizard_template")
        for key, text in TEMPLATE_TEXT.items():
            self.template.addItem(text, key)
        form.addRow("Address type", self.template)
        self.network.currentIndexChanged.connect(lambda _i: self._network_changed())

    def initializePage(self) -> None:
        self._network_changed()

    def _network_changed(self) -> None:
        exists = _wizard(self).wallet_path(self.chosen_network()).exists()
        self.buttons[EXISTING].setVisible(exists)
        if exists:
            self.existing.setText("A wallet already exists for this network.")
            self.buttons[EXISTING].setChecked(True)
        else:
            self.existing.setText("")
            if self.buttons[EXISTING].isChecked():
                self.buttons[SetupKind.CREATE].setChecked(True)

    def chosen_network(self) -> str:
        return str(self.network.currentData())

    def kind(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def nextId(self) -> int:
        return {SetupKind.CREATE: WORDS, SetupKind.RESTORE: RESTORE, SetupKind.WATCH_ONLY: WATCH}.get(self.kind(), FINISH)


class WordsPage(QWizardPage):
    """Shows fresh recovery words (12 or 24) to write down."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Your recovery words")
        self.setSubTitle("Write these words on paper, in order, and keep it safe. Anyone with them can spend your "
                         "coins; without them a lost computer means lost coins.")
        layout = QVBoxLayout(self)
        self.count = QComboBox()
        self.count.setObjectName("wizard_word_count")
        self.count.addItem("12 words", 128)
        self.count.addItem("24 words", 256)
        self.count.currentIndexChanged.connect(lambda _i: self._generate())
        layout.addWidget(self.count)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(28)
        layout.addLayout(self.grid)
        self.words: list[QLabel] = []
        self.written = QCheckBox("I have written the words down")
        self.written.setObjectName("wizard_words_written")
        self.written.toggled.connect(lambda _c: self.completeChanged.emit())
        layout.addStretch(1)
        layout.addWidget(self.written)
        self.mnemonic = ""

    def initializePage(self) -> None:
        if not self.mnemonic:
            self._generate()

    def _generate(self) -> None:
        self.mnemonic = generate_mnemonic(int(self.count.currentData()))
        for label in self.words:
            label.deleteLater()
        self.words = []
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.25)
        words = self.mnemonic.split()
        rows = (len(words) + 2) // 3
        for i, word in enumerate(words):
            label = QLabel(f"{i + 1:>2}. {word}")
            label.setObjectName(f"wizard_word_{i + 1}")
            label.setFont(mono)
            self.grid.addWidget(label, i % rows, i // rows)
            self.words.append(label)
        self.written.setChecked(False)

    def isComplete(self) -> bool:
        return self.written.isChecked()

    def validatePage(self) -> bool:
        return self.written.isChecked()


class ConfirmPage(QWizardPage):
    """Asks for three of the words just shown."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Confirm your recovery words")
        self.setSubTitle("Type the words at these positions from your paper.")
        layout = QVBoxLayout(self)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.error = error_label("wizard_confirm_error")
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.positions: tuple[int, ...] = ()
        self.fields: list[QLineEdit] = []

    def initializePage(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        mnemonic = _wizard(self).words_page.mnemonic
        self.positions = confirmation_positions(len(mnemonic.split()))
        self.fields = []
        for k, pos in enumerate(self.positions, start=1):
            field = QLineEdit()
            field.setObjectName(f"wizard_confirm_{k}")
            self.form.addRow(f"Word {pos}", field)
            self.fields.append(field)
        self.error.setText("")

    def validatePage(self) -> bool:
        answers = {pos: f.text() for pos, f in zip(self.positions, self.fields, strict=True)}
        try:
            check_confirmation(_wizard(self).words_page.mnemonic, answers)
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)))
            return False
        return True

    def nextId(self) -> int:
        return PASSWORD


class RestorePage(QWizardPage):
    """Recovery words (checked: errors name the bad word) and an optional BIP39 passphrase."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Restore from recovery words")
        self.setSubTitle("Type your 12 or 24 words, separated by spaces. Scanning starts at the beginning of the chain.")
        layout = QVBoxLayout(self)
        self.words = QPlainTextEdit()
        self.words.setObjectName("wizard_restore_words")
        self.words.setTabChangesFocus(True)
        layout.addWidget(self.words, 1)
        self.error = error_label("wizard_restore_error")
        layout.addWidget(self.error)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("wizard_passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("optional BIP39 passphrase (the \"25th word\"); leave empty if you never set one")
        layout.addWidget(self.passphrase)

    def mnemonic(self) -> str:
        return " ".join(self.words.toPlainText().lower().split())

    def validatePage(self) -> bool:
        try:
            validate_mnemonic(self.mnemonic())
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)))
            return False
        self.error.setText("")
        return True

    def nextId(self) -> int:
        return PASSWORD


class WatchPage(QWizardPage):
    """An account xpub, one multipath descriptor, or a receive and a change descriptor."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Watch-only wallet")
        self.setSubTitle("Paste an account xpub (with the address type chosen before), one descriptor with <0;1>, "
                         "or two descriptors (receive, then change) on separate lines.")
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setObjectName("wizard_watch_text")
        layout.addWidget(self.text, 1)
        self.error = error_label("wizard_watch_error")
        layout.addWidget(self.error)
        self.parsed: tuple[str | None, tuple[str, str] | None] = (None, None)

    def validatePage(self) -> bool:
        try:
            self.parsed = parse_watch_only(self.text.toPlainText())
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)))
            return False
        self.error.setText("")
        return True

    def nextId(self) -> int:
        return FINISH


class PasswordPage(QWizardPage):
    """The password that encrypts the words on disk (none only on the sandbox, with a warning)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Wallet password")
        self.setSubTitle("It encrypts the recovery words on this computer and is asked for before every payment.")
        form = QFormLayout(self)
        self.password = QLineEdit()
        self.password.setObjectName("wizard_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setObjectName("wizard_password_confirm")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Password", self.password)
        form.addRow("Repeat", self.confirm)
        self.warning = muted(QLabel(""))
        self.warning.setObjectName("wizard_password_warning")
        self.warning.setWordWrap(True)
        form.addRow(self.warning)
        self.error = error_label("wizard_password_error")
        form.addRow(self.error)
        for field in (self.password, self.confirm):
            field.textChanged.connect(lambda _t: self._update_warning())

    def initializePage(self) -> None:
        self._update_warning()

    def _update_warning(self) -> None:
        network = _wizard(self).start_page.chosen_network()
        try:
            warning = check_password(network, self.password.text(), self.password.text())
        except PeerwalletError:
            warning = None
        self.warning.setText(warning or "")

    def validatePage(self) -> bool:
        network = _wizard(self).start_page.chosen_network()
        try:
            check_password(network, self.password.text(), self.confirm.text())
        except PeerwalletError as e:
            self.error.setText(sentence(str(e)))
            return False
        self.error.setText("")
        return True

    def chosen(self) -> str | None:
        return self.password.text() or None

    def nextId(self) -> int:
        return FINISH
