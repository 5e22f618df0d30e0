"""The history model is lazy: over a 100,000-transaction wallet it reads one keyset page when shown and
one more each time the view scrolls to the end, so opening and scrolling stay quick; labels edited in
place are BIP329 labels. (Bounds are generous: they catch a model that reads everything, not jitter.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QTableView

from app.models.history import LABEL, PAGE, TXID, HistoryModel
from core.wallet.wallet import Wallet
from tests.bench.wallet_model_bench import build

pytestmark = pytest.mark.slow
N_TXS = 100_000
MAX_MS = 250.0  # per reload / page / repaint; reading all 100k rows takes seconds


def test_lazy_history_over_100k_transactions(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite"
    build(path, N_TXS, spend=True)
    wallet = Wallet.open(path)
    try:
        model = HistoryModel()
        t = time.perf_counter()
        model.reload(wallet)
        assert (time.perf_counter() - t) * 1000 < MAX_MS
        assert model.rowCount() == PAGE and model.canFetchMore() and model.pages_read == 1

        view = QTableView()
        qtbot.addWidget(view)
        view.resize(1280, 800)
        view.setModel(model)
        view.show()
        qtbot.waitExposed(view)
        reads = model.pages_read
        for _ in range(5):  # scroll to the end: the view asks for exactly one more page each time
            before = model.rowCount()
            t = time.perf_counter()
            view.scrollToBottom()
            qtbot.waitUntil(lambda before=before: model.rowCount() > before, timeout=5_000)
            view.viewport().grab()  # paint the visible rows
            assert (time.perf_counter() - t) * 1000 < MAX_MS
        assert model.pages_read - reads <= 6 and model.rowCount() == PAGE * model.pages_read
        assert model.rowCount() < N_TXS // 50  # nowhere near everything was read

        # Keyset pages continue exactly where the last one ended: no gaps, no repeats.
        seen = [model.index(r, TXID).data() for r in range(model.rowCount())]
        expected, cursor = [], None
        while len(expected) < len(seen):
            page, cursor = wallet.history(PAGE, cursor)
            expected += [str(e.txid) for e in page]
        assert seen == expected[: len(seen)]

        # A label typed into the table is stored and survives a reload.
        row = model.rowCount() - 1
        assert model.setData(model.index(row, LABEL), "far down")
        txid = model.entry(row).txid
        assert wallet.label_of("tx", str(txid)) == "far down"
        model.reload(wallet)  # after a wallet change: the first rows again, quickly
        assert model.rowCount() == PAGE
        assert model.index(0, TXID).data() == str(wallet.history(1)[0][0].txid)
    finally:
        wallet.close()
