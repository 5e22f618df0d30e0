"""Coin snapshots read off the loop (core.wallet.snapshot): the same coins as the loop's own reading, the
labels with them, one committed state (never a write half done), and a typed error for a bad file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.script.address import script_to_address
from core.wallet.errors import StorageError
from core.wallet.snapshot import CoinSnapshot, coin_snapshot, read_file
from core.wallet.wallet import Wallet
from tests.bench.wallet_model_bench import build


@pytest.fixture
def wallet(tmp_path: Path):
    build(tmp_path / "w.sqlite", 300, spend=True)
    w = Wallet.open(tmp_path / "w.sqlite")
    yield w
    w.close()


def test_snapshot_matches_the_loops_reading_with_labels(wallet: Wallet) -> None:
    rows = wallet.unspent_rows()
    assert len(rows) > 100
    first = rows[0]
    outpoint = f"{Txid(bytes(first[0]))}:{first[1]}"
    address = script_to_address(bytes(first[3]), wallet.network)
    assert address is not None
    wallet.set_label("output", outpoint, "cold storage")
    wallet.set_label("addr", address, "from Alice")
    wallet.set_label("tx", str(Txid(bytes(first[0]))), "not a coin label")

    snap = asyncio.run(wallet.coin_snapshot_async(lambda s: s))
    assert isinstance(snap, CoinSnapshot)
    assert sorted(snap.rows) == sorted(wallet.unspent_rows())
    assert snap.output_labels == {outpoint: "cold storage"}
    assert snap.address_labels == {address: "from Alice"}


def test_a_snapshot_sees_committed_state_only(wallet: Wallet) -> None:
    before = len(wallet.unspent_rows())
    victim = wallet.unspent_rows()[0]
    with wallet.db.transaction() as c:  # a write in progress on the loop's connection
        c.execute("UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?", (b"\x01" * 32, victim[0], victim[1]))
        assert len(wallet.unspent_rows()) == before - 1  # the writer sees its own change
        during = read_file(wallet.db.path, lambda conn: coin_snapshot(conn, wallet.tip_height))
        assert len(during.rows) == before  # the reader does not see it before the commit
    after = read_file(wallet.db.path, lambda conn: coin_snapshot(conn, wallet.tip_height))
    assert len(after.rows) == before - 1


def test_snapshot_connections_are_read_only(wallet: Wallet) -> None:
    def write(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM outputs")

    with pytest.raises(StorageError, match="readonly"):
        read_file(wallet.db.path, write)
    assert len(wallet.unspent_rows()) > 100


def test_bad_files_give_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot read wallet file"):
        read_file(tmp_path / "missing.sqlite", lambda conn: coin_snapshot(conn, 0))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 200)
    with pytest.raises(StorageError, match="cannot read wallet file"):
        read_file(junk, lambda conn: coin_snapshot(conn, 0))
