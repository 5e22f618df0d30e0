"""The deposit transaction both traders fund: one escrow output, each side's inputs and change.

Each side builds a contribution from its own wallet: a PSBT holding only its inputs (confirmed native
segwit coins, so the deposit's txid cannot be malleated) and its change output, paying its own fee
share: its inputs, its change and the shared part (version, counts, locktime, the escrow output) at
the agreed rate. The shared part is paid by both, so the deposit pays a little above the rate, never
below. `combine_deposit` merges two contributions into one deterministic transaction (BIP69 order:
either side gets the same bytes). Before signing, each side checks the combined PSBT against its own
contribution: its inputs and change exactly as it built them, exactly one escrow output of the
contract's value, nothing else but the other side's change, segwit inputs only, a sufficient fee rate.
Signing uses only the side's own input maps, so a combined PSBT cannot get it to sign other coins.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool.feerate import FeeRate
from core.trade.errors import EscrowError, PsbtCheckError
from core.wallet.coin_selection import INPUT_VSIZE, CoinSelectionParams, Recipient, select_coins
from core.wallet.errors import CoinSelectionError, PsbtError, TxBuilderError
from core.wallet.psbt import Psbt, PsbtInput, combine_psbts, create_psbt, extract_transaction, finalize_psbt
from core.wallet.tx_builder import SEQUENCE_RBF, annotate_psbt, estimate_weight, input_weight, script_type

if TYPE_CHECKING:
    from core.wallet.wallet import Wallet

DEPOSIT_TX_VERSION = 2
#: Sizing stand-in for the escrow output while a side selects coins (every escrow output is P2TR).
_ESCROW_OUTPUT_PROTOTYPE = b"\x51\x20" + bytes(32)
#: Input types a deposit may spend: native segwit (no scriptSig, so the txid is fixed before signing).
SEGWIT_INPUT_TYPES = ("p2wpkh", "p2tr")
#: Below this combined rate a deposit is refused by default (Core's default minimum relay fee).
MIN_DEPOSIT_FEE_RATE = FeeRate.per_kvb(1000)


def _is_segwit(spk: bytes) -> bool:
    try:
        return script_type(spk) in SEGWIT_INPUT_TYPES
    except TxBuilderError:
        return False


@dataclass(frozen=True)
class DepositContribution:
    """One side's part of the deposit: `psbt` (its inputs and change only, to send to the other
    side), the `amount` it puts into the escrow and the `fee` it pays."""

    psbt: Psbt
    amount: int
    fee: int

    @property
    def outpoints(self) -> tuple[OutPoint, ...]:
        """The coins this side spends."""
        return tuple(txin.prevout for txin in self.psbt.tx.vin)

    @property
    def change(self) -> TxOut | None:
        """This side's change output, if any."""
        return self.psbt.tx.vout[0] if self.psbt.tx.vout else None


