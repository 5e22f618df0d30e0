"""Header tree: connect / fork / reorg results, Core's reject reasons, invalidation, locators,
skip-pointer ancestors and persistence."""

import random
from dataclasses import replace

import pytest

from core.chain.entry import (
    Connected,
    ForkAdded,
    HeaderStatus,
    Rejected,
    Reorganized,
    get_skip_height,
    last_common_ancestor,
)
from core.chain.errors import ChainError, HeaderStoreError
from core.chain.generate import generate_headers, mine_header
from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import MAX_FUTURE_BLOCK_TIME, params_for, regtest_params
from core.consensus.block import BlockHeader, bits_to_target
from core.consensus.hashes import BlockHash

REGTEST = params_for("regtest")
NOW = 2_000_000_000  # a fixed clock, well after every generated header


def tree_with(n: int, params=REGTEST, store=None) -> HeaderTree:
    tree = HeaderTree(params, store)
    if n:
        assert isinstance(tree.accept(generate_headers(tree, n), now=NOW), Connected)
    return tree


def heights(entries) -> list[int]:
    return [e.height for e in entries]


# --- results -------------------------------------------------------------------------------------
def test_connected_in_order() -> None:
    tree = HeaderTree(REGTEST)
    headers = generate_headers(tree, 10)
    result = tree.accept(headers, now=NOW)
    assert isinstance(result, Connected)
    assert heights(result.entries) == list(range(1, 11))
    assert [e.header for e in result.entries] == headers
    assert tree.tip is result.entries[-1] and tree.height == 10
    assert tree.tip.chain_work == 11 * 2  # regtest proof is 2 per block
    assert all(tree.at_height(e.height) is e for e in result.entries)
    assert tree.at_height(11) is None and tree.at_height(-1) is None


def test_fork_then_reorg() -> None:
    tree = tree_with(10)
    old_chain = [tree.at_height(h) for h in range(11)]
    fork = generate_headers(tree.at_height(5), 8, tag=b"fork")
    # 3 headers: height 8 < 10, stored but not best
    r1 = tree.accept(fork[:3], now=NOW)
    assert isinstance(r1, ForkAdded) and heights(r1.entries) == [6, 7, 8]
    assert tree.tip is old_chain[10]
    # 2 more reach height 10: equal work, the first seen chain stays
    r2 = tree.accept(fork[3:5], now=NOW)
    assert isinstance(r2, ForkAdded) and tree.tip is old_chain[10]
    # one more: more work, reorganize
    r3 = tree.accept(fork[5:6], now=NOW)
    assert isinstance(r3, Reorganized)
    assert r3.disconnected == tuple(old_chain[10:5:-1])  # old tip first
    assert heights(r3.connected) == [6, 7, 8, 9, 10, 11]  # earlier fork entries join the best chain too
    assert [e.header for e in r3.connected] == fork[:6]
    assert tree.tip is r3.connected[-1]
    assert tree.at_height(5) is old_chain[5] and tree.at_height(6) is r3.connected[0]
    # extending the new tip is a plain Connected
    r4 = tree.accept(fork[6:], now=NOW)
    assert isinstance(r4, Connected) and heights(r4.entries) == [12, 13]


def test_reorg_within_one_batch_and_back() -> None:
    tree = tree_with(4)
    a = generate_headers(tree.at_height(2), 5, tag=b"a")  # a branch to height 7
    result = tree.accept(a, now=NOW)
    assert isinstance(result, Reorganized)
    assert heights(result.disconnected) == [4, 3] and heights(result.connected) == [3, 4, 5, 6, 7]


def test_known_headers_are_not_errors() -> None:
    tree = tree_with(5)
    main = [tree.at_height(h).header for h in range(1, 6)]
    r = tree.accept(main, now=NOW)
    assert r == Connected(())
    fork = generate_headers(tree.at_height(1), 2, tag=b"f")
    assert isinstance(tree.accept(fork, now=NOW), ForkAdded)
    assert tree.accept(fork, now=NOW) == ForkAdded(())
    assert tree.accept([REGTEST.genesis.header], now=NOW) == Connected(())
    # known headers followed by new ones: only the new ones are reported
    more = generate_headers(tree, 2)
    r = tree.accept(main[-2:] + more, now=NOW)
    assert isinstance(r, Connected) and [e.header for e in r.entries] == more


def test_accept_empty_batch() -> None:
    tree = tree_with(2)
    assert tree.accept([], now=NOW) == Connected(())


