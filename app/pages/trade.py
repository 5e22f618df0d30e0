"""Trade: buy and sell bitcoin directly with other people, the bitcoin held in an escrow both traders
fund (core/trade). Tabs: the offer book, a create-offer form, our offers, our trades (one state, the
single next action, a timeline and the encrypted chat each), our reputation, and arbitration.

The page only reads the core's read models (core.trade.book_view, core.trade.guide, core.trade.views)
and turns clicks into TradeEngine actions; every rule (when "pay now" shows, the release checklist,
start-small limits) is the core's. It follows the TradeBridge: the engine's status and its coalesced
updates; a hidden page re-reads when shown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QPushButton, QTabWidget

from app.bridge import CoreBridge
from app.context import AppContext
from app.spend_dialogs import PasswordDialog, await_dialog
from app.trade.book import OfferBookTab
from app.trade.bridge import TradeBridge
from app.trade.create import CreateOfferTab, OfferForm
from app.trade.my_offers import MyOffersTab
from app.trade.notices import TradeNotifier
from app.trade.relays_dialog import RelaysDialog
from app.trade.reputation_tab import ArbitrationTab, ReputationTab
from app.trade.step_dialogs import (
    CancelDialog,
    DisputeDialog,
    PaidDialog,
    RateDialog,
    ReleaseChecklistDialog,
    RuleDialog,
)
from app.trade.take_dialog import TakeDialog
from app.trade.text import arbitrator_text
from app.trade.trades import TradesTab
from app.wallet_widgets import message, sentence, status
from app.widgets import Page, muted
from core.errors import PeerwalletError
from core.settings import Unit
from core.trade.book_view import BookRow, book_rows
from core.trade.engine import TradeEngine
from core.trade.guide import guide
from core.trade.offer import Offer
from core.trade.protocol_types import State
from core.trade.session import SessionState
from core.trade.views import export_escrow, my_reputation, timeline, transcript

TABS = ("book", "create", "offers", "trades", "reputation", "arbitration")


class TradePage(Page):
    """See the module docstring. `tabs` holds the tab widgets by key; `task` is the running flow."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Trade", "Buy and sell bitcoin directly with other people. The bitcoin waits in an escrow "
                                  "you both fund; only the seller's confirmation of the payment releases it.")
        self.setObjectName("page_trade")
        self.ctx = ctx
        self.unit: Unit = ctx.settings.unit
        self.task: asyncio.Task[Any] | None = None
        self._stale = True
        self.status_label = muted(QLabel(""))
        self.status_label.setObjectName("trade_status")
        self.unlock_button = QPushButton("Unlock trading…")
        self.unlock_button.setObjectName("unlock_trading")
        self.unlock_button.clicked.connect(lambda: self._start(self._unlock(), "unlock trading"))
        self.relays_button = QPushButton("Relays…")
        self.relays_button.setObjectName("edit_relays")
        self.relays_button.clicked.connect(lambda: self._start(self._edit_relays(), "relays"))
        self.header_tools.addWidget(self.status_label)
        self.header_tools.addWidget(self.unlock_button)
        self.header_tools.addWidget(self.relays_button)

        self.book = OfferBookTab(self.unit)
        self.create = CreateOfferTab(ctx.params.network.name, self.unit)
        self.my_offers = MyOffersTab(self.unit)
        self.trades = TradesTab("trade_trades", self.unit)
        self.reputation = ReputationTab(self.unit)
        self.arbitration = ArbitrationTab(self.unit)
        self.tab_widget = QTabWidget()
        self.tab_widget.setObjectName("trade_tabs")
        self.tabs: dict[str, Any] = dict(zip(TABS, (self.book, self.create, self.my_offers, self.trades, self.reputation,
                                                     self.arbitration), strict=True))
        for key, title in zip(TABS, ("Offer book", "Create offer", "My offers", "My trades", "Reputation", "Arbitration"),
                              strict=True):
            self.tab_widget.addTab(self.tabs[key], title)
        self.body.addWidget(self.tab_widget, 1)

        self.book.take_requested.connect(lambda row: self._start(self._take(row), "take offer"))
        self.create.publish_requested.connect(lambda form: self._start(self._publish(form), "publish offer"))
        self.my_offers.withdraw_requested.connect(lambda oid: self._start(self._withdraw(oid), "withdraw offer"))
        for tab in (self.trades, self.arbitration.disputes):
            tab.on_select = lambda _tid, tab=tab: self._show_detail(tab)
            tab.detail.action_requested.connect(lambda action, tid: self._start(self._act(action, tid), action))
            # Chat is not one of the page's flows: a message sent while a dialog is open must not be dropped.
            tab.detail.chat_requested.connect(
                lambda tid, text, to: self.ctx.spawn(self._guarded(self._chat(tid, text, to), "chat"), "chat"))
            tab.detail.export_requested.connect(self._ask_export)
        self.tab_widget.currentChanged.connect(lambda _i: self.refresh())

        self.trade_bridge = TradeBridge(ctx, self)
        self.notifier = TradeNotifier(self.trade_bridge.notice, self)
        self.trade_bridge.status.connect(self._on_status)
        self.trade_bridge.changed.connect(self._changed)
        # Bound methods, not lambdas: Qt disconnects them when the page is deleted (the bridge lives on).
        bridge.chain_tip.connect(self._on_tip)
        bridge.settings_changed.connect(self._on_settings)
        self._show_status()

    # --- reading -----------------------------------------------------------------------------------
    @property
    def engine(self) -> TradeEngine | None:
        return self.trade_bridge.engine

    def _on_status(self, _status: object) -> None:
        self._changed()

    def _on_tip(self, _tip: object) -> None:
        self._changed()

    def _on_settings(self, settings: object, _restart: object) -> None:
        self._set_unit(settings.unit)  # type: ignore[attr-defined]

    def _changed(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _show_status(self) -> None:
        st = self.ctx.trade.status
        self.status_label.setText(st.message)
        self.unlock_button.setVisible(st.state is SessionState.LOCKED)
        bot = self.ctx.trade.bot_arbitrator
        own = self.engine.keys.arbitrator_ref if self.engine is not None else None
        self.create.set_arbitrators(bot, own)
        self.create.publish.setEnabled(self.engine is not None)
        self.book.bot_arbitrator = self.my_offers.bot_arbitrator = bot
        self.arbitration.set_keys(own)

    def refresh(self) -> None:
        """Re-read everything the page shows from the engine's store."""
        self._stale = False
        self._show_status()
        e = self.engine
        if e is None:
            self.book.set_rows([])
            return
        current = TABS[self.tab_widget.currentIndex()]
        if current in ("book", "create"):
            self.book.set_rows(book_rows(e.store, e.book, self.ctx.params.network.name))
        if current == "offers":
            self.my_offers.set_offers([(Offer.from_json(o), s) for o, _m, s in e.store.offers(mine=True)])
        if current in ("trades", "arbitration"):
            items = [(row, guide(row, e.tip)) for row in e.store.trades()]
            self.trades.set_trades(items)
            self.arbitration.disputes.set_trades(items)
        if current == "reputation":
            me = e.keys.identity.xonly
            self.reputation.show_reputation(me, my_reputation(e.store, me), e.store.receipts(me))

    def _show_detail(self, tab: TradesTab) -> None:
        e, trade_id = self.engine, tab.selected_id()
        row = e.store.trade(trade_id) if e is not None and trade_id else None
        if e is None or row is None:
            tab.detail.show_trade(None, None, [], [], self.unit)
            return
        tab.detail.show_trade(row.ctx, guide(row, e.tip), timeline(e.store, row.trade_id), transcript(e.store, row.trade_id),
                              self.unit)

    def _set_unit(self, unit: Unit | str) -> None:
        self.unit = Unit(unit)
        for tab in (self.book, self.create, self.my_offers):
            tab.set_unit(self.unit)
        for tab in (self.trades, self.arbitration.disputes, self.reputation):
            tab.unit = self.unit
        self._changed()

    def show_tab(self, key: str) -> None:
        self.tab_widget.setCurrentIndex(TABS.index(key))

    async def screenshot_hook(self) -> None:
        """For --screenshots: wait until trading runs and the bots' offers are in the book."""
        runtime = self.ctx.trade
        while not runtime.started:
            await asyncio.sleep(0.1)
        while self.ctx.is_sandbox and self.engine is not None and (
            not runtime.bots_ready or len(book_rows(self.engine.store, self.engine.book, self.ctx.params.network.name)) < 5
        ):
            await asyncio.sleep(0.1)
        self.show_tab("book")
        self.refresh()

    # --- flows -------------------------------------------------------------------------------------
    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self.task is not None and not self.task.done():
            coro.close()
            return
        self.task = self.ctx.spawn(self._guarded(coro, name), name)

    async def _guarded(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except PeerwalletError as e:  # the engine refused: say why, nothing changed
            message(self, "Trade", sentence(str(e)) + ".", error=True, name="trade_error_dialog")
        self.refresh()

    async def _unlock(self) -> None:
        dialog = PasswordDialog(self.ctx.trade.unlock, self, "unlock trading")
        await await_dialog(dialog)

    async def _edit_relays(self) -> None:
        ctx = self.ctx
        dialog = RelaysDialog(ctx.settings.trade_relays, ctx.is_sandbox, self)
        if await await_dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        await ctx.update_settings(ctx.settings.replace(trade_relays=dialog.relays))
        if ctx.is_sandbox:
            return
        if ctx.trade.engine is None and ctx.trade.status.state is SessionState.NO_RELAYS:
            await ctx.trade.start()  # trading starts now that there are relays
        elif ctx.trade.engine is not None:
            status(self, "The new relays are used from the next start.")

    async def _take(self, row: BookRow) -> None:
        e = self.engine
        if e is None or row.offer is None:
            return
        me = my_reputation(e.store, e.keys.identity.xonly)
        arbitrator = arbitrator_text(row.arbitrator, self.ctx.trade.bot_arbitrator)
        dialog = TakeDialog(row, self.unit, me, e.market_price(row.currency), arbitrator, self)
        if await await_dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        trade_id = await e.take(row.offer.id, dialog.amount_sat, dialog.method, dialog.account)
        status(self, "Offer taken: the maker checks it and signs the contract.")
        self.show_tab("trades")
        self.refresh()
        self.trades.select(trade_id)

    async def _publish(self, form: OfferForm) -> None:
        e = self.engine
        if e is None:
            return
        offer = await e.create_offer(
            form.side, form.min_sat, form.max_sat, form.currency, form.methods, form.account, price=form.price,
            premium_pct=form.premium_pct, deposit_bp=form.deposit_bp, arbitrator=form.arbitrator, t1_blocks=form.t1_blocks,
            confirmations=form.confirmations,
        )
        self.create.clear()
        status(self, f"Offer {offer.id[:8]} published.")
        self.show_tab("offers")

    async def _withdraw(self, offer_id: str) -> None:
        if self.engine is not None:
            await self.engine.cancel_offer(offer_id)
            status(self, "Offer withdrawn.")

    async def _chat(self, trade_id: str, text: str, to: str) -> None:
        if self.engine is not None:
            await self.engine.chat(trade_id, text, to)

    async def _act(self, action: str, trade_id: str) -> None:
        """One of a trade's actions, behind its dialog where it has one."""
        e = self.engine
        row = e.store.trade(trade_id) if e is not None else None
        if e is None or row is None:
            return
        view = guide(row, e.tip).view
        accepted = QDialog.DialogCode.Accepted
        if action == "paid":
            paid = PaidDialog(view, self.unit, self)
            if await await_dialog(paid) == accepted:
                await e.paid(trade_id, paid.note.text().strip())
        elif action == "received":
            check = ReleaseChecklistDialog(view, row.ctx.paid_note, self.unit, self)
            if await await_dialog(check) == accepted and check.complete:
                await e.received(trade_id, credited=check.credited.isChecked(), sender_matches=check.sender_match.isChecked(),
                                 not_reversible=check.final.isChecked())
        elif action == "dispute":
            dispute = DisputeDialog(self)
            if await await_dialog(dispute) == accepted:
                await e.dispute(trade_id, dispute.reason.text().strip(), dispute.notes.toPlainText().strip())
        elif action == "cancel":
            cancel = CancelDialog(bool(row.ctx.deposit_txid), self)
            if await await_dialog(cancel) == accepted:
                await e.cancel(trade_id, cancel.reason.text().strip())
        elif action == "rule":
            rule = RuleDialog(row.ctx.contract_obj(), self.unit, self)
            if await await_dialog(rule) == accepted:
                await e.rule(trade_id, *rule.split, reason=rule.reason.text().strip())
        elif action == "rate":
            rate = RateDialog(self)
            if await await_dialog(rate) == accepted:
                await e.rate(trade_id, rate.rating)
        elif action in ("accept_cancel", "decline_cancel", "accept_ruling", "refund"):
            await getattr(e, action)(trade_id)
        new = e.store.trade(trade_id)
        if new is not None and new.state is not row.state and new.state is not State.OFFER_OPEN:
            status(self, f"Trade {trade_id[:8]}: {guide(new, e.tip).title}.")

    # --- exports -----------------------------------------------------------------------------------
    def _ask_export(self, trade_id: str, what: str) -> None:
        suggested = f"trade-{trade_id[:8]}-{'chat' if what == 'chat' else 'escrow'}.json"
        dialog = QFileDialog(self, "Export", str(Path.home() / suggested))
        dialog.setObjectName("trade_file_dialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # a native dialog would block the loop
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda path: self._start(self.export(trade_id, what, Path(path)), "trade export"))
        dialog.open()

    async def export(self, trade_id: str, what: str, path: Path) -> None:
        """Write the signed chat transcript (dispute evidence) or the escrow's recovery data as JSON."""
        e = self.engine
        row = e.store.trade(trade_id) if e is not None else None
        if e is None or row is None:
            return
        if what == "chat":
            doc: dict[str, Any] = {"trade_id": trade_id, "messages": transcript(e.store, trade_id),
                                   "note": "each message is signed by its sender's per-trade key (BIP340)"}
        else:
            doc = export_escrow(row.ctx)
        text = json.dumps(doc, indent=1, sort_keys=True)
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as err:
            message(self, "Export", f"Could not write {path}: {err.strerror or err}", error=True)
            return
        status(self, f"Exported to {path}")
