"""The wallet file: migrations, version refusal, address hand-out, atomicity, labels, history order, balance."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.wallet.errors import MigrationError, StorageError
from core.wallet.storage import labels as lb
from core.wallet.storage.db import HistoryRow, OutputRecord, TxRecord, WalletDB
from core.wallet.storage.schema import MIGRATIONS, SCHEMA_VERSION, apply_migration


def spk(i: int) -> bytes:
    return b"\x00\x14" + i.to_bytes(20, "big")


def txid(i: int) -> bytes:
    return i.to_bytes(32, "little")


@pytest.fixture
def db(tmp_path: Path) -> WalletDB:
    d = WalletDB.open(tmp_path / "w.sqlite")
    yield d
    d.close()


def test_new_file_is_current_wal_fk(db: WalletDB) -> None:
    assert db.version == SCHEMA_VERSION
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.integrity_check() == ["ok"]


def _file_at_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for v in range(version):
        apply_migration(conn, MIGRATIONS[v])
    conn.execute(f"PRAGMA user_version = {version}")
    if version >= 1:
        conn.execute("INSERT INTO descriptors(descriptor, internal, next_index) VALUES ('wpkh(A)#x', 0, 3)")
        conn.execute("INSERT INTO transactions(txid, raw, height, time) VALUES (?, x'00', 5, 100)", (txid(1),))
        conn.execute(
            "INSERT INTO outputs(txid, vout, value, script_pubkey) VALUES (?, 0, 7000, ?)", (txid(1), spk(1))
        )
    conn.close()


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_migrates_old_file_to_current(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite"
    _file_at_version(path, version)
    with WalletDB.open(path) as db:
        assert db.version == SCHEMA_VERSION
        assert db.integrity_check() == ["ok"]
        lb.set_label(db, lb.Label("tx", "ab" * 32, "rent"))  # a v2 table exists
        if version >= 1:
            [d] = db.descriptors()
            assert d.next_index == 3 and d.descriptor == "wpkh(A)#x"
            assert db.balance().confirmed == 7000
    with WalletDB.open(path) as db:  # reopening is a no-op
        assert db.version == SCHEMA_VERSION
        assert lb.get_label(db, "tx", "ab" * 32).label == "rent"


def test_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    WalletDB.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(MigrationError, match="newer"):
        WalletDB.open(path)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.sqlite"
    _file_at_version(path, 1)
    broken = [*MIGRATIONS[1][:2], "CREATE TABLE oops (", *MIGRATIONS[1][2:]]
    monkeypatch.setattr("core.wallet.storage.db.MIGRATIONS", [MIGRATIONS[0], broken])
    with pytest.raises(MigrationError, match="version 1"):
        WalletDB.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'labels'").fetchone()[0] == 0
    conn.close()


def test_not_a_wallet_file(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError):
        WalletDB.open(path)
    with pytest.raises(StorageError, match="no wallet file"):
        WalletDB.open(tmp_path / "absent", create=False)


def test_next_address_never_repeats(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    seen: list[tuple[int, int]] = []
    with WalletDB.open(path) as db:
        ext = db.add_descriptor("wpkh(E)#1", internal=False)
        chg = db.add_descriptor("wpkh(C)#2", internal=True)
        db.add_addresses(ext, [(i, spk(i)) for i in range(5)])
        for _ in range(8):  # 5 from the look-ahead, then derived on demand
            a = db.next_address(ext, derive=lambda i: spk(i))
            assert a.script_pubkey == spk(a.index) and a.handed_out
            seen.append((ext, a.index))
        seen.append((chg, db.next_address(chg, derive=lambda i: spk(1000 + i)).index))
        with pytest.raises(StorageError, match="not derived"):
            db.next_address(chg)
        # a failure inside a bigger transaction rolls the hand-out back too
        with pytest.raises(RuntimeError), db.transaction():
            db.next_address(ext, derive=lambda i: spk(i))
            raise RuntimeError("boom")
        # an index marked handed out another way is skipped
        db.add_addresses(ext, [(8, spk(8)), (9, spk(9))])
        db.conn.execute("UPDATE addresses SET handed_out = 1 WHERE descriptor_id = ? AND idx = 8", (ext,))
        assert db.next_address(ext).index == 9
        seen.append((ext, 9))
    with WalletDB.open(path) as db:  # reopen: the cursor persisted
        seen.append((ext, db.next_address(ext, derive=lambda i: spk(i)).index))
        assert len(seen) == len(set(seen))
        assert [a.index for a in db.addresses(ext, handed_out_only=True)] == list(range(11))
        assert db.find_script(spk(3)).index == 3
        with pytest.raises(StorageError, match="no descriptor"):
            db.next_address(999, derive=spk)


def test_transaction_atomic_and_errors_wrapped(db: WalletDB) -> None:
    db.add_transaction(TxRecord(txid(1), b"raw", None, None, 10), [OutputRecord(txid(1), 0, 100, spk(1))])
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        db.add_transaction(
            TxRecord(txid(2), b"raw", None, None, 11),
            [OutputRecord(txid(2), 0, 5, spk(2)), OutputRecord(txid(2), 1, 5, spk(2), descriptor_id=77)],
        )
    assert db.get_transaction(txid(2)) is None  # nothing of the failed step remains
    assert db.balance().unconfirmed == 100


def test_balance_and_frozen(db: WalletDB) -> None:
    db.add_transaction(TxRecord(txid(1), b"r", 10, txid(99), 1), [OutputRecord(txid(1), 0, 1000, spk(1))])
    db.add_transaction(TxRecord(txid(2), b"r", 11, txid(98), 2), [OutputRecord(txid(2), 0, 300, spk(2))])
    db.add_transaction(
        TxRecord(txid(3), b"r", None, None, 3, fee=50),
        [OutputRecord(txid(3), 0, 650, spk(3)), OutputRecord(txid(3), 1, 20, spk(4))],
        spends=[(txid(1), 0)],
    )
    b = db.balance()
    assert (b.confirmed, b.unconfirmed, b.frozen) == (300, 670, 0)
    db.set_frozen(txid(2), 0, True)
    b = db.balance()
    assert (b.confirmed, b.unconfirmed, b.frozen, b.spendable) == (0, 670, 300, 670)
    assert {(o.txid, o.vout) for o in db.unspent()} == {(txid(3), 0), (txid(3), 1)}
    db.set_tx_height(txid(3), 12, txid(97), 4)
    assert db.balance().confirmed == 670 and db.get_transaction(txid(3)).fee == 50


def test_history_pagination_order(db: WalletDB) -> None:
    # heights with ties and unconfirmed ones; times with ties
    rows = []
    for i in range(1, 251):
        height = None if i % 17 == 0 else (i * 7) % 40
        rows.append((txid(i), height, (i * 13) % 9))
        db.add_transaction(TxRecord(txid(i), b"r", height, None, (i * 13) % 9), [OutputRecord(txid(i), 0, i, spk(i))])
    db.add_transaction(TxRecord(txid(500), b"r", 3, None, 1), spends=[(txid(1), 0)])
    expected = sorted(rows, key=lambda r: (2**31 - 1 if r[1] is None else r[1], r[2], r[0]), reverse=True)
    got: list[HistoryRow] = []
    page, cursor = db.history_page(30)
    got += page
    while cursor is not None:
        page, cursor = db.history_page(30, cursor)
        assert len(page) <= 30
        got += page
    got_ids = [r.txid for r in got if r.txid != txid(500)]
    assert got_ids == [r[0] for r in expected]
    assert len(got) == 251 and len({r.txid for r in got}) == 251
    assert all(r.height is None for r in got[:14]) and got[14].height is not None
    spender = next(r for r in got if r.txid == txid(500))
    assert (spender.received, spender.sent, spender.delta) == (0, 1, -1)
    assert next(r for r in got if r.txid == txid(5)).delta == 5


def test_meta_settings_secrets(db: WalletDB) -> None:
    db.set_meta("wallet_id", "abc")
    db.set_setting("fee_policy", '{"target": 6}')
    db.put_secret("seed", b"PWSE\x01\x00envelope")
    assert db.get_meta("wallet_id") == "abc" and db.get_meta("nope") is None
    assert db.get_setting("fee_policy") == '{"target": 6}' and db.get_setting("x", "d") == "d"
    assert db.get_secret("seed") == b"PWSE\x01\x00envelope" and db.secret_names() == ["seed"]
    with pytest.raises(StorageError, match="no secret"):
        db.get_secret("xprv")


def test_labels_round_trip(db: WalletDB, tmp_path: Path) -> None:
    records = [
        lb.Label("tx", "f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd", "Rent", "wpkh([d34db33f/84'/0'/0'])"),
        lb.Label("addr", "bc1q34aq5drpuwy3wgl9lhup9892qp6svr8ldzyy7c", "Address \u00e9\u4e2d"),
        lb.Label("output", "f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd:0", "coin", None, False),
        lb.Label("xpub", "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", None),
    ]
    for r in records:
        lb.set_label(db, r)
    text = lb.export_bip329(db)
    assert len(text.splitlines()) == 4 and '"spendable": false' in text
    with WalletDB.open(tmp_path / "other.sqlite") as other:
        assert lb.import_bip329(other, text) == 4
        assert lb.all_labels(other) == lb.all_labels(db) == sorted(records, key=lambda r: (r.type, r.ref))
        assert lb.export_bip329(other) == text
        with pytest.raises(StorageError, match="line 2"):
            lb.import_bip329(other, '{"type":"tx","ref":"a","label":"x"}\n{"type":"bogus","ref":"b"}\n')
        assert lb.get_label(other, "tx", "a") is None  # the bad import changed nothing
        lb.delete_label(other, "addr", records[1].ref)
        assert lb.get_label(other, "addr", records[1].ref) is None
    with pytest.raises(StorageError):
        lb.set_label(db, lb.Label("block", "x", "y"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_bip329_parser_only_storage_errors(text: str) -> None:
    try:
        out = lb.parse_bip329(text)
    except StorageError:
        return
    assert all(r.type in lb.TYPES for r in out)