# --- rejections ----------------------------------------------------------------------------------
def _reject(tree: HeaderTree, header, reason: str, now: int = NOW) -> Rejected:
    before = (tree.tip, len(tree))
    r = tree.accept([header], now=now)
    assert isinstance(r, Rejected), r
    assert r.reason == reason and r.header == header and r.accepted is None
    assert (tree.tip, len(tree)) == before
    return r


def test_high_hash() -> None:
    tree = tree_with(3)
    good = generate_headers(tree, 1)[0]
    target = bits_to_target(good.bits)[0]
    nonce = good.nonce
    while True:
        nonce += 1
        bad = replace(good, nonce=nonce)
        if int.from_bytes(bad.hash, "little") > target:
            break
    _reject(tree, bad, "high-hash")
    # bits above the network's pow limit can never satisfy CheckProofOfWork
    _reject(tree, replace(good, bits=0x2100FFFF), "high-hash")


def test_bad_diffbits() -> None:
    tree = tree_with(3)
    harder = mine_header(tree.tip, tree.tip.time + 600, 0x1F7FFFFF)  # valid PoW, wrong bits
    _reject(tree, harder, "bad-diffbits")


def test_time_too_old() -> None:
    tree = tree_with(12)
    mtp = tree.median_time_past(tree.tip)
    assert mtp == tree.at_height(7).time  # median of heights 2..12
    _reject(tree, mine_header(tree.tip, mtp, REGTEST.pow_limit_bits), "time-too-old")
    assert isinstance(tree.accept([mine_header(tree.tip, mtp + 1, REGTEST.pow_limit_bits)], now=NOW), Connected)


def test_time_too_new() -> None:
    tree = tree_with(1)
    now = tree.tip.time + 100
    _reject(tree, mine_header(tree.tip, now + MAX_FUTURE_BLOCK_TIME + 1, REGTEST.pow_limit_bits), "time-too-new", now)
    ok = mine_header(tree.tip, now + MAX_FUTURE_BLOCK_TIME, REGTEST.pow_limit_bits)
    assert isinstance(tree.accept([ok], now=now), Connected)


@pytest.mark.parametrize(("version", "reason"), [(1, "bad-version(0x00000001)"), (2, "bad-version(0x00000002)"), (3, "bad-version(0x00000003)"), (-1, "bad-version(0xffffffff)")])
def test_bad_version(version: int, reason: str) -> None:
    tree = tree_with(1)  # bip34/65/66 are active from height 1 on regtest
    _reject(tree, mine_header(tree.tip, tree.tip.time + 1, REGTEST.pow_limit_bits, version=version), reason)


def test_old_versions_before_activation() -> None:
    params = replace(REGTEST, bip34_height=3, bip66_height=4, bip65_height=5)
    tree = HeaderTree(params)
    versions = [1, 1, 2, 3, 4]
    for v in versions:
        h = mine_header(tree.tip, tree.tip.time + 1, params.pow_limit_bits, version=v)
        assert isinstance(tree.accept([h], now=NOW), Connected), v
    h = mine_header(tree.tip, tree.tip.time + 1, params.pow_limit_bits, version=3)
    _reject(tree, h, "bad-version(0x00000003)")


def test_prev_blk_not_found() -> None:
    tree = tree_with(2)
    orphan = mine_header(bytes(range(32)), tree.tip.time + 1, REGTEST.pow_limit_bits)
    _reject(tree, orphan, "prev-blk-not-found")


def test_timewarp_rule_bip94() -> None:
    params = regtest_params(enforce_bip94=True)
    tree = HeaderTree(params)
    tree.accept(generate_headers(tree, 143), now=NOW)
    assert (tree.height + 1) % params.difficulty_adjustment_interval == 0
    prev_time = tree.tip.time
    _reject(tree, mine_header(tree.tip, prev_time - 601, params.pow_limit_bits), "time-timewarp-attack")
    assert isinstance(tree.accept([mine_header(tree.tip, prev_time - 600, params.pow_limit_bits)], now=NOW), Connected)
    # without BIP94 the same header is fine (it is still after the median time past)
    plain = tree_with(143)
    assert isinstance(plain.accept([mine_header(plain.tip, plain.tip.time - 601, REGTEST.pow_limit_bits)], now=NOW), Connected)


