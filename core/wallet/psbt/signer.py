"""The PSBT Signer role: ECDSA for legacy, P2SH, P2WPKH, P2SH-P2WPKH and P2WSH inputs, BIP340 for
taproot key-path (tweaked internal key) and script-path leaves.

Keys come from a dict (secret keys, or public key → secret key) or a callback that returns the
32-byte secret for a public key (33/65-byte ECDSA or 32-byte x-only) or None. Signatures are
only added (BIP174: the Signer must only add data); every input is first checked as BIP174's
"data signers check for" says, and inconsistent data raises PsbtError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from core.consensus.hashes import hash160
from core.crypto.ecdsa import ecdsa_sign, pubkey_from_privkey
from core.crypto.schnorr import schnorr_sign, xonly_pubkey_from_privkey
from core.crypto.taproot import (
    TAPROOT_LEAF_TAPSCRIPT,
    tapleaf_hash,
    taproot_tweak_pubkey,
    taproot_tweak_seckey,
)
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_DEFAULT,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    PrecomputedTxData,
    legacy_sighash,
    segwit_v0_sighash,
    taproot_sighash,
)
from core.script.standard import TxoutType, solve
from core.wallet.errors import PsbtError
from core.wallet.psbt.scripts import SpendKind, ecdsa_keys_in, resolve_input, xonly_keys_in
from core.wallet.psbt.types import Psbt

KeyLookup = Callable[[bytes], bytes | None]

_ECDSA_TYPES = frozenset(
    b | acp for b in (SIGHASH_ALL, SIGHASH_NONE, SIGHASH_SINGLE) for acp in (0, SIGHASH_ANYONECANPAY)
)
_TAPROOT_TYPES = _ECDSA_TYPES | {SIGHASH_DEFAULT}


def key_lookup(keys: Mapping[bytes, bytes] | Iterable[bytes] | KeyLookup) -> tuple[KeyLookup, list[bytes]]:
    """Normalise the ways keys can be given into a lookup by public key, and the ECDSA public
    keys known up front (none for a callback).

    A mapping may be keyed by any public key form; every secret is also indexed under its
    compressed, uncompressed and x-only public keys.
    """
    if callable(keys):
        return keys, []
    secrets = list(keys.values()) if isinstance(keys, Mapping) else list(keys)
    index: dict[bytes, bytes] = dict(keys) if isinstance(keys, Mapping) else {}
    for secret in secrets:
        index[pubkey_from_privkey(secret, True)] = secret
        index[pubkey_from_privkey(secret, False)] = secret
        index[xonly_pubkey_from_privkey(secret)] = secret
    return index.get, [k for k in index if len(k) in (33, 65)]


def sign_psbt(
    psbt: Psbt,
    keys: Mapping[bytes, bytes] | Iterable[bytes] | KeyLookup,
    *,
    allowed_sighash: Iterable[int] | None = None,
    aux_rand: bytes | None = None,
) -> int:
    """Add every signature `keys` can make to `psbt` (in place); returns how many were added.

    `allowed_sighash` limits which PSBT_IN_SIGHASH_TYPE values are acceptable (default: every
    standard type); an input asking for another type raises PsbtError. `aux_rand` fixes BIP340's
    auxiliary randomness (default: fresh random bytes per signature). For P2PKH and P2WPKH inputs
    the public key must be known: from a dict of keys, or from the input's BIP32 derivations.
    """
    lookup, extra = key_lookup(keys)
    allowed = set(allowed_sighash) if allowed_sighash is not None else None
    utxos = [psbt.spent_output(i) for i in range(len(psbt.inputs))]
    spent = None if any(u is None for u in utxos) else utxos
    txdata = PrecomputedTxData(psbt.tx, spent)  # type: ignore[arg-type]
    added = 0
    for i, inp in enumerate(psbt.inputs):
        if inp.is_finalized():
            continue
        res = resolve_input(psbt, i)
        if res is None:
            continue
        if inp.sighash_type is not None:
            valid = _TAPROOT_TYPES if res.kind == SpendKind.TAPROOT else _ECDSA_TYPES
            if inp.sighash_type not in valid or (allowed is not None and inp.sighash_type not in allowed):
                raise PsbtError(f"input {i}: sighash type {inp.sighash_type:#x} is not acceptable")
        if res.kind == SpendKind.TAPROOT:
            if spent is None:
                continue  # taproot sighashes commit to every spent output
            added += _sign_taproot(psbt, i, lookup, txdata, aux_rand)
            continue
        hash_type = SIGHASH_ALL if inp.sighash_type is None else inp.sighash_type
        sol = solve(res.script)
        if sol.type in (TxoutType.PUBKEYHASH, TxoutType.WITNESS_V0_KEYHASH):
            # Only the key whose hash is in the script can sign; it may be known from the
            # derivations or from the keys given.
            known = dict.fromkeys([*inp.bip32_derivation, *extra])
            candidates = [k for k in known if hash160(k) == sol.solutions[0]]
        else:
            candidates = list(dict.fromkeys(ecdsa_keys_in(res.script)))
        for pubkey in candidates:
            if pubkey in inp.partial_sigs:
                continue
            secret = lookup(pubkey)
            if secret is None:
                continue
            if pubkey_from_privkey(secret, len(pubkey) == 33) != pubkey:
                raise PsbtError(f"input {i}: key lookup returned a secret for another public key")
            if res.kind == SpendKind.LEGACY:
                digest = legacy_sighash(psbt.tx, i, res.script_code, hash_type, txdata)
            else:
                digest = segwit_v0_sighash(psbt.tx, i, res.script_code, res.utxo.value, hash_type, txdata)
            inp.partial_sigs[pubkey] = ecdsa_sign(secret, digest) + bytes((hash_type,))
            added += 1
    return added


def _schnorr(secret: bytes, digest: bytes, hash_type: int, aux_rand: bytes | None) -> bytes:
    sig = schnorr_sign(secret, digest, aux_rand if aux_rand is not None else os.urandom(32))
    return sig if hash_type == SIGHASH_DEFAULT else sig + bytes((hash_type,))


def _sign_taproot(psbt: Psbt, i: int, lookup: KeyLookup, txdata: PrecomputedTxData, aux: bytes | None) -> int:
    inp = psbt.inputs[i]
    hash_type = SIGHASH_DEFAULT if inp.sighash_type is None else inp.sighash_type
    program = psbt.spent_output(i).script_pubkey[2:]  # type: ignore[union-attr]
    added = 0
    internal = inp.tap_internal_key
    if internal is not None and inp.tap_key_sig is None:
        secret = lookup(internal)
        if secret is not None:
            if taproot_tweak_pubkey(internal, inp.tap_merkle_root)[0] != program:
                raise PsbtError(f"input {i}: internal key and merkle root do not give the output key")
            digest = taproot_sighash(psbt.tx, i, hash_type, txdata)
            if digest is None:
                raise PsbtError(f"input {i}: cannot compute the taproot sighash for type {hash_type:#x}")
            tweaked = taproot_tweak_seckey(secret, inp.tap_merkle_root)
            inp.tap_key_sig = _schnorr(tweaked, digest, hash_type, aux)
            added += 1
    for script, version in set(inp.tap_leaf_scripts.values()):
        if version != TAPROOT_LEAF_TAPSCRIPT:
            continue
        leaf_hash = tapleaf_hash(script, version)
        for xonly in xonly_keys_in(script):
            if (xonly, leaf_hash) in inp.tap_script_sigs:
                continue
            secret = lookup(xonly)
            if secret is None or xonly_pubkey_from_privkey(secret) != xonly:
                continue
            digest = taproot_sighash(psbt.tx, i, hash_type, txdata, ext_flag=1, leaf_hash=leaf_hash)
            if digest is None:
                raise PsbtError(f"input {i}: cannot compute the tapscript sighash for type {hash_type:#x}")
            inp.tap_script_sigs[(xonly, leaf_hash)] = _schnorr(secret, digest, hash_type, aux)
            added += 1
    return added
