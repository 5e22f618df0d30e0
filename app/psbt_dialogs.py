"""PSBT export (base64 text: copy, or save as a binary .psbt file) and import of a PSBT signed elsewhere
(pasted base64, or a binary or base64 file). Parsing is the core's (`core.wallet.psbt`, PsbtError only);
file dialogs are opened non-modally like every dialog here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.wallet_widgets import copy_text, error_label
from core.errors import PeerwalletError
from core.wallet.psbt import Psbt, parse_psbt, psbt_from_base64, psbt_to_base64, serialize_psbt

PSBT_MAGIC = b"psbt\xff"
FILE_FILTER = "PSBT files (*.psbt);;All files (*)"
MAX_FILE = 10_000_000  # bytes: a larger file is not a PSBT we would sign


def _file_dialog(parent: QWidget, save: bool, name: str) -> QFileDialog:
    dialog = QFileDialog(parent, "Save PSBT" if save else "Open PSBT", str(Path.home()), FILE_FILTER)
    dialog.setObjectName(name)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # a native dialog would block the loop
    if save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("psbt")
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return dialog


def read_psbt_bytes(data: bytes) -> Psbt:
    """A PSBT from file contents: binary (BIP174 magic) or base64 text. PsbtError otherwise."""
    if data.startswith(PSBT_MAGIC):
        return parse_psbt(data)
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    return psbt_from_base64(text)


class PsbtExportDialog(QDialog):
    """Shows an unsigned PSBT as base64 with Copy and Save buttons."""

    def __init__(self, psbt: Psbt, parent: QWidget | None, note: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("psbt_export_dialog")
        self.setWindowTitle("Export PSBT")
        self.resize(640, 360)
        self.psbt = psbt
        layout = QVBoxLayout(self)
        intro = QLabel(note or "Sign this PSBT with another wallet or device, then import the signed PSBT here.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.text = QPlainTextEdit(psbt_to_base64(psbt))
        self.text.setObjectName("psbt_text")
        self.text.setReadOnly(True)
        layout.addWidget(self.text, 1)
        self.saved = QLabel("")
        self.saved.setObjectName("psbt_saved")
        layout.addWidget(self.saved)
        self.error = error_label("psbt_export_error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        copy = QPushButton("Copy to clipboard")
        copy.setObjectName("psbt_copy")
        copy.clicked.connect(self._copy)
        save = QPushButton("Save to file…")
        save.setObjectName("psbt_save")
        save.clicked.connect(self._ask_file)
        row.addWidget(copy)
        row.addWidget(save)
        row.addStretch(1)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        row.addWidget(box)
        layout.addLayout(row)

    def _copy(self) -> None:
        copy_text(self.text.toPlainText())
        self.saved.setText("Copied to the clipboard.")

    def _ask_file(self) -> None:
        dialog = _file_dialog(self, True, "psbt_save_dialog")
        dialog.fileSelected.connect(self.save_to)
        dialog.open()

    def save_to(self, path: str) -> None:
        """Write the PSBT as a binary BIP174 file (a few kB: written on the spot)."""
        try:
            Path(path).write_bytes(serialize_psbt(self.psbt))
        except OSError as e:
            self.error.setText(f"Could not save: {e.strerror or e}")
            return
        self.saved.setText(f"Saved to {path}")


class PsbtImportDialog(QDialog):
    """Paste a signed PSBT or load it from a file; `psbt` is set when accepted."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("psbt_import_dialog")
        self.setWindowTitle("Import signed PSBT")
        self.resize(640, 360)
        self.psbt: Psbt | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Paste the signed PSBT (base64) or load its file. You will review it before it is sent."))
        self.text = QPlainTextEdit()
        self.text.setObjectName("psbt_input")
        layout.addWidget(self.text, 1)
        self.error = error_label("psbt_import_error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        load = QPushButton("Load file…")
        load.setObjectName("psbt_load")
        load.clicked.connect(self._ask_file)
        row.addWidget(load)
        row.addStretch(1)
        box = QDialogButtonBox()
        ok = box.addButton("Review", QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setObjectName("psbt_import_ok")
        box.addButton(QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self._ok)
        box.rejected.connect(self.reject)
        row.addWidget(box)
        layout.addLayout(row)

    def _ask_file(self) -> None:
        dialog = _file_dialog(self, False, "psbt_open_dialog")
        dialog.fileSelected.connect(self.load_from)
        dialog.open()

    def load_from(self, path: str) -> None:
        """Read a PSBT file into the text box (as base64)."""
        try:
            p = Path(path)
            if p.stat().st_size > MAX_FILE:
                self.error.setText("That file is far too large to be a PSBT.")
                return
            psbt = read_psbt_bytes(p.read_bytes())
        except OSError as e:
            self.error.setText(f"Could not read the file: {e.strerror or e}")
            return
        except PeerwalletError as e:
            self.error.setText(f"Not a PSBT: {e}")
            return
        self.text.setPlainText(psbt_to_base64(psbt))
        self.error.setText("")

    def _ok(self) -> None:
        text = "".join(self.text.toPlainText().split())
        try:
            self.psbt = psbt_from_base64(text)
        except PeerwalletError as e:
            self.error.setText(f"Not a valid PSBT: {e}")
            return
        self.accept()
