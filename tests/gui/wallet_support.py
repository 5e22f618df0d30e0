"""Helpers for the wallet-page GUI tests: an app whose sandbox wallet has a password and known coins,
finding the dialogs the flows open (non-modal, top-level), and snapshots of what must not change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from app.context import AppPaths
from core.consensus.network import SANDBOX
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.setup import SetupKind, WalletPlan, create_wallet_file
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet
from tests.gui.conftest import WAIT_MS, App, run, start_app

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
OTHER_MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PASSWORD = "correct horse battery staple"
FAST_KDF = KdfParams(log2_n=10)  # the real scrypt cost is tested in the unit tests
COINS = (5_000_000, 3_000_000)


def other_address(index: int = 0) -> str:
    """An address of someone else's wallet on the sandbox network."""
    return Keychain.from_mnemonic(OTHER_MNEMONIC, "bip84", SANDBOX).address(KeychainKind.RECEIVE, index)


def start_funded_app(qtbot: Any, datadir: Path, password: str | None = PASSWORD) -> App:
    """The app over a fresh sandbox with a BIP84 wallet of MNEMONIC (encrypted with `password`) holding
    COINS, confirmed. The sandbox makes no wallet of its own because this one exists already."""
    plan = WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=MNEMONIC, password=password)
    create_wallet_file(AppPaths(datadir, "sandbox").wallet, plan, kdf=FAST_KDF)
    app = start_app(qtbot, datadir)
    wallet, sbx = app.ctx.wallet, app.ctx.sandbox
    assert wallet is not None and sbx is not None

    async def fund() -> None:
        for value in COINS:
            await sbx.faucet(wallet.new_address().script_pubkey, value)
        await sbx.generate(1)

    run(qtbot, fund())
    qtbot.waitUntil(lambda: wallet.balance().confirmed == sum(COINS) and wallet.balance().unconfirmed == 0, timeout=WAIT_MS)
    return app


def close_app(qtbot: Any, app: App) -> None:
    """Close the window (it delivers the bridge's pending throttled signals first), then the core: a
    throttled "wallet changed" must not reach the pages after the wallet file is closed."""
    app.window.close()
    run(qtbot, app.ctx.close())
    assert not app.task_errors, f"owned tasks failed: {app.task_errors}"


def dialog(name: str) -> QWidget | None:
    """The visible top-level widget (dialog) named `name`, if any."""
    for w in QApplication.topLevelWidgets():
        if w.objectName() == name and w.isVisible():
            return w
    return None


def wait_dialog(qtbot: Any, name: str) -> QWidget:
    """Wait for the dialog `name` to open; returns it."""
    qtbot.waitUntil(lambda: dialog(name) is not None, timeout=WAIT_MS)
    found = dialog(name)
    assert found is not None
    return found


def click(qtbot: Any, parent: QWidget, name: str) -> None:
    """Click the button `name` inside `parent`."""
    button = parent.findChild(QPushButton, name)
    assert button is not None, f"no button {name}"
    assert button.isEnabled(), f"button {name} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@dataclass(frozen=True)
class WalletState:
    """What an error must leave alone."""

    balance: tuple[int, int, int, int]
    history: tuple[tuple[str, int | None], ...]
    receive: tuple[str, ...]
    change: tuple[str, ...]
    next_change_peek: bytes


def snapshot(wallet: Wallet) -> WalletState:
    bal = wallet.balance()
    rows, _ = wallet.history(1000)
    return WalletState(
        (bal.confirmed, bal.unconfirmed, bal.immature, bal.frozen),
        tuple((str(r.txid), r.height) for r in rows),
        tuple(a.address for a in wallet.addresses(KeychainKind.RECEIVE, handed_out_only=True)),
        tuple(a.address for a in wallet.addresses(KeychainKind.CHANGE, handed_out_only=True)),
        wallet._peek_change()[1],
    )
