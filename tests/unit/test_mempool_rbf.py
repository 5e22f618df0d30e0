"""Full replace-by-fee: a better replacement evicts the original and its descendants; each rule refuses."""

from __future__ import annotations

from core.mempool import Accepted, MempoolOptions, Rejected, TxValidationResult
from core.mempool.rbf import MAX_REPLACEMENT_CANDIDATES
from tests.unit.mempool_support import ALICE, BOB, TR, WPKH, accept, fresh, out, spend


def _reject_reason(result: object) -> tuple[str, str]:
    assert isinstance(result, Rejected), result
    return result.reason, result.detail


def test_replacement_evicts_original_and_descendants() -> None:
    pool, chain = fresh()
    coin = chain.fund(1_000_000)
    original = spend([coin], [(990_000, ALICE)])
    child = spend([out(original, 0, ALICE)], [(980_000, BOB)])
    grandchild = spend([out(child, 0, BOB)], [(970_000, WPKH)])
    for tx in (original, child, grandchild):
        assert isinstance(accept(pool, chain, tx), Accepted)
    replacement = spend([coin], [(950_000, BOB)])  # 50k fee > 30k replaced, and a higher rate
    res = accept(pool, chain, replacement)
    assert isinstance(res, Accepted)
    assert res.replaced == (original, child, grandchild)  # parents first
    assert len(pool) == 1 and pool.get(replacement.txid) is not None
    assert pool.spender(coin.outpoint) == replacement.txid
    assert pool.total_fee == 50_000


def test_full_rbf_replaces_a_non_signalling_transaction() -> None:
    pool, chain = fresh()
    coin = chain.fund(1_000_000)
    final = spend([coin], [(990_000, ALICE)], sequence=0xFFFFFFFF)
    assert isinstance(accept(pool, chain, final), Accepted)
    res = accept(pool, chain, spend([coin], [(980_000, ALICE)], sequence=0xFFFFFFFF))
    assert isinstance(res, Accepted) and res.replaced == (final,)


def test_rule6_feerate_must_beat_each_direct_conflict() -> None:
    pool, chain = fresh()
    a, b = chain.fund(100_000, key=TR), chain.fund(100_000, key=TR)
    high = spend([a], [(90_000, ALICE)])  # 10k fee
    low = spend([b], [(99_000, ALICE)])  # 1k fee
    assert isinstance(accept(pool, chain, high), Accepted)
    assert isinstance(accept(pool, chain, low), Accepted)
    # Pays more than both together (11k + relay), but its rate is below `high`'s.
    both = spend([a, b], [(150_000, BOB)])  # 50k fee over ~2x the size
    assert isinstance(accept(pool, chain, both), Accepted)
    pool2, chain2 = fresh()
    c, d = chain2.fund(100_000, key=TR), chain2.fund(100_000, key=TR)
    assert isinstance(accept(pool2, chain2, spend([c], [(90_000, ALICE)])), Accepted)
    assert isinstance(accept(pool2, chain2, spend([d], [(99_000, ALICE)])), Accepted)
    reason, detail = _reject_reason(accept(pool2, chain2, spend([c, d], [(188_000, BOB)])))  # 12k fee
    assert reason == "insufficient fee" and "new feerate" in detail and "<= old feerate" in detail


def test_rule3_must_pay_at_least_the_replaced_fees() -> None:
    pool, chain = fresh()
    coin = chain.fund(1_000_000, key=TR)
    original = spend([coin], [(990_000, ALICE)])  # 10k
    child = spend([out(original, 0, ALICE)], [(900_000, BOB)])  # 90k
    assert isinstance(accept(pool, chain, original), Accepted)
    assert isinstance(accept(pool, chain, child), Accepted)
    replacement = spend([coin], [(950_000, BOB)])  # 50k: better rate than `original`, less than 100k total
    res = accept(pool, chain, replacement)
    reason, detail = _reject_reason(res)
    assert reason == "insufficient fee" and "less fees than conflicting txs" in detail
    assert isinstance(res, Rejected) and res.result is TxValidationResult.RECONSIDERABLE
    assert len(pool) == 2


