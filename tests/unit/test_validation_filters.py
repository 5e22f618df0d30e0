"""The BIP158 filter index: filters equal directly built ones, the header chain links from zero, reorgs
remove stale entries, and the getcfilters / getcfheaders / getcfcheckpt lookups follow Core's limits."""

from __future__ import annotations

import pytest

from core.consensus.tx import OutPoint
from core.filters.basic import ZERO_FILTER_HEADER, BlockFilter, compute_filter_header
from tests.unit.validation_support import (
    REGTEST,
    ChainDriver,
    Key,
    Wallet,
    build_block,
    genesis_time,
    make_block,
)

KEYS = (Key.from_int(21), Key.from_int(22, taproot=True))
T0 = genesis_time()


def _chain(wallet, prev, start, count, tag=0):
    out = []
    for h in range(start, start + count):
        b = build_block(wallet, prev, h, T0 + 600 * h + tag, n_txs=3, inputs_per_tx=2, tag=tag)
        out.append(b)
        prev = b.hash
    return out


def _expected_filters(blocks):
    """Filters built straight from the blocks, with spent scripts looked up in the blocks themselves."""
    outputs = {}
    built = [BlockFilter.build_basic(REGTEST.genesis, [])]
    for b in blocks:
        spent = [outputs[txin.prevout].script_pubkey for tx in b.txs[1:] for txin in tx.vin]
        built.append(BlockFilter.build_basic(b, spent))
        for tx in b.txs:
            for n, out in enumerate(tx.vout):
                outputs[OutPoint(tx.txid, n)] = out
    return built


@pytest.fixture(scope="module")
def chains():
    wallet = Wallet(KEYS)
    base = _chain(wallet, REGTEST.genesis_hash, 1, 110)
    fork_wallet = wallet.copy()
    main = _chain(wallet, base[-1].hash, 111, 3)
    side = _chain(fork_wallet, base[-1].hash, 111, 4, tag=5)
    return base, main, side


def _check_index(drv: ChainDriver, blocks) -> None:
    expected = _expected_filters(blocks)
    prev = ZERO_FILTER_HEADER
    for block, want in zip((REGTEST.genesis, *blocks), expected, strict=True):
        got = drv.cs.filter(block.hash)
        assert got == want
        header = compute_filter_header(want.filter_hash, prev)
        assert drv.cs.filter_header(block.hash) == header
        prev = header


def test_index_equals_directly_built_filters(tmp_path, chains) -> None:
    base, main, _ = chains
    drv = ChainDriver(tmp_path)
    drv.submit(*base, *main)
    _check_index(drv, (*base, *main))
    # Spent scripts are in the filter: a block spending a taproot coin matches that script.
    spender = next(b for b in main if any(txin for tx in b.txs[1:] for txin in tx.vin))
    f = drv.cs.filter(spender.hash)
    assert f.match_any([KEYS[0].script_pubkey]) and f.match_any([KEYS[1].script_pubkey])
    assert not f.match_any([b"\x00\x14" + bytes(20)])
    drv.close()


def test_reorg_replaces_filters_and_headers(tmp_path, chains) -> None:
    base, main, side = chains
    drv = ChainDriver(tmp_path)
    drv.submit(*base, *main)
    drv.submit(*side)
    assert drv.cs.tip.hash == side[-1].hash
    for b in main:
        assert drv.cs.filter(b.hash) is None and drv.cs.filter_header(b.hash) is None
    _check_index(drv, (*base, *side))
    assert drv.cs.filters.count() == 1 + len(base) + len(side)
    drv.close()
    reopened = ChainDriver(tmp_path)
    _check_index(reopened, (*base, *side))
    reopened.close()


def test_serving_lookups_follow_bip157_limits(tmp_path, chains) -> None:
    base, main, side = chains
    drv = ChainDriver(tmp_path)
    drv.submit(*base, *main)
    tip = main[-1].hash
    everything = drv.cs.cfilters(0, tip)
    assert [f.block_hash for f in everything] == [REGTEST.genesis_hash, *(b.hash for b in (*base, *main))]
    assert [f.block_hash for f in drv.cs.cfilters(10, base[19].hash)] == [b.hash for b in base[9:20]]
    prev, hashes = drv.cs.cfheaders(10, base[19].hash)
    assert prev == drv.cs.filter_header(base[8].hash)
    assert hashes == [drv.cs.filter(b.hash).filter_hash for b in base[9:20]]
    prev0, _ = drv.cs.cfheaders(0, base[0].hash)
    assert prev0 == ZERO_FILTER_HEADER
    assert drv.cs.cfilters(21, base[19].hash) is None  # start above stop
    assert drv.cs.cfilters(0, bytes(32)) is None  # unknown stop
    drv.submit(*side)
    assert drv.cs.cfilters(0, main[-1].hash) is None  # stop no longer on the active chain
    assert drv.cs.cfcheckpt(side[-1].hash) == []  # fewer than 1000 blocks
    drv.close()


def test_checkpoints_and_range_caps_over_1000_blocks(tmp_path) -> None:
    blocks = []
    prev = REGTEST.genesis_hash
    for h in range(1, 2102):
        b = make_block(prev, h, T0 + 600 * h)
        blocks.append(b)
        prev = b.hash
    drv = ChainDriver(tmp_path)
    assert len(drv.submit(*blocks).connected) == 2101
    assert drv.cs.cfcheckpt(prev) == [drv.cs.filter_header(blocks[999].hash), drv.cs.filter_header(blocks[1999].hash)]
    assert drv.cs.cfcheckpt(blocks[1998].hash) == [drv.cs.filter_header(blocks[999].hash)]
    # getcfilters: at most 1000 filters; getcfheaders: at most 2000 hashes.
    assert len(drv.cs.cfilters(1, blocks[999].hash)) == 1000
    assert drv.cs.cfilters(0, blocks[999].hash) is None
    assert len(drv.cs.cfheaders(1, blocks[1999].hash)[1]) == 2000
    assert drv.cs.cfheaders(0, blocks[1999].hash) is None
    drv.close()
