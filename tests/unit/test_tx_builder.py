"""Unit tests of core.wallet.tx_builder: payments, PSBT signing, BIP125 fee bumps and CPFP."""

from __future__ import annotations

import random

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.wallet.bip32 import ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.coin_selection import Candidate, Recipient
from core.wallet.errors import DustOutputError, TxBuilderError
from core.wallet.keychain import Keychain, KeychainKind
from core.wallet.psbt import extract_transaction, finalize_psbt, sign_psbt
from core.wallet.tx_builder import (
    INCREMENTAL_RELAY_FEE_RATE,
    SEQUENCE_NO_RBF,
    SEQUENCE_RBF,
    build_payment,
    build_psbt,
    bump_fee,
    cpfp,
    estimate_weight,
)

WORDS = "abandon " * 11 + "about"
KC = Keychain.from_mnemonic(WORDS, "bip84", REGTEST)
ACCOUNT = ExtendedKey.from_seed(mnemonic_to_seed(WORDS)).derive_path("m/84h/1h/0h")
DEST = b"\x00\x14" + bytes(range(20))
CHANGE = KC.script_pubkey(KeychainKind.CHANGE, 0)
RATE = FeeRate.per_kvb(12_345)  # 12.345 sat/vB: fractional, so rounding matters


def _coins(values: list[int]) -> tuple[list[Candidate], dict[OutPoint, TxOut]]:
    cands, utxos = [], {}
    for i, v in enumerate(values):
        op = OutPoint(Txid(bytes([i + 1]) * 32), i)
        cands.append(Candidate.for_script_type(op, v, "p2wpkh", depth=6))
        utxos[op] = TxOut(v, KC.script_pubkey(KeychainKind.RECEIVE, i))
    return cands, utxos


CANDS, UTXOS = _coins([50_000, 120_000, 300_000, 7_000_000])


def _pay(seed: int, amount: int = 200_000, **kw: object):
    return build_payment(CANDS, [Recipient(amount, DEST)], RATE, CHANGE, 800_000, rng=random.Random(seed), **kw)


@pytest.mark.parametrize("seed", range(20))
def test_fee_exact(seed: int) -> None:
    b = _pay(seed)
    ins = sum(c.value for c in b.inputs)
    assert ins - b.tx.total_out() == b.fee
    assert b.fee >= RATE.fee(b.estimated_vsize)
    assert b.estimated_weight == estimate_weight(b.tx, [c.input_weight for c in b.inputs])
    assert DEST in [o.script_pubkey for o in b.tx.vout]


def test_dust_refused() -> None:
    with pytest.raises(DustOutputError) as e:
        _pay(1, amount=293)  # P2WPKH dust threshold at 3 sat/vB is 294
    assert e.value.threshold == 294 and e.value.amount == 293 and e.value.index == 0
    _pay(1, amount=294)


def test_sequence_and_locktime() -> None:
    rbf = _pay(3)
    assert all(i.sequence == SEQUENCE_RBF for i in rbf.tx.vin)
    final = _pay(3, rbf=False)
    assert all(i.sequence == SEQUENCE_NO_RBF for i in final.tx.vin)
    assert _pay(3, locktime=123).tx.locktime == 123
    locks = [_pay(s).tx.locktime for s in range(200)]
    assert all(800_000 - 99 <= lt <= 800_000 for lt in locks)
    assert locks.count(800_000) > 150 and any(lt < 800_000 for lt in locks)


def test_change_position_varies() -> None:
    recips = [Recipient(100_000 + i, DEST[:-1] + bytes([i])) for i in range(4)]
    positions = set()
    for seed in range(40):
        b = build_payment(CANDS, recips, RATE, CHANGE, 10, rng=random.Random(seed))
        assert b.change_index is not None and b.tx.vout[b.change_index].script_pubkey == CHANGE
        positions.add(b.change_index)
    assert len(positions) >= 3
    same = build_payment(CANDS, recips, RATE, CHANGE, 10, rng=random.Random(7))
    assert same.tx == build_payment(CANDS, recips, RATE, CHANGE, 10, rng=random.Random(7)).tx


def _keys() -> list[bytes]:
    return [ACCOUNT.derive_path(f"m/{c}/{i}").secret for c in (0, 1) for i in range(4)]