def test_rule4_must_pay_for_its_own_relay() -> None:
    pool, chain = fresh()
    coin = chain.fund(1_000_000, key=TR)
    original = spend([coin], [(990_000, ALICE)])
    assert isinstance(accept(pool, chain, original), Accepted)
    # Same size; 5 sat more is a higher rate and more fees, but less than 0.1 sat/vB x vsize.
    cheap = spend([coin], [(989_995, ALICE)])
    assert cheap.vsize == original.vsize and cheap.vsize > 50
    reason, detail = _reject_reason(accept(pool, chain, cheap))
    assert reason == "insufficient fee" and "not enough additional fees to relay" in detail
    enough = spend([coin], [(990_000 - (original.vsize + 9) // 10, ALICE)])
    assert isinstance(accept(pool, chain, enough), Accepted)


def test_rule5_at_most_100_evictions() -> None:
    opts = MempoolOptions(descendant_count=200, ancestor_count=200)
    pool, chain = fresh(opts)
    coin = chain.fund(10_000_000, key=None)
    fanout = spend([coin], [(90_000, None)] * MAX_REPLACEMENT_CANDIDATES)
    assert isinstance(accept(pool, chain, fanout), Accepted)
    for n in range(MAX_REPLACEMENT_CANDIDATES):
        assert isinstance(accept(pool, chain, spend([out(fanout, n)], [(89_000, None)])), Accepted)
    reason, detail = _reject_reason(accept(pool, chain, spend([coin], [(1_000_000, None)])))
    assert reason == "too many potential replacements" and "(101 > 100)" in detail
    assert len(pool) == MAX_REPLACEMENT_CANDIDATES + 1


def test_rule2_no_new_unconfirmed_inputs() -> None:
    pool, chain = fresh()
    coin = chain.fund(100_000, key=None)
    other = spend([chain.fund(100_000, key=None)], [(99_000, None)])
    original = spend([coin], [(99_000, None)])
    assert isinstance(accept(pool, chain, other), Accepted)
    assert isinstance(accept(pool, chain, original), Accepted)
    sneaky = spend([coin, out(other, 0)], [(150_000, None)])
    reason, detail = _reject_reason(accept(pool, chain, sneaky))
    assert reason == "replacement-adds-unconfirmed" and detail.endswith("idx 1")


def test_replacement_cannot_spend_what_it_replaces() -> None:
    pool, chain = fresh()
    coin = chain.fund(100_000, key=None)
    parent = spend([coin], [(50_000, None), (49_000, None)])
    assert isinstance(accept(pool, chain, parent), Accepted)
    # Conflicts with `parent` (same coin) while spending its output.
    bad = spend([coin, out(parent, 0)], [(100_000, None)])
    reason, detail = _reject_reason(accept(pool, chain, bad))
    assert reason == "bad-txns-spends-conflicting-tx" and f"spends conflicting transaction {parent.txid}" in detail


def test_replacement_frees_room_in_chain_limits() -> None:
    # A chain at the descendant limit can still have its tip replaced.
    pool, chain = fresh()
    coin = chain.fund(10_000_000, key=None)
    txs = [spend([coin], [(9_990_000, None)])]
    for _ in range(24):
        txs.append(spend([out(txs[-1], 0)], [(txs[-1].vout[0].value - 10_000, None)]))
    for tx in txs:
        assert isinstance(accept(pool, chain, tx), Accepted)
    last_input = out(txs[-2], 0)
    bump = spend([last_input], [(txs[-1].vout[0].value - 20_000, None)])
    res = accept(pool, chain, bump)
    assert isinstance(res, Accepted) and res.replaced == (txs[-1],)
