"""A sandbox without a wallet (what the wizard starts from), then one created through the context:
the node restarts with it as its scan target and the pages follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QTableWidget

from app.format import amount
from core.wallet.bip39 import generate_mnemonic
from tests.gui.conftest import WAIT_MS, run, start_app


def test_no_wallet_then_create_one(loop: Any, qtbot: Any, tmp_path: Path) -> None:
    app = start_app(qtbot, tmp_path / "data", fund_new_wallet=False)
    try:
        ctx, page = app.ctx, app.window.pages["overview"]
        assert ctx.wallet is None and not ctx.paths.wallet.exists()
        assert page.findChild(QLabel, "balance_total").text() == "No wallet"
        assert not page.findChild(QTableWidget, "recent_activity").isVisibleTo(page)
        sbx = ctx.sandbox
        assert sbx is not None
        old_node = ctx.node
        with qtbot.waitSignal(app.bridge.wallet_opened, timeout=WAIT_MS) as opened:
            wallet = run(qtbot, ctx.create_wallet(generate_mnemonic(128), password=None))
        assert opened.args[0] is wallet is ctx.wallet and ctx.paths.wallet.exists()
        assert ctx.node is not old_node and ctx.node.scan_target.wallet is wallet  # with the trades' escrows
        confirmed = page.findChild(QLabel, "balance_confirmed")
        qtbot.waitUntil(lambda: confirmed.text() == amount(0), timeout=WAIT_MS)
        run(qtbot, sbx.faucet(wallet.new_address().script_pubkey, 2_000_000))
        run(qtbot, sbx.generate(1))
        qtbot.waitUntil(lambda: confirmed.text() == amount(2_000_000), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: app.window.status_tip.text() == f"Tip: {sbx.tip.height}", timeout=WAIT_MS)
        assert page.findChild(QTableWidget, "recent_activity").rowCount() == 1
    finally:
        run(qtbot, app.ctx.close())
    assert not app.task_errors
