"""Block assembly: package (CPFP) selection, limits, the coinbase, and a block that validates."""

from __future__ import annotations

import dataclasses

import pytest

from core.chain.params import params_for
from core.consensus.hashes import BlockHash
from core.consensus.tx import OutPoint, Transaction
from core.mempool import Accepted, Mempool
from core.mining.assembler import (
    BLOCK_VERSION,
    DEFAULT_BLOCK_RESERVED_WEIGHT,
    AssemblerOptions,
    BlockAssembler,
    BlockTemplate,
    mine,
)
from core.mining.errors import NonceNotFound
from core.validation.block_check import check_block, contextual_check_block
from core.validation.connect import BlockContext, connect_block
from core.validation.deployments import block_subsidy
from core.validation.utxo import Coin, CoinsCache, outpoint_key
from tests.unit.mempool_support import ALICE, BOB, MTP, NOW, TIP, TR, WPKH, Chain, accept, fresh, out, spend

REGTEST = params_for("regtest")
PREV = BlockHash(bytes(range(32)))
PAYOUT = WPKH.script_pubkey


class _Source:
    """The test chain's coins as the validation package's CoinSource."""

    def __init__(self, chain: Chain) -> None:
        self.by_key = {outpoint_key(op): c for op, c in chain.view.coins.items()}

    def fetch_coin(self, key: bytes) -> Coin | None:
        return self.by_key.get(key)


def _cpfp_pool() -> tuple[Mempool, Chain, dict[str, Transaction]]:
    pool, chain = fresh()
    # Fixed-size taproot spends keep the fee rates exactly where intended.
    parent = spend([chain.fund(1_000_000, key=TR)], [(1_000_000 - 111, BOB)])  # ~1 sat/vB
    child = spend([out(parent, 0, BOB)], [(parent.vout[0].value - 6_000, ALICE)])  # ~54 sat/vB
    medium = spend([chain.fund(1_000_000, key=TR)], [(999_000 - 3_080, ALICE), (1_000, BOB)])  # ~20 sat/vB, larger
    low = spend([chain.fund(1_000_000, key=TR)], [(1_000_000 - 555, ALICE)])  # ~5 sat/vB
    txs = {"parent": parent, "child": child, "medium": medium, "low": low}
    for tx in (low, parent, medium, child):
        assert isinstance(accept(pool, chain, tx), Accepted)
    return pool, chain, txs


def _template(pool: Mempool, options: AssemblerOptions | None = None, **kw: object) -> BlockTemplate:
    args: dict[str, object] = {
        "prev_hash": PREV,
        "height": TIP + 1,
        "mtp": MTP,
        "bits": 0x207FFFFF,
        "script_pubkey": PAYOUT,
        "params": REGTEST,
        "now": NOW,
    }
    args.update(kw)
    return BlockAssembler(pool, options).create_new_block(**args)  # type: ignore[arg-type]


def test_cpfp_package_goes_before_a_medium_fee_transaction() -> None:
    pool, _, t = _cpfp_pool()
    rates = {k: pool.entry(tx.txid).fee_rate for k, tx in t.items()}
    assert rates["parent"] < rates["low"] < rates["medium"] < rates["child"]
    block = _template(pool).block
    assert list(block.txs[1:]) == [t["parent"], t["child"], t["medium"], t["low"]]


def test_weight_limit_keeps_only_the_best_package() -> None:
    pool, _, t = _cpfp_pool()
    package_weight = t["parent"].weight + t["child"].weight
    opts = AssemblerOptions(max_weight=DEFAULT_BLOCK_RESERVED_WEIGHT + package_weight + 1)
    tmpl = _template(pool, opts)
    assert list(tmpl.block.txs[1:]) == [t["parent"], t["child"]]
    # Room for the package and `low` but not `medium`: medium is skipped, low still goes in.
    opts = AssemblerOptions(max_weight=DEFAULT_BLOCK_RESERVED_WEIGHT + package_weight + t["low"].weight + 1)
    assert list(_template(pool, opts).block.txs[1:]) == [t["parent"], t["child"], t["low"]]


