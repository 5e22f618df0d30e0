"""The page registry: every page of the main window, in sidebar order.

A page is any QWidget built by `factory(ctx, bridge)`; it reads the core through the AppContext
(`ctx.node`, `ctx.wallet`, `ctx.settings`, may be None before start / without a wallet) and follows
changes through the CoreBridge's signals. The window gives page i the shortcut Ctrl+i (i = 1..9)
unless its spec names another, and names the page widget `page_<key>` unless it has a name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from app.pages.coins import CoinsPage
from app.pages.mempool import MempoolPage
from app.pages.overview import OverviewPage
from app.pages.peers import PeersPage
from app.pages.receive import ReceivePage
from app.pages.send import SendPage
from app.pages.settings import SettingsPage
from app.pages.trade import TradePage
from app.pages.transactions import TransactionsPage

if TYPE_CHECKING:
    from app.bridge import CoreBridge
    from app.context import AppContext

PageFactory = Callable[["AppContext", "CoreBridge"], QWidget]


@dataclass(frozen=True)
class PageSpec:
    """One page: a stable key (object names, tests, screenshots), its sidebar title, how to build it."""

    key: str
    title: str
    factory: PageFactory
    shortcut: str | None = None  # a QKeySequence string; None: Ctrl+<position> for the first nine


PAGES: list[PageSpec] = [
    PageSpec("overview", "Overview", OverviewPage),
    PageSpec("send", "Send", SendPage),
    PageSpec("receive", "Receive", ReceivePage),
    PageSpec("transactions", "Transactions", TransactionsPage),
    PageSpec("coins", "Coins", CoinsPage),
    PageSpec("trade", "Trade", TradePage),
    PageSpec("peers", "Peers", PeersPage),
    PageSpec("mempool", "Mempool", MempoolPage),
    PageSpec("settings", "Settings", SettingsPage),
]
