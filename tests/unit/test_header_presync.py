"""Headers presync (low-work flood guard): follow without storing, commit, redownload, release."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from core.chain.entry import Connected
from core.chain.generate import generate_headers, mine_header
from core.chain.headers import HeaderTree
from core.chain.params import params_for
from core.chain.presync import (
    HeadersPresync,
    HeadersSyncParams,
    PresyncState,
    anti_dos_work_threshold,
    claimed_headers_work,
    headers_sync_params,
    needs_presync,
)
from core.consensus.block import BlockHeader

REGTEST = params_for("regtest")
NOW = 2_000_000_000
SMALL = HeadersSyncParams(commitment_period=5, redownload_buffer_size=20)
PEER_CHAIN = generate_headers(HeaderTree(REGTEST), 700, spacing=60)
THRESHOLD = 2 * 600  # work of genesis + 599 regtest headers (2 each): reached at the 600th header


def chunks(headers, size=100):
    return [headers[i : i + size] for i in range(0, len(headers), size)]


def run_presync(sync: HeadersPresync, headers) -> list:
    results = []
    for chunk in chunks(headers):
        results.append(sync.process_next_headers(chunk, full_message=True))
        if sync.state is not PresyncState.PRESYNC:
            break
    return results


def test_full_presync_then_redownload_releases_the_chain() -> None:
    tree = HeaderTree(REGTEST)
    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=SMALL)
    results = run_presync(sync, PEER_CHAIN)
    assert all(r.success and r.request_more and not r.headers_to_store for r in results)
    assert sync.state is PresyncState.REDOWNLOAD and sync.presync_height == 600
    assert len(tree) == 1  # nothing stored while presyncing
    assert sync.next_locator()[0] == tree.genesis.hash  # start again from chain_start

    released: list[BlockHeader] = []
    parts = chunks(PEER_CHAIN)
    for i, chunk in enumerate(parts):
        r = sync.process_next_headers(chunk, full_message=i < len(parts) - 1)
        assert r.success, r.reason
        released += r.headers_to_store
        if i == 0:
            assert len(r.headers_to_store) == 100 - SMALL.redownload_buffer_size  # buffered, not yet released
        if not r.request_more:
            break
    assert released == PEER_CHAIN[: len(released)] and len(released) >= 600
    assert sync.state is PresyncState.FINAL
    accepted = tree.accept(released, now=NOW)
    assert isinstance(accepted, Connected) and tree.height == len(released)


def test_low_work_chain_is_never_stored() -> None:
    tree = HeaderTree(REGTEST)
    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=SMALL)
    r = sync.process_next_headers(PEER_CHAIN[:300], full_message=False)
    assert r.success and not r.request_more and "incomplete" in r.reason
    assert sync.state is PresyncState.FINAL and sync.next_locator() == []
    assert len(tree) == 1
    assert not sync.process_next_headers(PEER_CHAIN[300:400]).success


def test_swapped_chain_is_caught_by_commitments() -> None:
    tree = HeaderTree(REGTEST)
    dense = HeadersSyncParams(commitment_period=2, redownload_buffer_size=300)
    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=dense)
    run_presync(sync, PEER_CHAIN)
    assert sync.state is PresyncState.REDOWNLOAD
    other = generate_headers(HeaderTree(REGTEST), 700, spacing=61)  # same work, different hashes
    r = sync.process_next_headers(other[:300], full_message=True)
    # 150 one-bit commitments in the first 300 headers: a mismatch is certain in practice
    assert not r.success and r.reason == "commitment mismatch (redownload phase)"
    assert r.headers_to_store == () and sync.state is PresyncState.FINAL


def test_presync_rejections() -> None:
    tree = HeaderTree(REGTEST)
    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=SMALL)
    r = sync.process_next_headers(PEER_CHAIN[1:10])
    assert not r.success and r.reason == "non-continuous headers sequence"

    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=SMALL)
    good = PEER_CHAIN[0]
    nonce = good.nonce
    while True:
        nonce += 1
        bad = replace(good, nonce=nonce)
        if not int.from_bytes(bad.hash, "little") <= (0x7FFFFF << 232):
            break
    r = sync.process_next_headers([bad])
    assert not r.success and r.reason == "high-hash"


def test_presync_difficulty_transition() -> None:
    strict = replace(REGTEST, pow_allow_min_difficulty_blocks=False)
    tree = HeaderTree(strict)
    first = mine_header(tree.genesis, tree.genesis.time + 600, strict.pow_limit_bits)
    harder = mine_header(first, first.time + 600, 0x1F7FFFFF)  # bits change outside a retarget
    sync = HeadersPresync(tree, tree.genesis, THRESHOLD, now=NOW, sync_params=SMALL)
    r = sync.process_next_headers([first, harder])
    assert not r.success and r.reason == "bad-diffbits"


def test_presync_caps_commitments_by_time() -> None:
    tree = HeaderTree(REGTEST)
    # Only 10 seconds of history allowed (+2h future): 6 blocks/s -> at most 6*7210//1000 commitments
    now = tree.genesis.median_time_past() - 7200 + 10
    sync = HeadersPresync(tree, tree.genesis, 10**9, now=now, sync_params=HeadersSyncParams(10, 20))
    assert sync._max_commitments == 6
    r = sync.process_next_headers(PEER_CHAIN[:100], full_message=True)
    assert not r.success and r.reason == "exceeded max commitments (presync phase)"


def test_anti_dos_threshold() -> None:
    tree = HeaderTree(REGTEST)
    assert anti_dos_work_threshold(tree) == 0  # regtest: no minimum chain work, tiny tip
    tree.accept(PEER_CHAIN[:300], now=NOW)
    assert anti_dos_work_threshold(tree) == tree.tip.chain_work - 144 * 2
    assert claimed_headers_work(PEER_CHAIN[:10]) == 20
    assert needs_presync(tree, tree.genesis, PEER_CHAIN[:100])
    assert not needs_presync(tree, tree.at_height(200), PEER_CHAIN[200:300])
    assert headers_sync_params(params_for("main")) == HeadersSyncParams(632, 15009)
    assert headers_sync_params(REGTEST) == HeadersSyncParams(275, 7017)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.binary(min_size=80, max_size=80).map(BlockHeader.parse) | st.sampled_from(PEER_CHAIN[:40]), max_size=12), max_size=4))
def test_fuzz_presync_never_raises(messages) -> None:
    tree = HeaderTree(REGTEST)
    sync = HeadersPresync(tree, tree.genesis, 2 * 20, now=NOW, sync_params=SMALL)
    for msg in messages:
        r = sync.process_next_headers(msg, full_message=True)
        assert isinstance(r.success, bool)
        assert all(isinstance(h, BlockHeader) for h in r.headers_to_store)
    assert len(tree) == 1
