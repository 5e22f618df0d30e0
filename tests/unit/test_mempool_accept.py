"""Mempool admission: accepted transactions and each of Core's reject reasons, with signed spends."""

from __future__ import annotations

import dataclasses

import pytest

from core.consensus.hashes import Txid, sha256
from core.consensus.tx import NULL_OUTPOINT, OutPoint, Transaction, TxIn, TxOut
from core.mempool import Accepted, FeeRate, Mempool, MempoolOptions, Rejected, TxValidationResult
from core.mempool.policy import (
    DUST_RELAY_FEE_RATE,
    MAX_OP_RETURN_RELAY,
    MIN_RELAY_FEE_RATE,
    dust_threshold,
    is_standard_tx,
)
from core.validation.utxo import Coin
from tests.unit.mempool_support import (
    ALICE,
    BOB,
    MTP,
    NOW,
    OP_TRUE_SPK,
    TIP,
    TR,
    WPKH,
    Chain,
    accept,
    fresh,
    out,
    spend,
)


def _rejected(result: object, reason: str) -> Rejected:
    assert isinstance(result, Rejected), result
    assert result.reason == reason, (result.reason, result.detail)
    return result


def test_signed_spend_is_accepted_with_fee_and_vsize() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    tx = spend([u], [(90_000, ALICE)])
    res = accept(pool, chain, tx)
    assert isinstance(res, Accepted)
    assert res.fee == 10_000 and res.vsize == tx.vsize
    assert res.fee_rate == FeeRate.from_fee(10_000, tx.vsize)
    assert pool.get(tx.txid) is pool.get(tx.wtxid) is pool.entry(tx.txid)
    assert tx.txid in pool and tx.wtxid in pool and len(pool) == 1
    assert pool.spender(u.outpoint) == tx.txid
    assert pool.total_vsize == tx.vsize and pool.total_fee == 10_000


def test_taproot_spend_and_unconfirmed_child_are_accepted() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(50_000, key=TR)], [(40_000, BOB), (9_000, ALICE)])
    child = spend([out(parent, 0, BOB), out(parent, 1, ALICE)], [(48_000, WPKH)])
    assert isinstance(accept(pool, chain, parent), Accepted)
    assert isinstance(accept(pool, chain, child), Accepted)
    assert pool.ancestors(child.txid) == {parent.txid}
    assert pool.descendants(parent.txid) == {child.txid}
    assert [e.txid for e in pool] == [parent.txid, child.txid]


def test_test_accept_does_not_add() -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(20_000)], [(19_000, ALICE)])
    assert isinstance(accept(pool, chain, tx, test_accept=True), Accepted)
    assert len(pool) == 0


def test_one_dust_output_with_a_fee_is_rejected() -> None:
    pool, chain = fresh()
    threshold = dust_threshold(TxOut(0, ALICE.script_pubkey), DUST_RELAY_FEE_RATE)
    assert threshold == 294  # P2WPKH at 3 sat/vB, as in Core
    tx = spend([chain.fund(100_000)], [(threshold - 1, ALICE), (90_000, BOB)])
    res = _rejected(accept(pool, chain, tx), "dust")
    assert res.detail == "tx with dust output must be 0-fee" and res.result is TxValidationResult.NOT_STANDARD
    at_threshold = spend([chain.fund(100_000)], [(threshold, ALICE), (90_000, BOB)])
    assert isinstance(accept(pool, chain, at_threshold), Accepted)


def test_two_dust_outputs_are_non_standard() -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(100_000)], [(100, ALICE), (100, BOB), (90_000, WPKH)])
    assert is_standard_tx(tx) == "dust"
    _rejected(accept(pool, chain, tx), "dust")


def test_p2pkh_dust_threshold_is_546() -> None:
    p2pkh = b"\x76\xa9\x14" + bytes(20) + b"\x88\xac"
    assert dust_threshold(TxOut(0, p2pkh), DUST_RELAY_FEE_RATE) == 546
    assert dust_threshold(TxOut(0, b"\x6a\x01\x01"), DUST_RELAY_FEE_RATE) == 0  # OP_RETURN


@pytest.mark.parametrize(
    "spk",
    [
        b"\x51\x52",  # OP_1 OP_2
        b"\x00\x14" + bytes(19),  # witness v0 of a wrong length
        # 1-of-4 bare multisig: Solver knows it, IsStandard allows at most 3 keys
        b"\x51" + (b"\x21\x02" + bytes(32)) * 4 + b"\x54\xae",
    ],
    ids=["garbage", "bad-v0-length", "multisig-1-of-4"],
)
def test_nonstandard_output_script(spk: bytes) -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(100_000)], [TxOut(90_000, spk)])
    _rejected(accept(pool, chain, tx), "scriptpubkey")


