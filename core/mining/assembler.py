"""Block assembly: Bitcoin Core's BlockAssembler (node/miner.cpp) over our mempool.

Transactions are chosen the way Core's addPackageTxs chose them before cluster mempool: each
candidate is a *package*, a transaction together with its in-mempool ancestors not yet in the
block, ranked by the package's fee rate. So a cheap parent with a generous child (CPFP) competes at
their combined rate. After a package goes in, its descendants' packages shrink and are re-ranked.
Packages that would overflow the block's weight or sigop budget are skipped.

The coinbase pays subsidy plus fees and commits to the witnesses (BIP141); the header gets
version 0x20000000 (BIP9 top bits, no signalling), the previous hash, the caller's bits, and a time
after the median time past. `mine` grinds the nonce, which on regtest takes a try or two.
"""

from __future__ import annotations

import dataclasses
import heapq
import time as _time
from dataclasses import dataclass
from fractions import Fraction

from core.consensus.block import Block, BlockHeader, bits_to_target
from core.consensus.hashes import BlockHash, Txid
from core.consensus.tx import MAX_BLOCK_WEIGHT
from core.mempool.entry import MempoolEntry
from core.mempool.feerate import FeeRate
from core.mempool.mempool import Mempool
from core.mempool.policy import BLOCK_MIN_FEE_RATE
from core.mining.coinbase import add_witness_commitment, create_coinbase
from core.mining.errors import NonceNotFound
from core.validation.deployments import MAX_BLOCK_SIGOPS_COST, ConsensusHeights, block_subsidy
from core.validation.tx_verify import is_final_tx

BLOCK_VERSION = 0x20000000
DEFAULT_BLOCK_MAX_WEIGHT = MAX_BLOCK_WEIGHT
DEFAULT_BLOCK_RESERVED_WEIGHT = 8_000  # header, transaction count and coinbase
COINBASE_RESERVED_SIGOPS = 400
# Core gives up looking for packages that fit once the block is nearly full and this many failed in a row.
MAX_CONSECUTIVE_FAILURES = 1_000


@dataclass(frozen=True, slots=True)
class AssemblerOptions:
    """Core's BlockAssembler::Options at their defaults."""

    max_weight: int = DEFAULT_BLOCK_MAX_WEIGHT
    reserved_weight: int = DEFAULT_BLOCK_RESERVED_WEIGHT
    min_fee_rate: FeeRate = BLOCK_MIN_FEE_RATE  # -blockmintxfee


@dataclass(frozen=True, slots=True)
class BlockTemplate:
    """A block ready to be mined (nonce 0) and what went into it."""

    block: Block
    height: int
    fees: tuple[int, ...]  # per non-coinbase transaction, in block order
    sigop_costs: tuple[int, ...]  # likewise
    weight: int

    @property
    def total_fees(self) -> int:
        return sum(self.fees)


class BlockAssembler:
    """Builds block templates from a mempool."""

    def __init__(self, mempool: Mempool, options: AssemblerOptions | None = None) -> None:
        self.mempool = mempool
        self.options = options or AssemblerOptions()

    def create_new_block(
        self,
        *,
        prev_hash: BlockHash,
        height: int,
        mtp: int,
        bits: int,
        script_pubkey: bytes,
        params: ConsensusHeights,
        now: int | None = None,
        extra_nonce: int = 0,
        version: int = BLOCK_VERSION,
    ) -> BlockTemplate:
        """A template for the block at `height` on `prev_hash` (whose median time past is `mtp`).

        `params` supplies the halving interval for the subsidy (ChainParams will do).
        """
        now = int(_time.time()) if now is None else now
        block_time = max(mtp + 1, now)
        # Lock times are judged against the previous block's MTP (BIP113), as consensus does.
        selected = self.select_transactions(height, mtp)
        fees = tuple(e.fee for e in selected)
        value = block_subsidy(height, params) + sum(fees)
        coinbase = create_coinbase(height, script_pubkey, value, extra_nonce)
        header = BlockHeader(version, prev_hash, bytes(32), block_time, bits, 0)
        block = add_witness_commitment(Block(header, (coinbase, *(e.tx for e in selected))))
        return BlockTemplate(block, height, fees, tuple(e.sigop_cost for e in selected), block.weight)

    def select_transactions(self, height: int, lock_time_cutoff: int) -> list[MempoolEntry]:
        """Core's addPackageTxs: mempool entries by package (ancestor) fee rate, parents first."""
        pool, opts = self.mempool, self.options
        entries = {e.txid: e for e in pool}
        ancestors = {t: pool.ancestors(t) for t in entries}
        in_block: set[Txid] = set()
        failed: set[Txid] = set()
        version = dict.fromkeys(entries, 0)
        heap: list[tuple[Fraction, Txid, int]] = []

        def package(t: Txid) -> set[Txid]:
            return (ancestors[t] - in_block) | {t}

        def push(t: Txid) -> None:
            members = package(t)
            rate = Fraction(sum(entries[m].fee for m in members), sum(entries[m].vsize for m in members))
            heapq.heappush(heap, (-rate, t, version[t]))

        for t in entries:
            push(t)
        weight = opts.reserved_weight
        sigops = COINBASE_RESERVED_SIGOPS
        block: list[MempoolEntry] = []
        failures = 0
        while heap:
            neg_rate, t, v = heapq.heappop(heap)
            if t in in_block or t in failed or v != version[t]:
                continue  # stale: already included, or re-ranked since
            if -neg_rate < opts.min_fee_rate.sat_per_vb:
                break  # everything left pays less
            members = package(t)
            w = sum(entries[m].weight for m in members)
            s = sum(entries[m].sigop_cost for m in members)
            fits = weight + w < opts.max_weight and sigops + s < MAX_BLOCK_SIGOPS_COST
            if not fits or not all(is_final_tx(entries[m].tx, height, lock_time_cutoff) for m in members):
                failed.add(t)
                failures += 1
                if failures > MAX_CONSECUTIVE_FAILURES and weight > opts.max_weight - 4_000:
                    break
                continue
            failures = 0
            # More ancestors never comes before fewer: a parent always has fewer than its child.
            for m in sorted(members, key=lambda m: (len(ancestors[m]), m)):
                block.append(entries[m])
            in_block |= members
            weight += w
            sigops += s
            for d in pool.descendants_with(members) - in_block:
                version[d] += 1
                push(d)
        return block


def mine(template: BlockTemplate | Block, max_tries: int = 1 << 32) -> Block:
    """The block with the first nonce (counting up from its current one) whose hash meets its bits.

    Raises NonceNotFound after `max_tries` nonces (regtest needs one or two; mainnet, forget it).
    """
    block = template.block if isinstance(template, BlockTemplate) else template
    header = block.header
    target, negative, overflow = bits_to_target(header.bits)
    if negative or overflow or target == 0:
        raise NonceNotFound(f"bits {header.bits:#010x} encode no valid target")
    for i in range(max_tries):
        candidate = dataclasses.replace(header, nonce=(header.nonce + i) & 0xFFFFFFFF)
        if int.from_bytes(candidate.hash, "little") <= target:
            return Block(candidate, block.txs)
    raise NonceNotFound(f"no nonce met the target in {max_tries} tries")
