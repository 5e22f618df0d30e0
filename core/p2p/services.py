"""Service bits a node advertises in `version` and address messages (Core's ServiceFlags, protocol.h)."""

from __future__ import annotations

from enum import IntFlag


class ServiceFlags(IntFlag):
    """Bits of the 64-bit services field. Unknown bits are kept (IntFlag's KEEP boundary), not dropped."""

    NODE_NONE = 0
    #: Serves the full block chain (not pruned below the last 288 blocks).
    NODE_NETWORK = 1 << 0
    #: Serves BIP37 bloom-filtered connections.
    NODE_BLOOM = 1 << 2
    #: Serves witness data (BIP144).
    NODE_WITNESS = 1 << 3
    #: Serves BIP157/158 compact block filters.
    NODE_COMPACT_FILTERS = 1 << 6
    #: Serves the last 288 blocks only (BIP159).
    NODE_NETWORK_LIMITED = 1 << 10
    #: Accepts BIP324 v2 encrypted connections.
    NODE_P2P_V2 = 1 << 11

    def __str__(self) -> str:
        return service_names(self)


def service_names(services: int) -> str:
    """Readable form such as "NODE_NETWORK|NODE_WITNESS|1<<40", or "NODE_NONE"."""
    if services == 0:
        return "NODE_NONE"
    parts = []
    for bit in range(64):
        mask = 1 << bit
        if services & mask:
            try:
                parts.append(ServiceFlags(mask).name or f"1<<{bit}")
            except ValueError:
                parts.append(f"1<<{bit}")
    return "|".join(parts)
