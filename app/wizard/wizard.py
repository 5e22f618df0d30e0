"""FirstRunWizard: network → create (show words, confirm three) / restore (words, passphrase) / watch-only
(xpub or descriptors) → password → finish. Finishing writes the wallet file of the chosen network in the
app's data directory; the key derivation and scrypt run in a worker thread while the page says so.

The wizard knows nothing of the running app: it only writes `AppPaths(root, network).wallet`, which the
AppContext opens when it starts (app/wizard/__init__.py shows how __main__ uses it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizard, QWizardPage

from app.context import AppPaths
from app.format import NETWORK_TEXT
from app.wallet_widgets import error_label, sentence
from app.widgets import muted
from app.wizard.pages import (
    CONFIRM,
    EXISTING,
    FINISH,
    PASSWORD,
    RESTORE,
    START,
    TEMPLATE_TEXT,
    WATCH,
    WORDS,
    ConfirmPage,
    PasswordPage,
    RestorePage,
    StartPage,
    WatchPage,
    WordsPage,
)
from core.errors import PeerwalletError
from core.wallet.keychain import DEFAULT_GAP_LIMIT
from core.wallet.setup import SetupKind, WalletPlan, create_wallet_file
from core.wallet.storage.secrets import KdfParams


class FinishPage(QWizardPage):
    """A summary; Finish creates the wallet (off the loop) and closes the wizard once it exists."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Ready")
        layout = QVBoxLayout(self)
        self.summary = QLabel("")
        self.summary.setObjectName("wizard_summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.progress = muted(QLabel(""))
        self.progress.setObjectName("wizard_progress")
        layout.addWidget(self.progress)
        self.error = error_label("wizard_finish_error")
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.done = False
        self.task: asyncio.Task[None] | None = None

    def initializePage(self) -> None:
        wiz: FirstRunWizard = self.wizard()  # type: ignore[assignment]
        start = wiz.start_page
        network = NETWORK_TEXT.get(start.chosen_network(), start.chosen_network())
        if start.kind() == EXISTING:
            self.summary.setText(f"Finish opens the existing {network} wallet.")
        else:
            what = {"create": "a new wallet", "restore": "the restored wallet", "watch_only": "a watch-only wallet"}[start.kind()]
            self.summary.setText(
                f"Finish creates {what} on {network} ({TEMPLATE_TEXT[str(start.template.currentData())]}) at\n"
                f"{wiz.wallet_path(start.chosen_network())}"
            )
        self.error.setText("")
        self.progress.setText("")

    def validatePage(self) -> bool:
        if self.done:
            return True
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._create())
        return False

    async def _create(self) -> None:
        wiz: FirstRunWizard = self.wizard()  # type: ignore[assignment]
        buttons = [wiz.button(b) for b in (QWizard.WizardButton.BackButton, QWizard.WizardButton.FinishButton,
                                           QWizard.WizardButton.CancelButton)]
        for b in buttons:
            b.setEnabled(False)
        self.error.setText("")
        self.progress.setText("Creating the wallet (deriving keys and encrypting the words)…")
        try:
            await wiz.create()
        except PeerwalletError as e:
            self.progress.setText("")
            self.error.setText(sentence(str(e)))
            return
        finally:
            for b in buttons:
                b.setEnabled(True)
        self.progress.setText("Done.")
        self.done = True
        wiz.accept()


class FirstRunWizard(QWizard):
    """Collects a WalletPlan and writes its file; `network` is the chosen network once accepted."""

    created = Signal(str)  # network whose wallet file now exists

    def __init__(self, root: Path, network: str = "sandbox", *, gap_limit: int = DEFAULT_GAP_LIMIT,
                 kdf: KdfParams | None = None) -> None:
        super().__init__()
        self.setObjectName("first_run_wizard")
        self.setWindowTitle("Peerwallet setup")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.resize(760, 560)
        self.root = root
        self.gap_limit = gap_limit
        self.kdf = kdf
        self.network: str | None = None
        self.plan: WalletPlan | None = None
        self.start_page = StartPage()
        self.words_page = WordsPage()
        self.confirm_page = ConfirmPage()
        self.restore_page = RestorePage()
        self.watch_page = WatchPage()
        self.password_page = PasswordPage()
        self.finish_page = FinishPage()
        for page_id, page in (
            (START, self.start_page), (WORDS, self.words_page), (CONFIRM, self.confirm_page),
            (RESTORE, self.restore_page), (WATCH, self.watch_page), (PASSWORD, self.password_page),
            (FINISH, self.finish_page),
        ):
            self.setPage(page_id, page)
        self.setStartId(START)
        index = self.start_page.network.findData(network)
        self.start_page.network.setCurrentIndex(max(index, 0))

    def wallet_path(self, network: str) -> Path:
        return AppPaths(self.root, network).wallet

    def build_plan(self) -> WalletPlan | None:
        """The plan the pages describe (None: open the existing wallet)."""
        start = self.start_page
        network, kind, template = start.chosen_network(), start.kind(), str(start.template.currentData())
        if kind == EXISTING:
            return None
        if kind == SetupKind.WATCH_ONLY:
            xpub, descriptors = self.watch_page.parsed
            return WalletPlan(network, SetupKind.WATCH_ONLY, template, xpub=xpub, descriptors=descriptors)
        if kind == SetupKind.CREATE:
            words, passphrase = self.words_page.mnemonic, ""
        else:
            words, passphrase = self.restore_page.mnemonic(), self.restore_page.passphrase.text()
        return WalletPlan(network, SetupKind(kind), template, mnemonic=words, passphrase=passphrase,
                          password=self.password_page.chosen())

    async def create(self) -> None:
        """Write the wallet file (in a worker thread); PeerwalletError says why it could not."""
        network = self.start_page.chosen_network()
        plan = self.build_plan()
        if plan is not None:
            path, gap, kdf = self.wallet_path(network), self.gap_limit, self.kdf
            await asyncio.to_thread(create_wallet_file, path, plan, gap_limit=gap, kdf=kdf)
        self.plan, self.network = plan, network
        self.created.emit(network)
