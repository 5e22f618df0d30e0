"""The traffic generator: mixed fee rates, RBF bumps and chains, never a conflicting live spend."""

from __future__ import annotations

import random

from core.consensus.tx import Transaction
from core.sandbox.coins import OwnedCoins
from core.sandbox.signer import SandboxKey
from core.sandbox.traffic import MAX_FEE_RATE, MIN_FEE_RATE, TrafficGenerator
from tests.unit.test_sandbox_coins import _block, _coinbase

SEED = 4242


def test_traffic_mix_and_no_conflicting_live_spends() -> None:
    keys = [SandboxKey.derive(b"traffic", i, taproot=i % 2 == 1) for i in range(6)]
    coins = OwnedCoins({k.script_pubkey: k for k in keys})
    for h in range(1, 11):
        coins.connect_block(_block([_coinbase(h, keys[h % 6].script_pubkey, 50 * 10**8)], h), h)
    gen = TrafficGenerator(coins, keys, random.Random(SEED))
    live: dict[bytes, Transaction] = {}
    rates, replacements, chained = [], 0, 0
    for _ in range(300):
        p = gen.propose(tip_height=200)
        if p is None:
            continue
        if p.replaces is not None:
            replacements += 1
            old = live.pop(p.replaces.txid)
            assert {i.prevout for i in old.vin} == {i.prevout for i in p.tx.vin}
        if any(i.prevout.txid in live for i in p.tx.vin):
            chained += 1
        spent_live = {i.prevout for t in live.values() for i in t.vin}
        assert not spent_live & {i.prevout for i in p.tx.vin}, f"seed {SEED}: conflicting spend"
        live[p.tx.txid] = p.tx
        rates.append(p.fee_rate)
        gen.accepted(p)
    assert replacements > 5 and chained > 5, (replacements, chained)
    assert min(rates) >= MIN_FEE_RATE and max(rates) <= 2 * MAX_FEE_RATE + 1
    assert len({r for r in rates if r <= 5}) > 0 and len({r for r in rates if r >= 30}) > 0
