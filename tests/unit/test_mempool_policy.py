"""Standardness predicates and exact fee rates, checked one rule at a time."""

from __future__ import annotations

from fractions import Fraction

import pytest

from core.consensus.hashes import Txid, hash160, sha256
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool import FeeRate
from core.mempool.errors import MempoolError
from core.mempool.policy import (
    MAX_STANDARD_P2WSH_SCRIPT_SIZE,
    MAX_STANDARD_P2WSH_STACK_ITEMS,
    MAX_STANDARD_SCRIPTSIG_SIZE,
    MAX_STANDARD_TX_WEIGHT,
    are_inputs_standard,
    is_standard_tx,
    is_witness_standard,
    push_only_stack,
    virtual_size,
)
from core.script.script import push_data
from core.validation.utxo import Coin

P2WPKH = b"\x00\x14" + bytes(20)
KEY = b"\x02" + bytes(32)
OP_CHECKSIG = b"\xac"


def _tx(vin: list[TxIn] | None = None, vout: list[TxOut] | None = None, version: int = 2) -> Transaction:
    vin = vin or [TxIn(OutPoint(Txid(b"\x01" * 32), 0))]
    vout = vout or [TxOut(10_000, P2WPKH)]
    return Transaction(version, tuple(vin), tuple(vout))


def _coin(spk: bytes) -> Coin:
    return Coin(TxOut(100_000, spk), 1, False)


# --- fee rates -----------------------------------------------------------------------------------------
def test_fee_rate_is_exact_and_rounds_fees_up() -> None:
    floor = FeeRate.per_kvb(100)
    assert floor.sat_per_vb == Fraction(1, 10)
    assert floor.fee(1) == 1 and floor.fee(10) == 1 and floor.fee(11) == 2 and floor.fee(0) == 0
    assert FeeRate.per_kvb(3_000).fee(182) == 546
    third = FeeRate.from_fee(1, 3)
    assert FeeRate.from_fee(333, 1000) < third < FeeRate.from_fee(334, 1000)
    assert third.fee(3) == 1 and third.sat_per_kvb == 333
    assert FeeRate.from_fee(2, 6) == third and hash(FeeRate.from_fee(2, 6)) == hash(third)
    assert FeeRate.per_vb(1) + floor == FeeRate.per_kvb(1_100)
    assert not FeeRate.zero() and floor


def test_fee_rate_strings_are_cores() -> None:
    assert str(FeeRate.per_kvb(1_000)) == "0.00001000 BTC/kvB"
    assert FeeRate.per_kvb(1_234).sat_vb_str() == "1.234 sat/vB"
    assert FeeRate.from_fee(1, 3).sat_vb_str() == "0.333 sat/vB"


def test_fee_rate_of_nothing_is_an_error() -> None:
    with pytest.raises(MempoolError):
        FeeRate.from_fee(1, 0)


def test_virtual_size_counts_sigops() -> None:
    assert virtual_size(401) == 101
    assert virtual_size(400, sigop_cost=80) == 400  # 80 x 20 bytes / 4
    assert virtual_size(400, sigop_cost=80, bytes_per_sigop=0) == 100


# --- IsStandardTx ------------------------------------------------------------------------------------
def test_standard_tx_basics() -> None:
    assert is_standard_tx(_tx()) is None
    assert is_standard_tx(_tx(version=3)) is None
    assert is_standard_tx(_tx(version=4)) == "version"


def test_scriptsig_rules() -> None:
    big = push_data(bytes(520)) * 4  # push-only, over 1650 bytes
    assert len(big) > MAX_STANDARD_SCRIPTSIG_SIZE
    assert is_standard_tx(_tx([TxIn(OutPoint(Txid(b"\x01" * 32), 0), big)])) == "scriptsig-size"
    assert is_standard_tx(_tx([TxIn(OutPoint(Txid(b"\x01" * 32), 0), b"\x76")])) == "scriptsig-not-pushonly"


