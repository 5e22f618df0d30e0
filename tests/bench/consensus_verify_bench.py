"""Benchmark: full input verification (sighash + script + signature) against bare libsecp256k1.

2,000 P2WPKH and 2,000 P2TR key-path inputs, each with its own key, are signed once; then every
input is verified through `verify_input` (the whole consensus path), and the very same
signatures are verified bare with coincurve in the same run — the baseline the goal refers to.
"""

from __future__ import annotations

import random
import time

from coincurve import PrivateKey, PublicKey, PublicKeyXOnly

from core.consensus.hashes import Txid, hash160
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign
from core.crypto.schnorr import schnorr_sign, xonly_pubkey_from_privkey
from core.crypto.taproot import taproot_tweak_pubkey, taproot_tweak_seckey
from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    segwit_v0_sighash,
    taproot_sighash,
)

GOAL_RATIO = 1.3
SEED = 20261125


def _keys(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(31).rjust(32, b"\x01") for _ in range(n)]


def build_p2wpkh(n: int, rng: random.Random) -> tuple[Transaction, list[TxOut], list[tuple[bytes, bytes, bytes]]]:
    """A signed n-input P2WPKH spend, its spent outputs and the bare (pubkey, sig, msg) triples."""
    keys = _keys(rng, n)
    pubs = [PrivateKey(k).public_key.format(compressed=True) for k in keys]
    spent = [TxOut(10_000 + i, b"\x00\x14" + hash160(p)) for i, p in enumerate(pubs)]
    vin = tuple(TxIn(OutPoint(Txid(rng.randbytes(32)), i), b"", 0xFFFFFFFD) for i in range(n))
    unsigned = Transaction(2, vin, (TxOut(n * 9_000, b"\x00\x14" + bytes(20)),), 0)
    cache = PrecomputedTxData(unsigned, spent)
    signed_vin, triples = [], []
    for i, (k, p) in enumerate(zip(keys, pubs, strict=True)):
        code = b"\x76\xa9\x14" + hash160(p) + b"\x88\xac"
        msg = segwit_v0_sighash(unsigned, i, code, spent[i].value, SIGHASH_ALL, cache)
        sig = ecdsa_sign(k, msg)
        signed_vin.append(TxIn(vin[i].prevout, b"", vin[i].sequence, (sig + b"\x01", p)))
        triples.append((p, sig, msg))
    return Transaction(2, tuple(signed_vin), unsigned.vout, 0), spent, triples


def build_p2tr(n: int, rng: random.Random) -> tuple[Transaction, list[TxOut], list[tuple[bytes, bytes, bytes]]]:
    """A signed n-input P2TR key-path spend, its spent outputs and the bare (xonly, sig, msg) triples."""
    keys = _keys(rng, n)
    outs = [taproot_tweak_pubkey(xonly_pubkey_from_privkey(k), None)[0] for k in keys]
    spent = [TxOut(10_000 + i, b"\x51\x20" + x) for i, x in enumerate(outs)]
    vin = tuple(TxIn(OutPoint(Txid(rng.randbytes(32)), i), b"", 0xFFFFFFFD) for i in range(n))
    unsigned = Transaction(2, vin, (TxOut(n * 9_000, b"\x51\x20" + bytes(32)),), 0)
    cache = PrecomputedTxData(unsigned, spent)
    signed_vin, triples = [], []
    for i, k in enumerate(keys):
        msg = taproot_sighash(unsigned, i, SIGHASH_DEFAULT, cache)
        assert msg is not None
        sig = schnorr_sign(taproot_tweak_seckey(k, None), msg, bytes(32))
        signed_vin.append(TxIn(vin[i].prevout, b"", vin[i].sequence, (sig,)))
        triples.append((outs[i], sig, msg))
    return Transaction(2, tuple(signed_vin), unsigned.vout, 0), spent, triples


def _time_full(tx: Transaction, spent: list[TxOut]) -> float:
    t0 = time.perf_counter()
    txdata = PrecomputedTxData(tx, spent)
    for i in range(len(tx.vin)):
        err = verify_input(tx, i, spent, STANDARD_SCRIPT_VERIFY_FLAGS, txdata)
        if err is not None:
            raise AssertionError(f"bench input {i} failed: {err}")
    return time.perf_counter() - t0


def _time_bare_ecdsa(triples: list[tuple[bytes, bytes, bytes]]) -> float:
    t0 = time.perf_counter()
    for pub, sig, msg in triples:
        if not PublicKey(pub).verify(sig, msg, hasher=None):
            raise AssertionError("bare ECDSA verify failed")
    return time.perf_counter() - t0


def _time_bare_schnorr(triples: list[tuple[bytes, bytes, bytes]]) -> float:
    t0 = time.perf_counter()
    for xonly, sig, msg in triples:
        if not PublicKeyXOnly(xonly).verify(sig, msg):
            raise AssertionError("bare Schnorr verify failed")
    return time.perf_counter() - t0


def run(n: int = 2000) -> list[dict]:
    """Verify n P2WPKH and n P2TR inputs fully and bare; per-input µs and ratio to bare."""
    rng = random.Random(SEED)
    rows = []
    for label, build, bare in (("p2wpkh", build_p2wpkh, _time_bare_ecdsa), ("p2tr_keypath", build_p2tr, _time_bare_schnorr)):
        tx, spent, triples = build(n, rng)
        # Interleave rounds so machine noise hits both sides alike.
        full_t, bare_t = [], []
        for _ in range(11):
            full_t.append(_time_full(tx, spent))
            bare_t.append(bare(triples))
        full_us = min(full_t) / n * 1e6
        bare_us = min(bare_t) / n * 1e6
        rows.append(
            {
                "metric": f"verify {n} {label} inputs (per input)",
                "value": round(full_us, 2),
                "unit": "us",
                "goal": f"<= {GOAL_RATIO}x bare",
                "baseline": round(bare_us, 2),
                "ratio": round(full_us / bare_us, 3),
            }
        )
    return rows


if __name__ == "__main__":
    from tests.bench.run import print_table

    print_table(run())