def test_coinbase_pays_subsidy_plus_fees_and_commits_to_witnesses() -> None:
    pool, _, _ = _cpfp_pool()
    tmpl = _template(pool)
    block = tmpl.block
    fees = sum(e.fee for e in pool)
    assert tmpl.total_fees == fees and len(tmpl.fees) == len(block.txs) - 1
    coinbase = block.txs[0]
    assert coinbase.is_coinbase()
    assert coinbase.vout[0].value == block_subsidy(TIP + 1, REGTEST) + fees == 12.5 * 10**8 + fees
    assert coinbase.vout[0].script_pubkey == PAYOUT
    assert coinbase.vin[0].witness == (bytes(32),)
    assert block.witness_commitment_index() == 1
    header = block.header
    assert header.version == BLOCK_VERSION and header.prev_block == PREV and header.bits == 0x207FFFFF
    assert header.time == NOW and header.merkle_root == block.computed_merkle_root[0]
    assert tmpl.weight == block.weight


def test_time_is_after_median_time_past() -> None:
    pool, _ = fresh()
    assert _template(pool, now=MTP - 100).block.header.time == MTP + 1


def test_mined_block_passes_validation() -> None:
    pool, chain, _ = _cpfp_pool()
    block = mine(_template(pool))
    check_block(block, REGTEST.pow_limit)
    contextual_check_block(block, TIP + 1, MTP, REGTEST)
    view = CoinsCache(_Source(chain))
    result = connect_block(block, BlockContext(TIP + 1, lambda _h: MTP), view, REGTEST)
    assert result.fees == sum(e.fee for e in pool)
    # The mempool then sheds what the block confirmed.
    removal = pool.remove_for_block(block.txs, now=NOW)
    assert len(removal.confirmed) == len(block.txs) - 1 and len(pool) == 0


def test_zero_fee_transaction_needs_a_child_to_pay_for_it() -> None:
    pool, chain = fresh()
    free = spend([chain.fund(1_000_000, key=None)], [(1_000_000, None)])
    assert pool.readd_disconnected([free], chain.view, TIP, MTP, now=NOW).readded == (free,)
    assert list(_template(pool).block.txs[1:]) == []  # below -blockmintxfee
    child = spend([out(free, 0)], [(990_000, None)])
    assert isinstance(accept(pool, chain, child), Accepted)
    assert list(_template(pool).block.txs[1:]) == [free, child]


def test_empty_mempool_makes_a_coinbase_only_block() -> None:
    pool, _ = fresh()
    block = mine(_template(pool, height=1))
    assert len(block.txs) == 1 and block.txs[0].vout[0].value == 50 * 10**8
    check_block(block, REGTEST.pow_limit)
    contextual_check_block(block, 1, MTP, REGTEST)


def test_extra_nonce_changes_the_coinbase() -> None:
    pool, _ = fresh()
    a = _template(pool, extra_nonce=0).block
    b = _template(pool, extra_nonce=7).block
    assert a.txs[0].txid != b.txs[0].txid and a.header.merkle_root != b.header.merkle_root


def test_mine_gives_up_after_max_tries() -> None:
    pool, _ = fresh()
    tmpl = _template(pool, bits=0x1D00FFFF)  # mainnet difficulty 1: no luck in 3 tries
    with pytest.raises(NonceNotFound):
        mine(tmpl, max_tries=3)
    bad_bits = dataclasses.replace(tmpl.block, header=dataclasses.replace(tmpl.block.header, bits=0))
    with pytest.raises(NonceNotFound):
        mine(bad_bits, max_tries=10)
    easy = dataclasses.replace(tmpl.block, header=dataclasses.replace(tmpl.block.header, bits=0x207FFFFF))
    found = mine(easy)
    assert found.header.check_proof_of_work(REGTEST.pow_limit)
    assert found.header.serialize()[:76] == easy.header.serialize()[:76]


def test_selection_is_parents_first_for_deep_packages() -> None:
    pool, chain = fresh()
    a = spend([chain.fund(1_000_000, key=None)], [(999_900, None)])
    b = spend([out(a, 0)], [(999_800, None)])
    c = spend([out(b, 0)], [(900_000, None)])  # pays for both ancestors
    for tx in (a, b, c):
        accept(pool, chain, tx)
    assert b.vin[0].prevout == OutPoint(a.txid, 0) and c.vin[0].prevout == OutPoint(b.txid, 0)
    assert list(_template(pool).block.txs[1:]) == [a, b, c]
