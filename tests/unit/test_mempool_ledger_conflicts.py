"""MempoolLedger reports what replacements and blocks knock out, once, for the wallet's feed."""

from __future__ import annotations

from core.node.mempool_ledger import MempoolLedger
from tests.unit.node_tx_samples import block, funding_tx, spend


def test_replacement_and_block_conflicts_are_reported_once() -> None:
    led = MempoolLedger()
    f1, f2 = funding_tx(1, [50_000, 60_000]), funding_tx(2, [70_000])
    c1 = spend([(f1, 0)], [48_000, 1_000])
    child = spend([(c1, 0)], [47_000])
    c1b = spend([(f1, 0)], [40_000])  # replaces c1, and with it its child
    for tx in (c1, child):
        assert led.add(tx, 0.0)
    assert led.take_conflicted() == []
    assert led.add(c1b, 1.0)
    assert sorted(led.take_conflicted()) == sorted([bytes(c1.txid), bytes(child.txid)])
    assert led.take_conflicted() == []  # taken once
    # A block spending the coin another tracked transaction spends conflicts it out.
    c2 = spend([(f2, 0)], [69_000])
    c2_mined = spend([(f2, 0)], [68_000])
    assert led.add(c2, 2.0)
    led.on_block(block(10, [c2_mined]))
    assert bytes(c2.txid) in led.take_conflicted()
    # Confirmation itself is not a conflict.
    led.on_block(block(11, [c1b]))
    assert led.take_conflicted() == []