def test_version_outside_1_to_3_is_non_standard() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    _rejected(accept(pool, chain, spend([u], [(90_000, ALICE)], version=4)), "version")
    _rejected(accept(pool, chain, spend([u], [(90_000, ALICE)], version=0)), "version")


def test_datacarrier_budget_is_shared_by_all_op_returns() -> None:
    pool, chain = Mempool(MempoolOptions(max_datacarrier_bytes=83)), Chain()
    data40 = b"\x6a\x28" + bytes(40)  # 42 bytes each
    u = chain.fund(100_000)
    _rejected(accept(pool, chain, spend([u], [TxOut(0, data40), TxOut(0, data40), TxOut(90_000, WPKH.script_pubkey)])), "datacarrier")
    assert isinstance(accept(pool, chain, spend([u], [TxOut(0, data40), TxOut(90_000, WPKH.script_pubkey)])), Accepted)
    assert MAX_OP_RETURN_RELAY == 100_000


def test_fee_below_min_relay_fee() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000, key=TR)  # fixed-size Schnorr signatures: the vsize does not depend on the fee
    probe = spend([u], [(100_000, ALICE)])
    need = MIN_RELAY_FEE_RATE.fee(probe.vsize)  # 0.1 sat/vB, rounded up
    assert need == (probe.vsize + 9) // 10
    res = _rejected(accept(pool, chain, spend([u], [(100_000 - need + 1, ALICE)])), "min relay fee not met")
    assert res.result is TxValidationResult.RECONSIDERABLE
    assert res.detail == f"{need - 1} < {need}"
    assert isinstance(accept(pool, chain, spend([u], [(100_000 - need, ALICE)])), Accepted)


def test_missing_inputs() -> None:
    pool, chain = fresh()
    ghost = chain.fund(100_000)
    del chain.view.coins[ghost.outpoint]
    res = _rejected(accept(pool, chain, spend([ghost], [(90_000, ALICE)])), "bad-txns-inputs-missingorspent")
    assert res.result is TxValidationResult.MISSING_INPUTS


def test_already_known_when_outputs_are_confirmed() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    tx = spend([u], [(90_000, ALICE)])
    chain.confirm([tx])
    _rejected(accept(pool, chain, tx), "txn-already-known")


def test_duplicates_in_mempool() -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(100_000, key=None)], [(90_000, ALICE)])
    assert isinstance(accept(pool, chain, tx), Accepted)
    _rejected(accept(pool, chain, tx), "txn-already-in-mempool")
    # Same txid, another witness (an extra item): a different wtxid
    vin0 = dataclasses.replace(tx.vin[0], witness=(b"\x01", *tx.vin[0].witness))
    malleated = dataclasses.replace(tx, vin=(vin0,))
    assert malleated.txid == tx.txid and malleated.wtxid != tx.wtxid
    _rejected(accept(pool, chain, malleated), "txn-same-nonwitness-data-in-mempool")


def test_double_spend_without_enough_fee_is_rejected() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    first = spend([u], [(90_000, ALICE)])
    second = spend([u], [(90_000, BOB)])  # same fee, same size: no better
    assert isinstance(accept(pool, chain, first), Accepted)
    res = _rejected(accept(pool, chain, second), "insufficient fee")
    assert "new feerate" in res.detail
    assert pool.get(first.txid) is not None and pool.get(second.txid) is None


def test_conflict_when_replacement_is_not_allowed() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    assert isinstance(accept(pool, chain, spend([u], [(90_000, ALICE)])), Accepted)
    better = spend([u], [(50_000, BOB)])
    _rejected(accept(pool, chain, better, allow_replacement=False), "txn-mempool-conflict")


def test_non_final_locktime() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    # nLockTime must be below the next block's height (TIP + 1) unless every sequence is final.
    res = _rejected(accept(pool, chain, spend([u], [(90_000, ALICE)], locktime=TIP + 1)), "non-final")
    assert res.result is TxValidationResult.PREMATURE_SPEND
    _rejected(accept(pool, chain, spend([u], [(90_000, ALICE)], locktime=MTP)), "non-final")  # time: MTP not past
    assert isinstance(accept(pool, chain, spend([u], [(90_000, ALICE)], locktime=MTP - 1)), Accepted)
    v = chain.fund(100_000)
    final_seq = spend([v], [(90_000, ALICE)], locktime=TIP + 50, sequence=0xFFFFFFFF)
    assert isinstance(accept(pool, chain, final_seq), Accepted)


