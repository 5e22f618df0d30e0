"""Coins owned by the sandbox's own keys (miner, faucet, traffic), tracked from connected blocks.

Confirmed coins come from blocks as they connect (and go back on disconnect); transactions the
sandbox itself creates mark their inputs as locked and their outputs as pending until mined, so
the faucet and the traffic generator never double-spend their own coins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.consensus.block import Block
from core.consensus.hashes import BlockHash
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.sandbox.errors import FaucetEmpty
from core.sandbox.signer import SandboxKey, sign_transaction
from core.validation.deployments import COINBASE_MATURITY

TX_OVERHEAD_VBYTES = 11  # version, counts, locktime, segwit marker (rounded up)


@dataclass(frozen=True, slots=True)
class OwnedCoin:
    """A coin one of our keys can spend."""

    outpoint: OutPoint
    txout: TxOut
    height: int | None  # None while unconfirmed
    coinbase: bool
    key: SandboxKey


@dataclass
class OwnedCoins:
    """The sandbox's coins for a fixed set of keys."""

    keys: dict[bytes, SandboxKey]  # script_pubkey -> key
    confirmed: dict[OutPoint, OwnedCoin] = field(default_factory=dict)
    pending: dict[OutPoint, OwnedCoin] = field(default_factory=dict)
    locked: set[OutPoint] = field(default_factory=set)
    _undo: dict[BlockHash, list[OwnedCoin]] = field(default_factory=dict)

    def connect_block(self, block: Block, height: int) -> None:
        """Add our outputs of `block`, remove our coins it spends (remembered for disconnect)."""
        spent: list[OwnedCoin] = []
        for tx in block.txs:
            for txin in tx.vin:
                coin = self.confirmed.pop(txin.prevout, None)
                if coin is not None:
                    spent.append(coin)
                self.locked.discard(txin.prevout)
                self.pending.pop(txin.prevout, None)
            self._add_outputs(tx, height)
        self._undo[block.hash] = spent

    def disconnect_block(self, block: Block) -> None:
        """Undo connect_block: outputs vanish (their txs may return via the mempool), spent coins return."""
        for tx in block.txs:
            for n in range(len(tx.vout)):
                self.confirmed.pop(OutPoint(tx.txid, n), None)
        for coin in self._undo.pop(block.hash, []):
            self.confirmed[coin.outpoint] = coin

    def add_unconfirmed(self, tx: Transaction) -> None:
        """Record a transaction we broadcast: its inputs are locked, its outputs pending."""
        for txin in tx.vin:
            self.locked.add(txin.prevout)
        self._add_outputs(tx, None)

    def drop_unconfirmed(self, tx: Transaction) -> None:
        """Forget a transaction of ours the mempool refused or evicted."""
        for txin in tx.vin:
            self.locked.discard(txin.prevout)
        for n in range(len(tx.vout)):
            self.pending.pop(OutPoint(tx.txid, n), None)

    def _add_outputs(self, tx: Transaction, height: int | None) -> None:
        coinbase = tx.is_coinbase()
        for n, out in enumerate(tx.vout):
            key = self.keys.get(out.script_pubkey)
            if key is None:
                continue
            coin = OwnedCoin(OutPoint(tx.txid, n), out, height, coinbase, key)
            if height is None:
                self.pending[coin.outpoint] = coin
            else:
                self.pending.pop(coin.outpoint, None)
                self.confirmed[coin.outpoint] = coin

    def spendable(self, tip_height: int, include_pending: bool = False) -> list[OwnedCoin]:
        """Mature, unlocked coins, largest first."""
        coins = [
            c
            for c in self.confirmed.values()
            if c.outpoint not in self.locked
            and not (c.coinbase and c.height is not None and tip_height + 1 - c.height < COINBASE_MATURITY)
        ]
        if include_pending:
            coins += [c for c in self.pending.values() if c.outpoint not in self.locked]
        return sorted(coins, key=lambda c: c.txout.value, reverse=True)

    def balance(self, tip_height: int) -> int:
        return sum(c.txout.value for c in self.spendable(tip_height))

    def create_payment(
        self,
        outputs: list[TxOut],
        fee_rate_sat_vb: int,
        change: SandboxKey,
        tip_height: int,
        *,
        coins: list[OwnedCoin] | None = None,
        sequence: int = 0xFFFFFFFD,
    ) -> Transaction:
        """A signed transaction paying `outputs` at `fee_rate_sat_vb`, change to `change`.

        Coins are taken largest-first unless given. Raises FaucetEmpty if they do not suffice.
        """
        want = sum(o.value for o in outputs)
        pool = coins if coins is not None else self.spendable(tip_height)
        chosen: list[OwnedCoin] = []
        total = 0
        out_vbytes = sum(9 + len(o.script_pubkey) for o in outputs) + 9 + len(change.script_pubkey)
        fee = 0
        for coin in pool:
            chosen.append(coin)
            total += coin.txout.value
            vbytes = TX_OVERHEAD_VBYTES + sum(c.key.input_vbytes for c in chosen) + out_vbytes
            fee = vbytes * fee_rate_sat_vb
            if total >= want + fee:
                break
        else:
            raise FaucetEmpty(f"need {want + fee} sats, have {total} spendable")
        vout = list(outputs)
        change_value = total - want - fee
        if change_value >= 1_000:  # otherwise it goes to the fee rather than making dust
            vout.append(TxOut(change_value, change.script_pubkey))
        vin = tuple(TxIn(c.outpoint, b"", sequence) for c in chosen)
        unsigned = Transaction(2, vin, tuple(vout), tip_height)
        return sign_transaction(unsigned, [c.txout for c in chosen], [c.key for c in chosen])
