"""Payouts from the escrow: build the PSBT of one spend path, check it before signing, sign it with a
trade key, finalize it, and bump its fee by replacement (BIP125).

Three paths: COOPERATIVE (buyer + seller on the multi_a leaf), ARBITRATED (arbitrator + one trader
on the same leaf) and REFUND_AFTER_T1 (the seller alone on the refund leaf, nSequence = T1, version 2
so BIP68 applies). Every payout spends exactly the escrow outpoint. What each party gets is fixed by
`PayoutOutput` shares that add up to the escrow value; the fee comes out of the shares marked
`pays_fee`, split equally (the first payer takes the remainder), so a party can check any fee rate,
including a bumped one, against the same shares: the outputs must be exactly the shares less that
split of the fee, and the fee must not exceed the agreed cap.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.taproot import TAPROOT_LEAF_TAPSCRIPT, LeafInfo
from core.mempool.feerate import FeeRate
from core.mempool.policy import DUST_RELAY_FEE_RATE, dust_threshold
from core.script.sighash import SIGHASH_DEFAULT
from core.trade.errors import EscrowError, PsbtCheckError
from core.trade.escrow import ESCROW_THRESHOLD, EscrowScripts, EscrowTerms, TradeKey, escrow_scripts
from core.wallet.errors import PsbtError
from core.wallet.psbt import (
    KeyOrigin,
    Psbt,
    TapKeyOrigin,
    create_psbt,
    extract_transaction,
    finalize_psbt,
    parse_psbt,
    sign_psbt,
)
from core.wallet.tx_builder import INCREMENTAL_RELAY_FEE_RATE, SEQUENCE_RBF

#: Payouts use version 2: needed for BIP68 on the refund path, and the same everywhere.
PAYOUT_TX_VERSION = 2
#: Longest base64 PSBT accepted from a peer (a payout or deposit PSBT is a few kilobytes).
MAX_PSBT_TEXT = 200_000
_SIG_SIZE = 64  # BIP340 signature with SIGHASH_DEFAULT


class PayoutPath(Enum):
    """Which escrow spend a payout uses."""

    COOPERATIVE = "cooperative"  # buyer + seller, multi_a leaf
    ARBITRATED = "arbitrated"  # arbitrator + one trader, multi_a leaf
    REFUND_AFTER_T1 = "refund_after_t1"  # seller alone after T1 blocks, refund leaf


@dataclass(frozen=True)
class PayoutOutput:
    """One party's share of the escrow before fees; `pays_fee` shares carry the fee between them."""

    script_pubkey: bytes
    amount: int
    pays_fee: bool = False


