"""The deposit both traders fund, on two real wallets (BIP84 seller, BIP86 buyer) credited by
hand-built blocks: contributions from confirmed segwit coins, a deterministic combination, each side's
check before signing (tampering refused, nothing signed), signing only its own inputs, and the
finalized deposit verified with each side paying exactly its amount plus its own fee."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, Txid
from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.trade.deposit import (
    DepositContribution,
    build_deposit_contribution,
    check_deposit_psbt,
    combine_deposit,
    deposit_fee_rate,
    escrow_outpoint,
    finalize_deposit,
    sign_deposit,
)
from core.trade.errors import EscrowError, PsbtCheckError
from core.trade.escrow import EscrowTerms, TradeKey, escrow_spk
from core.trade.payout import decode_psbt
from core.wallet.keychain import KeychainKind
from core.wallet.psbt import Psbt, psbt_to_base64, serialize_psbt
from core.wallet.wallet import Wallet

SELLER_WORDS = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
BUYER_WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
OTHER = b"\x00\x14" + bytes(range(20))
TERMS = EscrowTerms(*(TradeKey.from_secret(bytes([i]) * 32).xonly for i in (1, 2, 3)), 144, SANDBOX)
SPK = escrow_spk(TERMS)
SELLER_AMOUNT, BUYER_AMOUNT = 1_100_000, 50_000
VALUE = SELLER_AMOUNT + BUYER_AMOUNT
RATE = FeeRate.per_vb(2)


def _block(height: int, *txs: Transaction) -> Block:
    coinbase = Transaction(vin=(TxIn(OutPoint(Txid(bytes(32)), OutPoint.NULL_INDEX), height.to_bytes(4, "little")),),
                           vout=(TxOut(1, OTHER),))
    header = BlockHeader(1, BlockHash(bytes(32)), bytes(32), 1_700_000_000 + height, 0x207FFFFF, height)
    return Block(header, (coinbase, *txs))


def _fund(wallet: Wallet, height: int, *amounts: int, tag: int) -> Transaction:
    outs = tuple(TxOut(a, wallet.keychain.script_pubkey(KeychainKind.RECEIVE, i)) for i, a in enumerate(amounts))
    tx = Transaction(vin=(TxIn(OutPoint(Txid(bytes([tag]) * 32), 0)),), vout=outs)
    wallet.block_connected(height, _block(height, tx))
    return tx


@pytest.fixture()
def wallets(tmp_path: Path):
    seller = Wallet.create(tmp_path / "s.sqlite", SANDBOX, SELLER_WORDS, password=None)
    buyer = Wallet.create(tmp_path / "b.sqlite", SANDBOX, BUYER_WORDS, template="bip86", password=None)
    _fund(seller, 5, 600_000, 700_000, tag=1)
    _fund(buyer, 5, 200_000, tag=2)
    # An unconfirmed coin is never used for a deposit.
    seller.tracker.add_unconfirmed([
        Transaction(vin=(TxIn(OutPoint(Txid(b"\x03" * 32), 0)),), vout=(TxOut(9_000_000, seller.keychain.script_pubkey(KeychainKind.RECEIVE, 5)),))
    ])
    try:
        yield seller, buyer
    finally:
        seller.close()
        buyer.close()


def _parts(seller: Wallet, buyer: Wallet) -> tuple[DepositContribution, DepositContribution]:
    return build_deposit_contribution(seller, SELLER_AMOUNT, RATE), build_deposit_contribution(buyer, BUYER_AMOUNT, RATE)


def test_deposit_funded_by_both_sides(wallets: tuple[Wallet, Wallet]) -> None:
    seller, buyer = wallets
    s_part, b_part = _parts(seller, buyer)
    assert all(inp.witness_utxo.script_pubkey[:2] == b"\x00\x14" for inp in s_part.psbt.inputs)
    assert all(inp.witness_utxo.script_pubkey[:2] == b"\x51\x20" for inp in b_part.psbt.inputs)
    # Each side combines with the other's part as received on the wire: the same bytes either way.
    at_seller = combine_deposit(s_part.psbt, decode_psbt(psbt_to_base64(b_part.psbt)), SPK, VALUE)
    at_buyer = combine_deposit(decode_psbt(psbt_to_base64(s_part.psbt)), b_part.psbt, SPK, VALUE)
    assert serialize_psbt(at_seller) == serialize_psbt(at_buyer)
    s_copy, b_copy = decode_psbt(psbt_to_base64(at_seller)), decode_psbt(psbt_to_base64(at_seller))
    assert asyncio.run(sign_deposit(seller, s_copy, s_part, SPK, VALUE, None, RATE)) == len(s_part.outpoints)
    assert asyncio.run(sign_deposit(buyer, b_copy, b_part, SPK, VALUE, None, RATE)) == len(b_part.outpoints)
    with pytest.raises(PsbtCheckError, match="not signed"):
        finalize_deposit([s_copy])
    tx = finalize_deposit([s_copy, b_copy])  # the extractor verifies every input
    assert tx.version == 2 and tx.locktime == 0 and all(i.sequence == 0xFFFFFFFD for i in tx.vin)
    op = escrow_outpoint(tx, SPK)
    assert tx.vout[op.n] == TxOut(VALUE, SPK) and op.txid == tx.txid
    for part in (s_part, b_part):
        spent = sum(i.witness_utxo.value for i in part.psbt.inputs) - (part.change.value if part.change else 0)
        assert spent == part.amount + part.fee
        assert part.change is None or part.change in tx.vout
    fee = sum(i.witness_utxo.value for i in at_seller.inputs) - tx.total_out()
    assert fee == s_part.fee + b_part.fee and FeeRate.from_fee(fee, tx.vsize) >= RATE
    assert deposit_fee_rate(at_seller) >= RATE
    assert [str(i.prevout.txid) for i in tx.vin] == sorted(str(i.prevout.txid) for i in tx.vin)  # BIP69


def test_unconfirmed_or_missing_coins_cannot_fund(wallets: tuple[Wallet, Wallet]) -> None:
    seller, _ = wallets
    with pytest.raises(EscrowError, match="cannot fund"):
        build_deposit_contribution(seller, 2_000_000, RATE)
    with pytest.raises(EscrowError, match="positive"):
        build_deposit_contribution(seller, 0, RATE)


def _tx(psbt: Psbt, **changes: object) -> Psbt:
    out = copy.deepcopy(psbt)
    out.tx = replace(out.tx, **changes)  # type: ignore[arg-type]
    return out


def _vout(psbt: Psbt, fn: Callable[[list[TxOut]], list[TxOut]]) -> Psbt:
    out = copy.deepcopy(psbt)
    vout = fn(list(out.tx.vout))
    out.tx = replace(out.tx, vout=tuple(vout))
    out.outputs = [copy.deepcopy(psbt.outputs[0]) for _ in vout]
    return out


def _set(vout: list[TxOut], match: Callable[[TxOut], bool], **changes: object) -> list[TxOut]:
    return [replace(o, **changes) if match(o) else o for o in vout]  # type: ignore[arg-type]


def test_tampered_deposits_are_refused_and_not_signed(wallets: tuple[Wallet, Wallet]) -> None:
    seller, buyer = wallets
    s_part, b_part = _parts(seller, buyer)
    good = combine_deposit(s_part.psbt, b_part.psbt, SPK, VALUE)
    mine = s_part.change
    assert mine is not None
    dropped = copy.deepcopy(good)
    keep = [i for i, t in enumerate(good.tx.vin) if t.prevout != s_part.outpoints[0]]
    dropped.tx = replace(good.tx, vin=tuple(good.tx.vin[i] for i in keep))
    dropped.inputs = [good.inputs[i] for i in keep]
    legacy = copy.deepcopy(good)
    theirs = next(i for i, t in enumerate(good.tx.vin) if t.prevout not in s_part.outpoints)
    legacy.inputs[theirs].witness_utxo = TxOut(200_000, b"\x76\xa9\x14" + bytes(20) + b"\x88\xac")
    is_escrow = lambda o: o.script_pubkey == SPK  # noqa: E731
    cases = {
        "escrow-value": (_vout(good, lambda v: _set(v, is_escrow, value=VALUE - 1)), "contract says"),
        "escrow-address": (_vout(good, lambda v: _set(v, is_escrow, script_pubkey=OTHER)), "exactly one"),
        "two-escrow-outputs": (_vout(good, lambda v: [*v, TxOut(VALUE, SPK)]), "exactly one"),
        "our-change": (_vout(good, lambda v: _set(v, lambda o: o == mine, value=mine.value - 1)), "our change"),
        "our-change-script": (_vout(good, lambda v: _set(v, lambda o: o == mine, script_pubkey=OTHER)), "our change"),
        "extra-output": (_vout(good, lambda v: [*v, TxOut(1_000, OTHER)]), "at most one"),
        "our-input-dropped": (dropped, "does not spend our coin"),
        "our-input-sequence": (_tx(good, vin=tuple(replace(t, sequence=0xFFFFFFFE) for t in good.tx.vin)), "differs"),
        "legacy-input": (legacy, "segwit"),
        "version": (_tx(good, version=1), "version"),
        "locktime": (_tx(good, locktime=10), "locktime"),
    }
    for name, (bad, message) in cases.items():
        with pytest.raises(PsbtCheckError, match=message):
            check_deposit_psbt(bad, s_part, SPK, VALUE, RATE)
        before = serialize_psbt(bad)
        with pytest.raises(PsbtCheckError):
            asyncio.run(sign_deposit(seller, bad, s_part, SPK, VALUE, None, RATE))
        assert serialize_psbt(bad) == before, name
    with pytest.raises(PsbtCheckError, match="below the agreed"):
        check_deposit_psbt(good, s_part, SPK, VALUE, FeeRate.per_vb(50))


def test_signing_never_covers_coins_outside_the_contribution(wallets: tuple[Wallet, Wallet]) -> None:
    seller, buyer = wallets
    small, big = sorted((c for c in seller.coins() if c.confirmations), key=lambda c: c.value)
    seller.set_frozen(big.outpoint)
    s_part = build_deposit_contribution(seller, 500_000, RATE)  # the 600k coin alone
    seller.set_frozen(big.outpoint, False)
    b_part = build_deposit_contribution(buyer, BUYER_AMOUNT, RATE)
    other_coin = big
    # The "buyer" slips the seller's other coin into its part, with the seller's key origins.
    seller.set_frozen(small.outpoint)
    stolen = build_deposit_contribution(seller, 650_000, RATE)
    seller.set_frozen(small.outpoint, False)
    assert s_part.outpoints == (small.outpoint,) and stolen.outpoints == (big.outpoint,)
    evil = copy.deepcopy(b_part.psbt)
    idx = stolen.outpoints.index(other_coin.outpoint)
    evil.tx = replace(evil.tx, vin=(*evil.tx.vin, stolen.psbt.tx.vin[idx]))
    evil.inputs.append(copy.deepcopy(stolen.psbt.inputs[idx]))
    combined = combine_deposit(s_part.psbt, evil, SPK, 500_000 + BUYER_AMOUNT)
    check_deposit_psbt(combined, s_part, SPK, 500_000 + BUYER_AMOUNT, RATE)  # looks fine: extra input is "theirs"
    asyncio.run(sign_deposit(seller, combined, s_part, SPK, 500_000 + BUYER_AMOUNT, None, RATE))
    pos = [t.prevout for t in combined.tx.vin].index(other_coin.outpoint)
    assert not combined.inputs[pos].partial_sigs and combined.inputs[pos].tap_key_sig is None
    assert all(combined.inputs[[t.prevout for t in combined.tx.vin].index(op)].partial_sigs for op in s_part.outpoints)


def test_malformed_contributions_are_refused(wallets: tuple[Wallet, Wallet]) -> None:
    seller, buyer = wallets
    s_part, b_part = _parts(seller, buyer)
    with pytest.raises(PsbtCheckError, match="same coin"):
        combine_deposit(s_part.psbt, s_part.psbt, SPK, VALUE)
    two_changes = _vout(b_part.psbt, lambda v: [*v, TxOut(1_000, OTHER)])
    with pytest.raises(PsbtCheckError, match="at most one change"):
        combine_deposit(s_part.psbt, two_changes, SPK, VALUE)
    to_escrow = _vout(b_part.psbt, lambda v: [TxOut(v[0].value, SPK)])
    with pytest.raises(PsbtCheckError, match="escrow script"):
        combine_deposit(s_part.psbt, to_escrow, SPK, VALUE)
    legacy = copy.deepcopy(b_part.psbt)
    legacy.inputs[0].witness_utxo = None
    with pytest.raises(PsbtCheckError, match="segwit"):
        combine_deposit(s_part.psbt, legacy, SPK, VALUE)
    with pytest.raises(PsbtCheckError, match="short"):
        combine_deposit(s_part.psbt, b_part.psbt, SPK, VALUE + 10_000_000)
    with pytest.raises(PsbtCheckError, match="version"):
        combine_deposit(_tx(s_part.psbt, version=1), b_part.psbt, SPK, VALUE)
