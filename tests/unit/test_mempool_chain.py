"""Chains of unconfirmed transactions, blocks and reorgs, the size cap and its minimum fee, expiry, stats."""

from __future__ import annotations

from fractions import Fraction

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import NULL_OUTPOINT, OutPoint, Transaction, TxIn, TxOut
from core.mempool import Accepted, FeeRate, Mempool, MempoolOptions, Rejected
from core.mempool.policy import DEFAULT_ANCESTOR_LIMIT, DEFAULT_DESCENDANT_LIMIT
from core.validation.utxo import Coin
from tests.unit.mempool_support import ALICE, MTP, NOW, TIP, Chain, accept, fresh, out, spend


def _chain_of(pool: Mempool, chain: Chain, n: int, value: int = 10_000_000) -> list[Transaction]:
    txs = [spend([chain.fund(value, key=None)], [(value - 1_000, None)])]
    while len(txs) < n:
        txs.append(spend([out(txs[-1], 0)], [(txs[-1].vout[0].value - 1_000, None)]))
    return txs


def _block(txs: list[Transaction]) -> Block:
    cb = Transaction(2, (TxIn(NULL_OUTPOINT, b"\x02\x2c\x01"),), (TxOut(0, b"\x51"),))
    return Block(BlockHeader(0x20000000, BlockHash(bytes(32)), bytes(32), MTP, 0x207FFFFF, 0), (cb, *txs))


def test_chain_of_25_accepted_and_26th_rejected() -> None:
    pool, chain = fresh()
    txs = _chain_of(pool, chain, DEFAULT_ANCESTOR_LIMIT + 1)
    for tx in txs[:-1]:
        assert isinstance(accept(pool, chain, tx), Accepted)
    res = accept(pool, chain, txs[-1])
    assert isinstance(res, Rejected) and res.reason == "too-long-mempool-chain"
    assert res.detail == "too many unconfirmed ancestors [limit: 25]"
    assert len(pool.ancestors(txs[-2].txid)) == 24
    assert [e.tx for e in pool] == txs[:-1]  # parents first


def test_descendant_limit_of_a_fan_out() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(10_000_000, key=None)], [(100_000, None)] * 30)
    assert isinstance(accept(pool, chain, parent), Accepted)
    for n in range(DEFAULT_DESCENDANT_LIMIT - 1):
        assert isinstance(accept(pool, chain, spend([out(parent, n)], [(99_000, None)])), Accepted)
    res = accept(pool, chain, spend([out(parent, 29)], [(99_000, None)]))
    assert isinstance(res, Rejected) and res.reason == "too-long-mempool-chain"
    assert res.detail == f"too many descendants for tx {parent.txid} [limit: 25]"


def test_ancestor_size_limit() -> None:
    pool, chain = Mempool(MempoolOptions(ancestor_size_vbytes=300, descendant_size_vbytes=10_000)), Chain()
    txs = _chain_of(pool, chain, 4)
    results = [accept(pool, chain, tx) for tx in txs]
    sizes = [tx.vsize for tx in txs]
    n_ok = max(i for i in range(1, 5) if sum(sizes[:i]) <= 300)
    assert all(isinstance(r, Accepted) for r in results[:n_ok])
    bad = results[n_ok]
    assert isinstance(bad, Rejected) and bad.detail == "exceeds ancestor size limit [limit: 300]"


def test_remove_for_block_confirms_and_evicts_conflicts() -> None:
    pool, chain = fresh()
    a_coin, c_coin = chain.fund(1_000_000, key=None), chain.fund(1_000_000, key=None)
    a = spend([a_coin], [(990_000, None)])
    a_child = spend([out(a, 0)], [(980_000, None)])
    d = spend([c_coin], [(990_000, None)])
    d_child = spend([out(d, 0)], [(980_000, None)])
    for tx in (a, a_child, d, d_child):
        assert isinstance(accept(pool, chain, tx), Accepted)
    c = spend([c_coin], [(900_000, ALICE)])  # mined instead of d
    removal = pool.remove_for_block(_block([a, c]).txs, now=NOW)
    assert removal.confirmed == (a,)
    assert removal.conflicts == (d, d_child)
    assert {e.txid for e in pool} == {a_child.txid}
    assert pool.entry(a_child.txid).parents == set()
    assert pool.spender(c_coin.outpoint) is None and pool.spender(a_coin.outpoint) is None