def decode_psbt(text: str) -> Psbt:
    """A PSBT received from a peer, as base64 text; PsbtCheckError for anything malformed."""
    if not isinstance(text, str) or len(text) > MAX_PSBT_TEXT:
        raise PsbtCheckError("a PSBT must be base64 text of reasonable size")
    try:
        return parse_psbt(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise PsbtCheckError("the PSBT is not valid base64") from None
    except PsbtError as err:
        raise PsbtCheckError(f"malformed PSBT: {err}") from None


def payout_leaf(scripts: EscrowScripts, path: PayoutPath) -> LeafInfo:
    """The leaf a path spends."""
    return scripts.refund_leaf if path is PayoutPath.REFUND_AFTER_T1 else scripts.multi_leaf


def payout_sequence(terms: EscrowTerms, path: PayoutPath) -> int:
    """nSequence of the payout input: T1 blocks for the refund (BIP68, also signals BIP125), else
    0xFFFFFFFD (replaceable, no relative lock)."""
    if path is PayoutPath.REFUND_AFTER_T1:
        return terms.t1_blocks
    if path is PayoutPath.ARBITRATED and not terms.has_arbitrator:
        raise EscrowError("a 2-of-2 escrow has no arbitrated path")
    return SEQUENCE_RBF


def payout_amounts(escrow_value: int, shares: Sequence[PayoutOutput], fee: int) -> tuple[TxOut, ...]:
    """The outputs: each share less its part of `fee` (split equally over the `pays_fee` shares, the
    first taking the remainder). EscrowError if the shares do not add up to the escrow value, no
    share pays the fee, or an output would be dust."""
    if not shares:
        raise EscrowError("a payout needs at least one output")
    for s in shares:
        if isinstance(s.amount, bool) or not isinstance(s.amount, int) or s.amount <= 0:
            raise EscrowError(f"payout share {s.amount!r} must be a positive number of satoshis")
    if sum(s.amount for s in shares) != escrow_value:
        raise EscrowError(f"payout shares add up to {sum(s.amount for s in shares)} sat, not the escrow's {escrow_value}")
    payers = [i for i, s in enumerate(shares) if s.pays_fee]
    if not payers:
        raise EscrowError("at least one payout share must pay the fee")
    if fee < 0:
        raise EscrowError(f"negative fee {fee}")
    cut = [0] * len(shares)
    for n, i in enumerate(payers):
        cut[i] = fee // len(payers) + (fee % len(payers) if n == 0 else 0)
    outs = tuple(TxOut(s.amount - c, s.script_pubkey) for s, c in zip(shares, cut, strict=True))
    for i, out in enumerate(outs):
        threshold = dust_threshold(out, DUST_RELAY_FEE_RATE)
        if out.value < threshold:
            raise EscrowError(f"payout output {i} of {out.value} sat after the fee is below the dust threshold {threshold}")
    return outs


def _payout_tx(outpoint: OutPoint, outs: Sequence[TxOut], sequence: int) -> Transaction:
    return Transaction(PAYOUT_TX_VERSION, (TxIn(outpoint, b"", sequence),), tuple(outs), 0)


def payout_vsize(terms: EscrowTerms, shares: Sequence[PayoutOutput], path: PayoutPath) -> int:
    """Virtual size of the signed payout, exactly (witness of 64-byte signatures)."""
    scripts = escrow_scripts(terms)
    leaf = payout_leaf(scripts, path)
    if path is PayoutPath.REFUND_AFTER_T1:
        stack = [bytes(_SIG_SIZE)]
    else:
        n = len(terms.multi_keys)
        stack = [bytes(_SIG_SIZE)] * ESCROW_THRESHOLD + [b""] * (n - ESCROW_THRESHOLD)
    witness = (*stack, leaf.leaf.script, scripts.control_block(leaf))
    outs = [TxOut(s.amount, s.script_pubkey) for s in shares]
    dummy = _payout_tx(OutPoint(bytes(32), 0), outs, 0)  # type: ignore[arg-type]
    signed = Transaction(dummy.version, (TxIn(dummy.vin[0].prevout, b"", 0, witness),), dummy.vout, 0)
    return signed.vsize


def _build(
    outpoint: OutPoint,
    escrow_value: int,
    terms: EscrowTerms,
    shares: Sequence[PayoutOutput],
    fee: int,
    path: PayoutPath,
    key_origins: Mapping[bytes, KeyOrigin] | None,
) -> Psbt:
    scripts = escrow_scripts(terms)
    leaf = payout_leaf(scripts, path)
    tx = _payout_tx(outpoint, payout_amounts(escrow_value, shares, fee), payout_sequence(terms, path))
    psbt = create_psbt(tx)
    inp = psbt.inputs[0]
    inp.witness_utxo = TxOut(escrow_value, scripts.script_pubkey)
    inp.tap_leaf_scripts[scripts.control_block(leaf)] = (leaf.leaf.script, TAPROOT_LEAF_TAPSCRIPT)
    inp.tap_internal_key = scripts.taproot.internal_key
    inp.tap_merkle_root = scripts.taproot.merkle_root
    for xonly, origin in (key_origins or {}).items():
        if xonly in leaf.leaf.script:
            inp.tap_bip32_derivation[xonly] = TapKeyOrigin((leaf.leaf_hash,), origin)
    return psbt


def payout_psbt(
    escrow_outpoint: OutPoint,
    escrow_value: int,
    terms: EscrowTerms,
    outputs: Sequence[PayoutOutput],
    fee_rate: FeeRate,
    path: PayoutPath,
    *,
    key_origins: Mapping[bytes, KeyOrigin] | None = None,
) -> Psbt:
    """An unsigned payout of the escrow along `path` paying `outputs` (less the fee at `fee_rate`).

    The input carries its witness UTXO, the leaf script with its control block, the internal key and
    merkle root, and the BIP32 origins given in `key_origins` (x-only key → origin; each party knows
    its own). Signals BIP125 replaceability. EscrowError if it cannot be built as asked.
    """
    fee = fee_rate.fee(payout_vsize(terms, outputs, path))
    return _build(escrow_outpoint, escrow_value, terms, outputs, fee, path, key_origins)


def payout_fee(psbt: Psbt, escrow_value: int) -> int:
    """The fee a payout PSBT pays (escrow value less its outputs)."""
    return escrow_value - psbt.tx.total_out()


def bump_payout_psbt(
    original: Psbt,
    escrow_value: int,
    terms: EscrowTerms,
    outputs: Sequence[PayoutOutput],
    new_fee_rate: FeeRate,
    path: PayoutPath,
    *,
    key_origins: Mapping[bytes, KeyOrigin] | None = None,
) -> Psbt:
    """An unsigned BIP125 replacement of payout `original` at `new_fee_rate`: the same escrow input,
    the same shares, a fee of at least the original's plus the incremental relay fee for its size
    (rules 3 and 4). The same parties sign it again."""
    if len(original.tx.vin) != 1:
        raise EscrowError("a payout has exactly one input")
    vsize = payout_vsize(terms, outputs, path)
    old_fee = payout_fee(original, escrow_value)
    fee = max(new_fee_rate.fee(vsize), old_fee + INCREMENTAL_RELAY_FEE_RATE.fee(vsize))
    return _build(original.tx.vin[0].prevout, escrow_value, terms, outputs, fee, path, key_origins)


def check_payout_psbt(
    psbt: Psbt,
    escrow_outpoint: OutPoint,
    escrow_value: int,
    expected_outputs: Sequence[PayoutOutput],
    fee_cap: int,
    *,
    terms: EscrowTerms,
    path: PayoutPath,
) -> None:
    """Refuse (PsbtCheckError saying what is wrong) a payout PSBT that does anything but spend
    exactly the escrow outpoint along `path` into exactly `expected_outputs` less a fee of at most
    `fee_cap` sats split as agreed. Also checked: version 2, locktime 0, the path's nSequence, the
    witness UTXO, the leaf scripts offered for signing and the sighash type (SIGHASH_DEFAULT only, so
    no signature can be reused for other outputs)."""
    tx = psbt.tx
    scripts = escrow_scripts(terms)
    if len(psbt.outputs) != len(tx.vout):
        raise PsbtCheckError("the PSBT's output maps do not match its transaction")
    if len(tx.vin) != 1 or len(psbt.inputs) != 1:
        raise PsbtCheckError(f"a payout must spend exactly one input, this one spends {len(tx.vin)}")
    txin, inp = tx.vin[0], psbt.inputs[0]
    if txin.prevout != escrow_outpoint:
        raise PsbtCheckError(f"the payout spends {txin.prevout}, not the escrow outpoint {escrow_outpoint}")
    if tx.version != PAYOUT_TX_VERSION:
        raise PsbtCheckError(f"payout transaction version is {tx.version}, expected {PAYOUT_TX_VERSION}")
    if tx.locktime != 0:
        raise PsbtCheckError(f"payout locktime is {tx.locktime}, expected 0")
    try:
        sequence = payout_sequence(terms, path)
    except EscrowError as err:
        raise PsbtCheckError(str(err)) from None
    if txin.sequence != sequence:
        raise PsbtCheckError(f"payout nSequence is {txin.sequence:#x}, expected {sequence:#x} for the {path.value} path")
    if inp.witness_utxo != TxOut(escrow_value, scripts.script_pubkey):
        raise PsbtCheckError("the payout's witness UTXO is not the escrow output")
    if inp.non_witness_utxo is not None:
        raise PsbtCheckError("a taproot payout must not carry a non-witness UTXO")
    if inp.sighash_type not in (None, SIGHASH_DEFAULT):
        raise PsbtCheckError(f"payout asks for sighash type {inp.sighash_type:#x}; only SIGHASH_DEFAULT is signed")
    if inp.is_finalized():
        raise PsbtCheckError("the payout input is already finalized")
    leaf = payout_leaf(scripts, path)
    allowed = {scripts.control_block(leaf): (leaf.leaf.script, TAPROOT_LEAF_TAPSCRIPT)}
    if not inp.tap_leaf_scripts or any(allowed.get(cb) != v for cb, v in inp.tap_leaf_scripts.items()):
        raise PsbtCheckError(f"the payout's leaf scripts are not the escrow's {path.value} leaf")
    if len(tx.vout) != len(expected_outputs):
        raise PsbtCheckError(f"the payout has {len(tx.vout)} outputs, {len(expected_outputs)} were agreed")
    fee = escrow_value - tx.total_out()
    if fee < 0:
        raise PsbtCheckError(f"the payout outputs add up to more than the escrow's {escrow_value} sat")
    if fee > fee_cap:
        raise PsbtCheckError(f"the payout fee of {fee} sat is above the agreed cap of {fee_cap} sat")
    try:
        expected = payout_amounts(escrow_value, expected_outputs, fee)
    except EscrowError as err:
        raise PsbtCheckError(f"the agreed outputs cannot pay a fee of {fee} sat: {err}") from None
    for i, (got, want) in enumerate(zip(tx.vout, expected, strict=True)):
        if got.script_pubkey != want.script_pubkey:
            raise PsbtCheckError(f"payout output {i} pays script {got.script_pubkey.hex()}, not the agreed one")
        if got.value != want.value:
            raise PsbtCheckError(f"payout output {i} is {got.value} sat, {want.value} sat were agreed (fee {fee} sat)")


@dataclass(frozen=True)
class PayoutSpec:
    """Everything a party checks a payout against, kept together by the trade engine."""

    escrow_outpoint: OutPoint
    escrow_value: int
    terms: EscrowTerms
    outputs: tuple[PayoutOutput, ...]
    path: PayoutPath
    fee_cap: int

    def build(self, fee_rate: FeeRate, key_origins: Mapping[bytes, KeyOrigin] | None = None) -> Psbt:
        """`payout_psbt` for this spec."""
        return payout_psbt(
            self.escrow_outpoint, self.escrow_value, self.terms, self.outputs, fee_rate, self.path, key_origins=key_origins
        )

    def bump(self, original: Psbt, new_fee_rate: FeeRate, key_origins: Mapping[bytes, KeyOrigin] | None = None) -> Psbt:
        """`bump_payout_psbt` for this spec."""
        return bump_payout_psbt(
            original, self.escrow_value, self.terms, self.outputs, new_fee_rate, self.path, key_origins=key_origins
        )

    def check(self, psbt: Psbt) -> None:
        """`check_payout_psbt` for this spec."""
        check_payout_psbt(
            psbt, self.escrow_outpoint, self.escrow_value, self.outputs, self.fee_cap, terms=self.terms, path=self.path
        )


def sign_payout(psbt: Psbt, key: TradeKey, spec: PayoutSpec) -> int:
    """Check `psbt` against `spec` (PsbtCheckError, nothing signed) and add `key`'s signature for the
    path's leaf; returns the number of signatures added (0 if the key is not in the leaf)."""
    spec.check(psbt)
    work = copy.deepcopy(psbt)
    try:
        added = sign_psbt(work, {key.xonly: bytes(key.secret)}, allowed_sighash=(SIGHASH_DEFAULT,))
    except PsbtError as err:
        raise PsbtCheckError(f"cannot sign the payout: {err}") from None
    psbt.inputs[0].tap_script_sigs.update(work.inputs[0].tap_script_sigs)
    return added


def finalize_payout(psbt: Psbt) -> Transaction:
    """Finalize the escrow input and extract the transaction, its scripts verified under the standard
    flags. EscrowError if signatures are missing or do not verify."""
    work = copy.deepcopy(psbt)
    try:
        if not finalize_psbt(work):
            raise EscrowError("the payout lacks signatures for its spend path")
        return extract_transaction(work)
    except PsbtError as err:
        raise EscrowError(f"the payout does not verify: {err}") from None
