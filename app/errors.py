"""What the user sees when something fails, and the log kept for bug reports.

Errors meant for users are the core's `PeerwalletError` subclasses (their messages are written
for people: "insufficient funds", "wrong password"); they get a plain message box and are not
logged with their text, because such a message may quote what the user typed (a mistyped seed
word). Anything else is a bug: a dialog says so and where the log is, and the traceback goes to a
rotating log file in the data directory. A filter masks what looks like key material (extended
private keys, WIF keys, runs of seed words) from every log record.

Dialogs are opened non-modally (`open()`, not `exec()`): a nested event loop would re-enter the
asyncio loop qasync runs on Qt's.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import re
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import PeerwalletError

log = logging.getLogger("peerwallet")

LOG_NAME = "peerwallet.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
#: At most this many error dialogs at once; later errors only go to the log.
MAX_DIALOGS = 3

_SECRETS = (
    re.compile(r"\b[xtyzuv]prv[1-9A-HJ-NP-Za-km-z]{90,}"),  # BIP32 extended private keys
    re.compile(r"\b[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}\b"),  # WIF private keys
    re.compile(r"\b(?:[a-z]{3,8}[ ,]+){11,}[a-z]{3,8}\b"),  # 12+ lower-case words: a mnemonic
)


def redact(text: str) -> str:
    """`text` with anything that looks like key material replaced by "[redacted]"."""
    for pattern in _SECRETS:
        text = pattern.sub("[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Masks key-looking strings in a record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def setup_logging(log_dir: Path) -> logging.handlers.RotatingFileHandler:
    """Send the app's and the core's logs (INFO and up) to a rotating file; returns its handler
    (`baseFilename` is the path)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


class ErrorReporter(QObject):
    """Shows errors to the user; `shown` carries each dialog's text (for tests and the status bar)."""

    shown = Signal(str)

    def __init__(self, parent_widget: QWidget | None = None, log_path: Path | None = None) -> None:
        super().__init__()
        self.parent_widget = parent_widget
        self.log_path = log_path
        self.dialogs: list[QMessageBox] = []

    def report(self, exc: BaseException, context: str = "") -> None:
        """Tell the user about `exc`: its message if it is meant for users, a bug notice otherwise."""
        if isinstance(exc, asyncio.CancelledError):
            return
        if isinstance(exc, PeerwalletError):
            log.info("user error %s%s", type(exc).__name__, f" ({context})" if context else "")
            self._dialog(QMessageBox.Icon.Warning, "Peerwallet", str(exc) or type(exc).__name__)
            return
        log.error("unexpected error%s", f" in {context}" if context else "", exc_info=(type(exc), exc, exc.__traceback__))
        where = f"\n\nDetails were written to {self.log_path}." if self.log_path is not None else ""
        self._dialog(
            QMessageBox.Icon.Critical,
            "Peerwallet: unexpected error",
            f"Something went wrong that Peerwallet did not expect ({type(exc).__name__}).{where}",
        )

    def _dialog(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        self.dialogs = [d for d in self.dialogs if d.isVisible()]
        if len(self.dialogs) < MAX_DIALOGS:
            box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent_widget)
            box.setObjectName("error_dialog")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.dialogs.append(box)
        self.shown.emit(text)

    # --- hooks -----------------------------------------------------------------------------------

    def loop_exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """For `loop.set_exception_handler`: unhandled task and callback errors."""
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, str(context.get("message", "")))
        else:
            log.error("event loop: %s", context.get("message"))

    def excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """For `sys.excepthook`: errors raised in Qt slots and callbacks."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.report(exc.with_traceback(tb), "Qt callback")

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route the loop's and Python's unhandled errors here."""
        loop.set_exception_handler(self.loop_exception_handler)
        sys.excepthook = self.excepthook
