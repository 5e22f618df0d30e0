"""Per-field decoding and encoding of PSBT input and output records (BIP174, BIP371).

Each decoder checks the key data length and that the value is exactly what its type says (Core's
UnserializeFromVector "size of value was not the stated size"). The encoders return records in the
order Core's PSBTInput/PSBTOutput::Serialize writes them.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.consensus.errors import DecodeError
from core.consensus.hashes import hash160, sha256, sha256d
from core.consensus.serialize import ByteReader, ser_compact_size, ser_var_bytes, u32le
from core.consensus.tx import Transaction, TxOut
from core.crypto.ecdsa import is_valid_pubkey as _is_valid_pubkey
from core.crypto.ripemd160 import ripemd160
from core.crypto.taproot import TAPROOT_CONTROL_MAX_SIZE, TAPROOT_LEAF_MASK
from core.script.sigencoding import is_valid_signature_encoding
from core.wallet.errors import PsbtError
from core.wallet.psbt import types as t
from core.wallet.psbt.types import KeyOrigin, PsbtInput, PsbtOutput, TapKeyOrigin, TapTreeLeaf

_TAPROOT_MAX_DEPTH = 128


def is_valid_pubkey(pubkey: bytes) -> bool:
    """A compressed or uncompressed (not hybrid) public key on the curve (Core's IsFullyValid)."""
    return len(pubkey) in (33, 65) and pubkey[0] in ((2, 3) if len(pubkey) == 33 else (4,)) and _is_valid_pubkey(
        pubkey
    )


def no_key_data(key_data: bytes, what: str) -> None:
    if key_data:
        raise PsbtError(f"{what}: key must be only the type byte, has {len(key_data)} bytes of key data")


def _exact(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise PsbtError(f"{what}: value must be {size} bytes, is {len(value)}")
    return value


def parse_tx(value: bytes, what: str, allow_witness: bool) -> Transaction:
    try:
        return Transaction.parse(value, allow_witness=allow_witness)
    except DecodeError as e:
        raise PsbtError(f"{what}: invalid transaction: {e}") from None


def parse_origin(value: bytes, what: str) -> KeyOrigin:
    """Fingerprint and path (Core's DeserializeKeyOrigin): a non-empty multiple of 4 bytes."""
    if len(value) % 4 or not value:
        raise PsbtError(f"{what}: invalid length {len(value)} for a BIP32 key origin")
    path = tuple(int.from_bytes(value[i : i + 4], "little") for i in range(4, len(value), 4))
    return KeyOrigin(value[:4], path)


def ser_origin(origin: KeyOrigin) -> bytes:
    return origin.fingerprint + b"".join(u32le(i) for i in origin.path)


def check_proprietary(key_data: bytes, where: str) -> None:
    """Proprietary keys hold <compact size identifier length> <identifier> <compact size subtype>."""
    r = ByteReader(key_data)
    try:
        r.var_bytes()
        r.compact_size(0xFFFFFFFFFFFFFFFF)
    except DecodeError as e:
        raise PsbtError(f"{where}: malformed proprietary key: {e}") from None


def _pubkey_key(key_data: bytes, what: str) -> bytes:
    if len(key_data) not in (33, 65):
        raise PsbtError(f"{what}: key must hold a 33 or 65-byte public key, has {len(key_data)} bytes")
    if not is_valid_pubkey(key_data):
        raise PsbtError(f"{what}: invalid public key {key_data.hex()}")
    return key_data


def _xonly_key(key_data: bytes, what: str) -> bytes:
    if len(key_data) != 32:
        raise PsbtError(f"{what}: key must hold a 32-byte x-only public key, has {len(key_data)} bytes")
    return key_data


def _schnorr_sig(value: bytes, what: str) -> bytes:
    if len(value) < 64:
        raise PsbtError(f"{what}: signature is shorter than 64 bytes")
    if len(value) > 65:
        raise PsbtError(f"{what}: signature is longer than 65 bytes")
    return value


def _tap_origin(value: bytes, what: str) -> TapKeyOrigin:
    r = ByteReader(value)
    try:
        n = r.count(32)
        hashes = tuple(r.read(32) for _ in range(n))
    except DecodeError as e:
        raise PsbtError(f"{what}: malformed leaf hashes: {e}") from None
    return TapKeyOrigin(hashes, parse_origin(value[r.pos :], what))


def _ser_tap_origin(o: TapKeyOrigin) -> bytes:
    hashes = sorted(set(o.leaf_hashes))  # Core keeps them in a std::set
    return ser_compact_size(len(hashes)) + b"".join(hashes) + ser_origin(o.origin)


def _witness(value: bytes, what: str) -> tuple[bytes, ...]:
    r = ByteReader(value)
    try:
        n = r.count(1)
        stack = tuple(r.var_bytes() for _ in range(n))
        r.expect_end(what)
    except DecodeError as e:
        raise PsbtError(f"{what}: {e}") from None
    return stack


def _ser_witness(stack: tuple[bytes, ...]) -> bytes:
    return ser_compact_size(len(stack)) + b"".join(ser_var_bytes(x) for x in stack)


_PREIMAGES = {
    t.PSBT_IN_RIPEMD160: ("ripemd160_preimages", 20, ripemd160),
    t.PSBT_IN_SHA256: ("sha256_preimages", 32, sha256),
    t.PSBT_IN_HASH160: ("hash160_preimages", 20, hash160),
    t.PSBT_IN_HASH256: ("hash256_preimages", 32, sha256d),
}


def parse_input(records: list[tuple[bytes, int, bytes, bytes]], index: int) -> PsbtInput:
    """Decode one input map's records."""
    inp = PsbtInput()
    w = f"input {index}"
    for key, kt, kd, v in records:
        if kt == t.PSBT_IN_NON_WITNESS_UTXO:
            no_key_data(kd, f"{w} non-witness utxo")
            inp.non_witness_utxo = parse_tx(v, f"{w} non-witness utxo", allow_witness=True)
        elif kt == t.PSBT_IN_WITNESS_UTXO:
            no_key_data(kd, f"{w} witness utxo")
            r = ByteReader(v)
            try:
                inp.witness_utxo = TxOut.read(r)
                r.expect_end("witness utxo")
            except DecodeError as e:
                raise PsbtError(f"{w} witness utxo: {e}") from None
        elif kt == t.PSBT_IN_PARTIAL_SIG:
            pk = _pubkey_key(kd, f"{w} partial signature")
            if not v or not is_valid_signature_encoding(v):
                raise PsbtError(f"{w} partial signature: signature is not a valid DER encoding")
            inp.partial_sigs[pk] = v
        elif kt == t.PSBT_IN_SIGHASH:
            no_key_data(kd, f"{w} sighash type")
            inp.sighash_type = int.from_bytes(_exact(v, 4, f"{w} sighash type"), "little")
        elif kt == t.PSBT_IN_REDEEMSCRIPT:
            no_key_data(kd, f"{w} redeemScript")
            inp.redeem_script = v
        elif kt == t.PSBT_IN_WITNESSSCRIPT:
            no_key_data(kd, f"{w} witnessScript")
            inp.witness_script = v
        elif kt == t.PSBT_IN_BIP32_DERIVATION:
            pk = _pubkey_key(kd, f"{w} BIP32 derivation")
            inp.bip32_derivation[pk] = parse_origin(v, f"{w} BIP32 derivation")
        elif kt == t.PSBT_IN_SCRIPTSIG:
            no_key_data(kd, f"{w} final scriptSig")
            inp.final_script_sig = v
        elif kt == t.PSBT_IN_SCRIPTWITNESS:
            no_key_data(kd, f"{w} final scriptWitness")
            inp.final_script_witness = _witness(v, f"{w} final scriptWitness")
        elif kt in _PREIMAGES:
            attr, size, fn = _PREIMAGES[kt]
            if len(kd) != size:
                raise PsbtError(f"{w} {attr[:-10]} preimage: key must hold a {size}-byte hash")
            if fn(v) != kd:
                raise PsbtError(f"{w} {attr[:-10]} preimage does not match its hash")
            getattr(inp, attr)[kd] = v
        elif kt == t.PSBT_IN_TAP_KEY_SIG:
            no_key_data(kd, f"{w} taproot key signature")
            inp.tap_key_sig = _schnorr_sig(v, f"{w} taproot key path signature")
        elif kt == t.PSBT_IN_TAP_SCRIPT_SIG:
            if len(kd) != 64:
                raise PsbtError(f"{w} taproot script signature: key must be an x-only key and a leaf hash")
            inp.tap_script_sigs[(kd[:32], kd[32:])] = _schnorr_sig(v, f"{w} taproot script signature")
        elif kt == t.PSBT_IN_TAP_LEAF_SCRIPT:
            if len(kd) < 33:
                raise PsbtError(f"{w} taproot leaf script: control block is shorter than 33 bytes")
            if (len(kd) - 33) % 32 or len(kd) > TAPROOT_CONTROL_MAX_SIZE:
                raise PsbtError(f"{w} taproot leaf script: key is not a valid control block")
            if not v:
                raise PsbtError(f"{w} taproot leaf script: value must hold the script and leaf version")
            inp.tap_leaf_scripts[kd] = (v[:-1], v[-1])
        elif kt == t.PSBT_IN_TAP_BIP32_DERIVATION:
            xk = _xonly_key(kd, f"{w} taproot BIP32 derivation")
            inp.tap_bip32_derivation[xk] = _tap_origin(v, f"{w} taproot BIP32 derivation")
        elif kt == t.PSBT_IN_TAP_INTERNAL_KEY:
            no_key_data(kd, f"{w} taproot internal key")
            inp.tap_internal_key = _exact(v, 32, f"{w} taproot internal key")
        elif kt == t.PSBT_IN_TAP_MERKLE_ROOT:
            no_key_data(kd, f"{w} taproot merkle root")
            inp.tap_merkle_root = _exact(v, 32, f"{w} taproot merkle root")
        elif kt == t.PSBT_IN_PROPRIETARY:
            check_proprietary(kd, w)
            inp.proprietary[key] = v
        else:
            inp.unknown[key] = v
    return inp


def input_records(inp: PsbtInput) -> Iterator[tuple[int, bytes, bytes]]:
    """(type, key data, value) for the known fields of an input, in Core's order."""
    if inp.non_witness_utxo is not None:
        yield t.PSBT_IN_NON_WITNESS_UTXO, b"", inp.non_witness_utxo.serialize()
    if inp.witness_utxo is not None:
        yield t.PSBT_IN_WITNESS_UTXO, b"", inp.witness_utxo.serialize()
    for pk in sorted(inp.partial_sigs, key=hash160):  # Core keys them by CKeyID
        yield t.PSBT_IN_PARTIAL_SIG, pk, inp.partial_sigs[pk]
    if inp.sighash_type is not None:
        yield t.PSBT_IN_SIGHASH, b"", u32le(inp.sighash_type)
    if inp.redeem_script is not None:
        yield t.PSBT_IN_REDEEMSCRIPT, b"", inp.redeem_script
    if inp.witness_script is not None:
        yield t.PSBT_IN_WITNESSSCRIPT, b"", inp.witness_script
    for pk in sorted(inp.bip32_derivation):
        yield t.PSBT_IN_BIP32_DERIVATION, pk, ser_origin(inp.bip32_derivation[pk])
    for kt, (attr, _, _) in _PREIMAGES.items():
        images: dict[bytes, bytes] = getattr(inp, attr)
        for h in sorted(images):
            yield kt, h, images[h]
    if inp.tap_key_sig is not None:
        yield t.PSBT_IN_TAP_KEY_SIG, b"", inp.tap_key_sig
    for xk, lh in sorted(inp.tap_script_sigs):
        yield t.PSBT_IN_TAP_SCRIPT_SIG, xk + lh, inp.tap_script_sigs[(xk, lh)]
    # Core maps (script, leaf version) to a set of control blocks, shortest first.
    for cb, (script, ver) in sorted(inp.tap_leaf_scripts.items(), key=lambda i: (i[1], len(i[0]), i[0])):
        yield t.PSBT_IN_TAP_LEAF_SCRIPT, cb, script + bytes((ver,))
    for xk in sorted(inp.tap_bip32_derivation):
        yield t.PSBT_IN_TAP_BIP32_DERIVATION, xk, _ser_tap_origin(inp.tap_bip32_derivation[xk])
    if inp.tap_internal_key is not None:
        yield t.PSBT_IN_TAP_INTERNAL_KEY, b"", inp.tap_internal_key
    if inp.tap_merkle_root is not None:
        yield t.PSBT_IN_TAP_MERKLE_ROOT, b"", inp.tap_merkle_root
    if inp.final_script_sig is not None:
        yield t.PSBT_IN_SCRIPTSIG, b"", inp.final_script_sig
    if inp.final_script_witness is not None:
        yield t.PSBT_IN_SCRIPTWITNESS, b"", _ser_witness(inp.final_script_witness)


def valid_tree_depths(depths: list[int]) -> bool:
    """Core's TaprootBuilder::ValidDepths: the DFS-ordered depths describe one complete tree."""
    branch: list[bool] = []
    for depth in depths:
        if depth < 0 or depth > _TAPROOT_MAX_DEPTH or depth + 1 < len(branch):
            return False
        while len(branch) > depth and branch[depth]:
            branch.pop()
            if depth == 0:
                return False
            depth -= 1
        if len(branch) <= depth:
            branch.extend([False] * (depth + 1 - len(branch)))
        branch[depth] = True
    return len(branch) == 1 and branch[0]


def _tap_tree(value: bytes, what: str) -> tuple[TapTreeLeaf, ...]:
    r = ByteReader(value)
    leaves: list[TapTreeLeaf] = []
    try:
        while not r.at_end():
            depth, ver = r.u8(), r.u8()
            leaves.append(TapTreeLeaf(depth, ver, r.var_bytes()))
    except DecodeError as e:
        raise PsbtError(f"{what}: {e}") from None
    if not leaves:
        raise PsbtError(f"{what}: taproot tree must not be empty")
    for leaf in leaves:
        if leaf.depth > _TAPROOT_MAX_DEPTH:
            raise PsbtError(f"{what}: leaf deeper than the taproot maximum depth")
        if leaf.leaf_version & ~TAPROOT_LEAF_MASK:
            raise PsbtError(f"{what}: leaf with an invalid leaf version")
    if not valid_tree_depths([leaf.depth for leaf in leaves]):
        raise PsbtError(f"{what}: taproot tree is malformed")
    return tuple(leaves)


def ser_tap_tree(leaves: tuple[TapTreeLeaf, ...]) -> bytes:
    return b"".join(bytes((x.depth, x.leaf_version)) + ser_var_bytes(x.script) for x in leaves)


def parse_output(records: list[tuple[bytes, int, bytes, bytes]], index: int) -> PsbtOutput:
    """Decode one output map's records."""
    out = PsbtOutput()
    w = f"output {index}"
    for key, kt, kd, v in records:
        if kt == t.PSBT_OUT_REDEEMSCRIPT:
            no_key_data(kd, f"{w} redeemScript")
            out.redeem_script = v
        elif kt == t.PSBT_OUT_WITNESSSCRIPT:
            no_key_data(kd, f"{w} witnessScript")
            out.witness_script = v
        elif kt == t.PSBT_OUT_BIP32_DERIVATION:
            pk = _pubkey_key(kd, f"{w} BIP32 derivation")
            out.bip32_derivation[pk] = parse_origin(v, f"{w} BIP32 derivation")
        elif kt == t.PSBT_OUT_TAP_INTERNAL_KEY:
            no_key_data(kd, f"{w} taproot internal key")
            out.tap_internal_key = _exact(v, 32, f"{w} taproot internal key")
        elif kt == t.PSBT_OUT_TAP_TREE:
            no_key_data(kd, f"{w} taproot tree")
            out.tap_tree = _tap_tree(v, f"{w} taproot tree")
        elif kt == t.PSBT_OUT_TAP_BIP32_DERIVATION:
            xk = _xonly_key(kd, f"{w} taproot BIP32 derivation")
            out.tap_bip32_derivation[xk] = _tap_origin(v, f"{w} taproot BIP32 derivation")
        elif kt == t.PSBT_OUT_PROPRIETARY:
            check_proprietary(kd, w)
            out.proprietary[key] = v
        else:
            out.unknown[key] = v
    return out


def output_records(out: PsbtOutput) -> Iterator[tuple[int, bytes, bytes]]:
    """(type, key data, value) for the known fields of an output, in Core's order."""
    if out.redeem_script is not None:
        yield t.PSBT_OUT_REDEEMSCRIPT, b"", out.redeem_script
    if out.witness_script is not None:
        yield t.PSBT_OUT_WITNESSSCRIPT, b"", out.witness_script
    for pk in sorted(out.bip32_derivation):
        yield t.PSBT_OUT_BIP32_DERIVATION, pk, ser_origin(out.bip32_derivation[pk])
    if out.tap_internal_key is not None:
        yield t.PSBT_OUT_TAP_INTERNAL_KEY, b"", out.tap_internal_key
    if out.tap_tree is not None:
        yield t.PSBT_OUT_TAP_TREE, b"", ser_tap_tree(out.tap_tree)
    for xk in sorted(out.tap_bip32_derivation):
        yield t.PSBT_OUT_TAP_BIP32_DERIVATION, xk, _ser_tap_origin(out.tap_bip32_derivation[xk])