def build_deposit_contribution(
    wallet: Wallet, amount: int, fee_rate: FeeRate, *, rng: random.Random | None = None
) -> DepositContribution:
    """`amount` sats for the escrow from `wallet`'s confirmed segwit coins, with change to its next
    change address, paying `fee_rate` for its own part. EscrowError if the coins do not suffice."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise EscrowError(f"deposit amount {amount!r} must be a positive number of satoshis")
    cands, utxos = wallet._candidates()
    # Only confirmed coins: an unconfirmed parent could be replaced and take the deposit with it.
    usable = [c for c in cands if c.depth >= 1 and not c.frozen and _is_segwit(utxos.get(c.outpoint).script_pubkey)]
    _, change_script = wallet._peek_change()
    params = CoinSelectionParams(
        fee_rate=fee_rate, change_script_pubkey=change_script, change_spend_vsize=INPUT_VSIZE[script_type(change_script)]
    )
    try:
        selection = select_coins(usable, [Recipient(amount, _ESCROW_OUTPUT_PROTOTYPE)], params, rng or random.Random())
    except CoinSelectionError as err:
        raise EscrowError(f"cannot fund {amount} sat of the deposit: {err}") from None
    inputs = sorted(selection.inputs, key=lambda c: _outpoint_key(c.outpoint))
    outputs = (TxOut(selection.change, change_script),) if selection.change else ()
    tx = Transaction(DEPOSIT_TX_VERSION, tuple(TxIn(c.outpoint, b"", SEQUENCE_RBF) for c in inputs), outputs, 0)
    psbt = create_psbt(tx)
    annotate_psbt(psbt, [utxos.get(c.outpoint) for c in inputs], wallet.keychain)
    return DepositContribution(psbt, amount, selection.fee)


def _outpoint_key(op: OutPoint) -> tuple[str, int]:
    # BIP69: previous txid as displayed (reversed bytes), then output index.
    return str(op.txid), op.n


def _check_part(part: Psbt, who: str) -> None:
    """A contribution received from a peer: the shape `build_deposit_contribution` gives."""
    tx = part.tx
    if len(part.inputs) != len(tx.vin) or len(part.outputs) != len(tx.vout):
        raise PsbtCheckError(f"{who}'s contribution has maps that do not match its transaction")
    if tx.version != DEPOSIT_TX_VERSION or tx.locktime != 0:
        raise PsbtCheckError(f"{who}'s contribution must have version 2 and locktime 0")
    if not tx.vin or len(tx.vout) > 1:
        raise PsbtCheckError(f"{who}'s contribution must have inputs and at most one change output")
    for i, (txin, inp) in enumerate(zip(tx.vin, part.inputs, strict=True)):
        utxo = inp.witness_utxo
        if utxo is None or not _is_segwit(utxo.script_pubkey):
            raise PsbtCheckError(f"{who}'s input {i} is not a native segwit coin with its witness UTXO")
        if txin.sequence != SEQUENCE_RBF or inp.is_finalized():
            raise PsbtCheckError(f"{who}'s input {i} has an unexpected nSequence or is already signed")
    if sum(inp.witness_utxo.value for inp in part.inputs) < tx.total_out():  # type: ignore[union-attr]
        raise PsbtCheckError(f"{who}'s change is larger than its inputs")


def combine_deposit(seller_part: Psbt, buyer_part: Psbt, escrow_spk: bytes, escrow_value: int) -> Psbt:
    """The unsigned deposit: both sides' inputs and change plus one escrow output of `escrow_value`,
    inputs and outputs in BIP69 order. PsbtCheckError if a part is malformed or they fall short."""
    _check_part(seller_part, "the seller")
    _check_part(buyer_part, "the buyer")
    pairs = [(t, m) for p in (seller_part, buyer_part) for t, m in zip(p.tx.vin, p.inputs, strict=True)]
    if len({t.prevout for t, _ in pairs}) != len(pairs):
        raise PsbtCheckError("the two contributions spend the same coin")
    pairs.sort(key=lambda tm: _outpoint_key(tm[0].prevout))
    outs = [(TxOut(escrow_value, escrow_spk), None)]
    outs += [(o, m) for p in (seller_part, buyer_part) for o, m in zip(p.tx.vout, p.outputs, strict=True)]
    if any(o.script_pubkey == escrow_spk for o, m in outs if m is not None):
        raise PsbtCheckError("a change output pays to the escrow script")
    outs.sort(key=lambda om: (om[0].value, om[0].script_pubkey))
    tx = Transaction(DEPOSIT_TX_VERSION, tuple(t for t, _ in pairs), tuple(o for o, _ in outs), 0)
    total_in = sum(m.witness_utxo.value for _, m in pairs)  # type: ignore[union-attr]
    if total_in < tx.total_out():
        raise PsbtCheckError(f"the contributions fall {tx.total_out() - total_in} sat short of the escrow value")
    psbt = create_psbt(tx)
    psbt.inputs = [copy.deepcopy(m) for _, m in pairs]
    psbt.outputs = [copy.deepcopy(m) if m is not None else psbt.outputs[i] for i, (_, m) in enumerate(outs)]
    return psbt


def deposit_fee_rate(psbt: Psbt) -> FeeRate:
    """The rate the deposit pays for its estimated signed size (from the witness UTXOs it claims)."""
    spent = [inp.witness_utxo for inp in psbt.inputs]
    if any(u is None or not _is_segwit(u.script_pubkey) for u in spent):
        raise PsbtCheckError("every deposit input must be a native segwit coin with its witness UTXO")
    fee = sum(u.value for u in spent) - psbt.tx.total_out()  # type: ignore[union-attr]
    weight = estimate_weight(psbt.tx, [input_weight(u.script_pubkey) for u in spent])  # type: ignore[union-attr]
    return FeeRate.from_fee(fee, -(-weight // 4))


def check_deposit_psbt(
    psbt: Psbt,
    own: DepositContribution,
    escrow_spk: bytes,
    escrow_value: int,
    min_fee_rate: FeeRate = MIN_DEPOSIT_FEE_RATE,
) -> None:
    """Refuse (PsbtCheckError saying what is wrong) a combined deposit that does not spend our coins
    and pay our change exactly as in `own`, or lacks exactly one escrow output of `escrow_value`, or
    has outputs beyond the other side's one change, non-segwit inputs, or a fee rate below `min_fee_rate`."""
    tx = psbt.tx
    if len(psbt.inputs) != len(tx.vin) or len(psbt.outputs) != len(tx.vout):
        raise PsbtCheckError("the PSBT's maps do not match its transaction")
    if tx.version != DEPOSIT_TX_VERSION or tx.locktime != 0:
        raise PsbtCheckError(f"the deposit has version {tx.version} and locktime {tx.locktime}, expected 2 and 0")
    by_outpoint = {t.prevout: (t, m) for t, m in zip(tx.vin, psbt.inputs, strict=True)}
    if len(by_outpoint) != len(tx.vin):
        raise PsbtCheckError("the deposit spends a coin twice")
    for txin, inp in zip(own.psbt.tx.vin, own.psbt.inputs, strict=True):
        found = by_outpoint.get(txin.prevout)
        if found is None:
            raise PsbtCheckError(f"the deposit does not spend our coin {txin.prevout}")
        if found[0].sequence != txin.sequence or found[1].witness_utxo != inp.witness_utxo:
            raise PsbtCheckError(f"the deposit's input {txin.prevout} differs from our contribution")
    escrow = [o for o in tx.vout if o.script_pubkey == escrow_spk]
    if len(escrow) != 1:
        raise PsbtCheckError(f"the deposit has {len(escrow)} outputs to the escrow address, expected exactly one")
    if escrow[0].value != escrow_value:
        raise PsbtCheckError(f"the escrow output is {escrow[0].value} sat, the contract says {escrow_value} sat")
    others = [o for o in tx.vout if o.script_pubkey != escrow_spk]
    change = own.change
    if change is not None:
        if change not in others:
            raise PsbtCheckError(f"our change output of {change.value} sat is missing or altered")
        others.remove(change)
    if len(others) > 1:
        raise PsbtCheckError(f"the deposit has {len(others)} outputs besides the escrow and our change; at most one allowed")
    rate = deposit_fee_rate(psbt)
    if rate < min_fee_rate:
        raise PsbtCheckError(f"the deposit pays {rate.sat_vb_str()}, below the agreed {min_fee_rate.sat_vb_str()}")


