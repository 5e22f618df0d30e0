"""Everything the sandbox node keeps about the chain, owned by one thread.

Headers, the validated chain with its UTXO set and filter index, the mempool, the miner and the
sandbox's own coins all live here and are only touched from the node's single chain thread
(each SQLite connection stays on the thread that opened it; block connection, script checks and
signing never run on the event loop). Methods are plain synchronous calls; the node awaits them
through its executor.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.chain.entry import (
    FAILED_MASK,
    Connected,
    ForkAdded,
    HeaderEntry,
    HeaderStatus,
    Rejected,
    Reorganized,
)
from core.chain.header_store import HeaderStore
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash
from core.consensus.tx import Transaction, TxOut
from core.mempool.mempool import Mempool
from core.mempool.results import Accepted, AcceptResult
from core.mining.assembler import BlockAssembler, mine
from core.sandbox.coins import OwnedCoins
from core.sandbox.signer import SandboxKey
from core.validation.chainstate import ChainState, ChainUpdate
from core.validation.errors import BlockValidationError, UnknownBlockError

#: Keys derived from the sandbox seed: index 0 mines and funds the faucet, the rest carry traffic.
TRAFFIC_KEYS = 8
#: Blocks requested from one peer at a time while catching up.
MAX_BLOCKS_IN_FLIGHT = 128
#: Header reject reasons that prove the sender broke consensus rules (Core punishes these).
_PUNISHED_HEADER_REASONS = ("high-hash", "bad-diffbits", "time-too-old", "bad-prevblk", "bad-version")


@dataclass(frozen=True)
class HeadersOutcome:
    """What a batch of headers did, and which blocks to fetch next."""

    result: Connected | Reorganized | ForkAdded | Rejected
    missing: tuple[BlockHash, ...]
    punish: bool
    last_known: BlockHash | None


@dataclass(frozen=True)
class BlockOutcome:
    """What a received or mined block did."""

    update: ChainUpdate
    tip: HeaderEntry
    reject: str | None = None
    punish: bool = False
    header_new: bool = False
    mempool_removed: tuple[Transaction, ...] = field(default=())


def _load_seed(datadir: Path) -> bytes:
    """The sandbox's key seed, made once per data directory (these keys guard play money only)."""
    path = datadir / "sandbox_seed"
    if not path.exists():
        path.write_bytes(os.urandom(32))
    return path.read_bytes()