def test_locktime_of_next_height_is_final() -> None:
    pool, chain = fresh()
    assert isinstance(accept(pool, chain, spend([chain.fund(100_000)], [(90_000, ALICE)], locktime=TIP)), Accepted)


def test_bip68_relative_height_lock() -> None:
    pool, chain = fresh()
    # A coin at height h with a 10-block relative lock may go in block h + 10 at the earliest.
    young = chain.fund(100_000, height=TIP - 8)
    res = _rejected(accept(pool, chain, spend([young], [(90_000, ALICE)], sequence=10)), "non-BIP68-final")
    assert res.result is TxValidationResult.PREMATURE_SPEND
    old = chain.fund(100_000, height=TIP - 9)
    assert isinstance(accept(pool, chain, spend([old], [(90_000, ALICE)], sequence=10)), Accepted)
    # Version 1 transactions have no relative lock times.
    assert isinstance(accept(pool, chain, spend([young], [(90_000, ALICE)], sequence=10, version=1)), Accepted)


def test_bip68_time_lock_uses_the_mtp_of_the_coins_block() -> None:
    pool, chain = fresh()
    coin = chain.fund(100_000, height=TIP - 2)
    seq = (1 << 22) | 2  # 2 * 512 seconds
    mtps = {TIP - 3: MTP - 2_000}

    def mtp_at(h: int) -> int:
        return mtps.get(h, MTP)

    tx = spend([coin], [(90_000, ALICE)], sequence=seq)
    assert isinstance(pool.accept_tx(tx, chain.view, TIP, MTP, now=NOW, mtp_at=mtp_at), Accepted)
    pool2 = Mempool()
    mtps[TIP - 3] = MTP - 1_000  # 1024 s not yet elapsed
    res = pool2.accept_tx(tx, chain.view, TIP, MTP, now=NOW, mtp_at=mtp_at)
    _rejected(res, "non-BIP68-final")


def test_immature_coinbase_spend() -> None:
    pool, chain = fresh()
    cb = chain.fund(50 * 10**8, height=TIP - 98, coinbase=True)  # 99 confirmations at TIP + 1
    res = _rejected(accept(pool, chain, spend([cb], [(49 * 10**8, ALICE)])), "bad-txns-premature-spend-of-coinbase")
    assert res.result is TxValidationResult.PREMATURE_SPEND
    mature = chain.fund(50 * 10**8, height=TIP - 99, coinbase=True)
    assert isinstance(accept(pool, chain, spend([mature], [(49 * 10**8, ALICE)])), Accepted)


def test_outputs_above_inputs() -> None:
    pool, chain = fresh()
    _rejected(accept(pool, chain, spend([chain.fund(100_000)], [(100_001, ALICE)])), "bad-txns-in-belowout")


def test_coinbase_and_context_free_failures() -> None:
    pool, chain = fresh()
    cb = Transaction(2, (TxIn(NULL_OUTPOINT, b"\x01\x01"),), (TxOut(1, WPKH.script_pubkey),))
    _rejected(accept(pool, chain, cb), "coinbase")
    no_outputs = Transaction(2, (TxIn(chain.fund(1000).outpoint),), ())
    _rejected(accept(pool, chain, no_outputs), "bad-txns-vout-empty")


def test_tx_smaller_than_65_non_witness_bytes() -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(10_000, key=None)], [TxOut(0, b"\x6a")])
    assert tx.base_size < 65
    _rejected(accept(pool, chain, tx), "tx-size-small")


def test_spending_nonstandard_script_is_nonstandard_inputs() -> None:
    pool, chain = fresh()
    bare_true = chain.fund(100_000, key=None, spk=b"\x51")
    tx = Transaction(2, (TxIn(bare_true.outpoint, b"", 0xFFFFFFFD),), (TxOut(90_000, ALICE.script_pubkey),))
    res = _rejected(accept(pool, chain, tx), "bad-txns-nonstandard-inputs")
    assert res.result is TxValidationResult.INPUTS_NOT_STANDARD


def test_unknown_witness_version_input_is_nonstandard() -> None:
    pool, chain = fresh()
    v2 = chain.fund(100_000, key=None, spk=b"\x52\x20" + bytes(32))
    tx = Transaction(2, (TxIn(v2.outpoint, b"", 0xFFFFFFFD),), (TxOut(90_000, ALICE.script_pubkey),))
    _rejected(accept(pool, chain, tx), "bad-txns-nonstandard-inputs")


