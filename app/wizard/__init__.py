"""The first-run wizard and how the app uses it.

At start, when the chosen network has no wallet file, `__main__` runs `run_first_run` before it builds the
main window: the wizard creates the file (or the user picks a network whose wallet exists), the chosen
network is remembered in the settings, and the AppContext then opens that wallet as on any later start.
On the sandbox network the context makes and funds a wallet by itself, so the wizard appears there only
when asked for (`peerwallet --wizard`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QDialog

from app.context import AppContext
from app.spend_dialogs import await_dialog
from app.wizard.wizard import FirstRunWizard
from core.settings import load_settings, save_settings

__all__ = ["FirstRunWizard", "needs_wizard", "run_first_run"]


def needs_wizard(ctx: AppContext, force: bool = False) -> bool:
    """True when `ctx`'s network has no wallet file and is not the sandbox (unless `force`)."""
    return not ctx.paths.wallet.exists() and (force or not ctx.is_sandbox)


async def run_first_run(root: Path, network: str) -> str | None:
    """Show the wizard; the network whose wallet now exists (saved as the settings' network), or None if
    the user closed the wizard."""
    wizard = FirstRunWizard(root, network)
    if await await_dialog(wizard) != QDialog.DialogCode.Accepted or wizard.network is None:
        return None
    chosen = wizard.network
    settings_path = root / "settings.json"
    settings = await asyncio.to_thread(load_settings, settings_path)
    if settings.network != chosen:
        await asyncio.to_thread(save_settings, settings_path, dataclasses.replace(settings, network=chosen))
    return chosen
