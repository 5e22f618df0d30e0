"""One wallet transaction in full for a details view, and the history as CSV.

A light wallet knows the value and address of an input only when the output it spends is its own or
belongs to another transaction it recorded; other inputs are shown as unknown rather than guessed.
The CSV export walks the history in keyset pages (`history_csv_pages`) so a caller on an event loop can
yield between pages instead of reading 100,000 rows in one go.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.consensus.amount import format_btc
from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint
from core.script.address import script_to_address
from core.wallet.errors import WalletError
from core.wallet.keychain import KeychainKind

if TYPE_CHECKING:
    from core.consensus.tx import Transaction
    from core.wallet.psbt import Psbt
    from core.wallet.spending import Draft
    from core.wallet.wallet import HistoryEntry, Wallet

CSV_HEADER = ("date", "txid", "height", "confirmations", "label", "received_btc", "sent_btc", "fee_btc", "net_btc")


@dataclass(frozen=True)
class InputDetail:
    """An input: the coin it spends; value and address None when the wallet does not know them."""

    prevout: OutPoint
    value: int | None
    address: str | None
    is_mine: bool


@dataclass(frozen=True)
class OutputDetail:
    """An output; `kind` is the wallet chain it pays (None: someone else's)."""

    n: int
    value: int
    address: str | None
    kind: KeychainKind | None

    @property
    def is_mine(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True)
class TxDetails:
    """A transaction as the wallet sees it."""

    txid: Txid
    height: int | None
    confirmations: int
    time: int
    fee: int | None
    vsize: int
    label: str | None
    replaceable: bool  # BIP125 signalled (matters while unconfirmed)
    inputs: tuple[InputDetail, ...]
    outputs: tuple[OutputDetail, ...]

    @property
    def received(self) -> int:
        return sum(o.value for o in self.outputs if o.is_mine)

    @property
    def sent(self) -> int:
        return sum(i.value or 0 for i in self.inputs if i.is_mine)


def describe_transaction(wallet: Wallet, txid: Txid) -> TxDetails:
    """The recorded transaction `txid` with what the wallet knows of each input and output."""
    rec = wallet.db.get_transaction(bytes(txid))
    if rec is None:
        raise WalletError(f"transaction {txid} is not in this wallet")
    tx = wallet.transaction(txid)
    assert tx is not None
    conn = wallet.db.conn
    inputs = []
    for txin in tx.vin:
        prev = txin.prevout
        row = conn.execute(
            "SELECT value, script_pubkey FROM outputs WHERE txid = ? AND vout = ?", (bytes(prev.txid), prev.n)
        ).fetchone()
        if row is not None:
            inputs.append(InputDetail(prev, row[0], script_to_address(bytes(row[1]), wallet.network), True))
            continue
        parent = wallet.transaction(prev.txid) if not tx.is_coinbase() else None
        if parent is not None and prev.n < len(parent.vout):
            out = parent.vout[prev.n]
            inputs.append(InputDetail(prev, out.value, script_to_address(out.script_pubkey, wallet.network), False))
        else:
            inputs.append(InputDetail(prev, None, None, False))
    outputs = []
    for n, out in enumerate(tx.vout):
        found = wallet.keychain.index_of(out.script_pubkey)
        outputs.append(OutputDetail(n, out.value, script_to_address(out.script_pubkey, wallet.network), found[0] if found else None))
    height = rec.height
    confirmations = 0 if height is None else max(wallet.tip_height - height + 1, 0)
    return TxDetails(
        Txid(bytes(txid)), height, confirmations, rec.time, rec.fee, tx.vsize, wallet.label_of("tx", str(txid)),
        any(i.sequence < 0xFFFFFFFE for i in tx.vin), tuple(inputs), tuple(outputs),
    )


def describe_signed_psbt(wallet: Wallet, psbt: Psbt) -> tuple[Draft, Transaction]:
    """A signed PSBT (from another signer) finalized and described for review like a draft: (draft,
    transaction). WalletError if it is not fully signed or an input's value is missing (no fee shown)."""
    tx = wallet.finalize(psbt)
    values = []
    for i in range(len(psbt.inputs)):
        spent = psbt.spent_output(i)
        if spent is None:
            raise WalletError(f"the PSBT does not say what input {i} spends: its fee cannot be shown")
        values.append(spent.value)
    fee = sum(values) - sum(o.value for o in tx.vout)
    if fee < 0:
        raise WalletError("the PSBT's outputs are worth more than its inputs")
    return wallet._describe(psbt, fee, tx.weight), tx


def _csv_line(entry: HistoryEntry) -> list[str]:
    fee = "" if entry.fee is None or entry.sent == 0 else format_btc(entry.fee)
    return [
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.time)) if entry.time else "",
        str(entry.txid),
        "" if entry.height is None else str(entry.height),
        str(entry.confirmations),
        entry.label or "",
        format_btc(entry.received),
        format_btc(entry.sent),
        fee,
        format_btc(entry.net),
    ]


def history_csv_pages(wallet: Wallet, page_size: int = 2000) -> Iterator[str]:
    """The whole history as CSV text (header first), one chunk per history page, newest first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    cursor = None
    while True:
        rows, cursor = wallet.history(page_size, cursor)
        writer.writerows(_csv_line(r) for r in rows)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if cursor is None:
            return
