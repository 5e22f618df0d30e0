"""The wallet tracker scanning a real sandbox chain through the light node: payments beyond the first
gap window are found because used addresses grow it; coinbase outputs are immature; disconnects unconfirm."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.node.node import LightNode, LightNodeConfig
from core.sandbox.node import SandboxConfig, SandboxNode
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.storage.db import WalletDB
from core.wallet.tracker import WalletTracker
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE


def test_light_node_scan_finds_payments_beyond_the_first_gap(tmp_path: Path) -> None:
    async def scenario() -> None:
        sbx = SandboxNode(SandboxConfig(tmp_path / "s", initial_blocks=101, ping_interval=None))
        await sbx.start()
        db = WalletDB.open(tmp_path / "wallet.sqlite")
        try:
            kc = Keychain.from_mnemonic(MNEMONIC, "bip84", SANDBOX)
            tracker = WalletTracker(kc, db)
            assert kc.derived(R) == 20 and kc.index_of(kc.script_pubkey(R, 25)) is None  # needs growth
            await sbx.faucet(kc.script_pubkey(R, 0), 100_000)
            await sbx.faucet(kc.script_pubkey(R, 5), 200_000)
            await sbx.generate(3)  # payments in block 102
            await sbx.faucet(kc.script_pubkey(R, 25), 300_000)
            paid_25 = await sbx.generate(1)  # block 105
            coinbase = await sbx.generate(1, kc.script_pubkey(C, 0))  # block 106: ours, immature
            await sbx.generate(2)
            cfg = LightNodeConfig(
                tmp_path / "n", connect=(("127.0.0.1", sbx.port),), dns_seed=False, ping_interval=None,
                min_filter_peers=1,
            )
            node = LightNode(sbx.params, cfg, scan_target=tracker)
            node.add_listener(tracker.on_event)
            async with node:
                await node.wait_synced(60)
                tip, _ = await node.tip()
            assert tip == 108
            reward = sum(o.value for o in coinbase[0].txs[0].vout if o.script_pubkey == kc.script_pubkey(C, 0))
            bal = tracker.balance(tip_height=tip)
            assert (bal.confirmed, bal.unconfirmed, bal.immature) == (600_000, 0, reward)
            assert kc.last_used(R) == 25 and kc.derived(R) == 46 and kc.last_used(C) == 0
            assert {(o.index, o.value) for o in db.unspent() if o.index is not None and o.value < reward} == {
                (0, 100_000), (5, 200_000), (25, 300_000)
            }
            rows, _ = db.history_page(10)
            assert len(rows) == 4 and sum(r.received for r in rows) == 600_000 + reward
            # A reorg taking block 105 away makes its payment unconfirmed again.
            tracker.block_disconnected(105, paid_25[0].header.hash)
            bal = tracker.balance(tip_height=104)
            assert (bal.confirmed, bal.unconfirmed) == (300_000, 300_000)
            # A restart over the same file watches the grown window at once.
            again = WalletTracker(Keychain.from_mnemonic(MNEMONIC, "bip84", SANDBOX), db)
            assert again.keychain.derived(R) == 46 and again.keychain.derived(C) == 21
        finally:
            db.close()
            await sbx.stop()

    run(scenario)
