"""Coin selection: which coins pay for a transaction, with or without change (Core's spend.cpp flow).

`select_coins` follows Bitcoin Core's CreateTransactionInternal / SelectCoins / ChooseSelectionResult:
required (user-chosen) inputs first, then Branch and Bound, "largest first" (our knapsack stand-in)
and Single Random Draw over the remaining spendable coins, tried by confirmation tier (6 confirmations
for others' coins, then 1, then our own unconfirmed change), and the result with the least waste
(GetSelectionWaste) wins, ties going to more inputs. Change is made only when it is at least the
minimum viable change (above dust at the discard rate and worth spending); otherwise it goes to fees.
`send_max` sweeps coins to one recipient. Amounts are integer satoshis and rates exact FeeRates, so
every result satisfies inputs - outputs - change == fee >= fee_rate * vsize exactly.

Sizes are counted in weight units; the segwit marker and flag are always counted (an all-legacy spend
overpays by at most one vbyte).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from core.consensus.serialize import ser_compact_size
from core.consensus.tx import OutPoint, TxOut
from core.mempool.feerate import FeeRate
from core.mempool.policy import DUST_RELAY_FEE_RATE, MAX_STANDARD_TX_WEIGHT, dust_threshold
from core.wallet.coin_selection_algos import (
    AlgoOutcome,
    Pooled,
    generate_change_target,
    select_coins_bnb,
    select_coins_largest_first,
    select_coins_srd,
)
from core.wallet.errors import CoinSelectionError, InsufficientFunds

WITNESS_SCALE_FACTOR = 4

# weight of the input spending each script type (Core's dummy-signed sizes: 72-byte ECDSA signatures,
# 64-byte Schnorr key-path signatures)
INPUT_WEIGHT = {"p2pkh": 592, "p2sh-p2wpkh": 364, "p2wpkh": 272, "p2tr": 230}
INPUT_VSIZE = {k: -(-w // 4) for k, w in INPUT_WEIGHT.items()}
P2WPKH_CHANGE_SCRIPT = b"\x00\x14" + bytes(20)  # a change output prototype: only its size matters

DEFAULT_LONG_TERM_FEE_RATE = FeeRate.per_kvb(10_000)  # Core's -consolidatefeerate, 10 sat/vB
DEFAULT_DISCARD_FEE_RATE = FeeRate.per_kvb(10_000)  # Core's -discardfee, 10 sat/vB
# Core's CoinEligibilityFilter tiers: (confirmations for our own change, for everyone else's coins)
ELIGIBILITY_TIERS: tuple[tuple[int, int], ...] = ((1, 6), (1, 1), (0, 1))


class SelectionAlgorithm(Enum):
    BNB = "bnb"
    LARGEST_FIRST = "largest_first"
    SRD = "srd"
    MANUAL = "manual"  # the required inputs alone were enough
    SEND_MAX = "send_max"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A coin the wallet could spend (Core's COutput)."""

    outpoint: OutPoint
    value: int  # satoshis
    input_weight: int  # weight of the input spending it, witness included (4 * vsize for legacy)
    depth: int = 1  # confirmations; 0 = in the mempool
    frozen: bool = False  # the user locked it: never selected
    is_own_change: bool = False  # change from our own transaction (may be spent unconfirmed)

    @property
    def input_vsize(self) -> int:
        return -(-self.input_weight // WITNESS_SCALE_FACTOR)

    @classmethod
    def for_script_type(cls, outpoint: OutPoint, value: int, script_type: str, **kw: object) -> Candidate:
        """A candidate sized for spending `script_type` ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr")."""
        try:
            weight = INPUT_WEIGHT[script_type]
        except KeyError:
            raise CoinSelectionError(f"unknown script type {script_type!r}") from None
        return cls(outpoint, value, weight, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Recipient:
    amount: int
    script_pubkey: bytes
    subtract_fee: bool = False  # pay (a share of) the fee out of this output

    @property
    def output_size(self) -> int:
        return 8 + len(ser_compact_size(len(self.script_pubkey))) + len(self.script_pubkey)


@dataclass(frozen=True, slots=True)
class CoinSelectionParams:
    """Fee rates and change shape (Core's CoinSelectionParams)."""

    fee_rate: FeeRate
    long_term_fee_rate: FeeRate = DEFAULT_LONG_TERM_FEE_RATE
    discard_fee_rate: FeeRate = DEFAULT_DISCARD_FEE_RATE
    change_script_pubkey: bytes = P2WPKH_CHANGE_SCRIPT
    change_spend_vsize: int = INPUT_VSIZE["p2wpkh"]
    max_tx_weight: int = MAX_STANDARD_TX_WEIGHT

    @property
    def change_output_size(self) -> int:
        return Recipient(0, self.change_script_pubkey).output_size

    @property
    def change_fee(self) -> int:
        """Fee to create the change output now."""
        return self.fee_rate.fee(self.change_output_size)

    @property
    def cost_of_change(self) -> int:
        """Fee to create the change output now plus to spend it later (at the discard rate)."""
        return self.discard_fee_rate.fee(self.change_spend_vsize) + self.change_fee

    @property
    def min_viable_change(self) -> int:
        """Smallest change worth making: above dust and above the fee to spend it (Core's rule)."""
        spend_fee = self.discard_fee_rate.fee(self.change_spend_vsize)
        dust = dust_threshold(TxOut(0, self.change_script_pubkey), self.discard_fee_rate)
        return max(spend_fee + 1, dust)


@dataclass(frozen=True, slots=True)
class SelectionResult:
    """A finished selection: inputs, recipient amounts (after any fee subtraction), change, fee."""

    inputs: tuple[Candidate, ...]
    outputs: tuple[int, ...]  # recipient amounts, in request order
    change: int  # 0 = no change output
    fee: int
    weight: int
    waste: int
    algorithm: SelectionAlgorithm
    algo_completed: bool = True

    @property
    def vsize(self) -> int:
        return -(-self.weight // WITNESS_SCALE_FACTOR)

    @property
    def input_total(self) -> int:
        return sum(c.value for c in self.inputs)


def _overhead_weight(n_inputs: int, output_sizes: Sequence[int]) -> int:
    """Weight of everything but the inputs: version, locktime, counts, outputs, segwit marker+flag."""
    base = 4 + 4 + len(ser_compact_size(n_inputs)) + len(ser_compact_size(len(output_sizes))) + sum(output_sizes)
    return base * WITNESS_SCALE_FACTOR + 2


def _pool(c: Candidate, params: CoinSelectionParams, sffo: bool) -> Pooled:
    vsize = c.input_vsize
    fee = params.fee_rate.fee(vsize)
    return Pooled(
        c, fee, params.long_term_fee_rate.fee(vsize), c.value if sffo else c.value - fee, vsize * WITNESS_SCALE_FACTOR
    )


def _eligible(c: Candidate, tier: tuple[int, int]) -> bool:
    return not c.frozen and c.depth >= (tier[0] if c.is_own_change else tier[1])


def _check_candidates(candidates: Sequence[Candidate], required: Sequence[Candidate]) -> None:
    seen: set[OutPoint] = set()
    for c in required:
        if c.frozen:
            raise CoinSelectionError(f"required input {c.outpoint} is frozen")
        if c.outpoint in seen:
            raise CoinSelectionError(f"input {c.outpoint} given twice")
        seen.add(c.outpoint)
    others: set[OutPoint] = set()
    for c in candidates:
        if c.value < 0 or c.input_weight <= 0:
            raise CoinSelectionError(f"candidate {c.outpoint} has a bad value or weight")
        if c.outpoint in others:
            raise CoinSelectionError(f"candidate {c.outpoint} listed twice")
        others.add(c.outpoint)


def _finalize(
    selected: Sequence[Pooled],
    recipients: Sequence[Recipient],
    params: CoinSelectionParams,
    algorithm: SelectionAlgorithm,
    completed: bool,
) -> SelectionResult | None:
    """Build the exact outputs, change and fee of a selection; None if it cannot pay (too heavy, short)."""
    sffo = any(r.subtract_fee for r in recipients)
    sizes = [r.output_size for r in recipients]
    out_total = sum(r.amount for r in recipients)
    in_total = sum(p.candidate.value for p in selected)
    in_weight = sum(p.candidate.input_weight for p in selected)
    w_plain = _overhead_weight(len(selected), sizes) + in_weight
    w_change = _overhead_weight(len(selected), [*sizes, params.change_output_size]) + in_weight
    need_plain = params.fee_rate.fee(-(-w_plain // WITNESS_SCALE_FACTOR))
    need_change = params.fee_rate.fee(-(-w_change // WITNESS_SCALE_FACTOR))
    input_waste = sum(p.fee - p.long_term_fee for p in selected)
    amounts = [r.amount for r in recipients]

    if not sffo:
        change = in_total - out_total - need_change
        if change >= params.min_viable_change:
            fee, weight, waste = need_change, w_change, input_waste + params.cost_of_change
        else:
            change = 0
            fee, weight = in_total - out_total, w_plain
            if fee < need_plain:
                return None
            waste = input_waste + fee - need_plain  # the excess thrown to fees
    else:
        change = in_total - out_total
        if change >= params.min_viable_change:
            fee, weight, waste = need_change, w_change, input_waste + params.cost_of_change
        else:
            fee, weight, waste = need_plain, w_plain, input_waste + change
            change = 0
        # Core: the fee still owed is split equally over the paying recipients (truncating like C++),
        # the first of them also takes the remainder; a negative amount owed raises their outputs
        to_reduce = fee - (in_total - out_total - change)
        payers = [i for i, r in enumerate(recipients) if r.subtract_fee]
        k = len(payers)
        share = abs(to_reduce) // k * (1 if to_reduce >= 0 else -1)
        for n, i in enumerate(payers):
            amounts[i] -= share + (to_reduce - share * k if n == 0 else 0)
            if amounts[i] < 0:
                raise CoinSelectionError("the transaction amount is too small to pay the fee")
            if amounts[i] < dust_threshold(TxOut(amounts[i], recipients[i].script_pubkey), DUST_RELAY_FEE_RATE):
                raise CoinSelectionError("the transaction amount is too small to send after the fee has been deducted")
    if weight > params.max_tx_weight:
        return None
    return SelectionResult(
        tuple(p.candidate for p in selected), tuple(amounts), change, fee, weight, waste, algorithm, completed
    )


def _better(a: SelectionResult, b: SelectionResult | None) -> bool:
    """Core's SelectionResult::operator<: less waste, then more inputs."""
    return b is None or a.waste < b.waste or (a.waste == b.waste and len(a.inputs) > len(b.inputs))


def select_coins(
    candidates: Sequence[Candidate],
    recipients: Sequence[Recipient],
    params: CoinSelectionParams,
    rng: random.Random,
    *,
    required: Sequence[Candidate] = (),
    allow_other_inputs: bool = True,
) -> SelectionResult:
    """Choose inputs paying `recipients` at `params.fee_rate` (Core's CreateTransaction coin selection).

    `required` inputs are always spent; frozen coins never; coins with fewer confirmations than the
    tier asks are left for a later tier. `rng` (seed it for reproducible results) drives SRD and the
    random change target. Raises InsufficientFunds (with `shortfall` in sats) or CoinSelectionError.
    """
    if not recipients:
        raise CoinSelectionError("no recipients")
    for r in recipients:
        if r.amount <= 0:
            raise CoinSelectionError(f"recipient amount {r.amount} must be positive")
        if r.amount < dust_threshold(TxOut(r.amount, r.script_pubkey), DUST_RELAY_FEE_RATE):
            raise CoinSelectionError(f"recipient amount {r.amount} is dust")
    _check_candidates(candidates, required)
    required_ops = {c.outpoint for c in required}
    others = [c for c in candidates if c.outpoint not in required_ops and not c.frozen]
    sffo = any(r.subtract_fee for r in recipients)
    sizes = [r.output_size for r in recipients]
    recipients_sum = sum(r.amount for r in recipients)

    # the input count is not known yet: size its compact-size for the most inputs we could use
    n_max = len(required) + (len(others) if allow_other_inputs else 0)
    overhead = _overhead_weight(max(n_max, 1), sizes)
    not_input_fee = 0 if sffo else params.fee_rate.fee(-(-overhead // WITNESS_SCALE_FACTOR))
    target = recipients_sum + not_input_fee
    change_target = generate_change_target(recipients_sum // len(recipients), params.change_fee, rng)

    preset = [_pool(c, params, sffo) for c in required]
    preset_amount = sum(p.selection_amount for p in preset)
    remaining = target - preset_amount
    if remaining <= 0:
        result = _finalize(preset, recipients, params, SelectionAlgorithm.MANUAL, True)
        if result is None:
            raise CoinSelectionError("the required inputs exceed the maximum transaction weight")
        return result
    if not allow_other_inputs:
        raise InsufficientFunds(f"the chosen inputs are {remaining} sat short of the amount plus fee", remaining)

    max_weight = params.max_tx_weight - overhead - sum(p.weight for p in preset)
    if max_weight <= 0:
        raise CoinSelectionError("the required inputs exceed the maximum transaction weight")
    weight_exceeded = False
    for tier in ELIGIBILITY_TIERS:
        pool = [p for p in (_pool(c, params, sffo) for c in others if _eligible(c, tier)) if p.candidate.value - p.fee > 0]
        if sum(p.selection_amount for p in pool) < remaining:
            continue
        outcomes: list[tuple[AlgoOutcome, SelectionAlgorithm]] = []
        if not sffo:  # Core skips BnB with fee subtraction: changeless sets and SFFO do not mix well
            outcomes.append((select_coins_bnb(pool, remaining, params.cost_of_change, max_weight), SelectionAlgorithm.BNB))
        w_no_change = max_weight - params.change_output_size * WITNESS_SCALE_FACTOR
        outcomes.append(
            (select_coins_largest_first(pool, remaining, change_target, w_no_change), SelectionAlgorithm.LARGEST_FIRST)
        )
        outcomes.append((select_coins_srd(pool, remaining, params.change_fee, rng, w_no_change), SelectionAlgorithm.SRD))
        best: SelectionResult | None = None
        for outcome, algo in outcomes:
            weight_exceeded |= outcome.weight_exceeded
            if outcome.selected is None:
                continue
            result = _finalize([*preset, *outcome.selected], recipients, params, algo, outcome.completed)
            if result is not None and _better(result, best):
                best = result
        if best is not None:
            return best

    if weight_exceeded:
        raise CoinSelectionError("the inputs needed exceed the maximum transaction weight; consolidate coins first")
    available = preset_amount + sum(
        p.selection_amount
        for p in (_pool(c, params, sffo) for c in others if _eligible(c, ELIGIBILITY_TIERS[-1]))
        if p.candidate.value - p.fee > 0
    )
    shortfall = max(target - available, 1)
    raise InsufficientFunds(f"insufficient funds: {shortfall} sat short of the amount plus fee", shortfall)


def send_max(
    candidates: Sequence[Candidate],
    script_pubkey: bytes,
    params: CoinSelectionParams,
    *,
    required: Sequence[Candidate] = (),
) -> SelectionResult:
    """Send everything to one recipient: the `required` coins if given, else every spendable coin worth
    its fee (not frozen, confirmed or our own change), minus the fee; no change output."""
    _check_candidates(candidates, required)
    if required:
        chosen = [_pool(c, params, False) for c in required]
    else:
        tier = ELIGIBILITY_TIERS[-1]
        chosen = [p for p in (_pool(c, params, False) for c in candidates if _eligible(c, tier)) if p.selection_amount > 0]
    if not chosen:
        raise InsufficientFunds("no spendable coins to send", 1)
    size = Recipient(0, script_pubkey).output_size
    weight = _overhead_weight(len(chosen), [size]) + sum(p.weight for p in chosen)
    if weight > params.max_tx_weight:
        raise CoinSelectionError("sending all coins exceeds the maximum transaction weight")
    fee = params.fee_rate.fee(-(-weight // WITNESS_SCALE_FACTOR))
    amount = sum(p.candidate.value for p in chosen) - fee
    dust = dust_threshold(TxOut(max(amount, 0), script_pubkey), DUST_RELAY_FEE_RATE)
    if amount < max(dust, 1):
        short = max(dust, 1) - amount
        raise InsufficientFunds(f"the coins are {short} sat short of a spendable output after the fee", short)
    waste = sum(p.fee - p.long_term_fee for p in chosen)
    return SelectionResult(
        tuple(p.candidate for p in chosen), (amount,), 0, fee, weight, waste, SelectionAlgorithm.SEND_MAX
    )
