"""The coin list's model: columns of plain values built off the loop (core.wallet.snapshot) show the same
coins as the wallet's own reading, largest first, with output and address labels, states and check
marks; a freeze shows at once."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from app.models.coins import ADDRESS, AMOUNT, COIN, LABEL, STATE, CoinColumns, CoinsModel
from core.consensus.hashes import Txid
from core.script.address import script_to_address
from core.wallet.snapshot import coin_snapshot
from core.wallet.wallet import Wallet
from tests.bench.wallet_model_bench import build


def test_columns_show_the_wallets_coins_with_labels_and_states(qtbot: Any, tmp_path: Path) -> None:
    build(tmp_path / "w.sqlite", 400, spend=True)
    wallet = Wallet.open(tmp_path / "w.sqlite")
    try:
        coins = wallet.coins()
        biggest = max(coins, key=lambda c: c.value)
        other = min(coins, key=lambda c: c.value)
        wallet.set_label("output", f"{biggest.outpoint.txid}:{biggest.outpoint.n}", "savings")
        other_address = script_to_address(other.script_pubkey, wallet.network)
        assert other_address is not None
        wallet.set_label("addr", other_address, "from Bob")

        off_loop, addr_labels = asyncio.run(wallet.coin_snapshot_async(CoinsModel.build))
        assert isinstance(off_loop, CoinColumns) and len(off_loop) == len(coins)
        model = CoinsModel(checkable=True)
        model.set_rows(wallet, model.unit, off_loop, addr_labels)
        on_loop = CoinsModel()
        on_loop.set_rows(wallet, on_loop.unit, *CoinsModel.build(coin_snapshot(wallet.db.conn, wallet.tip_height)))
        assert [(c.outpoint, c.value) for c in model.rows] == [(c.outpoint, c.value) for c in on_loop.rows]
        assert [c.value for c in model.rows] == sorted((c.value for c in coins), reverse=True)

        def cell(row: int, col: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> Any:
            return model.data(model.index(row, col), role)

        assert cell(0, LABEL) == "savings" and cell(0, COIN) == f"{biggest.outpoint.txid}:{biggest.outpoint.n}"
        last = model.rowCount() - 1
        assert cell(last, ADDRESS) == other_address and cell(last, LABEL) == "from Bob"
        assert str(Txid.from_hex(cell(last, COIN).split(":")[0])) == str(other.outpoint.txid)
        by_outpoint = {c.outpoint: c for c in coins}
        for row in range(model.rowCount()):
            coin = by_outpoint[model.coin(row).outpoint]
            state = cell(row, STATE)
            assert ("unconfirmed" in state) == (coin.height is None) and ("change" in state) == (coin.kind.name == "CHANGE")
        assert cell(0, AMOUNT) and cell(0, AMOUNT, Qt.ItemDataRole.TextAlignmentRole)

        # Checking coins, then a freeze shown at once (a frozen coin cannot be checked).
        assert model.setData(model.index(0, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
        assert cell(0, 0, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
        assert model.checked_total() == biggest.value
        model.set_frozen(1, True)
        assert "frozen" in cell(1, STATE)
        assert not model.setData(model.index(1, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
        # A re-read keeps the check marks of coins still unspent.
        model.set_rows(wallet, model.unit, off_loop, addr_labels)
        assert model.checked == {biggest.outpoint}
    finally:
        wallet.close()


def test_the_columns_leave_nothing_for_the_collector_to_walk(tmp_path: Path) -> None:
    # The reason for columns: ~100,000 row objects built in a worker thread made every full collection
    # walk them while the loop waited for the interpreter lock.
    build(tmp_path / "w.sqlite", 2_000, spend=True)
    wallet = Wallet.open(tmp_path / "w.sqlite")
    try:
        gc.collect()
        before = len(gc.get_objects())
        cols, _ = asyncio.run(wallet.coin_snapshot_async(CoinsModel.build))
        gc.collect()
        assert len(cols) > 1_000
        assert len(gc.get_objects()) - before < 100  # a few lists, not one object per coin
    finally:
        wallet.close()