@pytest.mark.parametrize("seed", range(5))
def test_psbt_signs_and_extracts(seed: int) -> None:
    psbt, built = build_psbt(CANDS, UTXOS, [Recipient(200_000, DEST)], RATE, CHANGE, 800_000, KC, rng=random.Random(seed))
    assert all(inp.witness_utxo is not None and inp.bip32_derivation for inp in psbt.inputs)
    assert sign_psbt(psbt, _keys()) == len(built.inputs)
    assert finalize_psbt(psbt)
    tx = extract_transaction(psbt)  # runs verify_input on every input
    assert tx.txid == built.tx.txid
    assert tx.vsize <= built.estimated_vsize
    assert built.fee >= RATE.fee(tx.vsize)


def _signed_payment(seed: int):
    psbt, built = build_psbt(CANDS, UTXOS, [Recipient(200_000, DEST)], RATE, CHANGE, 800_000, KC, rng=random.Random(seed))
    sign_psbt(psbt, _keys())
    finalize_psbt(psbt)
    return extract_transaction(psbt), built


@pytest.mark.parametrize("new_rate", [13, 20, 50])
def test_bump_rules_3_4(new_rate: int) -> None:
    tx, built = _signed_payment(4)
    spent = [UTXOS[c.outpoint] for c in built.inputs]
    rate = FeeRate.per_vb(new_rate)
    bump = bump_fee(tx, spent, rate, built.change_index, [])
    assert [i.prevout for i in bump.tx.vin] == [i.prevout for i in tx.vin]
    vsize = -(-bump.estimated_weight // 4)
    assert bump.fee >= built.fee + INCREMENTAL_RELAY_FEE_RATE.fee(vsize)  # rules 3 and 4
    assert bump.fee >= rate.fee(vsize) and FeeRate.from_fee(bump.fee, vsize) > FeeRate.from_fee(built.fee, tx.vsize)
    assert sum(o.value for o in spent) - bump.tx.total_out() == bump.fee
    assert all(i.sequence == SEQUENCE_RBF for i in bump.tx.vin)
    non_change = [o for j, o in enumerate(tx.vout) if j != built.change_index]
    assert [o for j, o in enumerate(bump.tx.vout) if j != bump.change_index] == non_change


def test_bump_adds_input_when_change_short() -> None:
    op = OutPoint(Txid(b"\xaa" * 32), 0)
    small = TxOut(20_000, KC.script_pubkey(KeychainKind.RECEIVE, 5))
    orig = Transaction(2, (TxIn(op, b"", SEQUENCE_RBF),), (TxOut(18_000, DEST), TxOut(1_000, CHANGE)), 0)
    extra = Candidate.for_script_type(OutPoint(Txid(b"\xbb" * 32), 1), 100_000, "p2wpkh")
    extra_out = TxOut(100_000, KC.script_pubkey(KeychainKind.RECEIVE, 6))
    with pytest.raises(TxBuilderError):
        bump_fee(orig, [small], FeeRate.per_vb(30), 1, [])
    bump = bump_fee(orig, [small], FeeRate.per_vb(30), 1, [(extra, extra_out)])
    assert [i.prevout for i in bump.tx.vin] == [op, extra.outpoint]
    vsize = -(-bump.estimated_weight // 4)
    assert bump.fee >= max(FeeRate.per_vb(30).fee(vsize), 1_000 + INCREMENTAL_RELAY_FEE_RATE.fee(vsize))
    assert 120_000 - bump.tx.total_out() == bump.fee


def test_bump_needs_higher_rate() -> None:
    tx, built = _signed_payment(4)
    spent = [UTXOS[c.outpoint] for c in built.inputs]
    with pytest.raises(TxBuilderError):
        bump_fee(tx, spent, FeeRate.per_kvb(12_000), built.change_index, [])


@pytest.mark.parametrize("target", [20, 55, 100])
def test_cpfp_package_rate(target: int) -> None:
    parent, built = _signed_payment(2)
    idx = built.change_index
    assert idx is not None
    out = parent.vout[idx]
    rate = FeeRate.per_vb(target)
    res = cpfp(parent, built.fee, idx, out.value, out.script_pubkey, rate, CHANGE)
    c_vsize = -(-res.estimated_weight // 4)
    assert FeeRate.from_fee(built.fee + res.fee, parent.vsize + c_vsize) >= rate
    assert res.package_rate >= rate
    assert res.tx.vin[0].prevout == OutPoint(parent.txid, idx)
    assert out.value - res.tx.total_out() == res.fee


def test_cpfp_refuses_dust_child() -> None:
    parent, built = _signed_payment(2)
    idx = built.change_index
    assert idx is not None
    out = parent.vout[idx]
    with pytest.raises((DustOutputError, TxBuilderError)):
        cpfp(parent, built.fee, idx, out.value, out.script_pubkey, FeeRate.per_vb(100_000), CHANGE)
