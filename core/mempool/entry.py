"""A mempool entry: a transaction and what admission computed about it (Core's CTxMemPoolEntry)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.consensus.hashes import Txid, Wtxid
from core.consensus.tx import Transaction
from core.mempool.feerate import FeeRate


@dataclass(eq=False, slots=True)
class MempoolEntry:
    """One mempool transaction with what admission computed about it (Core's CTxMemPoolEntry)."""

    tx: Transaction
    fee: int
    vsize: int  # sigop-adjusted virtual size
    sigop_cost: int
    time: int  # when it entered
    height: int  # chain tip height when it entered
    spends_coinbase: bool
    parents: set[Txid] = field(default_factory=set)
    children: set[Txid] = field(default_factory=set)

    @property
    def txid(self) -> Txid:
        return self.tx.txid

    @property
    def wtxid(self) -> Wtxid:
        return self.tx.wtxid

    @property
    def weight(self) -> int:
        return self.tx.weight

    @property
    def fee_rate(self) -> FeeRate:
        return FeeRate.from_fee(self.fee, self.vsize)
