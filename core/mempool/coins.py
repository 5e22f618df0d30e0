"""The UTXO view the mempool validates against: the chain's coins plus outputs of mempool transactions.

The chain state (or a test's dictionary) only needs `get_coin`; `MempoolCoinView` layers the
mempool on top so transactions can spend unconfirmed parents (Core's CCoinsViewMemPool). Coins
created by mempool transactions carry MEMPOOL_HEIGHT, as in Core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.consensus.tx import OutPoint, Transaction
from core.validation.utxo import Coin

MEMPOOL_HEIGHT = 0x7FFFFFFF


class CoinView(Protocol):
    """Anything that answers "is this outpoint unspent, and what is it?" (ChainState does)."""

    def get_coin(self, outpoint: OutPoint) -> Coin | None: ...


class DictCoinView:
    """A CoinView over a plain dictionary (tests, and callers assembling a view by hand)."""

    def __init__(self, coins: dict[OutPoint, Coin] | None = None) -> None:
        self.coins: dict[OutPoint, Coin] = {} if coins is None else coins

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        return self.coins.get(outpoint)


class MempoolCoinView:
    """Chain coins, plus the outputs of transactions `lookup` finds in the mempool.

    A coin already spent by another mempool transaction is still returned: conflicts are the
    replacement rules' business, not the view's.
    """

    def __init__(self, base: CoinView, lookup: Callable[[bytes], Transaction | None]) -> None:
        self.base = base
        self._lookup = lookup

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        tx = self._lookup(outpoint.txid)
        if tx is not None:
            if outpoint.n < len(tx.vout):
                return Coin(tx.vout[outpoint.n], MEMPOOL_HEIGHT, False)
            return None
        return self.base.get_coin(outpoint)
