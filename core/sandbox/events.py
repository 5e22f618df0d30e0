"""Typed events a sandbox node reports to its owner (tests, the app, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from core.consensus.hashes import BlockHash, Txid, Wtxid


@dataclass(frozen=True, slots=True)
class TipChanged:
    """The validated chain's tip moved (by connecting, or by a reorg)."""

    height: int
    hash: BlockHash
    disconnected: int
    connected: int


@dataclass(frozen=True, slots=True)
class TxAccepted:
    """A transaction entered our mempool."""

    txid: Txid
    wtxid: Wtxid
    fee: int
    vsize: int


@dataclass(frozen=True, slots=True)
class TxRejected:
    """A transaction (from a peer or submitted locally) was refused."""

    txid: Txid
    reason: str


@dataclass(frozen=True, slots=True)
class BlockRejected:
    """A block from a peer failed validation."""

    hash: BlockHash
    reason: str


SandboxEvent = TipChanged | TxAccepted | TxRejected | BlockRejected
