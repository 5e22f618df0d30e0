"""A freshly generated seed (birthday pending) starts scanning near the first tip the node reaches, not at
genesis: the node asks for no filters of old blocks, and payments from a day of blocks back are still found."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.wallet.keychain import KeychainKind
from core.wallet.tracker import BIRTHDAY_MARGIN
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import sandbox
from tests.functional.wallet_support import MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def test_pending_birthday_resolves_to_the_first_tip_less_a_margin(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=101) as sbx:
            probe = Wallet.create(tmp_path / "probe.sqlite", SANDBOX, MNEMONIC, password=None)
            spk = probe.keychain.script_pubkey(KeychainKind.RECEIVE, 0)
            probe.close()
            await sbx.faucet(spk, 111_111)
            await sbx.generate(1)  # block 102: far below the birthday the new wallet will get
            await sbx.generate(200)
            await sbx.faucet(spk, 222_222)
            await sbx.generate(1)  # block 303: within the margin below the tip
            await sbx.generate(20)  # tip 323
            wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=None, birthday=None)
            log = EventLog(wallet)
            try:
                assert wallet.scan_resume_height() == -1
                async with attached(wallet, sbx, tmp_path / "n") as node:
                    await node.wait_synced(60)
                    await log.wait(lambda: wallet.balance().confirmed == 222_222)
                    assert wallet.birthday_height() == 323 - BIRTHDAY_MARGIN
                    assert node.filters.requests.sent["getcfilters"] <= 1  # one batch from the birthday on
                    assert [r.height for r in wallet.history()[0]] == [303]
                # The resolution is stored: a reopened wallet keeps it.
                wallet.close()
                wallet = Wallet.open(tmp_path / "w.sqlite")
                assert wallet.birthday_height() == 323 - BIRTHDAY_MARGIN
                assert wallet.scan_resume_height() == 323
            finally:
                wallet.close()

    run(scenario)
