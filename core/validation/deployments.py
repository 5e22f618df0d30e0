"""Which consensus rules apply at a height: buried deployments, block script flags and the subsidy.

Only the few numbers of ChainParams these rules need are used, through the `ConsensusHeights`
protocol, so the rules can be exercised with any object that has them (ChainParams has them all).
"""

from __future__ import annotations

from typing import Protocol

from core.consensus.amount import COIN
from core.script.flags import (
    SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY,
    SCRIPT_VERIFY_CHECKSEQUENCEVERIFY,
    SCRIPT_VERIFY_DERSIG,
    SCRIPT_VERIFY_NULLDUMMY,
    SCRIPT_VERIFY_P2SH,
    SCRIPT_VERIFY_TAPROOT,
    SCRIPT_VERIFY_WITNESS,
)

COINBASE_MATURITY = 100
MAX_BLOCK_SIGOPS_COST = 80_000
# Core's LOCKTIME_VERIFY_SEQUENCE: enforce BIP68 relative lock-times.
LOCKTIME_VERIFY_SEQUENCE = 1 << 0


class ConsensusHeights(Protocol):
    """The ChainParams fields that decide which rules a block obeys."""

    bip34_height: int
    bip65_height: int
    bip66_height: int
    csv_height: int
    segwit_height: int
    subsidy_halving_interval: int


def block_script_flags(height: int, params: ConsensusHeights) -> int:
    """Core's GetBlockScriptFlags for the block at `height`.

    P2SH, WITNESS and TAPROOT are always on (Core keeps them on except for two historical mainnet
    blocks, which this node never validates); the others follow their buried activation heights.
    """
    flags = SCRIPT_VERIFY_P2SH | SCRIPT_VERIFY_WITNESS | SCRIPT_VERIFY_TAPROOT
    if height >= params.bip66_height:
        flags |= SCRIPT_VERIFY_DERSIG
    if height >= params.bip65_height:
        flags |= SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY
    if height >= params.csv_height:
        flags |= SCRIPT_VERIFY_CHECKSEQUENCEVERIFY
    if height >= params.segwit_height:
        flags |= SCRIPT_VERIFY_NULLDUMMY
    return flags


def block_subsidy(height: int, params: ConsensusHeights) -> int:
    """Core's GetBlockSubsidy: 50 BTC halved every `subsidy_halving_interval` blocks."""
    halvings = height // params.subsidy_halving_interval
    if halvings >= 64:  # a shift of 64 or more is undefined in C++; Core forces zero
        return 0
    return (50 * COIN) >> halvings