def test_readd_after_reorg_links_existing_children() -> None:
    pool, chain = fresh()
    x = chain.fund(1_000_000, key=None)
    a = spend([x], [(990_000, None)])
    b = spend([out(a, 0)], [(980_000, None)])
    spent = {x.outpoint: chain.view.coins[x.outpoint]}
    blk = _block([a, b])
    chain.confirm(blk.txs)
    pool.remove_for_block(blk.txs, now=NOW)
    c = spend([out(b, 0)], [(970_000, None)])  # spends the then-confirmed b
    assert isinstance(accept(pool, chain, c), Accepted)
    chain.unconfirm(blk.txs, spent)  # the block is disconnected
    res = pool.readd_disconnected(reversed(blk.txs), chain.view, TIP - 1, MTP, now=NOW)
    assert res.readded == (a, b) and res.dropped == () and res.removed == ()
    assert pool.ancestors(c.txid) == {a.txid, b.txid}
    assert pool.descendants(a.txid) == {b.txid, c.txid}
    assert [e.tx for e in pool] == [a, b, c]


def test_reorg_drops_what_the_new_chain_conflicts_with() -> None:
    pool, chain = fresh()
    x = chain.fund(1_000_000, key=None)
    a = spend([x], [(990_000, None)])
    b = spend([out(a, 0)], [(980_000, None)])
    old_block = _block([a, b])
    spent = {x.outpoint: chain.view.coins[x.outpoint]}
    chain.confirm(old_block.txs)
    c = spend([out(b, 0)], [(970_000, None)])
    assert isinstance(accept(pool, chain, c), Accepted)
    # Reorg: the old block goes, a block spending x differently comes.
    chain.unconfirm(old_block.txs, spent)
    d = spend([x], [(500_000, ALICE)])
    new_block = _block([d])
    chain.confirm(new_block.txs)
    res = pool.update_for_reorg([old_block], [new_block], chain.view, TIP, MTP, now=NOW)
    assert res.readded == () and res.dropped == (a, b) and res.removed == (c,)
    assert len(pool) == 0


def test_reorg_removes_spends_of_now_immature_coinbase() -> None:
    pool, chain = fresh()
    cb = chain.fund(50 * 10**8, key=None, height=TIP - 99, coinbase=True)
    tx = spend([cb], [(49 * 10**8, None)])
    assert isinstance(accept(pool, chain, tx), Accepted)
    assert pool.remove_invalid_for_tip(chain.view, TIP, MTP) == ()
    res = pool.readd_disconnected([], chain.view, TIP - 1, MTP, now=NOW)
    assert res.removed == (tx,) and len(pool) == 0


def test_readd_keeps_low_fee_transactions_from_blocks() -> None:
    pool, chain = fresh()
    x = chain.fund(1_000_000, key=None)
    free = spend([x], [(1_000_000, None)])  # no fee: fine in a block, not as a new relay
    assert isinstance(accept(pool, chain, free), Rejected)
    res = pool.readd_disconnected([free], chain.view, TIP, MTP, now=NOW)
    assert res.readded == (free,) and pool.entry(free.txid).fee == 0


def test_size_cap_evicts_lowest_feerate_and_raises_min_fee() -> None:
    pool, chain = Mempool(MempoolOptions(max_size_vbytes=500)), Chain()
    rates = [5, 1, 8, 3, 9, 2]  # sat/vB, roughly
    txs = [spend([chain.fund(1_000_000, key=None)], [(1_000_000 - r * 100, None)]) for r in rates]
    trimmed: list[Transaction] = []
    for tx in txs:
        res = accept(pool, chain, tx)
        if isinstance(res, Accepted):
            trimmed.extend(res.trimmed)
    assert pool.total_vsize <= 500
    kept = {e.txid for e in pool}
    # The cheapest ones went; everything kept pays more than everything evicted.
    assert min(pool.entry(t).fee for t in kept) > max(pool_fee(tx, chain) for tx in trimmed)
    min_fee = pool.min_fee(NOW)
    worst = min(trimmed, key=lambda t: pool_fee(t, chain))
    assert min_fee > FeeRate.from_fee(pool_fee(worst, chain), worst.vsize)
    # A new transaction below the raised floor is refused with Core's reason.
    cheap = spend([chain.fund(1_000_000, key=None)], [(1_000_000 - 101, None)])
    res = accept(pool, chain, cheap)
    assert isinstance(res, Rejected) and res.reason == "mempool min fee not met"


