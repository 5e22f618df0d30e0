"""The sandbox full node's mempool: Bitcoin Core's standard policy, full RBF, chain limits, eviction.

`Mempool.accept_tx` validates a transaction against a UTXO view (anything with `get_coin`, such as
the validation package's ChainState) and the chain tip, and returns `Accepted` or `Rejected` with
Core's reject reason. Block assembly from the mempool lives in core.mining.
"""

from core.mempool.coins import MEMPOOL_HEIGHT, CoinView, DictCoinView, MempoolCoinView
from core.mempool.entry import MempoolEntry
from core.mempool.feerate import FeeRate
from core.mempool.mempool import BlockRemoval, Mempool, MempoolOptions
from core.mempool.reorg import ReorgResult
from core.mempool.results import Accepted, AcceptResult, Rejected, TxValidationResult
from core.mempool.stats import HistogramBucket, MempoolStats

__all__ = [
    "MEMPOOL_HEIGHT",
    "AcceptResult",
    "Accepted",
    "BlockRemoval",
    "CoinView",
    "DictCoinView",
    "FeeRate",
    "HistogramBucket",
    "Mempool",
    "MempoolCoinView",
    "MempoolEntry",
    "MempoolOptions",
    "MempoolStats",
    "Rejected",
    "ReorgResult",
    "TxValidationResult",
]
