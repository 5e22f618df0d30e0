"""PSBT v0 binary/base64 codec with BIP174/BIP371 validation, as Bitcoin Core's psbt.h does it.

Parsing rejects (PsbtError, naming the map and rule): a bad magic, duplicate keys, key data of the
wrong length for its type, values not exactly their stated size, an unsigned transaction with
scriptSigs or witnesses (or in witness serialization), a missing unsigned transaction, fewer maps
than the transaction has inputs/outputs, a non-witness UTXO whose txid is not the prevout's,
invalid public keys and signature encodings, malformed taproot trees and trailing data.

Serialization writes the records in the order Core writes them (by type, and within one type in
the order of Core's std::map keys), so a PSBT Core produced round-trips byte for byte. No library
reads PSBTs over our transaction type, hence this hand-written codec.
"""

from __future__ import annotations

import base64
import binascii

from core.consensus.errors import DecodeError
from core.consensus.serialize import ByteReader, ser_compact_size, ser_var_bytes, u32le
from core.consensus.tx import Transaction
from core.wallet.errors import PsbtError
from core.wallet.psbt import fields as f
from core.wallet.psbt.types import (
    PSBT_GLOBAL_PROPRIETARY,
    PSBT_GLOBAL_UNSIGNED_TX,
    PSBT_GLOBAL_VERSION,
    PSBT_GLOBAL_XPUB,
    PSBT_HIGHEST_VERSION,
    PSBT_MAGIC,
    Psbt,
)

_Record = tuple[bytes, int, bytes, bytes]  # (full key, key type, key data, value)


def _read_map(r: ByteReader, where: str) -> list[_Record]:
    """Read key-value records up to the 0x00 separator, refusing duplicate keys."""
    records: list[_Record] = []
    seen: set[bytes] = set()
    while True:
        if r.at_end():
            raise PsbtError(f"{where}: missing separator at end of map")
        key = r.var_bytes()
        if not key:
            return records
        kr = ByteReader(key)
        key_type = kr.compact_size(0xFFFFFFFFFFFFFFFF)
        key_data = key[kr.pos :]
        value = r.var_bytes()
        if key in seen:
            raise PsbtError(f"{where}: duplicate key {key.hex()}")
        seen.add(key)
        records.append((key, key_type, key_data, value))


def _parse_global(records: list[_Record]) -> tuple[Transaction, Psbt]:
    tx: Transaction | None = None
    p = Psbt(Transaction(), [], [])
    for key, key_type, key_data, value in records:
        if key_type == PSBT_GLOBAL_UNSIGNED_TX:
            f.no_key_data(key_data, "global unsigned tx")
            tx = f.parse_tx(value, "global unsigned tx", allow_witness=False)
            if any(txin.script_sig or txin.witness for txin in tx.vin):
                raise PsbtError("unsigned tx does not have empty scriptSigs and scriptWitnesses")
        elif key_type == PSBT_GLOBAL_XPUB:
            if len(key_data) != 78:
                raise PsbtError("global xpub key must hold a 78-byte extended public key")
            origin = f.parse_origin(value, "global xpub")
            if len(origin.path) != key_data[4]:
                raise PsbtError("global xpub derivation path length does not match the xpub's depth")
            if not f.is_valid_pubkey(key_data[45:78]):
                raise PsbtError("global xpub holds an invalid public key")
            p.xpubs[key_data] = origin
        elif key_type == PSBT_GLOBAL_VERSION:
            f.no_key_data(key_data, "global version")
            if len(value) != 4:
                raise PsbtError("global version value must be 4 bytes")
            p.version = int.from_bytes(value, "little")
            if p.version > PSBT_HIGHEST_VERSION:
                raise PsbtError(f"unsupported PSBT version {p.version}")
        elif key_type == PSBT_GLOBAL_PROPRIETARY:
            f.check_proprietary(key_data, "global")
            p.proprietary[key] = value
        else:
            p.unknown[key] = value
    if tx is None:
        raise PsbtError("no unsigned transaction was provided")
    p.tx = tx
    return tx, p


