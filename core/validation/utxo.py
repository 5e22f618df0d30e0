"""Coins, block undo data and an in-memory overlay over the UTXO database (Core's CCoinsViewCache).

A Coin is an unspent output with the height of its block and whether a coinbase created it. The
overlay collects one block's changes so the caller can write them in one SQLite transaction, or
drop them if the block turns out invalid. Coins created and spent inside the overlay ("fresh")
never reach the database at all.

Serialization (ours, not Core's LevelDB format): u32 code = height * 2 + coinbase, then the TxOut
(i64 value, var-bytes script). Undo data is a compact-size count and the spent coins in the order
the block spends them (transactions in block order, inputs in order; the coinbase spends none).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from core.consensus.serialize import ByteReader, ser_compact_size
from core.consensus.tx import OutPoint, TxOut

_U32 = struct.Struct("<I")
_MIN_COIN_SIZE = 4 + 8 + 1
_MAX_SCRIPT = 4_000_000


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent transaction output with its block height and coinbase flag (Core's Coin)."""

    txout: TxOut
    height: int
    is_coinbase: bool

    def serialize(self) -> bytes:
        return _U32.pack(self.height * 2 + int(self.is_coinbase)) + self.txout.serialize()

    @classmethod
    def read(cls, r: ByteReader) -> Coin:
        code = r.u32()
        return cls(TxOut.read(r), code >> 1, bool(code & 1))

    @classmethod
    def parse(cls, data: bytes) -> Coin:
        """Decode a serialized coin; raises DecodeError on malformed bytes."""
        r = ByteReader(data)
        coin = cls.read(r)
        r.expect_end("coin")
        return coin


def outpoint_key(outpoint: OutPoint) -> bytes:
    """The database key of an outpoint: txid (internal order) and little-endian index."""
    return outpoint.txid + _U32.pack(outpoint.n)


@dataclass(frozen=True, slots=True)
class BlockUndo:
    """The coins a block spent, in spending order (enough to disconnect it and to build its filter)."""

    spent: tuple[Coin, ...]

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.spent)) + b"".join(c.serialize() for c in self.spent)

    @classmethod
    def parse(cls, data: bytes) -> BlockUndo:
        """Decode undo data; raises DecodeError on malformed bytes."""
        r = ByteReader(data)
        n = r.count(_MIN_COIN_SIZE)
        spent = tuple(Coin.read(r) for _ in range(n))
        r.expect_end("block undo")
        return cls(spent)

    def spent_scripts(self) -> list[bytes]:
        """The scriptPubKeys the block's inputs spent (what a BIP158 basic filter includes)."""
        return [c.txout.script_pubkey for c in self.spent]


class CoinSource(Protocol):
    """Where the overlay reads coins it has not cached (the UTXO database)."""

    def fetch_coin(self, key: bytes) -> Coin | None: ...


class CoinsCache:
    """An overlay of coin changes over a CoinSource, flushed as one batch (Core's CCoinsViewCache).

    Keys are `outpoint_key` bytes. Entries map to a Coin or None (spent / absent). A *fresh* entry is
    known not to exist in the source, so spending it simply forgets it.
    """

    __slots__ = ("_coins", "_dirty", "_fresh", "_source")

    def __init__(self, source: CoinSource) -> None:
        self._source = source
        self._coins: dict[bytes, Coin | None] = {}
        self._dirty: set[bytes] = set()
        self._fresh: set[bytes] = set()

    def get(self, key: bytes) -> Coin | None:
        """The unspent coin at `key`, or None."""
        try:
            return self._coins[key]
        except KeyError:
            coin = self._source.fetch_coin(key)
            self._coins[key] = coin
            return coin

    def have(self, key: bytes) -> bool:
        return self.get(key) is not None

    def add(self, key: bytes, coin: Coin, fresh: bool) -> None:
        """Add an output. `fresh` asserts the source has no coin at `key` (checked by BIP30)."""
        self._coins[key] = coin
        self._dirty.add(key)
        if fresh:
            self._fresh.add(key)

    def spend(self, key: bytes) -> Coin | None:
        """Remove and return the coin at `key` (None if there is none)."""
        coin = self.get(key)
        if coin is None:
            return None
        self._coins[key] = None
        if key in self._fresh:
            # Never written to the source: nothing to delete there.
            self._fresh.discard(key)
            self._dirty.discard(key)
        else:
            self._dirty.add(key)
        return coin

    def changes(self) -> Iterator[tuple[bytes, Coin | None]]:
        """Every changed entry: (key, coin) to write or (key, None) to delete."""
        for key in self._dirty:
            yield key, self._coins[key]

    def __len__(self) -> int:
        return len(self._dirty)