def test_weight_limit() -> None:
    spk = b"\x6a" + push_data(bytes(MAX_STANDARD_TX_WEIGHT // 4))
    assert is_standard_tx(_tx(vout=[TxOut(0, spk)]), max_datacarrier_bytes=10**6) == "tx-size"


def test_bare_multisig_up_to_three_keys() -> None:
    ms = b"\x51" + (b"\x21" + KEY) * 3 + b"\x53\xae"
    assert is_standard_tx(_tx(vout=[TxOut(10_000, ms)])) is None
    assert is_standard_tx(_tx(vout=[TxOut(10_000, ms)]), permit_bare_multisig=False) == "bare-multisig"


def test_datacarrier_disabled() -> None:
    assert is_standard_tx(_tx(vout=[TxOut(0, b"\x6a")]), max_datacarrier_bytes=None) == "datacarrier"
    assert is_standard_tx(_tx(vout=[TxOut(0, b"\x6a")]), max_datacarrier_bytes=1) is None


# --- AreInputsStandard ---------------------------------------------------------------------------------
def test_p2sh_redeem_script_sigop_limit() -> None:
    def p2sh_spend(n_checksigs: int) -> tuple[Transaction, Coin]:
        redeem = OP_CHECKSIG * n_checksigs  # only the count matters here
        coin = _coin(b"\xa9\x14" + hash160(redeem) + b"\x87")
        return _tx([TxIn(OutPoint(Txid(b"\x02" * 32), 0), push_data(redeem))]), coin

    tx, coin = p2sh_spend(15)
    assert are_inputs_standard(tx, [coin])
    tx, coin = p2sh_spend(16)
    assert not are_inputs_standard(tx, [coin])


def test_bip54_legacy_sigops_cap() -> None:
    # 2,501 OP_CHECKSIGs in spent bare scripts: each counts where it would execute.
    spk = OP_CHECKSIG * 2_501
    tx = _tx([TxIn(OutPoint(Txid(b"\x03" * 32), 0))])
    assert not are_inputs_standard(tx, [_coin(spk)])
    # (a bare script of checksigs is non-standard anyway; the sigop cap is what trips first)
    assert not are_inputs_standard(tx, [_coin(OP_CHECKSIG * 10)])
    assert are_inputs_standard(tx, [_coin(P2WPKH)])


def test_push_only_stack() -> None:
    assert push_only_stack(b"\x00\x51\x4f" + push_data(b"ab")) == [b"", b"\x01", b"\x81", b"ab"]
    assert push_only_stack(b"\x50") is None  # OP_RESERVED fails when run
    assert push_only_stack(b"\x4c\x05ab") is None  # push past the end


# --- IsWitnessStandard ---------------------------------------------------------------------------------
def _p2wsh(script: bytes) -> bytes:
    return b"\x00\x20" + sha256(script)


def test_p2wsh_limits() -> None:
    def check(witness: tuple[bytes, ...]) -> bool:
        script = witness[-1]
        tx = _tx([TxIn(OutPoint(Txid(b"\x04" * 32), 0), b"", witness=witness)])
        return is_witness_standard(tx, [_coin(_p2wsh(script))])

    assert check((b"\x51",))
    assert check((bytes(MAX_STANDARD_P2WSH_SCRIPT_SIZE),))
    assert not check((bytes(MAX_STANDARD_P2WSH_SCRIPT_SIZE + 1),))
    assert check((b"",) * MAX_STANDARD_P2WSH_STACK_ITEMS + (b"\x51",))
    assert not check((b"",) * (MAX_STANDARD_P2WSH_STACK_ITEMS + 1) + (b"\x51",))
    assert not check((bytes(81), b"\x51"))


def test_witness_on_non_witness_and_anchor_outputs() -> None:
    tx = _tx([TxIn(OutPoint(Txid(b"\x05" * 32), 0), b"", witness=(b"\x01",))])
    p2pkh = b"\x76\xa9\x14" + bytes(20) + b"\x88\xac"
    assert not is_witness_standard(tx, [_coin(p2pkh)])
    assert not is_witness_standard(tx, [_coin(b"\x51\x02\x4e\x73")])  # pay-to-anchor needs no witness
    bare = _tx([TxIn(OutPoint(Txid(b"\x05" * 32), 0))])
    assert is_witness_standard(bare, [_coin(p2pkh)])


def test_tapscript_stack_items_and_annex() -> None:
    spk = b"\x51\x20" + bytes(32)

    def check(witness: tuple[bytes, ...]) -> bool:
        tx = _tx([TxIn(OutPoint(Txid(b"\x06" * 32), 0), b"", witness=witness)])
        return is_witness_standard(tx, [_coin(spk)])

    control = b"\xc0" + bytes(32)
    assert check((bytes(80), b"\x51", control))
    assert not check((bytes(81), b"\x51", control))
    assert check((bytes(81), b"\x51", b"\xc2" + bytes(32)))  # unknown leaf version: no item limit
    assert not check((bytes(64), b"\x50"))  # annex
    assert check((bytes(64),))  # key path
    assert not check((b"\x51", b""))  # empty control block
