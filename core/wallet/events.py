"""Typed events a wallet reports to its listeners (the GUI bridge, the CLI).

They are emitted on the loop thread after the database change they describe has been committed, so a
listener reading the wallet sees the new state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.consensus.hashes import Txid


class RemovalReason(enum.StrEnum):
    """Why a wallet transaction was dropped."""

    REPLACED = "replaced"  # a BIP125 replacement or another unconfirmed double spend took its place
    CONFLICTED = "conflicted"  # a confirmed transaction spends the same coins
    REORGED = "reorged"  # a coinbase whose block left the chain


@dataclass(frozen=True, slots=True)
class TxAdded:
    """A transaction touching the wallet was recorded (from a block or the mempool).

    `net` is what it did to the balance in satoshis (received minus sent); `incoming` is True for a
    payment from others (no wallet inputs), which is what a notification should announce.
    """

    txid: Txid
    height: int | None
    net: int
    incoming: bool


@dataclass(frozen=True, slots=True)
class TxConfirmed:
    """A recorded unconfirmed transaction was mined at `height`."""

    txid: Txid
    height: int


@dataclass(frozen=True, slots=True)
class TxUnconfirmed:
    """A reorg took the block of a recorded transaction away; it is unconfirmed again."""

    txid: Txid
    old_height: int


@dataclass(frozen=True, slots=True)
class TxRemoved:
    """A recorded transaction can no longer confirm and was dropped from the wallet."""

    txid: Txid
    reason: RemovalReason


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    """The balance after a change (satoshis)."""

    confirmed: int
    unconfirmed: int
    immature: int
    frozen: int


WalletEvent = TxAdded | TxConfirmed | TxUnconfirmed | TxRemoved | BalanceChanged
