"""Transactions: outpoints, inputs, outputs, legacy and BIP144 segwit serialization, ids and weight."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from core.consensus.errors import DecodeError
from core.consensus.hashes import Txid, Wtxid, sha256d
from core.consensus.serialize import (
    ByteReader,
    i32le,
    i64le,
    ser_compact_size,
    ser_var_bytes,
    u32le,
)

WITNESS_SCALE_FACTOR = 4
SEQUENCE_FINAL = 0xFFFFFFFF
MAX_BLOCK_WEIGHT = 4_000_000
# Smallest possible serialized input/output, used to cap counts read from the wire.
_MIN_TXIN_SIZE = 41
_MIN_TXOUT_SIZE = 9
_MAX_TX_BYTES = MAX_BLOCK_WEIGHT  # no tx can be larger than a block


@dataclass(frozen=True, slots=True)
class OutPoint:
    """A reference to a transaction output."""

    txid: Txid
    n: int

    NULL_INDEX = 0xFFFFFFFF

    def serialize(self) -> bytes:
        return self.txid + u32le(self.n)

    @classmethod
    def read(cls, r: ByteReader) -> OutPoint:
        return cls(Txid(r.read(32)), r.u32())

    def is_null(self) -> bool:
        return self.n == 0xFFFFFFFF and self.txid.is_null()

    def __str__(self) -> str:
        return f"{self.txid}:{self.n}"


NULL_OUTPOINT = OutPoint(Txid(bytes(32)), 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class TxIn:
    """A transaction input with its (possibly empty) witness stack."""

    prevout: OutPoint
    script_sig: bytes = b""
    sequence: int = SEQUENCE_FINAL
    witness: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        return self.prevout.serialize() + ser_var_bytes(self.script_sig) + u32le(self.sequence)


@dataclass(frozen=True, slots=True)
class TxOut:
    """A transaction output: value in satoshis and its locking script."""

    value: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        # CAmount is signed (TxOut.read uses i64), so a negative value must serialize too
        return i64le(self.value) + ser_var_bytes(self.script_pubkey)

    @classmethod
    def read(cls, r: ByteReader) -> TxOut:
        return cls(r.i64(), r.var_bytes(_MAX_TX_BYTES))


def _ser_witness(stack: tuple[bytes, ...]) -> bytes:
    return ser_compact_size(len(stack)) + b"".join(ser_var_bytes(item) for item in stack)


@dataclass(frozen=True)
class Transaction:
    """An immutable transaction. Ids and sizes are computed once and cached."""

    version: int = 2
    vin: tuple[TxIn, ...] = ()
    vout: tuple[TxOut, ...] = ()
    locktime: int = 0
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    # --- serialization -----------------------------------------------------------------
    def has_witness(self) -> bool:
        return any(txin.witness for txin in self.vin)

    def serialize_legacy(self) -> bytes:
        """Serialization without witness data (what the txid commits to)."""
        c = self._cache.get("legacy")
        if c is None:
            c = b"".join(
                (
                    i32le(self.version),
                    ser_compact_size(len(self.vin)),
                    *(i.serialize() for i in self.vin),
                    ser_compact_size(len(self.vout)),
                    *(o.serialize() for o in self.vout),
                    u32le(self.locktime),
                )
            )
            self._cache["legacy"] = c
        return c

    def serialize(self) -> bytes:
        """Full serialization: BIP144 extended format when any input has a witness."""
        c = self._cache.get("full")
        if c is None:
            if not self.has_witness():
                c = self.serialize_legacy()
            else:
                c = b"".join(
                    (
                        i32le(self.version),
                        b"\x00\x01",
                        ser_compact_size(len(self.vin)),
                        *(i.serialize() for i in self.vin),
                        ser_compact_size(len(self.vout)),
                        *(o.serialize() for o in self.vout),
                        *(_ser_witness(i.witness) for i in self.vin),
                        u32le(self.locktime),
                    )
                )
            self._cache["full"] = c
        return c

    @classmethod
    def read(cls, r: ByteReader, allow_witness: bool = True) -> Transaction:
        """Read a transaction as Core's UnserializeTransaction does."""
        version = r.i32()
        flags = 0
        vin = _read_inputs(r)
        if not vin and allow_witness:
            flags = r.u8()
            if flags != 0:
                vin = _read_inputs(r)
                vout = _read_outputs(r)
            else:
                vout = ()
        else:
            vout = _read_outputs(r)
        if flags & 1 and allow_witness:
            flags ^= 1
            new_vin = []
            for txin in vin:
                n = r.count(1, limit=_MAX_TX_BYTES)
                stack = tuple(r.var_bytes(_MAX_TX_BYTES) for _ in range(n))
                new_vin.append(TxIn(txin.prevout, txin.script_sig, txin.sequence, stack))
            vin = tuple(new_vin)
            if not any(i.witness for i in vin):
                raise DecodeError("superfluous witness record")
        if flags:
            raise DecodeError("unknown transaction optional data")
        locktime = r.u32()
        return cls(version, vin, vout, locktime)

    @classmethod
    def parse(cls, data: bytes, allow_witness: bool = True) -> Transaction:
        """Parse exactly one transaction from `data`."""
        r = ByteReader(data)
        tx = cls.read(r, allow_witness)
        r.expect_end("transaction")
        return tx

    @classmethod
    def from_hex(cls, hex_str: str) -> Transaction:
        try:
            data = bytes.fromhex(hex_str)
        except ValueError as e:
            raise DecodeError(f"not hex: {e}") from None
        return cls.parse(data)

    # --- identity and size ---------------------------------------------------------------
    @cached_property
    def txid(self) -> Txid:
        return Txid(sha256d(self.serialize_legacy()))

    @cached_property
    def wtxid(self) -> Wtxid:
        return Wtxid(sha256d(self.serialize()))

    @property
    def size(self) -> int:
        """Total serialized size in bytes, witness included."""
        return len(self.serialize())

    @property
    def base_size(self) -> int:
        return len(self.serialize_legacy())

    @property
    def weight(self) -> int:
        return self.base_size * (WITNESS_SCALE_FACTOR - 1) + self.size

    @property
    def vsize(self) -> int:
        return (self.weight + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR

    def is_coinbase(self) -> bool:
        return len(self.vin) == 1 and self.vin[0].prevout.is_null()

    def total_out(self) -> int:
        return sum(o.value for o in self.vout)


def _read_inputs(r: ByteReader) -> tuple[TxIn, ...]:
    n = r.count(_MIN_TXIN_SIZE)
    out = []
    for _ in range(n):
        prevout = OutPoint.read(r)
        script_sig = r.var_bytes(_MAX_TX_BYTES)
        out.append(TxIn(prevout, script_sig, r.u32()))
    return tuple(out)


def _read_outputs(r: ByteReader) -> tuple[TxOut, ...]:
    n = r.count(_MIN_TXOUT_SIZE)
    return tuple(TxOut.read(r) for _ in range(n))
