"""Helpers for functional tests on sandbox nodes: start nodes in a temp dir, wait on events, compare state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from core.consensus.tx import Transaction, TxOut
from core.sandbox.coins import OwnedCoin
from core.sandbox.node import SandboxConfig, SandboxNode

TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def sandbox(tmp: Path, name: str, **kw: Any) -> AsyncIterator[SandboxNode]:
    """A started sandbox node with data in tmp/name; stopped on exit."""
    kw.setdefault("ping_interval", None)
    kw.setdefault("traffic_seed", 7)
    node = SandboxNode(SandboxConfig(tmp / name, **kw))
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


def in_mempool(node: SandboxNode, txid: bytes) -> bool:
    """For node.wait_for predicates (run on the loop; a dict lookup, safe beside the chain thread)."""
    return node.chain.mempool.get(txid) is not None


async def utxo_set(node: SandboxNode) -> dict[bytes, Any]:
    return await node.run(lambda: dict(node.chain.chain.iter_coins()))


async def mempool_txids(node: SandboxNode) -> set[bytes]:
    return await node.run(lambda: {bytes(e.txid) for e in node.chain.mempool})


async def payment(node: SandboxNode, to_spk: bytes, amount: int, fee_rate: int, coin: OwnedCoin | None = None) -> Transaction:
    """A signed payment from the node's own coins, not submitted (for relay and RBF tests)."""

    def build() -> Transaction:
        chain = node.chain
        coins = [coin] if coin is not None else None
        return chain.coins.create_payment(
            [TxOut(amount, to_spk)], fee_rate, chain.miner_key, chain.tip.height, coins=coins
        )

    return await node.run(build)
