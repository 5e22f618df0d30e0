"""A wallet's life on the sandbox network through the light node: receive (seen unconfirmed, then
confirmed), send with RBF, bump the fee, pay for it with a CPFP child, and everything confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.mempool.accept import Accepted
from core.mempool.feerate import FeeRate
from core.wallet.events import RemovalReason, TxAdded, TxConfirmed, TxRemoved
from core.wallet.keychain import KeychainKind
from core.wallet.spending import Payment
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, payment, sandbox
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
FAST_KDF = KdfParams(log2_n=10)  # the real cost is tested in test_wallet_secrets; keep scenarios quick
PASSWORD = "correct horse battery staple"
OTHER_SPK = bytes.fromhex("0014") + bytes(range(20))


def test_receive_send_bump_cpfp(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=101) as sbx:
            wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=PASSWORD, kdf=FAST_KDF)
            other = Wallet.create(tmp_path / "o.sqlite", SANDBOX, OTHER_MNEMONIC, password=None)
            log = EventLog(wallet)
            try:
                async with attached(wallet, sbx, tmp_path / "n") as node:
                    await node.wait_synced(60)
                    addr = wallet.new_address()
                    assert addr.index == 0 and wallet.new_address().index == 1  # never handed out twice
                    funding = await sbx.faucet(addr.script_pubkey, 1_000_000)
                    await log.wait(lambda: wallet.balance().unconfirmed == 1_000_000)
                    added = [e for e in log.events if isinstance(e, TxAdded)]
                    assert added == [TxAdded(funding.txid, None, 1_000_000, incoming=True)]
                    assert wallet.balance().confirmed == 0

                    await sbx.generate(1)
                    await log.wait(lambda: wallet.balance().confirmed == 1_000_000)
                    assert TxConfirmed(funding.txid, 102) in log.events
                    rows, _ = wallet.history()
                    assert [(r.txid, r.height, r.net, r.confirmations) for r in rows] == [(funding.txid, 102, 1_000_000, 1)]

                    # Send with RBF signalling at 2 sat/vB.
                    dest = other.new_address().address
                    draft = wallet.draft([Payment(dest, 300_000)], FeeRate.per_vb(2))
                    assert all(i.sequence == 0xFFFFFFFD for i in draft.psbt.tx.vin)
                    assert sum(o.amount for o in draft.outputs if not o.is_mine) == 300_000
                    assert draft.fee >= 2 * draft.vsize
                    assert await wallet.sign(draft.psbt, PASSWORD) == 1
                    sent = wallet.finalize(draft.psbt)
                    assert sent.vsize <= draft.vsize  # the estimate never undercounts
                    wallet.broadcast(sent)
                    await sbx.wait_for(lambda: in_mempool(sbx, bytes(sent.txid)), 30)
                    bal = wallet.balance()
                    assert bal.confirmed + bal.unconfirmed == 1_000_000 - 300_000 - draft.fee
                    rows, _ = wallet.history()
                    assert (rows[0].txid, rows[0].fee, rows[0].net) == (sent.txid, draft.fee, -300_000 - draft.fee)

                    # Bump to 5 sat/vB: the replacement takes the original's place everywhere.
                    bump = wallet.bump_fee(sent.txid, FeeRate.per_vb(5))
                    assert bump.replaces == sent.txid and bump.fee > draft.fee
                    await wallet.sign(bump.psbt, PASSWORD)
                    replacement = wallet.finalize(bump.psbt)
                    wallet.broadcast(replacement)
                    await sbx.wait_for(lambda: in_mempool(sbx, bytes(replacement.txid)), 30)
                    assert not in_mempool(sbx, bytes(sent.txid))
                    assert TxRemoved(sent.txid, RemovalReason.REPLACED) in log.events
                    assert wallet.transaction(sent.txid) is None
                    assert wallet.balance().spendable == 1_000_000 - 300_000 - bump.fee

                    # CPFP on the replacement's change at a 20 sat/vB package rate.
                    child_draft = wallet.cpfp(replacement.txid, FeeRate.per_vb(20))
                    assert child_draft.parent == replacement.txid
                    assert child_draft.package_rate is not None and child_draft.package_rate >= FeeRate.per_vb(20)
                    await wallet.sign(child_draft.psbt, PASSWORD)
                    child = wallet.finalize(child_draft.psbt)
                    wallet.broadcast(child)
                    await sbx.wait_for(lambda: in_mempool(sbx, bytes(child.txid)), 30)

                    await sbx.generate(1)
                    await log.wait(lambda: wallet.balance().unconfirmed == 0 and wallet.tip_height == 103)
                    final = 1_000_000 - 300_000 - bump.fee - child_draft.fee
                    assert wallet.balance().confirmed == final
                    heights = {r.txid: r.height for r in wallet.history()[0]}
                    assert heights == {funding.txid: 102, replacement.txid: 103, child.txid: 103}
                    # Change went to change addresses that were handed out, never to a receive address.
                    change = wallet.addresses(KeychainKind.CHANGE, handed_out_only=True)
                    assert [a.index for a in change] == [0, 1] and all(a.used for a in change)
            finally:
                wallet.close()
                other.close()

    run(scenario)


def test_incoming_payment_double_spent_away_leaves_the_balance(tmp_path: Path) -> None:
    """The sender replaces an unconfirmed payment to us by one paying someone else (full RBF): the wallet
    never sees the replacement (it does not touch our scripts), yet learns from the node's mempool view
    that the payment is gone."""

    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=101) as sbx:
            wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password=None)
            log = EventLog(wallet)
            try:
                async with attached(wallet, sbx, tmp_path / "n") as node:
                    await node.wait_synced(60)
                    ours = wallet.new_address().script_pubkey
                    coin = (await sbx.run(sbx.chain.coins.spendable, sbx.tip.height))[0]
                    pay = await payment(sbx, ours, 2_000_000, 2, coin)
                    assert isinstance(await sbx.submit_tx(pay), Accepted)
                    await log.wait(lambda: wallet.balance().unconfirmed == 2_000_000)
                    elsewhere = await payment(sbx, OTHER_SPK, 1_990_000, 30, coin)
                    assert isinstance(await sbx.submit_tx(elsewhere), Accepted)
                    await log.wait(lambda: TxRemoved(pay.txid, RemovalReason.REPLACED) in log.events)
                    assert wallet.balance().unconfirmed == 0 and wallet.transaction(pay.txid) is None
                    assert wallet.history()[0] == []
            finally:
                wallet.close()

    run(scenario)