def test_rejection_keeps_valid_prefix() -> None:
    tree = tree_with(2)
    good = generate_headers(tree, 3)
    bad = mine_header(good[1], good[1].time + 1, REGTEST.pow_limit_bits, version=1)
    r = tree.accept([good[0], good[1], bad, good[2]], now=NOW)
    assert isinstance(r, Rejected) and r.reason == "bad-version(0x00000001)"
    assert isinstance(r.accepted, Connected) and heights(r.accepted.entries) == [3, 4]
    assert tree.height == 4


# --- invalidation ----------------------------------------------------------------------------
def test_mark_invalid_moves_to_fork() -> None:
    tree = tree_with(10)
    main = [tree.at_height(h) for h in range(11)]
    fork = tree.accept(generate_headers(main[3], 5, tag=b"f"), now=NOW)
    assert isinstance(fork, ForkAdded)
    r = tree.mark_invalid(main[5])
    assert isinstance(r, Reorganized)
    assert r.disconnected == tuple(main[10:3:-1])
    assert r.connected == fork.entries
    assert tree.tip is fork.entries[-1]
    assert main[5].status & HeaderStatus.FAILED_VALID
    assert all(main[h].status & HeaderStatus.FAILED_CHILD for h in range(6, 11))
    assert not main[4].is_invalid and not any(e.is_invalid for e in fork.entries)
    # descendants of an invalid header are refused, and so is the invalid header itself
    _reject(tree, generate_headers(main[10], 1)[0], "bad-prevblk")
    _reject(tree, main[7].header, "duplicate-invalid")
    assert tree.best_chain_candidates()[0] is tree.tip


def test_mark_invalid_without_alternative_goes_to_parent() -> None:
    tree = tree_with(6)
    main = [tree.at_height(h) for h in range(7)]
    r = tree.mark_invalid(main[4])
    assert isinstance(r, Reorganized)
    assert heights(r.disconnected) == [6, 5, 4] and r.connected == ()
    assert tree.tip is main[3]
    # the chain grows again from the last valid header
    assert isinstance(tree.accept(generate_headers(tree, 2, tag=b"new"), now=NOW), Connected)
    assert tree.height == 5


def test_mark_invalid_off_the_best_chain() -> None:
    tree = tree_with(6)
    fork = tree.accept(generate_headers(tree.at_height(2), 2, tag=b"f"), now=NOW)
    assert tree.mark_invalid(fork.entries[0]) is None
    assert fork.entries[1].status & HeaderStatus.FAILED_CHILD
    assert tree.height == 6
    with pytest.raises(ChainError):
        tree.mark_invalid(tree.genesis)


# --- locators, ancestors -------------------------------------------------------------------------
def test_locator_shape() -> None:
    tree = tree_with(100)
    loc = tree.locator()
    expected = [*range(100, 89, -1), 89, 87, 83, 75, 59, 27, 0]
    assert loc == [tree.at_height(h).hash for h in expected]
    assert HeaderTree(REGTEST).locator() == [REGTEST.genesis_hash]


def test_find_fork_and_headers_after() -> None:
    tree = tree_with(30)
    fork = tree.accept(generate_headers(tree.at_height(20), 3, tag=b"f"), now=NOW)
    assert tree.find_fork(tree.locator(fork.entries[-1])) is tree.at_height(20)
    assert tree.find_fork(tree.locator()) is tree.tip
    assert tree.find_fork([bytes(32)]) is tree.genesis
    # a peer ahead of us on our own chain: fork point is our tip
    ahead = HeaderTree(REGTEST)
    ahead.accept([tree.at_height(h).header for h in range(1, 31)] + generate_headers(tree, 2, tag=b"x"), now=NOW)
    assert tree.find_fork(ahead.locator()) is tree.tip
    served = tree.headers_after(tree.locator(fork.entries[-1]))
    assert served == [tree.at_height(h).header for h in range(21, 31)]
    assert tree.headers_after([tree.at_height(5).hash], stop=tree.at_height(8).hash) == [
        tree.at_height(h).header for h in (6, 7, 8)
    ]
    assert len(tree.headers_after([], limit=4)) == 4


def test_skip_pointer_ancestors() -> None:
    tree = tree_with(300)
    branch = tree.accept(generate_headers(tree.at_height(150), 200, tag=b"b", spacing=1), now=NOW)
    tip = tree.tip
    assert isinstance(branch, Reorganized) and tip.height == 350
    rng = random.Random(7)
    for entry in (tip, branch.disconnected[0]):
        walk = [entry]
        while walk[-1].prev is not None:
            walk.append(walk[-1].prev)
        for _ in range(200):
            h = rng.randrange(entry.height + 1)
            assert entry.ancestor(h) is walk[entry.height - h]
            assert tree.ancestor(entry, h) is walk[entry.height - h]
        assert entry.ancestor(entry.height + 1) is None and entry.ancestor(-1) is None
        e = entry
        while e.prev is not None:
            assert e.skip is not None and e.skip.height == get_skip_height(e.height)
            e = e.prev
    assert last_common_ancestor(tip, branch.disconnected[0]) is tree.at_height(150)
    assert last_common_ancestor(tip, tree.at_height(40)) is tree.at_height(40)


