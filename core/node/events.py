"""Typed events the light node reports to its owner (the wallet, the GUI, the CLI).

Results are data: sync code emits these instead of calling back into the UI. Other node modules may add
event classes at the end of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.filters.basic import FilterHeader


@dataclass(frozen=True, slots=True)
class NodeWarning:
    """Something the user should know (e.g. no filter peers, a peer lied about filters)."""

    message: str


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A snapshot of one connected peer, for display."""

    address: str
    port: int
    transport: str  # "v1" or "v2"
    services: int
    height: int
    ping_ms: float | None
    bytes_in: int
    bytes_out: int
    connected_since: float
    user_agent: str
    inbound: bool


@dataclass(frozen=True, slots=True)
class PeerUp:
    """A peer finished its handshake."""

    info: PeerInfo


@dataclass(frozen=True, slots=True)
class PeerDown:
    """A peer went away."""

    address: str
    reason: str


class SyncStage(StrEnum):
    """Where the light node is in its initial sync."""

    CONNECTING = "connecting"
    HEADERS = "headers"
    FILTER_HEADERS = "filter_headers"
    FILTERS = "filters"
    SYNCED = "synced"


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Progress of one sync stage: `height` of `target` (eta None when unknown)."""

    stage: SyncStage
    height: int
    target: int
    eta_seconds: float | None


@dataclass(frozen=True, slots=True)
class BlockConnected:
    """A block joined the scanned chain; `block` is None if the wallet's filter did not match it."""

    height: int
    block_hash: BlockHash
    block: Block | None


@dataclass(frozen=True, slots=True)
class BlockDisconnected:
    """A block left the scanned chain in a reorg (reported tip first)."""

    height: int
    block_hash: BlockHash


@dataclass(frozen=True, slots=True)
class ChainTip:
    """The scanned chain's tip and its verified BIP157 filter header (None before filter sync)."""

    height: int
    block_hash: BlockHash
    filter_header: FilterHeader | None
