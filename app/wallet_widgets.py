"""Small helpers of the wallet pages: inline error labels, non-modal message boxes, the clipboard, the
window's status bar, and a model-index helper. No logic: everything they show comes from the core."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QWidget

#: Readable on light and dark backgrounds alike (the palette has no "error" role).
ERROR_STYLE = "color: #d64541;"


def error_label(name: str) -> QLabel:
    """An empty inline error line (word-wrapped, selectable) named `name`."""
    label = QLabel("")
    label.setObjectName(name)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def message(parent: QWidget | None, title: str, text: str, *, error: bool = False, name: str = "") -> QMessageBox:
    """Show a message box without a nested event loop (open(), deleted on close)."""
    icon = QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name or ("error_dialog" if error else "info_dialog"))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.open()
    return box


def copy_text(text: str) -> None:
    """Put `text` on the clipboard."""
    QGuiApplication.clipboard().setText(text)


def status(widget: QWidget, text: str, ms: int = 10_000) -> None:
    """Show `text` in the status bar of `widget`'s main window (if it has one)."""
    window = widget.window()
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, ms)


def sentence(text: str) -> str:
    """`text` with its first letter upper-case (core messages start lower-case; the rest is kept as is)."""
    return text[:1].upper() + text[1:]