def test_median_time_past_near_genesis() -> None:
    tree = tree_with(3)
    times = sorted(tree.at_height(h).time for h in range(4))
    assert tree.median_time_past(tree.tip) == times[2]
    assert tree.median_time_past(tree.genesis) == tree.genesis.time


# --- persistence ---------------------------------------------------------------------------------
def test_restart_restores_tip(tmp_path) -> None:
    path = tmp_path / "headers.db"
    store = HeaderStore(path)
    tree = tree_with(50, store=store)
    fork = tree.accept(generate_headers(tree.at_height(40), 5, tag=b"f"), now=NOW)
    assert isinstance(fork, ForkAdded)
    tree.accept(generate_headers(tree, 5), now=NOW)
    tip, size, chain = tree.tip, len(tree), [tree.at_height(h).hash for h in range(tree.height + 1)]
    store.close()

    with HeaderStore(path) as store2:
        again = HeaderTree(REGTEST, store2)
        assert again.tip.hash == tip.hash and again.tip.chain_work == tip.chain_work
        assert len(again) == size
        assert [again.at_height(h).hash for h in range(again.height + 1)] == chain
        assert again.get(fork.entries[-1].hash).height == 45
        # and it carries on from disk
        more = again.accept(generate_headers(again, 3), now=NOW)
        assert isinstance(more, Connected) and again.height == 58

    with HeaderStore(path) as store3:
        assert HeaderTree(REGTEST, store3).height == 58


def test_restart_keeps_invalid_status_and_first_seen_tie(tmp_path) -> None:
    path = tmp_path / "h.db"
    with HeaderStore(path) as store:
        tree = tree_with(10, store=store)
        main = [tree.at_height(h) for h in range(11)]
        fork = tree.accept(generate_headers(main[4], 6, tag=b"f"), now=NOW)  # equal work: stays a fork
        assert isinstance(fork, ForkAdded) and tree.tip is main[10]
    with HeaderStore(path) as store:
        tree = HeaderTree(REGTEST, store)
        assert tree.tip.hash == main[10].hash  # the first seen of two equal-work chains
        tree.mark_invalid(tree.get(main[6].hash))
        assert tree.tip.hash == fork.entries[-1].hash
    with HeaderStore(path) as store:
        tree = HeaderTree(REGTEST, store)
        assert tree.tip.hash == fork.entries[-1].hash
        assert tree.get(main[6].hash).status & HeaderStatus.FAILED_VALID
        assert tree.get(main[9].hash).status & HeaderStatus.FAILED_CHILD


def test_store_of_another_network(tmp_path) -> None:
    path = tmp_path / "h.db"
    with HeaderStore(path) as store:
        HeaderTree(REGTEST, store)
    with HeaderStore(path) as store, pytest.raises(HeaderStoreError):
        HeaderTree(params_for("signet"), store)


# --- real mainnet headers ------------------------------------------------------------------------
def test_mainnet_blocks_one_and_two() -> None:
    main = params_for("main")
    b1 = BlockHeader(
        1, main.genesis_hash, BlockHash.from_hex("0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"), 1231469665, 0x1D00FFFF, 2573394689
    )
    b2 = BlockHeader(
        1, b1.hash, BlockHash.from_hex("9b0fc92260312ce44e74ef369f5c66bbb85848f2eddd5a7a1cde251e54ccfdd5"), 1231469744, 0x1D00FFFF, 1639830024
    )
    assert str(b1.hash) == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    assert str(b2.hash) == "000000006a625f06636b8bb6ac7b960a8d03705d1ace08b1a19da3fdcc99ddbd"
    tree = HeaderTree(main)
    _reject(tree, replace(b1, nonce=b1.nonce + 1), "high-hash")  # real difficulty: a changed nonce fails
    result = tree.accept([b1, b2], now=NOW)
    assert isinstance(result, Connected) and tree.height == 2
    assert tree.tip.chain_work == 3 * 0x100010001
