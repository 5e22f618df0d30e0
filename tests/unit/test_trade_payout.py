"""Escrow payouts: PSBTs for the three paths signed by the right parties (exchanged as base64),
finalized and verified; exact fees and their split; RBF bumps re-signed; and the check every party
runs before signing, refusing tampered PSBTs (hypothesis: any tampering is refused, any fee within
the cap passes, and malformed input raises only PsbtCheckError)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.taproot import TAPROOT_LEAF_TAPSCRIPT
from core.mempool.feerate import FeeRate
from core.trade.errors import EscrowError, PsbtCheckError
from core.trade.escrow import EscrowTerms, TradeKey, escrow_scripts
from core.trade.payout import (
    PayoutOutput,
    PayoutPath,
    PayoutSpec,
    decode_psbt,
    finalize_payout,
    payout_amounts,
    payout_fee,
    payout_vsize,
    sign_payout,
)
from core.wallet.psbt import Psbt, combine_psbts, finalize_psbt, psbt_to_base64, serialize_psbt
from core.wallet.tx_builder import INCREMENTAL_RELAY_FEE_RATE

B, S, A = (TradeKey.from_secret(bytes([i]) * 32) for i in (1, 2, 3))
T1 = 144
TERMS = EscrowTerms(B.xonly, S.xonly, A.xonly, T1, SANDBOX)
TERMS_2OF2 = EscrowTerms(B.xonly, S.xonly, None, T1, SANDBOX)
ESCROW = OutPoint(Txid(b"\x42" * 32), 0)
VALUE = 1_150_000
BUYER_SPK = b"\x00\x14" + b"\xbb" * 20
SELLER_SPK = b"\x51\x20" + b"\x55" * 32
# Release: the buyer gets the amount and its deposit and pays the fee; the seller gets its deposit back.
RELEASE = (PayoutOutput(BUYER_SPK, 1_100_000, pays_fee=True), PayoutOutput(SELLER_SPK, 50_000))
REFUND = (PayoutOutput(SELLER_SPK, VALUE, pays_fee=True),)
CAP = 20_000
RATE = FeeRate.per_vb(3)
SIGNERS = {
    PayoutPath.COOPERATIVE: (B, S),
    PayoutPath.ARBITRATED: (A, B),
    PayoutPath.REFUND_AFTER_T1: (S,),
}


def _spec(path: PayoutPath, outputs: tuple[PayoutOutput, ...] | None = None, terms: EscrowTerms = TERMS) -> PayoutSpec:
    if outputs is None:
        outputs = REFUND if path is PayoutPath.REFUND_AFTER_T1 else RELEASE
    return PayoutSpec(ESCROW, VALUE, terms, outputs, path, CAP)


def _signed_by_all(spec: PayoutSpec, psbt: Psbt) -> Psbt:
    """Each signer gets the PSBT as base64, checks and signs its copy; the copies are combined."""
    copies = []
    for key in SIGNERS[spec.path]:
        mine = decode_psbt(psbt_to_base64(psbt))
        assert sign_payout(mine, key, spec) == 1
        copies.append(decode_psbt(psbt_to_base64(mine)))
    return combine_psbts(copies)


@pytest.mark.parametrize("path", list(PayoutPath), ids=[p.value for p in PayoutPath])
def test_each_path_signs_finalizes_and_verifies(path: PayoutPath) -> None:
    spec = _spec(path)
    psbt = spec.build(RATE, key_origins={SIGNERS[path][0].xonly: SIGNERS[path][0].origin})
    spec.check(psbt)
    tx = finalize_payout(_signed_by_all(spec, psbt))  # the extractor verifies the scripts
    assert tx.vin[0].prevout == ESCROW and tx.version == 2 and tx.locktime == 0
    assert tx.vin[0].sequence == (T1 if path is PayoutPath.REFUND_AFTER_T1 else 0xFFFFFFFD)
    fee = payout_fee(psbt, VALUE)
    assert tx.vsize == payout_vsize(TERMS, spec.outputs, path) and fee == RATE.fee(tx.vsize)
    assert tx.vout == payout_amounts(VALUE, spec.outputs, fee)
    if path is not PayoutPath.REFUND_AFTER_T1:
        assert [o.value for o in tx.vout] == [1_100_000 - fee, 50_000]  # the seller's deposit is untouched
    origin = psbt.inputs[0].tap_bip32_derivation[SIGNERS[path][0].xonly]
    assert origin.leaf_hashes and origin.origin == SIGNERS[path][0].origin


def test_one_signature_is_not_enough() -> None:
    spec = _spec(PayoutPath.COOPERATIVE)
    psbt = spec.build(RATE)
    sign_payout(psbt, B, spec)
    with pytest.raises(EscrowError, match="lacks signatures"):
        finalize_payout(psbt)
    assert sign_payout(psbt, TradeKey.from_secret(b"\x09" * 32), spec) == 0  # not a key of the leaf


def test_two_of_two_mode_and_the_missing_arbitrated_path() -> None:
    spec = _spec(PayoutPath.COOPERATIVE, terms=TERMS_2OF2)
    finalize_payout(_signed_by_all(spec, spec.build(RATE)))
    with pytest.raises(EscrowError, match="no arbitrated path"):
        _spec(PayoutPath.ARBITRATED, terms=TERMS_2OF2).build(RATE)


def test_fee_split_between_payers() -> None:
    shares = (PayoutOutput(BUYER_SPK, 600_000, True), PayoutOutput(SELLER_SPK, 550_000, True))
    outs = payout_amounts(VALUE, shares, 301)
    assert [o.value for o in outs] == [600_000 - 151, 550_000 - 150]
    for bad, message in [
        ((PayoutOutput(BUYER_SPK, VALUE - 1, True),), "add up"),
        ((PayoutOutput(BUYER_SPK, VALUE),), "must pay the fee"),
        ((PayoutOutput(BUYER_SPK, VALUE - 300, True), PayoutOutput(SELLER_SPK, 300)), "dust"),  # P2TR dust: 330
        ((PayoutOutput(BUYER_SPK, VALUE + 1, True), PayoutOutput(SELLER_SPK, -1)), "positive"),
        ((), "at least one"),
    ]:
        with pytest.raises(EscrowError, match=message):
            payout_amounts(VALUE, bad, 301)


def test_rbf_bump_is_re_signed_by_the_same_parties() -> None:
    spec = _spec(PayoutPath.ARBITRATED)
    first = spec.build(FeeRate.per_vb(1))
    first_tx = finalize_payout(_signed_by_all(spec, first))
    bumped = spec.bump(first, FeeRate.per_vb(1))  # same rate asked: BIP125 still needs more
    vsize = payout_vsize(TERMS, spec.outputs, spec.path)
    assert payout_fee(bumped, VALUE) == payout_fee(first, VALUE) + INCREMENTAL_RELAY_FEE_RATE.fee(vsize)
    faster = spec.bump(bumped, FeeRate.per_vb(12))
    assert payout_fee(faster, VALUE) == 12 * vsize
    tx = finalize_payout(_signed_by_all(spec, faster))
    assert tx.vin[0].prevout == first_tx.vin[0].prevout and tx.txid != first_tx.txid
    with pytest.raises(PsbtCheckError, match="above the agreed cap"):
        spec.check(spec.bump(faster, FeeRate.per_vb(200)))
    refund = _spec(PayoutPath.REFUND_AFTER_T1)
    finalize_payout(_signed_by_all(refund, refund.bump(refund.build(RATE), FeeRate.per_vb(8))))


# -- tampering -----------------------------------------------------------------------------------------------


def _with_tx(psbt: Psbt, **changes: object) -> Psbt:
    out = copy.deepcopy(psbt)
    out.tx = replace(out.tx, **changes)  # type: ignore[arg-type]
    return out


def _outputs(psbt: Psbt, vout: list[TxOut]) -> Psbt:
    out = _with_tx(psbt, vout=tuple(vout))
    out.outputs = [copy.deepcopy(psbt.outputs[0]) for _ in vout]
    return out


def _input(psbt: Psbt, **changes: object) -> Psbt:
    out = copy.deepcopy(psbt)
    out.tx = replace(out.tx, vin=(replace(out.tx.vin[0], **changes),))  # type: ignore[arg-type]
    return out


def _map(psbt: Psbt, fn: Callable) -> Psbt:
    out = copy.deepcopy(psbt)
    fn(out.inputs[0])
    return out


def _tamperings(psbt: Psbt) -> dict[str, tuple[Psbt, str]]:
    vout = list(psbt.tx.vout)
    refund = escrow_scripts(TERMS).refund_leaf
    refund_leaf = {escrow_scripts(TERMS).control_block(refund): (refund.leaf.script, TAPROOT_LEAF_TAPSCRIPT)}
    second = copy.deepcopy(psbt)
    second.tx = replace(second.tx, vin=(*second.tx.vin, TxIn(OutPoint(Txid(b"\x01" * 32), 0))))
    second.inputs.append(copy.deepcopy(second.inputs[0]))
    return {
        "extra-output": (_outputs(psbt, [*vout[:1], TxOut(1000, BUYER_SPK), *vout[1:]]), "outputs"),
        "changed-amount": (_outputs(psbt, [vout[0], replace(vout[1], value=vout[1].value - 1_000)]), "sat"),
        "moved-amount": (_outputs(psbt, [replace(vout[0], value=vout[0].value - 5), replace(vout[1], value=vout[1].value + 5)]), "sat"),
        "changed-script": (_outputs(psbt, [vout[0], replace(vout[1], script_pubkey=BUYER_SPK)]), "script"),
        "swapped-outputs": (_outputs(psbt, vout[::-1]), "output 0"),
        "dropped-output": (_outputs(psbt, vout[:1]), "outputs"),
        "different-input": (_input(psbt, prevout=OutPoint(Txid(b"\x43" * 32), 0)), "not the escrow outpoint"),
        "other-vout": (_input(psbt, prevout=OutPoint(ESCROW.txid, 1)), "not the escrow outpoint"),
        "two-inputs": (second, "exactly one input"),
        "fee-above-cap": (_outputs(psbt, [replace(vout[0], value=vout[0].value - CAP), vout[1]]), "above the agreed cap"),
        "outputs-exceed-escrow": (_outputs(psbt, [replace(vout[0], value=vout[0].value + 10_000), vout[1]]), "more than"),
        "wrong-sequence": (_input(psbt, sequence=T1), "nSequence"),
        "final-sequence": (_input(psbt, sequence=0xFFFFFFFF), "nSequence"),
        "version-1": (_with_tx(psbt, version=1), "version"),
        "locktime": (_with_tx(psbt, locktime=800_000), "locktime"),
        "sighash-none": (_map(psbt, lambda i: setattr(i, "sighash_type", 0x82)), "sighash"),
        "witness-utxo-value": (_map(psbt, lambda i: setattr(i, "witness_utxo", TxOut(VALUE + 1, i.witness_utxo.script_pubkey))), "witness UTXO"),
        "refund-leaf-offered": (_map(psbt, lambda i: i.tap_leaf_scripts.update(refund_leaf)), "leaf"),
        "no-leaf": (_map(psbt, lambda i: i.tap_leaf_scripts.clear()), "leaf"),
        "non-witness-utxo": (_map(psbt, lambda i: setattr(i, "non_witness_utxo", Transaction())), "non-witness"),
    }


COOP = _spec(PayoutPath.COOPERATIVE)
COOP_PSBT = COOP.build(RATE)


@pytest.mark.parametrize("name", list(_tamperings(COOP_PSBT)))
def test_tampered_payouts_are_refused_and_not_signed(name: str) -> None:
    # (Lowering the fee payer's output alone is a fee change, allowed within the cap: see the bump test.)
    tampered, message = _tamperings(COOP_PSBT)[name]
    with pytest.raises(PsbtCheckError, match=message):
        COOP.check(tampered)
    before = serialize_psbt(tampered) if len(tampered.inputs) == len(tampered.tx.vin) else None
    with pytest.raises(PsbtCheckError):
        sign_payout(tampered, B, COOP)
    if before is not None:
        assert serialize_psbt(tampered) == before  # nothing was added


def test_refund_checks_its_own_sequence_and_leaf() -> None:
    spec = _spec(PayoutPath.REFUND_AFTER_T1)
    psbt = spec.build(RATE)
    for seq in (T1 - 1, 0xFFFFFFFD, T1 | 1 << 22):
        with pytest.raises(PsbtCheckError, match="nSequence"):
            spec.check(_input(psbt, sequence=seq))
    with pytest.raises(PsbtCheckError, match="leaf"):
        spec.check(_map(psbt, lambda i: i.tap_leaf_scripts.update(COOP_PSBT.inputs[0].tap_leaf_scripts)))
    # A cooperative PSBT is not a refund (sequence, leaf and outputs all differ).
    with pytest.raises(PsbtCheckError):
        spec.check(COOP_PSBT)


def test_already_finalized_is_refused() -> None:
    done = _signed_by_all(COOP, COOP.build(RATE))
    assert finalize_psbt(done)
    with pytest.raises(PsbtCheckError, match="finalized"):
        COOP.check(done)


# -- hypothesis ----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(rate=st.integers(min_value=1, max_value=40_000), path=st.sampled_from(list(PayoutPath)))
def test_any_fee_within_the_cap_passes_and_above_is_refused(rate: int, path: PayoutPath) -> None:
    spec = _spec(path)
    psbt = spec.build(FeeRate.per_kvb(rate))
    if payout_fee(psbt, VALUE) <= CAP:
        spec.check(psbt)
    else:
        with pytest.raises(PsbtCheckError, match="cap"):
            spec.check(psbt)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, 1),
    delta=st.integers(-VALUE, VALUE).filter(bool),
    seq=st.integers(0, 0xFFFFFFFF),
    version=st.integers(-(2**31), 2**31 - 1),
    locktime=st.integers(0, 0xFFFFFFFF),
    txid=st.binary(min_size=32, max_size=32),
    n=st.integers(0, 0xFFFFFFFF),
    which=st.sampled_from(["amount", "sequence", "version", "locktime", "outpoint"]),
)
def test_any_tampering_is_refused(
    index: int, delta: int, seq: int, version: int, locktime: int, txid: bytes, n: int, which: str
) -> None:
    vout = list(COOP_PSBT.tx.vout)
    if which == "amount":
        vout[index] = replace(vout[index], value=max(vout[index].value + delta, 0))
        tampered = _outputs(COOP_PSBT, vout)
    elif which == "sequence":
        tampered = _input(COOP_PSBT, sequence=seq)
    elif which == "version":
        tampered = _with_tx(COOP_PSBT, version=version)
    elif which == "locktime":
        tampered = _with_tx(COOP_PSBT, locktime=locktime)
    else:
        tampered = _input(COOP_PSBT, prevout=OutPoint(Txid(txid), n))
    if serialize_psbt(tampered) == serialize_psbt(COOP_PSBT):
        COOP.check(tampered)  # the draw changed nothing
        return
    if which == "amount" and index == 0 and 0 <= payout_fee(tampered, VALUE) <= CAP:
        COOP.check(tampered)  # the fee payer's output only moves the fee, which may change within the cap
        return
    with pytest.raises(PsbtCheckError):
        COOP.check(tampered)


_VALID = serialize_psbt(COOP_PSBT)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.tuples(st.integers(0, len(_VALID) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda p: _VALID[: p[0]] + p[1] + _VALID[p[0] + len(p[1]) :]
        ),
    )
)
def test_malformed_psbts_raise_only_psbt_check_errors(data: bytes) -> None:
    try:
        psbt = decode_psbt(base64.b64encode(data).decode())
        COOP.check(psbt)
    except PsbtCheckError:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_non_base64_text_raises_psbt_check_error(text: str) -> None:
    with pytest.raises(PsbtCheckError):
        decode_psbt(text)
