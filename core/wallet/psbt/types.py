"""PSBT v0 data model (BIP174 with the BIP371 taproot fields): key types and the three maps.

The maps are plain mutable dataclasses; roles (create/update/sign/combine/finalize) fill them in.
Records this code does not interpret are kept byte for byte in `proprietary` and `unknown`
(full key bytes → value bytes) so they survive a round trip, as BIP174 requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.consensus.tx import Transaction, TxOut

PSBT_MAGIC = b"psbt\xff"
PSBT_HIGHEST_VERSION = 0

# Global key types.
PSBT_GLOBAL_UNSIGNED_TX = 0x00
PSBT_GLOBAL_XPUB = 0x01
PSBT_GLOBAL_VERSION = 0xFB
PSBT_GLOBAL_PROPRIETARY = 0xFC

# Per-input key types.
PSBT_IN_NON_WITNESS_UTXO = 0x00
PSBT_IN_WITNESS_UTXO = 0x01
PSBT_IN_PARTIAL_SIG = 0x02
PSBT_IN_SIGHASH = 0x03
PSBT_IN_REDEEMSCRIPT = 0x04
PSBT_IN_WITNESSSCRIPT = 0x05
PSBT_IN_BIP32_DERIVATION = 0x06
PSBT_IN_SCRIPTSIG = 0x07
PSBT_IN_SCRIPTWITNESS = 0x08
PSBT_IN_RIPEMD160 = 0x0A
PSBT_IN_SHA256 = 0x0B
PSBT_IN_HASH160 = 0x0C
PSBT_IN_HASH256 = 0x0D
PSBT_IN_TAP_KEY_SIG = 0x13
PSBT_IN_TAP_SCRIPT_SIG = 0x14
PSBT_IN_TAP_LEAF_SCRIPT = 0x15
PSBT_IN_TAP_BIP32_DERIVATION = 0x16
PSBT_IN_TAP_INTERNAL_KEY = 0x17
PSBT_IN_TAP_MERKLE_ROOT = 0x18
PSBT_IN_PROPRIETARY = 0xFC

# Per-output key types.
PSBT_OUT_REDEEMSCRIPT = 0x00
PSBT_OUT_WITNESSSCRIPT = 0x01
PSBT_OUT_BIP32_DERIVATION = 0x02
PSBT_OUT_TAP_INTERNAL_KEY = 0x05
PSBT_OUT_TAP_TREE = 0x06
PSBT_OUT_TAP_BIP32_DERIVATION = 0x07
PSBT_OUT_PROPRIETARY = 0xFC


@dataclass(frozen=True, slots=True)
class KeyOrigin:
    """Master key fingerprint (4 bytes) and BIP32 path (indexes, hardened ones ≥ 2^31)."""

    fingerprint: bytes
    path: tuple[int, ...] = ()

    def __str__(self) -> str:
        steps = "".join(f"/{i & 0x7FFFFFFF}{'h' if i & 0x80000000 else ''}" for i in self.path)
        return f"{self.fingerprint.hex()}{steps}"


@dataclass(frozen=True, slots=True)
class TapKeyOrigin:
    """BIP371 taproot derivation: the leaf hashes the key is used in, and its origin."""

    leaf_hashes: tuple[bytes, ...]
    origin: KeyOrigin


@dataclass(frozen=True, slots=True)
class TapTreeLeaf:
    """One PSBT_OUT_TAP_TREE tuple: depth in the tree, leaf version and script (DFS order)."""

    depth: int
    leaf_version: int
    script: bytes


@dataclass
class PsbtInput:
    """A PSBT input map. Keys of the dicts are the record's key data (pubkey, hash, ...)."""

    non_witness_utxo: Transaction | None = None
    witness_utxo: TxOut | None = None
    partial_sigs: dict[bytes, bytes] = field(default_factory=dict)  # pubkey → DER sig + hash type
    sighash_type: int | None = None
    redeem_script: bytes | None = None
    witness_script: bytes | None = None
    bip32_derivation: dict[bytes, KeyOrigin] = field(default_factory=dict)
    final_script_sig: bytes | None = None
    final_script_witness: tuple[bytes, ...] | None = None
    ripemd160_preimages: dict[bytes, bytes] = field(default_factory=dict)
    sha256_preimages: dict[bytes, bytes] = field(default_factory=dict)
    hash160_preimages: dict[bytes, bytes] = field(default_factory=dict)
    hash256_preimages: dict[bytes, bytes] = field(default_factory=dict)
    tap_key_sig: bytes | None = None
    tap_script_sigs: dict[tuple[bytes, bytes], bytes] = field(default_factory=dict)  # (xonly, leaf hash)
    tap_leaf_scripts: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)  # control block → (script, ver)
    tap_bip32_derivation: dict[bytes, TapKeyOrigin] = field(default_factory=dict)  # xonly → origin
    tap_internal_key: bytes | None = None
    tap_merkle_root: bytes | None = None
    proprietary: dict[bytes, bytes] = field(default_factory=dict)
    unknown: dict[bytes, bytes] = field(default_factory=dict)

    def is_finalized(self) -> bool:
        return self.final_script_sig is not None or self.final_script_witness is not None


@dataclass
class PsbtOutput:
    """A PSBT output map."""

    redeem_script: bytes | None = None
    witness_script: bytes | None = None
    bip32_derivation: dict[bytes, KeyOrigin] = field(default_factory=dict)
    tap_internal_key: bytes | None = None
    tap_tree: tuple[TapTreeLeaf, ...] | None = None
    tap_bip32_derivation: dict[bytes, TapKeyOrigin] = field(default_factory=dict)
    proprietary: dict[bytes, bytes] = field(default_factory=dict)
    unknown: dict[bytes, bytes] = field(default_factory=dict)


@dataclass
class Psbt:
    """A version 0 PSBT: the unsigned transaction, global records and one map per input/output."""

    tx: Transaction
    inputs: list[PsbtInput]
    outputs: list[PsbtOutput]
    xpubs: dict[bytes, KeyOrigin] = field(default_factory=dict)  # 78-byte serialized xpub → origin
    version: int | None = None  # None when PSBT_GLOBAL_VERSION is absent (means 0)
    proprietary: dict[bytes, bytes] = field(default_factory=dict)
    unknown: dict[bytes, bytes] = field(default_factory=dict)

    def spent_output(self, index: int) -> TxOut | None:
        """The output input `index` spends, from its witness or non-witness UTXO (None if neither)."""
        inp = self.inputs[index]
        if inp.witness_utxo is not None:
            return inp.witness_utxo
        if inp.non_witness_utxo is not None:
            n = self.tx.vin[index].prevout.n
            if n < len(inp.non_witness_utxo.vout):
                return inp.non_witness_utxo.vout[n]
        return None
