"""A traffic generator that keeps the sandbox mempool lifelike.

Each step makes one payment between the sandbox's own keys with a fee rate drawn log-uniformly
from 1 to 100 sat/vB (so the fee histogram has a realistic long tail); about one step in eight
replaces an earlier payment at a higher fee rate (RBF), and about one in four spends unconfirmed
change, building chains of transactions. The generator only proposes transactions; the node
decides (mempool policy) and reports back through `accepted` / `rejected`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from core.consensus.tx import Transaction, TxOut
from core.sandbox.coins import OwnedCoin, OwnedCoins
from core.sandbox.errors import FaucetEmpty
from core.sandbox.signer import SandboxKey

MIN_FEE_RATE = 1
MAX_FEE_RATE = 100
_MAX_RECENT = 50


@dataclass
class _Sent:
    tx: Transaction
    coins: list[OwnedCoin]
    outputs: list[TxOut]
    fee_rate: int


@dataclass(frozen=True)
class Proposal:
    """A transaction to submit, and the one it replaces (if it is an RBF bump)."""

    tx: Transaction
    replaces: Transaction | None
    fee_rate: int


class TrafficGenerator:
    """Proposes payments among `keys`, funded from `coins`."""

    def __init__(self, coins: OwnedCoins, keys: list[SandboxKey], rng: random.Random) -> None:
        self.coins = coins
        self.keys = keys
        self.rng = rng
        self._recent: list[_Sent] = []
        self._proposed: dict[bytes, _Sent] = {}

    def _fee_rate(self) -> int:
        lo, hi = math.log(MIN_FEE_RATE), math.log(MAX_FEE_RATE)
        return max(MIN_FEE_RATE, round(math.exp(self.rng.uniform(lo, hi))))

    def propose(self, tip_height: int) -> Proposal | None:
        """The next transaction to try, or None when there is nothing to spend."""
        roll = self.rng.random()
        if roll < 0.125 and self._recent:
            bump = self._replacement(tip_height)
            if bump is not None:
                return bump
        pool = self.coins.spendable(tip_height, include_pending=roll < 0.35)
        if not pool:
            return None
        coin = self.rng.choice(pool[:20])
        value = min(coin.txout.value // 2, self.rng.randint(10_000, 5_000_000))
        if value < 10_000:
            return None
        outputs = [TxOut(value, self.rng.choice(self.keys).script_pubkey)]
        rate = self._fee_rate()
        try:
            tx = self.coins.create_payment(outputs, rate, self.rng.choice(self.keys), tip_height, coins=[coin])
        except FaucetEmpty:
            return None
        self._proposed[tx.txid] = _Sent(tx, [coin], outputs, rate)
        return Proposal(tx, None, rate)

    def _replacement(self, tip_height: int) -> Proposal | None:
        old = self.rng.choice(self._recent)
        if any(c.outpoint not in self.coins.locked for c in old.coins):
            return None  # confirmed or dropped meanwhile
        rate = old.fee_rate * 2 + 1
        if rate > 2 * MAX_FEE_RATE + 1:
            return None  # bumped enough; keep the tail of the histogram plausible
        self.coins.drop_unconfirmed(old.tx)
        try:
            tx = self.coins.create_payment(old.outputs, rate, self.keys[0], tip_height, coins=old.coins)
        except FaucetEmpty:
            self.coins.add_unconfirmed(old.tx)
            return None
        self.coins.add_unconfirmed(old.tx)  # until the node says the replacement is in
        self._proposed[tx.txid] = _Sent(tx, old.coins, old.outputs, rate)
        return Proposal(tx, old.tx, rate)

    def accepted(self, proposal: Proposal) -> None:
        """The node accepted `proposal` into its mempool."""
        if proposal.replaces is not None:
            self.coins.drop_unconfirmed(proposal.replaces)
            self._recent = [s for s in self._recent if s.tx.txid != proposal.replaces.txid]
        self.coins.add_unconfirmed(proposal.tx)
        sent = self._proposed.pop(proposal.tx.txid, None)
        if sent is not None:
            self._recent.append(sent)
            del self._recent[:-_MAX_RECENT]

    def rejected(self, proposal: Proposal) -> None:
        """The node refused `proposal`; its coins stay as they were."""
        self._proposed.pop(proposal.tx.txid, None)
