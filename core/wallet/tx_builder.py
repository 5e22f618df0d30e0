"""Building unsigned payments, fee bumps (BIP125 RBF) and CPFP children (Core's spend.cpp / feebumper).

`build_payment` selects coins (core.wallet.coin_selection), then lays the transaction out as Core's
CreateTransactionInternal does: inputs shuffled, the change output at a random position, nSequence
0xFFFFFFFD (BIP125 signalling) or 0xFFFFFFFE, and an anti-fee-sniping nLockTime (the tip height, one
time in ten up to 99 blocks lower so delayed transactions do not stand out). The fee is checked
against the weight the transaction will have once signed, estimated from each input's dummy-signed
size (72-byte ECDSA, 64-byte Schnorr signatures), so fee >= fee_rate * vsize holds exactly.
`build_psbt` wraps a payment in a PSBT with UTXOs and BIP32 origins from the wallet's keychain.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.mempool.policy import DEFAULT_INCREMENTAL_RELAY_FEE, DUST_RELAY_FEE_RATE, dust_threshold
from core.wallet.coin_selection import (
    INPUT_VSIZE,
    INPUT_WEIGHT,
    WITNESS_SCALE_FACTOR,
    Candidate,
    CoinSelectionParams,
    Recipient,
    SelectionResult,
    select_coins,
    send_max,
)
from core.wallet.errors import DustOutputError, TxBuilderError
from core.wallet.keychain import Keychain
from core.wallet.psbt import KeyOrigin, Psbt, TapKeyOrigin, create_psbt

SEQUENCE_RBF = 0xFFFFFFFD  # BIP125: any nSequence below 0xFFFFFFFE signals replaceability
SEQUENCE_NO_RBF = 0xFFFFFFFE  # non-final, so the anti-fee-sniping nLockTime is enforced
LOCKTIME_THRESHOLD = 500_000_000
TXIN_BASE_WEIGHT = 41 * WITNESS_SCALE_FACTOR  # outpoint, empty scriptSig length, nSequence
INCREMENTAL_RELAY_FEE_RATE = FeeRate.per_kvb(DEFAULT_INCREMENTAL_RELAY_FEE)


@dataclass(frozen=True, slots=True)
class BuiltPayment:
    """An unsigned payment and how it was made: the selection, where the change went and the fee."""

    tx: Transaction
    selection: SelectionResult
    inputs: tuple[Candidate, ...]  # in the transaction's input order
    change_index: int | None  # None = no change output
    fee: int
    estimated_weight: int  # weight once signed (dummy-signature sizes)

    @property
    def estimated_vsize(self) -> int:
        return -(-self.estimated_weight // WITNESS_SCALE_FACTOR)


@dataclass(frozen=True, slots=True)
class BumpResult:
    """A BIP125 replacement: the new transaction, its fee, the spent outputs in input order, change index."""

    tx: Transaction
    fee: int
    spent_outputs: tuple[TxOut, ...]
    change_index: int | None
    estimated_weight: int


@dataclass(frozen=True, slots=True)
class CpfpResult:
    """A child paying for its parent: the child, its fee and the package fee rate reached."""

    tx: Transaction
    fee: int
    estimated_weight: int
    package_rate: FeeRate


def script_type(script_pubkey: bytes) -> str:
    """The INPUT_WEIGHT key for spending `script_pubkey` (P2SH is assumed to wrap P2WPKH)."""
    s = bytes(script_pubkey)
    if len(s) == 22 and s[:2] == b"\x00\x14":
        return "p2wpkh"
    if len(s) == 34 and s[:2] == b"\x51\x20":
        return "p2tr"
    if len(s) == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
        return "p2pkh"
    if len(s) == 23 and s[:2] == b"\xa9\x14" and s[22] == 0x87:
        return "p2sh-p2wpkh"
    raise TxBuilderError(f"cannot estimate the signed size of an input spending script {s.hex()}")


def input_weight(script_pubkey: bytes) -> int:
    """Weight of a dummy-signed input spending `script_pubkey`."""
    return INPUT_WEIGHT[script_type(script_pubkey)]


def estimate_weight(tx: Transaction, input_weights: Sequence[int]) -> int:
    """Weight of `tx` once signed: its unsigned non-witness bytes, each input's signed extra, and the
    segwit marker+flag (always counted, as coin selection does; at most one vbyte too many)."""
    unsigned = Transaction(tx.version, tuple(TxIn(i.prevout, b"", i.sequence) for i in tx.vin), tx.vout, tx.locktime)
    extra = sum(w - TXIN_BASE_WEIGHT for w in input_weights)
    return len(unsigned.serialize_legacy()) * WITNESS_SCALE_FACTOR + 2 + extra


def _vsize(weight: int) -> int:
    return -(-weight // WITNESS_SCALE_FACTOR)


def check_dust(outputs: Sequence[TxOut]) -> None:
    """Raise DustOutputError for the first output below the dust threshold of its script."""
    for i, out in enumerate(outputs):
        threshold = dust_threshold(out, DUST_RELAY_FEE_RATE)
        if out.value < threshold:
            raise DustOutputError(
                f"output {i} of {out.value} sat is below the dust threshold of {threshold} sat for its script",
                i,
                out.value,
                threshold,
            )


def anti_fee_sniping_locktime(tip_height: int, rng: random.Random) -> int:
    """Core's DiscourageFeeSniping: the tip height, and one time in ten up to 99 blocks earlier (so
    transactions that were delayed, e.g. by mixing or signing offline, do not stand out)."""
    if not 0 <= tip_height < LOCKTIME_THRESHOLD:
        raise TxBuilderError(f"tip height {tip_height} is not a block height")
    locktime = tip_height
    if rng.randrange(10) == 0:
        locktime = max(0, locktime - rng.randrange(100))
    return locktime


def build_payment(
    candidates: Sequence[Candidate],
    recipients: Sequence[Recipient],
    fee_rate: FeeRate,
    change_script: bytes,
    tip_height: int,
    *,
    rbf: bool = True,
    locktime: int | None = None,
    rng: random.Random,
    required: Sequence[Candidate] = (),
    allow_other_inputs: bool = True,
    sweep: bool = False,
) -> BuiltPayment:
    """An unsigned transaction paying `recipients` at `fee_rate` from `candidates`, change to `change_script`.

    `required` coins are always spent (coin control; with `allow_other_inputs=False` only they are).
    `sweep` sends everything (the `required` coins, else every spendable coin) minus the fee to the
    single recipient, with no change. Raises DustOutputError for a recipient below its dust threshold,
    InsufficientFunds / CoinSelectionError from coin selection. `rng` (seed it for reproducible
    layouts) drives selection, input and output order, the change position and the locktime.
    """
    params = CoinSelectionParams(
        fee_rate=fee_rate,
        change_script_pubkey=change_script,
        change_spend_vsize=INPUT_VSIZE[script_type(change_script)],
    )
    if sweep:
        if len(recipients) != 1:
            raise TxBuilderError("send-max pays exactly one recipient")
        selection = send_max(candidates, recipients[0].script_pubkey, params, required=required)
        recipients = [Recipient(selection.outputs[0], recipients[0].script_pubkey)]
    else:
        check_dust([TxOut(r.amount, r.script_pubkey) for r in recipients])
        selection = select_coins(
            candidates, recipients, params, rng, required=required, allow_other_inputs=allow_other_inputs
        )
    if locktime is None:
        locktime = anti_fee_sniping_locktime(tip_height, rng)
    elif not 0 <= locktime <= 0xFFFFFFFF:
        raise TxBuilderError(f"locktime {locktime} out of range")
    inputs = list(selection.inputs)
    rng.shuffle(inputs)  # like Core: input order must not reveal which coins selection preferred
    sequence = SEQUENCE_RBF if rbf else SEQUENCE_NO_RBF
    outputs = [TxOut(a, r.script_pubkey) for a, r in zip(selection.outputs, recipients, strict=True)]
    rng.shuffle(outputs)
    change_index: int | None = None
    if selection.change:
        change_index = rng.randrange(len(outputs) + 1)
        outputs.insert(change_index, TxOut(selection.change, change_script))
    check_dust(outputs)
    tx = Transaction(2, tuple(TxIn(c.outpoint, b"", sequence) for c in inputs), tuple(outputs), locktime)
    weight = estimate_weight(tx, [c.input_weight for c in inputs])
    fee = sum(c.value for c in inputs) - tx.total_out()
    if fee != selection.fee or fee < fee_rate.fee(_vsize(weight)):
        raise TxBuilderError(f"internal: fee {fee} does not pay {fee_rate} for {_vsize(weight)} vbytes")
    return BuiltPayment(tx, selection, tuple(inputs), change_index, fee, weight)


def _origins(keychain: Keychain, script_pubkey: bytes) -> tuple[dict[bytes, KeyOrigin], dict[bytes, TapKeyOrigin]]:
    """ECDSA and taproot BIP32 origins of the keys behind a keychain script (empty if not ours)."""
    found = keychain.index_of(script_pubkey)
    if found is None:
        return {}, {}
    kind, index = found
    expansion = keychain.descriptor(kind).expand(index)
    ecdsa: dict[bytes, KeyOrigin] = {}
    tap: dict[bytes, TapKeyOrigin] = {}
    for key in expansion.keys:
        if key.fingerprint is None:
            continue
        origin = KeyOrigin(key.fingerprint, tuple(key.path))
        if expansion.taproot is not None:
            tap[key.xonly] = TapKeyOrigin((), origin)
        else:
            ecdsa[key.pubkey] = origin
    return ecdsa, tap


def annotate_psbt(psbt: Psbt, utxos: Sequence[TxOut], keychain: Keychain) -> None:
    """Give each input its witness UTXO (`utxos`, in input order) and, for the keychain's own scripts,
    the BIP32 origins of its keys; our outputs (change) get their origins too, so signers can check them."""
    if len(utxos) != len(psbt.inputs):
        raise TxBuilderError("one UTXO per input is needed")
    for inp, utxo in zip(psbt.inputs, utxos, strict=True):
        if script_type(utxo.script_pubkey) == "p2pkh":
            raise TxBuilderError("legacy P2PKH inputs need the previous transaction; not supported here")
        inp.witness_utxo = utxo
        ecdsa, tap = _origins(keychain, utxo.script_pubkey)
        inp.bip32_derivation.update(ecdsa)
        inp.tap_bip32_derivation.update(tap)
        if tap:
            inp.tap_internal_key = next(iter(tap))
    for out, txout in zip(psbt.outputs, psbt.tx.vout, strict=True):
        ecdsa, tap = _origins(keychain, txout.script_pubkey)
        out.bip32_derivation.update(ecdsa)
        out.tap_bip32_derivation.update(tap)
        if tap:
            out.tap_internal_key = next(iter(tap))


def build_psbt(
    candidates: Sequence[Candidate],
    utxos: Mapping[OutPoint, TxOut],
    recipients: Sequence[Recipient],
    fee_rate: FeeRate,
    change_script: bytes,
    tip_height: int,
    keychain: Keychain,
    *,
    rbf: bool = True,
    locktime: int | None = None,
    rng: random.Random,
    required: Sequence[Candidate] = (),
    allow_other_inputs: bool = True,
    sweep: bool = False,
) -> tuple[Psbt, BuiltPayment]:
    """`build_payment` as a PSBT ready for signing: each input gets its witness UTXO (from `utxos`) and
    the BIP32 origins of its keys (from `keychain`); our outputs get their origins too."""
    built = build_payment(
        candidates, recipients, fee_rate, change_script, tip_height, rbf=rbf, locktime=locktime, rng=rng,
        required=required, allow_other_inputs=allow_other_inputs, sweep=sweep,
    )
    psbt = create_psbt(built.tx)
    spent = []
    for c in built.inputs:
        utxo = utxos.get(c.outpoint)
        if utxo is None:
            raise TxBuilderError(f"no UTXO given for input {c.outpoint}")
        spent.append(utxo)
    annotate_psbt(psbt, spent, keychain)
    return psbt, built


def _required_bump_fee(orig_fee: int, new_rate: FeeRate, weight: int) -> int:
    """BIP125 rules 3-4 and the asked rate: fee >= new_rate * vsize and >= orig_fee + incremental * vsize."""
    vsize = _vsize(weight)
    return max(new_rate.fee(vsize), orig_fee + INCREMENTAL_RELAY_FEE_RATE.fee(vsize))


def bump_fee(
    original_tx: Transaction,
    spent_outputs: Sequence[TxOut],
    new_fee_rate: FeeRate,
    change_index: int | None,
    candidates: Sequence[tuple[Candidate, TxOut]] = (),
    *,
    change_script: bytes | None = None,
) -> BumpResult:
    """A BIP125 replacement of `original_tx` (spending `spent_outputs`, in input order) at `new_fee_rate`.

    It spends the same inputs (plus more if needed) and pays the same recipients; the extra fee comes
    out of the change output first (dropped when it would be dust), then from added `candidates`
    (coin, its output), largest first, with change to the old change script or `change_script`.
    Its fee is >= the original fee + the incremental relay fee * new vsize (rules 3 and 4).
    """
    if len(spent_outputs) != len(original_tx.vin):
        raise TxBuilderError("spent_outputs must give one output per input")
    orig_fee = sum(o.value for o in spent_outputs) - original_tx.total_out()
    if orig_fee < 0:
        raise TxBuilderError("the original transaction spends more than its inputs")
    signed = any(i.witness or i.script_sig for i in original_tx.vin)
    weights = [input_weight(o.script_pubkey) for o in spent_outputs]
    orig_vsize = original_tx.vsize if signed else _vsize(estimate_weight(original_tx, weights))
    if new_fee_rate <= FeeRate.from_fee(orig_fee, orig_vsize):
        raise TxBuilderError(f"the new fee rate {new_fee_rate} must exceed the original's")
    vin = [TxIn(i.prevout, b"", min(i.sequence, SEQUENCE_RBF)) for i in original_tx.vin]
    spent = list(spent_outputs)
    outputs = list(original_tx.vout)
    change: TxOut | None = None
    if change_index is not None:
        if not 0 <= change_index < len(outputs):
            raise TxBuilderError(f"change index {change_index} out of range")
        change = outputs.pop(change_index)
        change_script = change.script_pubkey
    in_use = {i.prevout for i in vin}
    pool = sorted((c for c in candidates if c[0].outpoint not in in_use), key=lambda c: -c[0].value)

    def attempt(with_change: bool) -> BumpResult | None:
        outs = list(outputs)
        pos = None
        if with_change:
            assert change_script is not None
            pos = change_index if change_index is not None else len(outs)
            outs.insert(pos, TxOut(0, change_script))
        tx = Transaction(original_tx.version, tuple(vin), tuple(outs), original_tx.locktime)
        weight = estimate_weight(tx, weights)
        need = _required_bump_fee(orig_fee, new_fee_rate, weight)
        left = sum(o.value for o in spent) - sum(o.value for o in outputs) - need
        if left < 0:
            return None
        if pos is None:
            fee = need + left  # without change, the surplus goes to fees
        else:
            if left < dust_threshold(TxOut(left, change_script or b""), DUST_RELAY_FEE_RATE):
                return None
            outs[pos] = TxOut(left, change_script or b"")
            fee = need
        tx = Transaction(original_tx.version, tuple(vin), tuple(outs), original_tx.locktime)
        return BumpResult(tx, fee, tuple(spent), pos, weight)

    while True:
        # keep the change while it stays above dust; if it cannot, a changeless layout overpays by
        # less than a dust change output plus its fee (Core's feebumper drops dust change likewise)
        for with_change in (True, False) if change_script is not None else (False,):
            result = attempt(with_change)
            if result is not None:
                return result
        if not pool:
            raise TxBuilderError("not enough funds to bump the fee: add coins or lower the fee rate")
        if change_script is None:
            raise TxBuilderError("adding an input needs a change script (the original has no change)")
        cand, utxo = pool.pop(0)
        vin.append(TxIn(cand.outpoint, b"", SEQUENCE_RBF))
        spent.append(utxo)
        weights.append(cand.input_weight)


def cpfp(
    parent_tx: Transaction,
    parent_fee: int,
    output_index: int,
    output_value: int,
    output_script: bytes,
    target_package_rate: FeeRate,
    change_script: bytes,
    *,
    rbf: bool = True,
    parent_vsize: int | None = None,
) -> CpfpResult:
    """A child spending output `output_index` of `parent_tx` to `change_script` such that
    (parent_fee + child_fee) / (parent_vsize + child_vsize) >= `target_package_rate`; the child also
    pays at least the target rate on its own. `parent_vsize` defaults to the parent's (signed) vsize."""
    if not 0 <= output_index < len(parent_tx.vout):
        raise TxBuilderError(f"output {output_index} does not exist in the parent")
    if parent_tx.vout[output_index].value != output_value or parent_tx.vout[output_index].script_pubkey != output_script:
        raise TxBuilderError("the output value or script does not match the parent's output")
    p_vsize = parent_vsize if parent_vsize is not None else parent_tx.vsize
    prevout = OutPoint(parent_tx.txid, output_index)
    sequence = SEQUENCE_RBF if rbf else SEQUENCE_NO_RBF
    draft = Transaction(2, (TxIn(prevout, b"", sequence),), (TxOut(0, change_script),), 0)
    weight = estimate_weight(draft, [input_weight(output_script)])
    c_vsize = _vsize(weight)
    package_fee = target_package_rate.fee(p_vsize + c_vsize)
    fee = max(package_fee - parent_fee, target_package_rate.fee(c_vsize))
    out = TxOut(output_value - fee, change_script)
    if out.value < 0:
        raise TxBuilderError(f"the output of {output_value} sat cannot pay the child fee of {fee} sat")
    check_dust([out])
    tx = Transaction(2, draft.vin, (out,), 0)
    rate = FeeRate.from_fee(parent_fee + fee, p_vsize + c_vsize)
    return CpfpResult(tx, fee, weight, rate)
