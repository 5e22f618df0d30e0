"""A wallet through a chain reorganisation on two sandbox nodes.

Node `a` serves the wallet's light node. Node `d` syncs from `a`, is cut off, and later brings a longer
branch. Block N on `a` confirms a payment to the wallet and pays it its coinbase; `d`'s branch has
neither. When `d`'s branch wins, the payment is unconfirmed again (TxUnconfirmed; balance.unconfirmed)
and the coinbase is gone (TxRemoved REORGED). The sandbox, like Core, returns the disconnected payment
to its mempool, so the next block on the new branch confirms it again (TxConfirmed) — no resubmission.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.wallet.events import RemovalReason, TxAdded, TxConfirmed, TxRemoved, TxUnconfirmed
from core.wallet.keychain import KeychainKind
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.wallet_support import MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
T = 60.0
R = KeychainKind.RECEIVE


def test_reorg_unconfirms_a_payment_drops_a_coinbase_and_reconfirms(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=110) as a:
            wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=None)
            log = EventLog(wallet)
            try:
                async with attached(wallet, a, tmp_path / "n") as node, sandbox(
                    tmp_path, "d", connect=(("127.0.0.1", a.port),)
                ) as d:
                    await d.wait_for(lambda: d.tip.height == a.tip.height, T)
                    for p in list(d.peers):  # cut d off: it forks at 110
                        await p.close("fork")
                    await node.wait_synced(T)

                    pay_to = wallet.new_address()
                    payment = await a.faucet(pay_to.script_pubkey, 600_000)
                    await log.wait(lambda: wallet.balance().unconfirmed == 600_000)
                    [block_n] = await a.generate(1, wallet.keychain.script_pubkey(R, 5))  # coinbase pays us too
                    n = a.tip.height
                    coinbase = block_n.txs[0]
                    reward = sum(o.value for o in coinbase.vout)
                    await log.wait(lambda: wallet.balance().confirmed == 600_000 and wallet.balance().immature == reward)
                    assert TxConfirmed(payment.txid, n) in log.events
                    assert TxAdded(coinbase.txid, n, reward, incoming=True) in log.events
                    assert not in_mempool(d, bytes(payment.txid))

                    # d's branch (two blocks, neither with our payment nor our coinbase) wins.
                    branch = await d.generate(2)
                    await d.connect("127.0.0.1", a.port)
                    await a.wait_for(lambda: a.tip.hash == branch[-1].hash, T)
                    await log.wait(lambda: wallet.tip_height == n + 1 and wallet.balance().unconfirmed == 600_000)
                    assert TxUnconfirmed(payment.txid, n) in log.events
                    assert TxRemoved(coinbase.txid, RemovalReason.REORGED) in log.events
                    bal = wallet.balance()
                    assert (bal.confirmed, bal.unconfirmed, bal.immature) == (0, 600_000, 0)
                    assert wallet.transaction(coinbase.txid) is None
                    rows, _ = wallet.history()
                    assert [(r.txid, r.height, r.confirmations) for r in rows] == [(payment.txid, None, 0)]
                    assert [c.outpoint.txid for c in wallet.coins()] == [payment.txid]
                    # The sandbox put the disconnected payment back into its mempool (as Core does).
                    assert in_mempool(a, bytes(payment.txid))

                    # Mined again on the new branch: confirmed again.
                    await a.generate(1)
                    await log.wait(lambda: wallet.balance().confirmed == 600_000)
                    assert TxConfirmed(payment.txid, n + 2) in log.events
                    rows, _ = wallet.history()
                    assert [(r.txid, r.height, r.confirmations) for r in rows] == [(payment.txid, n + 2, 1)]
                    await node.wait_synced(T)
                    assert wallet.scan_resume_height() == n + 2
            finally:
                wallet.close()

    run(scenario)