async def sign_deposit(
    wallet: Wallet,
    psbt: Psbt,
    own: DepositContribution,
    escrow_spk: bytes,
    escrow_value: int,
    password: str | None,
    min_fee_rate: FeeRate = MIN_DEPOSIT_FEE_RATE,
) -> int:
    """Check the combined deposit (PsbtCheckError, nothing signed), then sign our own inputs with
    `wallet` (key derivation off the loop); returns the signatures added to `psbt`."""
    check_deposit_psbt(psbt, own, escrow_spk, escrow_value, min_fee_rate)
    own_maps = {t.prevout: m for t, m in zip(own.psbt.tx.vin, own.psbt.inputs, strict=True)}
    work = copy.deepcopy(psbt)
    # Sign from our own input maps only; foreign inputs keep just their UTXO (taproot sighashes need it).
    work.inputs = [
        copy.deepcopy(own_maps[t.prevout]) if t.prevout in own_maps else PsbtInput(witness_utxo=m.witness_utxo)
        for t, m in zip(work.tx.vin, work.inputs, strict=True)
    ]
    added = await wallet.sign(work, password)
    for txin, mine, signed in zip(psbt.tx.vin, psbt.inputs, work.inputs, strict=True):
        if txin.prevout in own_maps:
            mine.partial_sigs.update(signed.partial_sigs)
            if signed.tap_key_sig is not None:
                mine.tap_key_sig = signed.tap_key_sig
    return added


def finalize_deposit(psbts: Sequence[Psbt]) -> Transaction:
    """Combine the sides' signed copies, finalize and extract the deposit, every input's scripts
    verified. PsbtCheckError if they conflict or a signature is missing."""
    try:
        combined = combine_psbts(psbts)
        if not finalize_psbt(combined):
            missing = [i for i, inp in enumerate(combined.inputs) if not inp.is_finalized()]
            raise PsbtCheckError(f"deposit input(s) {missing} are not signed yet")
        return extract_transaction(combined)
    except PsbtError as err:
        raise PsbtCheckError(f"the deposit cannot be completed: {err}") from None


def escrow_outpoint(tx: Transaction, escrow_spk: bytes) -> OutPoint:
    """The escrow output of a deposit transaction (EscrowError unless there is exactly one)."""
    found = [i for i, o in enumerate(tx.vout) if o.script_pubkey == escrow_spk]
    if len(found) != 1:
        raise EscrowError(f"the transaction has {len(found)} escrow outputs, expected one")
    return OutPoint(tx.txid, found[0])
