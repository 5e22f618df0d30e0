"""Random transaction streams keep the mempool's invariants.

Spends of a pool of P2WSH(OP_TRUE) coins (anyone can spend them, so each step is cheap) and of
mempool outputs, with random fees and output counts, deliberate double spends (some good enough to
replace, most not) and blocks confirming part of the mempool. After every step: no outpoint is
spent twice, every input is a confirmed coin or an output of a mempool transaction, the parent and
child links match the inputs, ancestor and descendant counts are within the limits, and the totals
add up.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from core.consensus.tx import OutPoint, Transaction, TxOut
from core.mempool import Accepted, Mempool, MempoolOptions, Rejected
from tests.unit.mempool_support import NOW, OP_TRUE_SPK, TIP, Chain, Utxo, accept, spend

N_COINS = 8


def _check_invariants(pool: Mempool, chain: Chain, limit: int) -> None:
    spent: set[OutPoint] = set()
    for e in pool:
        for txin in e.tx.vin:
            assert txin.prevout not in spent, "two mempool transactions spend one outpoint"
            spent.add(txin.prevout)
            assert pool.spender(txin.prevout) == e.txid
            parent = pool.get_tx(txin.prevout.txid)
            if parent is not None:
                assert txin.prevout.n < len(parent.vout)
                assert txin.prevout.txid in e.parents
            else:
                assert chain.view.get_coin(txin.prevout) is not None, "input neither confirmed nor in the mempool"
        assert e.parents == {i.prevout.txid for i in e.tx.vin if pool.get_tx(i.prevout.txid) is not None}
        for c in e.children:
            assert e.txid in pool.entry(c).parents
        assert len(pool.ancestors(e.txid)) + 1 <= limit
        assert len(pool.descendants(e.txid)) + 1 <= limit
    assert pool.total_vsize == sum(e.vsize for e in pool)
    assert pool.total_fee == sum(e.fee for e in pool)
    assert all(e.fee >= 0 for e in pool)


def _available(pool: Mempool, chain: Chain, coins: list[Utxo]) -> list[Utxo]:
    """Unspent confirmed coins of ours and unspent outputs of mempool transactions."""
    avail = [u for u in coins if u.outpoint in chain.view.coins and pool.spender(u.outpoint) is None]
    for e in pool:
        for n, o in enumerate(e.tx.vout):
            op = OutPoint(e.txid, n)
            if pool.spender(op) is None:
                avail.append(Utxo(op, o))
    return avail


def _build(inputs: list[Utxo], n_out: int, fee: int) -> Transaction | None:
    total = sum(u.txout.value for u in inputs) - fee
    if total < n_out * 1_000:
        return None
    each = total // n_out
    outs = [TxOut(each, OP_TRUE_SPK) for _ in range(n_out - 1)]
    outs.append(TxOut(total - each * (n_out - 1), OP_TRUE_SPK))
    return spend(inputs, outs)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_streams_keep_invariants(data: st.DataObject) -> None:
    limit = data.draw(st.sampled_from([3, 5, 25]), label="chain limit")
    pool = Mempool(MempoolOptions(ancestor_count=limit, descendant_count=limit))
    chain = Chain()
    coins = [chain.fund(1_000_000 + 10_000 * i, key=None) for i in range(N_COINS)]
    for _ in range(data.draw(st.integers(5, 30), label="steps")):
        op = data.draw(st.sampled_from(["spend", "spend", "spend", "double-spend", "block"]))
        if op == "block":
            roots = [e.tx for e in pool if not e.parents]
            if roots:
                mined = data.draw(st.lists(st.sampled_from(roots), min_size=1, unique_by=lambda t: t.txid))
                chain.confirm(mined)
                removal = pool.remove_for_block(mined, now=NOW)
                assert set(removal.confirmed) == set(mined)
        else:
            avail = _available(pool, chain, coins)
            picked: list[Utxo] = []
            if op == "double-spend":
                view = pool.coin_view(chain.view)
                in_use = [Utxo(i.prevout, view.get_coin(i.prevout).txout) for e in pool for i in e.tx.vin]  # type: ignore[union-attr]
                if not in_use:
                    continue
                picked.append(data.draw(st.sampled_from(in_use), label="conflicting input"))
            if avail:
                picked += data.draw(
                    st.lists(st.sampled_from(avail), min_size=0 if picked else 1, max_size=2, unique_by=lambda u: u.outpoint)
                )
            picked = list({u.outpoint: u for u in picked}.values())
            if not picked:
                continue
            fee = data.draw(st.integers(0, 30_000), label="fee")
            tx = _build(picked, data.draw(st.integers(1, 3)), fee)
            if tx is None:
                continue
            res = accept(pool, chain, tx)
            event(res.reason if isinstance(res, Rejected) else "accepted" + (" (replacing)" if res.replaced else ""))
            if isinstance(res, Accepted):
                assert pool.get(tx.txid) is not None
                for gone in res.replaced + res.trimmed:
                    assert pool.get(gone.txid) is None
            else:
                assert isinstance(res, Rejected) and res.reason
        _check_invariants(pool, chain, limit)
    assert pool.remove_invalid_for_tip(chain.view, TIP, 0) == ()
