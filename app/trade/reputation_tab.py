"""The reputation tab (our receipts signed by both traders, the counterparties, the start-small limits
our history earns) and the arbitration tab (our arbitrator keys for offers, the disputes to rule on)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.trade.step_dialogs import wrapped
from app.trade.text import short
from app.trade.trades import TradesTab
from app.wallet_widgets import copy_text, status
from app.widgets import Card, Facts, hbox
from core.settings import Unit
from core.trade.offer import ArbitratorRef
from core.trade.reputation import Reputation, trade_limit

RECEIPT_COLUMNS = ("Block", "You", "Counterparty", "Amount", "Their rating of you", "Your rating", "Payout")
PEER_COLUMNS = ("Counterparty", "Trades", "Volume")


def _table(name: str, columns: tuple[str, ...], stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    for c in range(len(columns)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def _stars(n: int) -> str:
    return "\u2605" * n + "\u2606" * (5 - n) if n else "—"


class ReputationTab(QWidget):
    """`show_reputation(identity, reputation, receipts)`."""

    def __init__(self, unit: Unit) -> None:
        super().__init__()
        self.setObjectName("trade_reputation")
        self.unit = unit
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        card = Card("Your reputation", "rep_card")
        facts = Facts()
        self.identity = facts.add("rep_identity", "Identity key")
        self.summary = facts.add("rep_summary", "Verified trades")
        self.limits = facts.add("rep_limits", "Start-small limits")
        self.limits.setWordWrap(True)
        card.content.addLayout(facts)
        card.content.addWidget(wrapped(
            "Each completed trade leaves a receipt signed by both traders' identity keys (with their ratings). "
            "You show your receipts when you trade; anyone can verify them, and the limits grow with distinct partners."
        ))
        layout.addWidget(card)
        self.receipts = _table("rep_receipts", RECEIPT_COLUMNS, 2)
        self.peers = _table("rep_counterparties", PEER_COLUMNS, 0)
        self.peers.setMaximumWidth(360)
        layout.addLayout(hbox(self.receipts, self.peers), 1)

    def show_reputation(self, identity: str, rep: Reputation, receipts: list[dict[str, Any]]) -> None:
        self.identity.setText(identity)
        if rep.is_new:
            self.summary.setText("none yet")
        else:
            rating = f", rated {rep.average_rating:.1f}/5" if rep.average_rating is not None else ""
            self.summary.setText(f"{rep.trades} with {rep.counterparties} partner{'s' if rep.counterparties != 1 else ''}, "
                                 f"{fmt.amount(rep.volume_sat, self.unit)} in all{rating}")
        self.limits.setText(
            f"makers accept up to {fmt.amount(trade_limit(rep, 'sepa'), self.unit)} from you by methods that cannot be "
            f"reversed, {fmt.amount(trade_limit(rep, 'paypal'), self.unit)} by reversible ones"
        )
        rows = sorted(receipts, key=lambda r: -int(r["height"]))
        self.receipts.setRowCount(len(rows))
        peers: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            buyer = r["buyer"] == identity
            peer = r["seller"] if buyer else r["buyer"]
            peers.setdefault(peer, []).append(int(r["amount_sat"]))
            theirs = r["seller_rating"] if buyer else r["buyer_rating"]
            mine = r["buyer_rating"] if buyer else r["seller_rating"]
            cells = (str(r["height"]), "bought" if buyer else "sold", short(peer, 16),
                     f"{fmt.amount(int(r['amount_sat']), self.unit)} ({r['currency']})", _stars(int(theirs)),
                     _stars(int(mine)), short(r["payout_txid"], 16))
            for c, text in enumerate(cells):
                self.receipts.setItem(i, c, QTableWidgetItem(text))
        self.peers.setRowCount(len(peers))
        for i, (peer, amounts) in enumerate(sorted(peers.items(), key=lambda p: -len(p[1]))):
            for c, text in enumerate((short(peer, 16), str(len(amounts)), fmt.amount(sum(amounts), self.unit))):
                self.peers.setItem(i, c, QTableWidgetItem(text))


class ArbitrationTab(QWidget):
    """Our arbitrator keys and the disputes we were asked to rule on (`self.disputes`, a TradesTab)."""

    def __init__(self, unit: Unit) -> None:
        super().__init__()
        self.setObjectName("trade_arbitration")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        card = Card("Arbitrate for others", "arbitrator_card")
        self.keys = QLabel("—")
        self.keys.setObjectName("arbitrator_keys")
        self.keys.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keys_text = ""
        copy = QPushButton("Copy keys")
        copy.setObjectName("copy_arbitrator_keys")
        copy.clicked.connect(self._copy)
        card.content.addWidget(wrapped(
            "Traders who trust you can name you as their arbitrator with these keys (NOSTR:ESCROW). In a dispute you "
            "read both sides' signed evidence and sign a split; you never hold their money."
        ))
        card.content.addLayout(hbox(self.keys, 1, copy))
        layout.addWidget(card)
        self.disputes = TradesTab("trade_disputes", unit, arbitrator=True,
                                  empty="Disputes of trades that name you as arbitrator show here.")
        self.disputes.layout().setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.disputes, 1)

    def set_keys(self, ref: ArbitratorRef | None) -> None:
        """Shown a key a line (64 hex digits do not wrap); copied as NOSTR:ESCROW."""
        self.keys_text = "" if ref is None else f"{ref.nostr}:{ref.escrow}"
        self.keys.setText("—" if ref is None else f"Nostr {ref.nostr}\nEscrow {ref.escrow}")

    def _copy(self) -> None:
        if self.keys_text:
            copy_text(self.keys_text)
            status(self, "Arbitrator keys copied.")