class ChainService:
    """Headers, chain state, mempool, miner and own coins of one sandbox node (one thread only)."""

    def __init__(self, params: ChainParams, datadir: Path) -> None:
        datadir.mkdir(parents=True, exist_ok=True)
        self.params = params
        self.header_store = HeaderStore(datadir / "headers.sqlite")
        self.headers = HeaderTree(params, self.header_store)
        self.chain = ChainState(params, self.headers, datadir / "chain.sqlite")
        self.mempool = Mempool()
        self.assembler = BlockAssembler(self.mempool)
        seed = _load_seed(datadir)
        self.miner_key = SandboxKey.derive(seed, 0)
        self.traffic_keys = [SandboxKey.derive(seed, i, taproot=i % 2 == 0) for i in range(1, TRAFFIC_KEYS + 1)]
        keys = [self.miner_key, *self.traffic_keys]
        self.coins = OwnedCoins({k.script_pubkey: k for k in keys})
        self._rescan_own_coins()

    def close(self) -> None:
        self.chain.close()
        self.header_store.close()

    def _rescan_own_coins(self) -> None:
        for height in range(1, self.chain.height + 1):
            entry = self.chain.chain_at(height)
            block = self.chain.get_block(entry.hash) if entry else None
            if block is not None:
                self.coins.connect_block(block, height)

    # --- queries ------------------------------------------------------------------------------------
    @property
    def tip(self) -> HeaderEntry:
        return self.chain.tip

    def locator(self) -> list[BlockHash]:
        """A locator from the best header (what we ask peers to extend)."""
        return self.headers.locator()

    def headers_after(self, locator: tuple[BlockHash, ...], stop: BlockHash) -> list[BlockHeader]:
        """A getheaders answer from the validated chain (Core serves its active chain)."""
        fork = self.headers.find_fork(locator)
        out: list[BlockHeader] = []
        for height in range(fork.height + 1, min(self.chain.height, fork.height + 2000) + 1):
            entry = self.chain.chain_at(height)
            if entry is None or (entry.hash != fork.hash and not self.chain.contains(entry)):
                break
            out.append(entry.header)
            if entry.hash == stop:
                break
        return out

    def block(self, block_hash: bytes) -> Block | None:
        return self.chain.get_block(block_hash)

    def mempool_tx(self, key: bytes) -> Transaction | None:
        entry = self.mempool.get(key)
        return None if entry is None else entry.tx

    # --- headers and blocks from peers --------------------------------------------------------------
    def accept_headers(self, headers: tuple[BlockHeader, ...]) -> HeadersOutcome:
        result = self.headers.accept(headers, int(time.time()))
        punish = isinstance(result, Rejected) and result.reason.startswith(_PUNISHED_HEADER_REASONS)
        last = self.headers.get(headers[-1].hash) if headers else None
        return HeadersOutcome(result, self.missing_blocks(), punish, last.hash if last else None)

    def missing_blocks(self) -> tuple[BlockHash, ...]:
        """Blocks of the best header chain we do not have, lowest first (at most MAX_BLOCKS_IN_FLIGHT)."""
        best = self.headers.tip
        missing: list[BlockHash] = []
        walk: HeaderEntry | None = best
        while walk is not None and not self.chain.contains(walk):
            if not walk.status & HeaderStatus.HAVE_DATA:
                missing.append(walk.hash)
            walk = walk.prev
        return tuple(reversed(missing[-MAX_BLOCKS_IN_FLIGHT:]))

    def process_block(self, block: Block) -> BlockOutcome:
        """Accept a block's header if new, check and store the block, and activate the best chain."""
        header_new = self.headers.get(block.hash) is None
        if header_new:
            res = self.headers.accept((block.header,), int(time.time()))
            if isinstance(res, Rejected):
                punish = res.reason.startswith(_PUNISHED_HEADER_REASONS)
                return BlockOutcome(ChainUpdate(), self.chain.tip, res.reason, punish, header_new)
        entry = self.headers.get(block.hash)
        if entry is not None and entry.status & FAILED_MASK:
            return BlockOutcome(ChainUpdate(), self.chain.tip, "duplicate-invalid", True, header_new)
        try:
            self.chain.store_block(block)
        except UnknownBlockError as e:
            return BlockOutcome(ChainUpdate(), self.chain.tip, str(e), False, header_new)
        except BlockValidationError as e:
            return BlockOutcome(ChainUpdate(), self.chain.tip, e.reason, True, header_new)
        update = self.chain.activate_best_chain()
        removed = self._apply_update(update)
        reject = None
        for h, reason in update.invalid:
            if h == block.hash:
                reject = reason
        return BlockOutcome(update, self.chain.tip, reject, reject is not None, header_new, removed)

    def _apply_update(self, update: ChainUpdate) -> tuple[Transaction, ...]:
        """Bring the mempool and our own coins to the new tip."""
        if not update.tip_changed:
            return ()
        for block in update.disconnected:
            self.coins.disconnect_block(block)
        first = self.chain.tip.height - len(update.connected) + 1
        for i, block in enumerate(update.connected):
            self.coins.connect_block(block, first + i)
        tip = self.chain.tip
        if update.disconnected:
            result = self.mempool.update_for_reorg(
                update.disconnected, update.connected, self.chain, tip.height, tip.median_time_past()
            )
            return result.removed
        removed: list[Transaction] = []
        for block in update.connected:
            r = self.mempool.remove_for_block(block.txs)
            removed += r.conflicts
        return tuple(removed)

    # --- transactions -----------------------------------------------------------------------------------
    def accept_tx(self, tx: Transaction) -> AcceptResult:
        tip = self.chain.tip
        view = self.mempool.coin_view(self.chain)
        return self.mempool.accept_tx(tx, view, tip.height, tip.median_time_past())

    # --- mining and faucet --------------------------------------------------------------------------
    def mine_block(self, script_pubkey: bytes | None = None, now: int | None = None) -> tuple[Block, BlockOutcome]:
        """Assemble a block from the mempool on our tip, grind it and connect it."""
        tip = self.chain.tip
        bits = tip.header.bits  # regtest never retargets
        template = self.assembler.create_new_block(
            prev_hash=tip.hash,
            height=tip.height + 1,
            mtp=tip.median_time_past(),
            bits=bits,
            script_pubkey=script_pubkey or self.miner_key.script_pubkey,
            params=self.params,
            now=max(int(time.time()) if now is None else now, tip.header.time + 1),
        )
        block = mine(template)
        return block, self.process_block(block)

    def faucet_payment(self, script_pubkey: bytes, amount: int, fee_rate_sat_vb: int) -> tuple[Transaction, AcceptResult]:
        """Pay `amount` from the miner's mature coins; the transaction goes to our mempool."""
        tx = self.coins.create_payment(
            [TxOut(amount, script_pubkey)], fee_rate_sat_vb, self.miner_key, self.chain.height
        )
        result = self.accept_tx(tx)
        if isinstance(result, Accepted):
            self.coins.add_unconfirmed(tx)
        return tx, result
