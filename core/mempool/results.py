"""Typed outcomes of offering a transaction to the mempool (Core's MempoolAcceptResult)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.consensus.hashes import Txid, Wtxid
from core.consensus.tx import Transaction
from core.mempool.feerate import FeeRate


class TxValidationResult(StrEnum):
    """Why a transaction was refused, as Core classifies it (decides how peers are treated)."""

    CONSENSUS = "consensus"  # invalid by consensus rules
    INPUTS_NOT_STANDARD = "inputs-not-standard"
    NOT_STANDARD = "not-standard"
    MISSING_INPUTS = "missing-inputs"  # maybe an orphan: parents not seen yet
    PREMATURE_SPEND = "premature-spend"  # locktime, BIP68 or coinbase maturity: valid later
    WITNESS_MUTATED = "witness-mutated"
    WITNESS_STRIPPED = "witness-stripped"  # scripts fail only because the witness is missing
    CONFLICT = "conflict"  # already have it (or a same-txid version of it)
    MEMPOOL_POLICY = "mempool-policy"
    RECONSIDERABLE = "reconsiderable"  # fee too low alone; might pass with a package


@dataclass(frozen=True, slots=True)
class Accepted:
    """The transaction is in the mempool (or would be, for a test accept)."""

    txid: Txid
    wtxid: Wtxid
    fee: int
    vsize: int
    replaced: tuple[Transaction, ...] = ()  # removed by this replacement (conflicts and descendants)
    trimmed: tuple[Transaction, ...] = ()  # evicted to keep the mempool within its size limit

    @property
    def fee_rate(self) -> FeeRate:
        return FeeRate.from_fee(self.fee, self.vsize)


@dataclass(frozen=True, slots=True)
class Rejected:
    """The transaction was refused; `reason` is Core's reject string, `detail` Core's debug message."""

    txid: Txid
    wtxid: Wtxid
    reason: str
    result: TxValidationResult
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason}, {self.detail}" if self.detail else self.reason


AcceptResult = Accepted | Rejected
