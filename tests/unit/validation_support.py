"""Helpers for the validation tests: keys that sign P2WPKH / P2TR key-path spends, and regtest blocks.

Regtest proof of work (bits 0x207fffff) is met by about every other nonce, so blocks are ground
here in a few tries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.chain.params import ChainParams, params_for
from core.consensus.block import Block, BlockHeader
from core.consensus.hashes import BlockHash, hash160
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.crypto.schnorr import schnorr_sign, xonly_pubkey_from_privkey
from core.crypto.taproot import taproot_tweak_pubkey, taproot_tweak_seckey
from core.mining.coinbase import add_witness_commitment, create_coinbase
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    segwit_v0_sighash,
    taproot_sighash,
)
from core.validation.deployments import block_subsidy

REGTEST: ChainParams = params_for("regtest")
BLOCK_VERSION = 0x20000000


@dataclass(frozen=True)
class Key:
    """A secret key controlling one P2WPKH or P2TR (key path, no script tree) output script."""

    secret: bytes
    taproot: bool = False

    @classmethod
    def from_int(cls, n: int, taproot: bool = False) -> Key:
        return cls(n.to_bytes(32, "big"), taproot)

    @property
    def script_pubkey(self) -> bytes:
        if self.taproot:
            out, _ = taproot_tweak_pubkey(xonly_pubkey_from_privkey(self.secret), None)
            return b"\x51\x20" + out
        return b"\x00\x14" + hash160(pubkey_from_privkey(self.secret))


def sign(tx: Transaction, spent: list[TxOut], keys: list[Key]) -> Transaction:
    """Sign input i of `tx` with keys[i] (BIP143 ECDSA for P2WPKH, BIP341 Schnorr for P2TR)."""
    cache = PrecomputedTxData(tx, spent)
    vin = []
    for i, (txin, key) in enumerate(zip(tx.vin, keys, strict=True)):
        if key.taproot:
            msg = taproot_sighash(tx, i, SIGHASH_DEFAULT, cache)
            assert msg is not None
            witness: tuple[bytes, ...] = (schnorr_sign(taproot_tweak_seckey(key.secret, None), msg, bytes(32)),)
        else:
            pub = pubkey_from_privkey(key.secret)
            code = b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
            digest = segwit_v0_sighash(tx, i, code, spent[i].value, SIGHASH_ALL, cache)
            witness = (ecdsa_sign(key.secret, digest) + bytes((SIGHASH_ALL,)), pub)
        vin.append(dataclasses.replace(txin, witness=witness))
    return dataclasses.replace(tx, vin=tuple(vin))


def spend(
    coins: list[tuple[OutPoint, TxOut, Key]],
    outputs: list[TxOut],
    sequence: int = 0xFFFFFFFD,
    version: int = 2,
    locktime: int = 0,
) -> Transaction:
    """A signed transaction spending `coins` to `outputs`."""
    vin = tuple(TxIn(op, b"", sequence) for op, _, _ in coins)
    tx = Transaction(version=version, vin=vin, vout=tuple(outputs), locktime=locktime)
    return sign(tx, [out for _, out, _ in coins], [k for _, _, k in coins])


def grind(block: Block, pow_limit: int = REGTEST.pow_limit) -> Block:
    """The block with the first nonce that meets its target."""
    header = block.header
    nonce = 0
    while True:
        h = dataclasses.replace(header, nonce=nonce)
        if h.check_proof_of_work(pow_limit):
            return Block(h, block.txs)
        nonce += 1


def make_block(
    prev: BlockHash,
    height: int,
    time: int,
    txs: list[Transaction] | tuple[Transaction, ...] = (),
    payout: bytes = b"\x51",
    fees: int = 0,
    extra_nonce: int = 0,
    params: ChainParams = REGTEST,
    coinbase_value: int | None = None,
    commit: bool = True,
) -> Block:
    """A regtest block at `height` on `prev` paying subsidy + fees to `payout`, with a witness commitment."""
    value = block_subsidy(height, params) + fees if coinbase_value is None else coinbase_value
    cb = create_coinbase(height, payout, value, extra_nonce=extra_nonce)
    header = BlockHeader(BLOCK_VERSION, prev, bytes(32), time, 0x207FFFFF, 0)
    block = Block(header, (cb, *txs))
    if commit:
        block = add_witness_commitment(block)
    else:
        root = block.computed_merkle_root[0]
        block = Block(dataclasses.replace(header, merkle_root=root), block.txs)
    return grind(block, params.pow_limit)


def rebuild(block: Block, txs: tuple[Transaction, ...], commit: bool = True) -> Block:
    """`block` with other transactions: merkle root (and commitment) recomputed, nonce reground."""
    b = Block(block.header, txs)
    if commit:
        b = add_witness_commitment(b)
    else:
        b = Block(dataclasses.replace(block.header, merkle_root=b.computed_merkle_root[0]), txs)
    return grind(b)


# --- a wallet and chain driver for whole-chain tests ---------------------------------------------------


@dataclass
class Wallet:
    """Coins our keys control, as a chain of blocks leaves them (copy it at a fork point)."""

    keys: tuple[Key, ...]
    coins: dict[OutPoint, tuple[TxOut, Key, int, bool]] = dataclasses.field(default_factory=dict)

    def copy(self) -> Wallet:
        return Wallet(self.keys, dict(self.coins))

    def key_for(self, spk: bytes) -> Key | None:
        for k in self.keys:
            if k.script_pubkey == spk:
                return k
        return None

    def spendable(self, height: int) -> list[tuple[OutPoint, TxOut, Key]]:
        """Coins a block at `height` may spend (coinbases need 100 confirmations), oldest first."""
        out = []
        for op, (txout, key, h, cb) in self.coins.items():
            if not cb or height - h >= 100:
                out.append((op, txout, key))
        return out

    def apply(self, block: Block, height: int) -> None:
        for i, tx in enumerate(block.txs):
            if i:
                for txin in tx.vin:
                    self.coins.pop(txin.prevout, None)
            for n, out in enumerate(tx.vout):
                key = self.key_for(out.script_pubkey)
                if key is not None:
                    self.coins[OutPoint(tx.txid, n)] = (out, key, height, i == 0)


def build_block(
    wallet: Wallet,
    prev: BlockHash,
    height: int,
    time: int,
    n_txs: int = 2,
    inputs_per_tx: int = 2,
    tag: int = 0,
) -> Block:
    """A block spending up to n_txs * inputs_per_tx of `wallet`'s coins, paying back to its keys.

    `tag` changes fees (hence txids) so two branches built from one wallet differ. Updates `wallet`.
    """
    coins = wallet.spendable(height)
    txs = []
    fees = 0
    keys = wallet.keys
    for t in range(n_txs):
        chunk = coins[t * inputs_per_tx : (t + 1) * inputs_per_tx]
        if not chunk:
            break
        total = sum(out.value for _, out, _ in chunk)
        fee = 1000 + tag + t
        a = keys[(height + t) % len(keys)]
        b = keys[(height + t + 1) % len(keys)]
        half = (total - fee) // 2
        txs.append(spend(chunk, [TxOut(half, a.script_pubkey), TxOut(total - fee - half, b.script_pubkey)]))
        fees += fee
    payout = keys[height % len(keys)].script_pubkey
    block = make_block(prev, height, time, txs, payout=payout, fees=fees, extra_nonce=tag)
    wallet.apply(block, height)
    return block


class ChainDriver:
    """A header tree and a ChainState over files in one directory; `submit` does what a peer's block does."""

    def __init__(self, directory, params: ChainParams = REGTEST, persist_headers: bool = True) -> None:
        from core.chain.header_store import HeaderStore
        from core.chain.headers import HeaderTree
        from core.validation.chainstate import ChainState

        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.params = params
        self.store = HeaderStore(directory / "headers.sqlite") if persist_headers else None
        self.tree = HeaderTree(params, self.store)
        self.cs = ChainState(params, self.tree, directory / "chainstate.sqlite")

    def submit(self, *blocks: Block):
        """Accept the headers, store the blocks, activate the best chain; returns the ChainUpdate."""
        from core.chain.entry import Rejected

        result = self.tree.accept([b.header for b in blocks])
        assert not isinstance(result, Rejected), result
        for b in blocks:
            self.cs.store_block(b)
        return self.cs.activate_best_chain()

    def close(self) -> None:
        self.cs.close()
        if self.store is not None:
            self.store.close()

    def utxos(self) -> dict[bytes, object]:
        return dict(self.cs.iter_coins())


def genesis_time(params: ChainParams = REGTEST) -> int:
    return params.genesis.header.time
