"""The relays trading uses (the `trade_relays` setting): one URL a line, each checked before it is kept.
On the sandbox the local relay is always used and this list is ignored."""

from __future__ import annotations

from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.trade.step_dialogs import _StepDialog, buttons, wrapped
from app.wallet_widgets import error_label, sentence
from core.settings import SettingsError, parse_relay


class RelaysDialog(_StepDialog):
    """Accepted with `relays` set (in order, without repeats)."""

    def __init__(self, relays: tuple[str, ...], sandbox: bool, parent: QWidget | None) -> None:
        super().__init__("relays_dialog", "Nostr relays", parent)
        self.relays: tuple[str, ...] = relays
        self.layout_.addWidget(wrapped(
            "Offers and the (end-to-end encrypted) trade messages travel through these relays. Use several: a "
            "relay that goes away then loses nothing. One wss:// address a line."
            + (" The sandbox always uses its own local relay; this list is for the other networks." if sandbox else "")
        ))
        self.text = QPlainTextEdit("\n".join(relays))
        self.text.setObjectName("relays_text")
        self.text.setPlaceholderText("wss://relay.example")
        self.layout_.addWidget(self.text)
        self.error = error_label("relays_error")
        self.layout_.addWidget(self.error)
        box, _ = buttons(self, "Save", "relays_save", "relays_cancel")
        box.accepted.connect(self._accept)
        self.layout_.addWidget(box)

    def _accept(self) -> None:
        lines = [line.strip() for line in self.text.toPlainText().splitlines() if line.strip()]
        try:
            relays = tuple(dict.fromkeys(parse_relay(line) for line in lines))
        except SettingsError as e:
            self.error.setText(sentence(str(e)) + ".")
            return
        self.relays = relays
        self.accept()
