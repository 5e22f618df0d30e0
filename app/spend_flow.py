"""The one path every outgoing transaction takes in the window: review → password → sign (off the loop) →
finalize → broadcast. The send page, fee bumps and CPFP children all go through `review_and_send`, so a
transaction is never signed without the user having seen its review, and nothing is recorded or handed
out unless it was broadcast (drafts only peek at the change address)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QWidget

from app import format as fmt
from app.psbt_dialogs import PsbtExportDialog
from app.spend_dialogs import ReviewDialog, await_dialog, obtain_password
from app.wallet_widgets import message, sentence
from core.consensus.tx import Transaction
from core.errors import PeerwalletError
from core.settings import Unit
from core.wallet.errors import InsufficientFunds
from core.wallet.spending import Draft
from core.wallet.wallet import Wallet


def describe_error(exc: PeerwalletError, wallet: Wallet | None, unit: Unit) -> str:
    """A user error as one sentence; InsufficientFunds also says how much is missing and what is spendable."""
    if isinstance(exc, InsufficientFunds):
        have = f" (spendable: {fmt.amount(wallet.balance().spendable, unit)})" if wallet is not None else ""
        return f"Insufficient funds: {fmt.amount(exc.shortfall, unit)} more is needed{have}."
    return sentence(str(exc) or type(exc).__name__)


async def review_and_send(
    wallet: Wallet, draft: Draft, unit: Unit, parent: QWidget, *, title: str = "Review payment",
    label: str | None = None, signed: Transaction | None = None,
) -> Transaction | None:
    """Show the review; on confirmation sign (asking for the password), finalize and broadcast.

    `signed` is a transaction already signed elsewhere (an imported PSBT): it is only broadcast. A
    watch-only wallet offers the PSBT for an external signer instead. Returns the broadcast transaction,
    or None if the user stopped. PeerwalletError (wrong network, not fully signed...) propagates.
    """
    watch_only = wallet.info.watch_only and signed is None
    action = "Export PSBT" if watch_only else ("Send" if signed is not None else "Sign and send")
    review = ReviewDialog(draft, unit, parent, title=title, action=action)
    if await await_dialog(review) != QDialog.DialogCode.Accepted:
        return None
    if watch_only:
        await await_dialog(PsbtExportDialog(draft.psbt, parent, "This wallet has no keys: sign the PSBT elsewhere, then import it."))
        return None
    tx = signed
    if tx is None:
        ok, password = await obtain_password(wallet, parent)
        if not ok:
            return None
        await wallet.sign(draft.psbt, password)
        tx = wallet.finalize(draft.psbt)
    wallet.broadcast(tx)
    if label:
        wallet.set_label("tx", str(tx.txid), label)
    return tx


def show_error(parent: QWidget, exc: PeerwalletError, wallet: Wallet | None, unit: Unit, title: str = "Not sent") -> str:
    """Tell the user in a message box; returns the text (for an inline label too)."""
    text = describe_error(exc, wallet, unit)
    message(parent, title, text, error=True)
    return text
