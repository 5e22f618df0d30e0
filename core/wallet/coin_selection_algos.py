"""The coin selection algorithms of Bitcoin Core's src/wallet/coinselection.cpp, over pooled coins.

Branch and Bound (SelectCoinsBnB), Single Random Draw (SelectCoinsSRD) and, in place of Core's
knapsack solver, a deterministic "largest first" fallback; plus GenerateChangeTarget. Each works on
`Pooled` coins (a candidate with its fee, long-term fee and selection amount at the target fee rate
already computed, Core's OutputGroup of one coin) and returns an `AlgoOutcome`; building the
transaction, change and waste is core.wallet.coin_selection's job. Written by hand because no library
implements Core's algorithms; the loops keep their state in locals because the 100,000-try BnB search
over a 10,000-coin wallet must finish in well under 100 ms.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.wallet.coin_selection import Candidate

TOTAL_TRIES = 100_000  # Core's BnB search budget
CHANGE_LOWER = 50_000  # Core's lower bound of the random change target (sats)
CHANGE_UPPER = 1_000_000  # Core's upper bound of the random change target (sats)
_NO_WASTE_YET = 1 << 62  # larger than any waste (Core uses MAX_MONEY)


@dataclass(frozen=True, slots=True)
class Pooled:
    """A candidate priced at the target fee rate (Core's OutputGroup holding one COutput)."""

    candidate: Candidate
    fee: int  # fee to spend it now, at the effective fee rate
    long_term_fee: int  # fee to spend it at the long-term fee rate
    selection_amount: int  # effective value, or the plain value when fees come out of recipients
    weight: int

    @property
    def waste(self) -> int:
        """This input's share of the waste metric: fee now minus fee in the long run."""
        return self.fee - self.long_term_fee


@dataclass(frozen=True, slots=True)
class AlgoOutcome:
    """What one algorithm found: the chosen coins, or None, and how the search went."""

    selected: tuple[Pooled, ...] | None
    completed: bool = True  # False when BnB stopped at TOTAL_TRIES (result may not be optimal)
    tries: int = 0
    weight_exceeded: bool = False  # some input set was rejected for exceeding the weight limit


def select_coins_bnb(
    pool: Sequence[Pooled],
    selection_target: int,
    cost_of_change: int,
    max_selection_weight: int,
    total_tries: int = TOTAL_TRIES,
) -> AlgoOutcome:
    """Core's SelectCoinsBnB: the least-waste input set whose amount lies in
    [selection_target, selection_target + cost_of_change], found by depth-first search.

    Coins are sorted by descending selection amount (lower waste first on ties); the search includes
    coins first, cuts a subtree when even all remaining coins cannot reach the target (lookahead),
    shifts to the omission branch when the window is overshot, and skips coins equal in amount to an
    omitted predecessor (they can only give equal or worse sets). Stops after `total_tries` steps.
    """
    utxos = sorted(pool, key=lambda p: (-p.selection_amount, p.fee - p.long_term_fee))
    n = len(utxos)
    if n == 0:
        return AlgoOutcome(None)
    amount = [u.selection_amount for u in utxos]
    waste = [u.fee - u.long_term_fee for u in utxos]
    weight = [u.weight for u in utxos]
    # lookahead[i]: the sum of the amounts after index i
    lookahead = [0] * n
    total = 0
    for i in range(n - 1, -1, -1):
        lookahead[i] = total
        total += amount[i]
    if total < selection_target:
        return AlgoOutcome(None)

    upper = selection_target + cost_of_change
    # at a fee rate above the long-term one, each added input only raises waste, so a partial
    # selection already worse than the best can be abandoned
    feerate_high = waste[0] > 0
    curr: list[int] = []
    best: list[int] | None = None
    best_waste = _NO_WASTE_YET
    curr_amount = curr_waste = curr_weight = 0
    next_utxo = 0
    tries = 0
    completed = False
    weight_exceeded = False
    while True:
        i = next_utxo
        curr_amount += amount[i]
        curr_weight += weight[i]
        curr_waste += waste[i]
        curr.append(i)
        next_utxo = i + 1
        tries += 1

        cut = shift = False
        if curr_amount + lookahead[i] < selection_target:
            cut = True  # even every remaining coin cannot reach the target
        elif curr_weight > max_selection_weight:
            weight_exceeded = True
            shift = True
        elif curr_amount > upper:
            shift = True  # overshot the window
        elif feerate_high and curr_waste > best_waste:
            shift = True
        elif curr_amount >= selection_target:
            shift = True  # a solution; more inputs can only add fees
            w = curr_waste + curr_amount - selection_target  # the excess is dropped to fees: waste
            if w <= best_waste:
                best = curr.copy()
                best_waste = w

        if tries >= total_tries:
            break
        if next_utxo == n:
            cut = True
        if cut:
            # nothing down this path nor on the last coin's omission branch: drop the last coin so
            # the shift below moves to the omission branch of the one before it
            j = curr.pop()
            curr_amount -= amount[j]
            curr_weight -= weight[j]
            curr_waste -= waste[j]
            shift = True
        done = False
        while shift:
            if not curr:
                done = completed = True
                break
            j = curr.pop()
            curr_amount -= amount[j]
            curr_weight -= weight[j]
            curr_waste -= waste[j]
            next_utxo = j + 1
            shift = False
            # skip coins equal in amount to the one just omitted: same or worse waste, explored already
            while amount[next_utxo - 1] == amount[next_utxo]:
                if next_utxo >= n - 1:
                    shift = True
                    break
                next_utxo += 1
        if done:
            break

    if best is None:
        return AlgoOutcome(None, completed, tries, weight_exceeded)
    return AlgoOutcome(tuple(utxos[k] for k in best), completed, tries, weight_exceeded)


def select_coins_srd(
    pool: Sequence[Pooled],
    target_value: int,
    change_fee: int,
    rng: random.Random,
    max_selection_weight: int,
) -> AlgoOutcome:
    """Core's SelectCoinsSRD: add coins in random order until target + CHANGE_LOWER + change fee is met.

    Aiming past the target by CHANGE_LOWER avoids tiny change. When the weight limit is passed the
    smallest coins (heaviest first on ties) are dropped until it fits again.
    """
    target = target_value + CHANGE_LOWER + change_fee
    order = list(range(len(pool)))
    rng.shuffle(order)
    heap: list[tuple[int, int, int]] = []  # (amount, -weight, index): smallest, then heaviest, pops first
    selected = 0
    weight = 0
    weight_exceeded = False
    for i in order:
        p = pool[i]
        heapq.heappush(heap, (p.selection_amount, -p.weight, i))
        selected += p.selection_amount
        weight += p.weight
        if weight > max_selection_weight:
            weight_exceeded = True
            while heap and weight > max_selection_weight:
                amt, neg_w, _ = heapq.heappop(heap)
                selected -= amt
                weight += neg_w
        if selected >= target:
            return AlgoOutcome(tuple(pool[k] for _, _, k in heap), weight_exceeded=weight_exceeded)
    return AlgoOutcome(None, weight_exceeded=weight_exceeded)


def select_coins_largest_first(
    pool: Sequence[Pooled],
    target_value: int,
    min_change_target: int,
    max_selection_weight: int,
) -> AlgoOutcome:
    """Largest coins first until target + min_change_target is met (or, failing that, the target).

    Stands in for Core's knapsack solver as the always-works fallback: deterministic, and it never
    needs more inputs than any other set of the same coins would.
    """
    utxos = sorted(pool, key=lambda p: (-p.selection_amount, p.weight))
    selected = 0
    weight = 0
    just_target: int | None = None  # prefix length that met the bare target
    weight_exceeded = False
    for k, p in enumerate(utxos, 1):
        if weight + p.weight > max_selection_weight:
            weight_exceeded = True
            break
        selected += p.selection_amount
        weight += p.weight
        if just_target is None and selected >= target_value:
            just_target = k
        if selected >= target_value + min_change_target:
            return AlgoOutcome(tuple(utxos[:k]))
    if just_target is None:
        return AlgoOutcome(None, weight_exceeded=weight_exceeded)
    return AlgoOutcome(tuple(utxos[:just_target]), weight_exceeded=weight_exceeded)


def generate_change_target(payment_value: int, change_fee: int, rng: random.Random) -> int:
    """Core's GenerateChangeTarget: a random minimum change, between CHANGE_LOWER and
    min(2 * payment, CHANGE_UPPER), so change amounts do not give away which output is change."""
    if payment_value <= CHANGE_LOWER // 2:
        return change_fee + CHANGE_LOWER
    upper_bound = min(payment_value * 2, CHANGE_UPPER)
    return change_fee + rng.randrange(upper_bound - CHANGE_LOWER) + CHANGE_LOWER