def test_taproot_annex_is_nonstandard() -> None:
    pool, chain = fresh()
    tx = spend([chain.fund(100_000, key=TR)], [(90_000, ALICE)])
    vin0 = dataclasses.replace(tx.vin[0], witness=(*tx.vin[0].witness, b"\x50annex"))
    res = _rejected(accept(pool, chain, dataclasses.replace(tx, vin=(vin0,))), "bad-witness-nonstandard")
    assert res.result is TxValidationResult.WITNESS_MUTATED


def test_oversized_p2wsh_stack_item_is_nonstandard() -> None:
    pool, chain = fresh()
    script = b"\x75\x51"  # OP_DROP OP_TRUE
    coin = chain.fund(100_000, key=None, spk=b"\x00\x20" + sha256(script))
    for size, ok in ((80, True), (81, False)):
        txin = TxIn(coin.outpoint, b"", 0xFFFFFFFD, (bytes(size), script))
        tx = Transaction(2, (txin,), (TxOut(90_000 - size, ALICE.script_pubkey),))
        res = accept(pool, chain, tx, test_accept=True)
        assert isinstance(res, Accepted) if ok else _rejected(res, "bad-witness-nonstandard")


def test_bad_signature_is_a_mandatory_script_failure() -> None:
    pool, chain = fresh()
    u = chain.fund(100_000)
    tx = spend([u], [(90_000, ALICE)])
    forged = dataclasses.replace(tx, vout=(TxOut(95_000, ALICE.script_pubkey),))  # signature no longer matches
    res = _rejected(
        accept(pool, chain, forged), "mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)"
    )
    assert res.result is TxValidationResult.CONSENSUS
    assert res.detail.startswith(f"input 0 of {forged.txid}")


def test_policy_only_script_failure_is_non_mandatory() -> None:
    pool, chain = fresh()
    script = b"\xb0\x51"  # OP_NOP1 OP_TRUE: valid, but upgradable NOPs are discouraged
    coin = chain.fund(100_000, key=None, spk=b"\x00\x20" + sha256(script))
    tx = Transaction(2, (TxIn(coin.outpoint, b"", 0xFFFFFFFD, (script,)),), (TxOut(90_000, ALICE.script_pubkey),))
    res = _rejected(accept(pool, chain, tx), "mempool-script-verify-flag-failed (NOPx reserved for soft-fork upgrades)")
    assert res.result is TxValidationResult.NOT_STANDARD


def test_truc_child_of_non_truc_parent() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(100_000, key=None)], [(90_000, None)])
    child = spend([out(parent, 0)], [(80_000, ALICE)], version=3)
    assert isinstance(accept(pool, chain, parent), Accepted)
    res = _rejected(accept(pool, chain, child), "TRUC-violation")
    assert "cannot spend from non-version=3 tx" in res.detail


def test_truc_parent_allows_one_small_child() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(100_000, key=None)], [(45_000, None), (45_000, None)], version=3)
    first = spend([out(parent, 0)], [(40_000, ALICE)], version=3)
    second = spend([out(parent, 1)], [(40_000, ALICE)], version=3)
    non_truc = spend([out(parent, 1)], [(40_000, ALICE)], version=2)
    assert isinstance(accept(pool, chain, parent), Accepted)
    assert isinstance(accept(pool, chain, first), Accepted)
    assert "would exceed descendant count limit" in _rejected(accept(pool, chain, second), "TRUC-violation").detail
    assert "cannot spend from version=3 tx" in _rejected(accept(pool, chain, non_truc), "TRUC-violation").detail


def test_spend_of_output_index_past_the_end_is_missing() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(100_000, key=None)], [(90_000, None)])
    assert isinstance(accept(pool, chain, parent), Accepted)
    bogus = Transaction(2, (TxIn(OutPoint(parent.txid, 5), b"", 0, (b"\x51",)),), (TxOut(1000, OP_TRUE_SPK),))
    _rejected(accept(pool, chain, bogus), "bad-txns-inputs-missingorspent")


def test_coin_view_sees_mempool_outputs() -> None:
    pool, chain = fresh()
    parent = spend([chain.fund(100_000, key=None)], [(90_000, None)])
    accept(pool, chain, parent)
    view = pool.coin_view(chain.view)
    coin = view.get_coin(OutPoint(parent.txid, 0))
    assert isinstance(coin, Coin) and coin.txout.value == 90_000 and not coin.is_coinbase
    assert view.get_coin(OutPoint(Txid(bytes(32)), 0)) is None
    assert pool.get(b"short") is None and pool.get(bytes(32)) is None
