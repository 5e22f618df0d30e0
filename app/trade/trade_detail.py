"""One trade in detail: its single current state with the next action button, secondary actions, warnings,
the facts (amounts, method and risk, payment details once the deposit is broadcast, deposit and payout),
the timeline of signed messages, and the chat (end-to-end encrypted, signed, exportable). For the
arbitrator the timeline lists the evidence both traders sent.

The widget only shows what the page computed (core.trade.guide) and emits what the user asked for.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import format as fmt
from app.trade.step_dialogs import WARN_STYLE, wrapped
from app.trade.text import method_risk, short
from app.widgets import Card, hbox, muted, scaled_font
from core.settings import Unit
from core.trade.context import Role, TradeContext
from core.trade.guide import ACTION_LABELS, TradeGuide

MESSAGE_NAMES = {
    "take": "take request", "accept": "contract accepted", "reject": "take refused", "contract_sig": "contract signature",
    "deposit_part": "deposit contribution", "deposit_psbt": "deposit transaction", "deposit_signed": "deposit signatures",
    "deposit_published": "deposit published", "payment_details": "payment details", "payment_sent": "\u201cI have paid\u201d",
    "release": "release signature", "payout_published": "payout published", "cancel_propose": "cancel proposal",
    "cancel_decline": "cancel declined", "abort": "trade given up", "dispute": "dispute", "evidence": "evidence",
    "ruling": "ruling", "chat": "chat message", "receipt_sig": "receipt signature",
}
SECONDARY = ("decline_cancel", "dispute", "cancel")


def clock(ts: float, *, date: bool = True) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%d %b %H:%M:%S" if date else "%H:%M:%S")


def sender_name(ctx: TradeContext, xonly: str) -> str:
    """"You", "Buyer", "Seller" or "Arbitrator"."""
    if xonly == ctx.my_nostr:
        return "You"
    if ctx.contract is not None:
        c = ctx.contract_obj()
        if xonly == c.buyer.nostr:
            return "Buyer"
        if xonly == c.seller.nostr:
            return "Seller"
        if c.arbitrator is not None and xonly == c.arbitrator.nostr:
            return "Arbitrator"
    return short(xonly)


class TradeDetail(QWidget):
    """Signals carry the trade id: `action_requested(action, id)`, `chat_requested(id, text, to)`,
    `export_requested(id, what)` with what "chat" or "escrow"."""

    action_requested = Signal(str, str)
    chat_requested = Signal(str, str, str)
    export_requested = Signal(str, str)

    def __init__(self, empty: str) -> None:
        super().__init__()
        self.setObjectName("trade_detail")
        self.trade_id = ""
        self.empty = empty
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        head = Card("", "trade_state_card")
        head.title_label.hide()
        self.state = QLabel("")
        self.state.setObjectName("trade_state")
        self.state.setFont(scaled_font(self.state, 1.3, bold=True))
        self.state.setWordWrap(True)
        self.action = QPushButton("")
        self.action.setObjectName("trade_action")
        self.action.setDefault(True)
        self.action.clicked.connect(lambda: self._emit_action(self.action.property("action")))
        top = hbox(self.state, self.action)
        top.setStretch(0, 1)
        head.content.addLayout(top)
        self.explanation = wrapped("")
        self.explanation.setObjectName("trade_explanation")
        head.content.addWidget(self.explanation)
        self.warnings = wrapped("", WARN_STYLE)
        self.warnings.setObjectName("trade_warnings")
        head.content.addWidget(self.warnings)
        self.secondary: dict[str, QPushButton] = {}
        row: list[Any] = []
        for name in SECONDARY:
            button = QPushButton(ACTION_LABELS[name])
            button.setObjectName(f"trade_{name}")
            button.clicked.connect(lambda _c=False, n=name: self._emit_action(n))
            self.secondary[name] = button
            row.append(button)
        self.export_escrow = QPushButton("Export escrow…")
        self.export_escrow.setObjectName("trade_export_escrow")
        self.export_escrow.setToolTip("Descriptor, keys and terms to spend the escrow with another wallet")
        self.export_escrow.clicked.connect(lambda: self.export_requested.emit(self.trade_id, "escrow"))
        head.content.addLayout(hbox(*row, None, self.export_escrow))
        outer.addWidget(head)

        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(14)
        self.facts.setVerticalSpacing(4)
        self.values: dict[str, QLabel] = {}
        for i, (key, name) in enumerate((
            ("trade_amount", "Amount"), ("trade_price", "Price"), ("trade_method", "Method"),
            ("trade_peer", "Counterparty"), ("trade_peer_account", "Their payment details"),
            ("trade_my_account", "Your payment account"), ("trade_deposit", "Deposit"), ("trade_payout", "Payout"),
        )):
            label = QLabel("—")
            label.setObjectName(key)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.values[key] = label
            r, c = divmod(i, 2)
            self.facts.addWidget(muted(QLabel(name)), r, c * 2)
            self.facts.addWidget(label, r, c * 2 + 1)
        self.facts.setColumnStretch(1, 1)
        self.facts.setColumnStretch(3, 1)
        outer.addLayout(self.facts)

        split = QSplitter()
        split.setChildrenCollapsible(False)
        timeline_box = QWidget()
        tl = QVBoxLayout(timeline_box)
        tl.setContentsMargins(0, 6, 0, 0)
        self.timeline_title = QLabel("Timeline")
        self.timeline_title.setFont(scaled_font(self.timeline_title, 1.0, bold=True))
        tl.addWidget(self.timeline_title)
        self.timeline = QListWidget()
        self.timeline.setObjectName("trade_timeline")
        self.timeline.setWordWrap(True)
        tl.addWidget(self.timeline, 1)
        split.addWidget(timeline_box)
        chat_box = QWidget()
        cl = QVBoxLayout(chat_box)
        cl.setContentsMargins(0, 6, 0, 0)
        title = QLabel("Chat")
        title.setFont(scaled_font(title, 1.0, bold=True))
        self.export_chat = QPushButton("Export transcript…")
        self.export_chat.setObjectName("chat_export")
        self.export_chat.setToolTip("The signed messages as JSON: evidence anyone can verify")
        self.export_chat.clicked.connect(lambda: self.export_requested.emit(self.trade_id, "chat"))
        cl.addLayout(hbox(title, muted(QLabel("end-to-end encrypted, signed")), None, self.export_chat))
        self.chat = QListWidget()
        self.chat.setObjectName("chat_list")
        self.chat.setWordWrap(True)
        cl.addWidget(self.chat, 1)
        self.chat_to = QComboBox()
        self.chat_to.setObjectName("chat_to")
        self.chat_input = QLineEdit()
        self.chat_input.setObjectName("chat_input")
        self.chat_input.setPlaceholderText("Message")
        self.chat_input.setMaxLength(1000)
        self.chat_input.returnPressed.connect(self._send)
        self.chat_send = QPushButton("Send")
        self.chat_send.setObjectName("chat_send")
        self.chat_send.clicked.connect(self._send)
        cl.addLayout(hbox(self.chat_to, self.chat_input, self.chat_send))
        split.addWidget(chat_box)
        split.setSizes([300, 420])
        outer.addWidget(split, 1)
        self.show_trade(None, None, [], [], Unit.BTC)

    # --- showing ---------------------------------------------------------------------------------
    def show_trade(self, ctx: TradeContext | None, g: TradeGuide | None, timeline: list[dict[str, Any]],
                   chat: list[dict[str, Any]], unit: Unit) -> None:
        """Show one trade (None: nothing selected)."""
        for w in (self.action, self.export_escrow, self.export_chat, self.chat_input, self.chat_send, self.chat_to):
            w.setEnabled(ctx is not None)
        if ctx is None or g is None:
            self.trade_id = ""
            self.state.setText("No trade selected")
            self.explanation.setText(self.empty)
            self.chat_to.hide()
            self.warnings.setText("")
            self.action.hide()
            for b in self.secondary.values():
                b.hide()
            for label in self.values.values():
                label.setText("—")
            self.timeline.clear()
            self.chat.clear()
            return
        changed = ctx.trade_id != self.trade_id
        self.trade_id = ctx.trade_id
        self.state.setText(g.title)
        self.explanation.setText(g.explanation)
        self.warnings.setText("\n".join(f"\u26a0 {w}" for w in g.warnings))
        self.action.setVisible(bool(g.action))
        self.action.setText(g.action_label)
        self.action.setProperty("action", g.action)
        for name, button in self.secondary.items():
            button.setVisible(name in g.secondary)
        self.export_escrow.setEnabled(ctx.contract is not None)
        self._facts(ctx, g, unit)
        self._timeline(ctx, timeline)
        self._chat(ctx, chat, changed)

    def _facts(self, ctx: TradeContext, g: TradeGuide, unit: Unit) -> None:
        v, put = g.view, self.values
        put["trade_amount"].setText(fmt.amount(v.amount_sat, unit) if v.amount_sat else "—")
        fiat = f": {Decimal(v.fiat_amount):,.2f} {v.currency}" if v.fiat_amount else ""
        put["trade_price"].setText(f"{Decimal(v.price):,.2f} {v.currency}/BTC{fiat}" if v.price else "—")
        put["trade_method"].setText(method_risk(v.method, note=False) if v.method else "—")
        put["trade_method"].setToolTip(method_risk(v.method) if v.method else "")
        rep = g.peer_reputation
        if ctx.role is Role.ARBITRATOR:
            put["trade_peer"].setText("Buyer and seller (see the evidence)")
        elif rep is None:
            put["trade_peer"].setText("—")
        elif rep.is_new:
            put["trade_peer"].setText("New: no verified receipts")
        else:
            stars = f", rated {rep.average_rating:.1f}/5" if rep.average_rating is not None else ""
            put["trade_peer"].setText(f"{rep.trades} verified trade{'s' if rep.trades != 1 else ''} with "
                                      f"{rep.counterparties} partner{'s' if rep.counterparties != 1 else ''}{stars}")
        if g.show_payment_details:
            put["trade_peer_account"].setText(v.peer_account)
        elif ctx.role is Role.ARBITRATOR:
            put["trade_peer_account"].setText("in the evidence")
        else:
            put["trade_peer_account"].setText("shown once the deposit is broadcast")
        put["trade_my_account"].setText(ctx.my_account or "—")
        if not v.deposit_txid:
            put["trade_deposit"].setText("not yet broadcast")
        elif g.confirmations < 0:
            put["trade_deposit"].setText(f"{short(v.deposit_txid, 12)} · unconfirmed")
        else:
            put["trade_deposit"].setText(f"{short(v.deposit_txid, 12)} · {g.confirmations} confirmation"
                                         f"{'s' if g.confirmations != 1 else ''} (needs {g.confirmations_needed})")
        if v.payout_txid:
            where = "confirmed" if ctx.payout_height >= 0 else "unconfirmed"
            put["trade_payout"].setText(f"{short(v.payout_txid, 12)} · {v.payout_kind or 'payout'}, {where}")
        else:
            put["trade_payout"].setText("—")

    def _timeline(self, ctx: TradeContext, messages: list[dict[str, Any]]) -> None:
        lines = []
        if ctx.created_at:
            lines.append(f"{clock(ctx.created_at)}  Trade started")
        for m in messages:
            arrow = "\u2192 sent" if m["direction"] == "out" else "\u2190 received"
            what = MESSAGE_NAMES.get(m["kind"], m["kind"])
            tail = f" (rejected: {m['reason']})" if m["status"] == "rejected" else ""
            lines.append(f"{clock(m['at'], date=False)}  {arrow}: {what}{tail}")
        if ctx.role is Role.ARBITRATOR:
            self.timeline_title.setText("Evidence")
            for item in ctx.evidence:
                texts = [msg["body"].get("text", msg["kind"]) for msg in item.get("transcript", [])]
                lines.append(f"From the {item['from']}: notes \u201c{item.get('notes') or '—'}\u201d; account "
                             f"\u201c{item.get('account') or '—'}\u201d; {len(texts)} signed message(s)"
                             + (f": {' | '.join(str(t) for t in texts[-5:])}" if texts else ""))
        else:
            self.timeline_title.setText("Timeline")
        lines += [f"\u2022 {n}" for n in ctx.notes]
        if [self.timeline.item(i).text() for i in range(self.timeline.count())] != lines:
            self.timeline.clear()
            self.timeline.addItems(lines)
            self.timeline.scrollToBottom()

    def _chat(self, ctx: TradeContext, messages: list[dict[str, Any]], changed: bool) -> None:
        lines = [f"{sender_name(ctx, m['from'])} · {clock(m['ts'], date=False)}\n{m['body'].get('text', '')}" for m in messages]
        if [self.chat.item(i).text() for i in range(self.chat.count())] != lines:
            self.chat.clear()
            self.chat.addItems(lines)
            self.chat.scrollToBottom()
        targets = self._targets(ctx)
        if changed or [self.chat_to.itemData(i) for i in range(self.chat_to.count())] != [t for t, _ in targets]:
            self.chat_to.clear()
            for data, text in targets:
                self.chat_to.addItem(text, data)
        self.chat_to.setVisible(len(targets) > 1)

    @staticmethod
    def _targets(ctx: TradeContext) -> list[tuple[str, str]]:
        if ctx.role is Role.ARBITRATOR:
            return [("buyer", "To the buyer"), ("seller", "To the seller")]
        out = [("peer", "To the " + ("seller" if ctx.role is Role.BUYER else "buyer"))]
        if ctx.dispute_by and ctx.contract is not None and ctx.contract_obj().arbitrator is not None:
            out.append(("arbitrator", "To the arbitrator"))
        return out

    # --- user ------------------------------------------------------------------------------------
    def _emit_action(self, action: Any) -> None:
        if self.trade_id and action:
            self.action_requested.emit(str(action), self.trade_id)

    def _send(self) -> None:
        text = self.chat_input.text().strip()
        if self.trade_id and text:
            self.chat_requested.emit(self.trade_id, text, str(self.chat_to.currentData() or "peer"))
            self.chat_input.clear()