def pool_fee(tx: Transaction, chain: Chain) -> int:
    return 1_000_000 - tx.vout[0].value


def test_new_transaction_that_would_be_evicted_is_mempool_full() -> None:
    pool, chain = Mempool(MempoolOptions(max_size_vbytes=200)), Chain()
    rich = spend([chain.fund(1_000_000, key=None)], [(990_000, None)])
    rich2 = spend([chain.fund(1_000_000, key=None)], [(990_000, None)])
    poor = spend([chain.fund(1_000_000, key=None)], [(999_900, None)])
    assert isinstance(accept(pool, chain, rich), Accepted)
    assert isinstance(accept(pool, chain, rich2), Accepted)
    res = accept(pool, chain, poor)
    assert isinstance(res, Rejected) and res.reason == "mempool full"
    assert len(pool) == 2


def test_min_fee_decays_after_blocks() -> None:
    pool, chain = Mempool(MempoolOptions(max_size_vbytes=150)), Chain()
    a = spend([chain.fund(1_000_000, key=None)], [(999_000, None)])
    b = spend([chain.fund(1_000_000, key=None)], [(990_000, None)])
    accept(pool, chain, a)
    accept(pool, chain, b)
    assert len(pool) == 1
    raised = pool.min_fee(NOW)
    assert raised.sat_per_vb == Fraction(1_000, a.vsize) + Fraction(1, 10)
    assert pool.min_fee(NOW + 10**6) == raised  # no block yet: no decay
    pool.remove_for_block([b], now=NOW)  # the mempool is now empty: half-life 3 hours
    assert pool.min_fee(NOW + 3 * 3600 - 1) == raised
    assert pool.min_fee(NOW + 3 * 3600).sat_per_vb == raised.sat_per_vb / 2
    assert pool.min_fee(NOW + 30 * 3600) == FeeRate.zero()


def test_expiry_removes_old_entries_with_descendants() -> None:
    pool, chain = fresh()
    old = spend([chain.fund(100_000, key=None)], [(99_000, None)])
    assert isinstance(pool.accept_tx(old, chain.view, TIP, MTP, now=NOW - 400 * 3600), Accepted)
    child = spend([out(old, 0)], [(98_000, None)])
    assert isinstance(pool.accept_tx(child, chain.view, TIP, MTP, now=NOW - 400 * 3600 + 1), Accepted)
    recent = spend([chain.fund(100_000, key=None)], [(99_000, None)])
    res = accept(pool, chain, recent)  # admission runs expiry too
    assert isinstance(res, Accepted) and res.trimmed == (old, child)
    assert [e.tx for e in pool] == [recent]


def test_lookup_iteration_relay_and_stats() -> None:
    pool, chain = fresh()
    p = spend([chain.fund(1_000_000, key=None)], [(999_900, None)])  # ~1 sat/vB
    c = spend([out(p, 0)], [(979_900, None)])  # ~200 sat/vB
    for tx in (p, c):
        accept(pool, chain, tx)
    assert pool.get(p.wtxid) is pool.get(Txid(p.txid)) is pool.entry(p.txid)
    assert pool.get(bytes(p.wtxid)) is pool.entry(p.txid)  # plain bytes: txid first, then wtxid
    assert pool.txs_for_relay() == [p, c]
    assert pool.txs_for_relay(FeeRate.per_vb(2)) == [c]
    stats = pool.stats(NOW)
    assert stats.count == 2 and stats.vsize == p.vsize + c.vsize and stats.total_fee == 100 + 20_000
    assert stats.min_fee == FeeRate.per_kvb(100)
    hist = pool.fee_histogram()
    assert [(b.floor, b.count) for b in hist] == [(1, 1), (200, 1)]
    assert sum(b.fees for b in hist) == stats.total_fee and hist == stats.histogram


def test_coinbase_outpoint_never_spent_in_mempool() -> None:
    pool, _ = fresh()
    assert pool.spender(OutPoint(Txid(bytes(32)), 0xFFFFFFFF)) is None
    assert pool.remove_for_block([]).confirmed == ()
    assert isinstance(Coin(TxOut(1, b""), 1, False), Coin)
