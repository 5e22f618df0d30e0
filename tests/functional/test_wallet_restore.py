"""Restoring a wallet from its words next to a light-node datadir that has already scanned to the tip.

A wallet receives on receive indexes 0, 7, 27 and 47 (27 and 47 lie beyond the first 20-address window,
each within the 20-address gap of the previous used index, so only growth finds them) and on change
index 3, then spends two of those coins (its change goes to change index 0). A brand-new wallet file
restored from the same words (birthday 0) on the SAME node datadir — whose own scan tip is already the
chain tip — must rescan from its own progress and find the same history, balance and coins. A wallet
restored with a birthday above those payments finds nothing below it, only what comes after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint
from core.mempool.feerate import FeeRate
from core.sandbox.node import SandboxNode
from core.wallet.keychain import KeychainKind
from core.wallet.spending import Payment
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE
#: (chain, index, amount): each paid in a block of its own, in this order.
PAYMENTS = [(R, 0, 310_000), (R, 7, 220_000), (C, 3, 130_000), (R, 27, 170_000), (R, 47, 450_000)]
INITIAL = 110  # enough mature coinbases for the faucet


def _snapshot(w: Wallet) -> dict[str, object]:
    """Everything a restore must reproduce."""
    return {
        "history": [(r.txid, r.height, r.received, r.sent, r.fee) for r in w.history(1000)[0]],
        "coins": sorted((str(c.outpoint), c.value, c.kind, c.index, c.height, c.immature) for c in w.coins()),
        "balance": w.balance(),
        "used": {k: [a.index for a in w.addresses(k) if a.used] for k in KeychainKind},
        "last_used": {k: w.keychain.last_used(k) for k in KeychainKind},
    }


def _height(w: Wallet, txid: Txid) -> int | None:
    rec = w.db.get_transaction(bytes(txid))
    return None if rec is None else rec.height


async def _history(tmp: Path, sbx: SandboxNode) -> tuple[dict[str, object], int]:
    """The original wallet's life on node datadir tmp/n; returns its snapshot and the tip height."""
    original = Wallet.create(tmp / "original.sqlite", SANDBOX, MNEMONIC, password=None)
    other = Wallet.create(tmp / "other.sqlite", SANDBOX, OTHER_MNEMONIC, password=None)
    log = EventLog(original)
    try:
        async with attached(original, sbx, tmp / "n") as node:
            await node.wait_synced(60)
            kc = original.keychain
            paid: dict[tuple[KeychainKind, int], OutPoint] = {}
            for kind, index, amount in PAYMENTS:
                spk = kc.script_pubkey(kind, index)  # derived on demand, watched or not yet
                tx = await sbx.faucet(spk, amount)
                paid[kind, index] = OutPoint(Txid(tx.txid), next(n for n, o in enumerate(tx.vout) if o.script_pubkey == spk))
                await sbx.generate(1)
                await log.wait(lambda tx=tx: _height(original, tx.txid) == sbx.tip.height)
            total = sum(a for _, _, a in PAYMENTS)
            assert original.balance().confirmed == total and kc.last_used(R) == 47
            # Spend the coins at receive 47 and change 3 (coin control), change to change index 0.
            dest = other.new_address().address
            sent = await original.send([Payment(dest, 500_000)], FeeRate.per_vb(2), None, coins=[paid[R, 47], paid[C, 3]])
            await sbx.wait_for(lambda: in_mempool(sbx, bytes(sent.txid)), 30)
            await sbx.generate(1)
            fee = original.history()[0][0].fee
            assert fee is not None
            await log.wait(lambda: original.balance().confirmed == total - 500_000 - fee)
            await node.wait_synced(60)
            tip = sbx.tip.height
            assert tip == INITIAL + len(PAYMENTS) + 1
            assert node.filters.scan_height == tip  # this datadir has scanned everything
            assert original.scan_resume_height() == tip
        return _snapshot(original), tip
    finally:
        original.close()
        other.close()


def test_restore_from_words_rescans_next_to_a_scanned_node_datadir(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=INITIAL) as sbx:
            expected, tip = await _history(tmp_path, sbx)
            restored = Wallet.create(tmp_path / "restored.sqlite", SANDBOX, MNEMONIC, password=None, birthday=0)
            log = EventLog(restored)
            try:
                assert restored.scan_resume_height() == -1  # its own records: nothing scanned yet
                async with attached(restored, sbx, tmp_path / "n") as node:  # the same, already scanned datadir
                    await node.wait_synced(60)
                    await log.wait(lambda: restored.scan_resume_height() == tip)
                    assert restored.tip_height == tip
                got = _snapshot(restored)
                assert got == expected
                assert sorted(c[2:4] for c in got["coins"]) == [(R, 0), (R, 7), (R, 27), (C, 0)]  # type: ignore[attr-defined]
                assert len(got["history"]) == len(PAYMENTS) + 1  # type: ignore[arg-type]
            finally:
                restored.close()

    run(scenario)


def test_restore_with_a_later_birthday_sees_nothing_below_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=INITIAL) as sbx:
            _, tip = await _history(tmp_path, sbx)
            birthday = tip + 1  # above every payment so far
            late = Wallet.create(tmp_path / "late.sqlite", SANDBOX, MNEMONIC, password=None, birthday=birthday)
            log = EventLog(late)
            try:
                assert late.scan_resume_height() == birthday - 1
                async with attached(late, sbx, tmp_path / "n") as node:
                    await node.wait_synced(60)
                    assert late.tx_count() == 0 and late.balance().total == 0 and late.coins() == []
                    # A payment at the birthday height is found (to receive 1, which the chain never paid).
                    spk = late.keychain.script_pubkey(R, 1)
                    tx = await sbx.faucet(spk, 77_000)
                    await sbx.generate(1)
                    await log.wait(lambda: late.balance().confirmed == 77_000)
                    await node.wait_synced(60)
                rows, _ = late.history()
                assert [(r.txid, r.height, r.received) for r in rows] == [(tx.txid, birthday, 77_000)]
                assert [(c.kind, c.index) for c in late.coins()] == [(R, 1)]
            finally:
                late.close()

    run(scenario)