def parse_psbt(data: bytes) -> Psbt:
    """Parse a binary PSBT (version 0). Raises PsbtError for anything BIP174/BIP371 forbid."""
    data = bytes(data)
    if not data.startswith(PSBT_MAGIC):
        raise PsbtError("not a PSBT: magic bytes 'psbt\\xff' missing")
    r = ByteReader(data, len(PSBT_MAGIC))
    try:
        tx, psbt = _parse_global(_read_map(r, "global map"))
        for i, txin in enumerate(tx.vin):
            if r.at_end():
                raise PsbtError("inputs provided do not match the number of inputs in the transaction")
            inp = f.parse_input(_read_map(r, f"input {i}"), i)
            if inp.non_witness_utxo is not None:
                prev = inp.non_witness_utxo
                if prev.txid != txin.prevout.txid:
                    raise PsbtError(f"input {i}: non-witness UTXO does not match the outpoint hash")
                if txin.prevout.n >= len(prev.vout):
                    raise PsbtError(f"input {i}: spends output {txin.prevout.n} that its UTXO lacks")
            psbt.inputs.append(inp)
        for i in range(len(tx.vout)):
            if r.at_end():
                raise PsbtError("outputs provided do not match the number of outputs in the transaction")
            psbt.outputs.append(f.parse_output(_read_map(r, f"output {i}"), i))
    except DecodeError as e:
        raise PsbtError(f"malformed PSBT: {e}") from None
    if not r.at_end():
        raise PsbtError(f"{r.remaining} bytes of extra data after the PSBT")
    return psbt


def psbt_from_base64(text: str) -> Psbt:
    """Parse a base64 (RFC 4648) PSBT string."""
    try:
        data = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise PsbtError(f"invalid base64: {e}") from None
    return parse_psbt(data)


def _rec(key_type: int, key_data: bytes, value: bytes) -> bytes:
    return ser_var_bytes(ser_compact_size(key_type) + key_data) + ser_var_bytes(value)


def _ser_extras(proprietary: dict[bytes, bytes], unknown: dict[bytes, bytes]) -> list[bytes]:
    out = [ser_var_bytes(k) + ser_var_bytes(proprietary[k]) for k in sorted(proprietary)]
    out += [ser_var_bytes(k) + ser_var_bytes(unknown[k]) for k in sorted(unknown)]
    return out


def serialize_psbt(psbt: Psbt) -> bytes:
    """Serialize in Core's record order (also BIP174's canonical form for the vectors)."""
    _check_map_counts(psbt)
    parts = [PSBT_MAGIC, _rec(PSBT_GLOBAL_UNSIGNED_TX, b"", psbt.tx.serialize_legacy())]

    def xpub_order(item: tuple[bytes, object]) -> tuple:
        xpub, origin = item
        return (origin.fingerprint, origin.path, xpub[45:78], xpub[13:45])  # type: ignore[attr-defined]

    for xpub, origin in sorted(psbt.xpubs.items(), key=xpub_order):
        parts.append(_rec(PSBT_GLOBAL_XPUB, xpub, f.ser_origin(origin)))
    if psbt.version:  # Core omits an explicit version 0
        parts.append(_rec(PSBT_GLOBAL_VERSION, b"", u32le(psbt.version)))
    parts += _ser_extras(psbt.proprietary, psbt.unknown)
    parts.append(b"\x00")
    for inp in psbt.inputs:
        parts += [_rec(t, k, v) for t, k, v in f.input_records(inp)]
        parts += _ser_extras(inp.proprietary, inp.unknown)
        parts.append(b"\x00")
    for out in psbt.outputs:
        parts += [_rec(t, k, v) for t, k, v in f.output_records(out)]
        parts += _ser_extras(out.proprietary, out.unknown)
        parts.append(b"\x00")
    return b"".join(parts)


def psbt_to_base64(psbt: Psbt) -> str:
    """The base64 form of serialize_psbt."""
    return base64.b64encode(serialize_psbt(psbt)).decode("ascii")


def _check_map_counts(psbt: Psbt) -> None:
    if len(psbt.inputs) != len(psbt.tx.vin) or len(psbt.outputs) != len(psbt.tx.vout):
        raise PsbtError("PSBT maps do not match the unsigned transaction's inputs and outputs")
