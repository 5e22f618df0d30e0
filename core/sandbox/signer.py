"""Single-key signing for the sandbox's own coins: P2WPKH and P2TR key-path inputs.

The sandbox miner, faucet and traffic generator hold a handful of keys and need nothing more
than this; the user's wallet has its own, complete signer (descriptors, PSBT).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.consensus.hashes import hash160
from core.consensus.tx import Transaction, TxIn, TxOut
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.crypto.schnorr import schnorr_sign, xonly_pubkey_from_privkey
from core.crypto.taproot import taproot_tweak_pubkey, taproot_tweak_seckey
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    segwit_v0_sighash,
    taproot_sighash,
)

P2WPKH_INPUT_VBYTES = 68  # 41 bytes of input + (1 + 72 + 1 + 33 + 1) / 4 witness, rounded up
P2TR_INPUT_VBYTES = 58


@dataclass(frozen=True)
class SandboxKey:
    """One secret key and the output script it controls."""

    secret: bytes
    taproot: bool = False

    @classmethod
    def derive(cls, seed: bytes, index: int, taproot: bool = False) -> SandboxKey:
        """A deterministic key: SHA256(seed || index || kind)."""
        tag = b"tr" if taproot else b"wpkh"
        return cls(hashlib.sha256(seed + index.to_bytes(4, "little") + tag).digest(), taproot)

    @property
    def script_pubkey(self) -> bytes:
        if self.taproot:
            out, _parity = taproot_tweak_pubkey(xonly_pubkey_from_privkey(self.secret), None)
            return b"\x51\x20" + out
        return b"\x00\x14" + hash160(pubkey_from_privkey(self.secret))

    @property
    def input_vbytes(self) -> int:
        return P2TR_INPUT_VBYTES if self.taproot else P2WPKH_INPUT_VBYTES


def sign_transaction(tx: Transaction, spent: list[TxOut], keys: list[SandboxKey]) -> Transaction:
    """Sign every input of `tx` with the matching key (keys[i] signs input i)."""
    cache = PrecomputedTxData(tx, spent)
    vin = []
    for i, (txin, key) in enumerate(zip(tx.vin, keys, strict=True)):
        if key.taproot:
            msg = taproot_sighash(tx, i, SIGHASH_DEFAULT, cache)
            assert msg is not None  # SIGHASH_DEFAULT with all spent outputs always hashes
            # Fixed aux randomness keeps sandbox transactions reproducible; these keys guard nothing.
            witness: tuple[bytes, ...] = (schnorr_sign(taproot_tweak_seckey(key.secret, None), msg, bytes(32)),)
        else:
            pub = pubkey_from_privkey(key.secret)
            code = b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
            digest = segwit_v0_sighash(tx, i, code, spent[i].value, SIGHASH_ALL, cache)
            witness = (ecdsa_sign(key.secret, digest) + bytes((SIGHASH_ALL,)), pub)
        vin.append(TxIn(txin.prevout, txin.script_sig, txin.sequence, witness))
    return Transaction(tx.version, tuple(vin), tx.vout, tx.locktime)
