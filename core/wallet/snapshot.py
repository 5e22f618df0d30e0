"""Reads of a wallet file away from the event loop.

A wallet with very many coins takes longer to read than the loop may block (the coin list of 100,000
unspent outputs: ~1 s). Such reads run in a worker thread on a read-only connection of their own: the
file is in WAL mode, so that connection sees one consistent committed state while the loop's own
connection goes on writing, and never sees a write half done.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.consensus.tx import Transaction
from core.validation.deployments import COINBASE_MATURITY
from core.wallet.errors import StorageError
from core.wallet.keychain import KeychainKind

T = TypeVar("T")
_KINDS = {None: None, 0: KeychainKind.RECEIVE, 1: KeychainKind.CHANGE}


def query_unspent(
    conn: sqlite3.Connection, tip_height: int, include_frozen: bool = True, *, kinds: bool = True
) -> list[tuple]:
    """Unspent outputs as lean tuples (txid, vout, value, script_pubkey, kind, index, height, frozen,
    immature), on any connection to the wallet file. With `kinds=False` the kind is the descriptor's
    `internal` flag (0 receive, 1 change, None) instead of a KeychainKind: every field is then a plain
    value, so the garbage collector untracks the tuples rather than walking them again and again."""
    rows = conn.execute(
        "SELECT o.txid, o.vout, o.value, o.script_pubkey, d.internal, o.idx, t.height, o.frozen,"
        " CASE WHEN t.height IS NOT NULL AND t.height > ? THEN t.raw END"
        " FROM outputs o JOIN transactions t ON t.txid = o.txid LEFT JOIN descriptors d ON d.id = o.descriptor_id"
        " WHERE o.spent_by IS NULL" + ("" if include_frozen else " AND o.frozen = 0"),
        (tip_height - COINBASE_MATURITY + 1,),
    ).fetchall()
    coinbase: dict[bytes, bool] = {}
    out = []
    for txid, vout, value, spk, internal, idx, height, frozen, raw in rows:
        immature = False
        if raw is not None:  # only transactions less than COINBASE_MATURITY deep are parsed
            if txid not in coinbase:
                coinbase[txid] = Transaction.parse(raw).is_coinbase()
            immature = coinbase[txid]
        out.append((txid, vout, value, spk, _KINDS[internal] if kinds else internal, idx, height, frozen == 1, immature))
    return out


@dataclass(frozen=True)
class CoinSnapshot:
    """The unspent outputs (query_unspent's tuples) and the labels a coin list shows."""

    rows: list[tuple]  # query_unspent(kinds=False)
    output_labels: dict[str, str]  # "txid:vout" -> label
    address_labels: dict[str, str]  # address -> label


def coin_snapshot(conn: sqlite3.Connection, tip_height: int) -> CoinSnapshot:
    """Every unspent output with the output and address labels, from one read transaction."""
    own = not conn.in_transaction  # one read transaction: rows and labels of the same moment
    if own:
        conn.execute("BEGIN")
    try:
        rows = query_unspent(conn, tip_height, kinds=False)
        labels = conn.execute(
            "SELECT type, ref, label FROM labels WHERE type IN ('output', 'addr') AND label IS NOT NULL AND label != ''"
        ).fetchall()
    finally:
        if own:
            conn.execute("COMMIT")
    return CoinSnapshot(
        rows,
        {ref: label for type_, ref, label in labels if type_ == "output"},
        {ref: label for type_, ref, label in labels if type_ == "addr"},
    )


def read_file(path: Path, fn: Callable[[sqlite3.Connection], T]) -> T:
    """`fn(conn)` on a fresh read-only connection to the wallet file at `path` (call it off the loop)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=10.0)
    except sqlite3.Error as e:
        raise StorageError(f"cannot read wallet file {path}: {e}") from e
    try:
        return fn(conn)
    except sqlite3.Error as e:
        raise StorageError(f"cannot read wallet file {path}: {e}") from e
    finally:
        conn.close()


async def read_off_loop(path: Path, fn: Callable[[sqlite3.Connection], T]) -> T:
    """`read_file(path, fn)` in a worker thread."""
    return await asyncio.to_thread(read_file, path, fn)
