"""Helpers for the mempool and block-assembly tests: an in-memory chain of coins and signed spends.

Coins are locked to the sandbox's single-key scripts (P2WPKH, P2TR key path, really signed) or to
P2WSH(OP_TRUE), which anyone can spend with the witness [OP_TRUE] and which the fuzz tests use for
speed. The P2TR key path has fixed-size signatures, so those transactions have an exact, known vsize.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from core.consensus.hashes import Txid, sha256
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.mempool import DictCoinView, Mempool, MempoolOptions
from core.sandbox.signer import SandboxKey, sign_transaction
from core.validation.utxo import Coin

TIP = 300  # chain tip height the mempool validates against
MTP = 1_700_000_000  # the tip's median time past
NOW = MTP + 3_600
SEED = b"peerwallet-mempool-tests"
WPKH = SandboxKey.derive(SEED, 0)
TR = SandboxKey.derive(SEED, 1, taproot=True)
ALICE = SandboxKey.derive(SEED, 2)
BOB = SandboxKey.derive(SEED, 3, taproot=True)
OP_TRUE_SCRIPT = b"\x51"
OP_TRUE_SPK = b"\x00\x20" + sha256(OP_TRUE_SCRIPT)  # P2WSH(OP_TRUE)
RBF_SEQUENCE = 0xFFFFFFFD


@dataclass(frozen=True)
class Utxo:
    """A spendable output and how to spend it (key None: P2WSH(OP_TRUE))."""

    outpoint: OutPoint
    txout: TxOut
    key: SandboxKey | None = None


class Chain:
    """A fake confirmed UTXO set the tests fund as they like."""

    def __init__(self) -> None:
        self.view = DictCoinView()
        self._n = 0

    def fund(
        self, value: int, key: SandboxKey | None = WPKH, height: int = 100, coinbase: bool = False, spk: bytes | None = None
    ) -> Utxo:
        """A new confirmed coin of `value` at `height` for `key` (or for `spk`, or P2WSH(OP_TRUE) if key is None)."""
        self._n += 1
        txid = Txid(hashlib.sha256(b"funding" + self._n.to_bytes(4, "little")).digest())
        script = spk if spk is not None else (key.script_pubkey if key is not None else OP_TRUE_SPK)
        out = TxOut(value, script)
        op = OutPoint(txid, 0)
        self.view.coins[op] = Coin(out, height, coinbase)
        return Utxo(op, out, key)

    def confirm(self, txs: Sequence[Transaction], height: int = TIP) -> None:
        """Apply `txs` to the coins as a block would (spent coins go, outputs come)."""
        for tx in txs:
            for txin in tx.vin:
                self.view.coins.pop(txin.prevout, None)
            for n, out in enumerate(tx.vout):
                self.view.coins[OutPoint(tx.txid, n)] = Coin(out, height, tx.is_coinbase())

    def unconfirm(self, txs: Sequence[Transaction], spent: dict[OutPoint, Coin]) -> None:
        """Undo `confirm`: outputs vanish, the `spent` coins return."""
        for tx in txs:
            for n in range(len(tx.vout)):
                self.view.coins.pop(OutPoint(tx.txid, n), None)
        self.view.coins.update(spent)


def spend(
    utxos: Sequence[Utxo],
    outputs: Sequence[tuple[int, SandboxKey | None]] | Sequence[TxOut],
    *,
    version: int = 2,
    locktime: int = 0,
    sequence: int = RBF_SEQUENCE,
) -> Transaction:
    """A transaction spending `utxos` (signed where they have keys) to `outputs` ((value, key) or TxOut)."""
    vout = []
    for o in outputs:
        if isinstance(o, TxOut):
            vout.append(o)
        else:
            value, key = o
            vout.append(TxOut(value, key.script_pubkey if key is not None else OP_TRUE_SPK))
    vin = tuple(TxIn(u.outpoint, b"", sequence) for u in utxos)
    tx = Transaction(version, vin, tuple(vout), locktime)
    keyed = [i for i, u in enumerate(utxos) if u.key is not None]
    if keyed:
        signed = sign_transaction(tx, [u.txout for u in utxos], [u.key or WPKH for u in utxos])
        tx = signed
    new_vin = tuple(
        txin if u.key is not None else dataclasses.replace(txin, witness=(OP_TRUE_SCRIPT,))
        for txin, u in zip(tx.vin, utxos, strict=True)
    )
    return dataclasses.replace(tx, vin=new_vin)


def out(tx: Transaction, n: int, key: SandboxKey | None = None) -> Utxo:
    """Output `n` of `tx` as a Utxo (`key`: the key its script belongs to; None for OP_TRUE)."""
    return Utxo(OutPoint(tx.txid, n), tx.vout[n], key)


def accept(pool: Mempool, chain: Chain, tx: Transaction, **kw: object):  # -> AcceptResult
    """Offer `tx` to `pool` at the test tip."""
    return pool.accept_tx(tx, chain.view, TIP, MTP, now=NOW, **kw)  # type: ignore[arg-type]


def fresh(options: MempoolOptions | None = None) -> tuple[Mempool, Chain]:
    return Mempool(options), Chain()
