"""ElligatorSwift public keys and BIP324's X-only ECDH, through libsecp256k1.

BIP324 sends public keys as 64-byte ElligatorSwift encodings, which look uniformly random on the
wire, and hashes the shared X coordinate together with both encodings. libsecp256k1 implements
all of this (the `ellswift` module), and coincurve ships a libsecp256k1 built with that module,
but coincurve has no high-level wrapper for it. So we call the C functions through coincurve's
cffi binding directly. coincurve's `PrivateKey.ecdh()` is *not* usable here: it hashes the
compressed shared point with plain SHA-256, whereas BIP324 needs the tagged hash
"bip324_ellswift_xonly_ecdh" over ell_a || ell_b || x(shared).
"""

from __future__ import annotations

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from core.p2p.errors import EllSwiftError

ELLSWIFT_PUBKEY_SIZE = 64
PRIVKEY_SIZE = 32
COMPRESSED_PUBKEY_SIZE = 33


def _check_len(name: str, value: bytes, size: int) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != size:
        raise EllSwiftError(f"{name} must be {size} bytes")


def ellswift_create(privkey: bytes, aux_rand: bytes | None = None) -> bytes:
    """Encode the public key of `privkey` as 64 ElligatorSwift bytes.

    `aux_rand` (32 bytes) randomizes which of the many encodings is chosen; pass fresh randomness
    in production (None lets libsecp256k1 pick deterministically from the key alone).
    """
    _check_len("privkey", privkey, PRIVKEY_SIZE)
    if aux_rand is not None:
        _check_len("aux_rand", aux_rand, 32)
    out = ffi.new("unsigned char[64]")
    aux = ffi.NULL if aux_rand is None else bytes(aux_rand)
    if not lib.secp256k1_ellswift_create(GLOBAL_CONTEXT.ctx, out, bytes(privkey), aux):
        raise EllSwiftError("invalid private key")
    return bytes(ffi.buffer(out, ELLSWIFT_PUBKEY_SIZE))


def ellswift_decode(ellswift: bytes) -> bytes:
    """Decode a 64-byte ElligatorSwift encoding to a 33-byte compressed public key.

    Every 64-byte string decodes to some valid point, so only the length can be wrong.
    """
    _check_len("ellswift", ellswift, ELLSWIFT_PUBKEY_SIZE)
    pubkey = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ellswift_decode(GLOBAL_CONTEXT.ctx, pubkey, bytes(ellswift)):
        raise EllSwiftError("ellswift decoding failed")  # cannot happen per the library's contract
    out = ffi.new("unsigned char[33]")
    out_len = ffi.new("size_t *", COMPRESSED_PUBKEY_SIZE)
    lib.secp256k1_ec_pubkey_serialize(GLOBAL_CONTEXT.ctx, out, out_len, pubkey, lib.SECP256K1_EC_COMPRESSED)
    return bytes(ffi.buffer(out, COMPRESSED_PUBKEY_SIZE))


def ellswift_xdh_bip324(ell_a: bytes, ell_b: bytes, privkey: bytes, initiating: bool) -> bytes:
    """BIP324's v2_ecdh: the 32-byte shared secret of an encrypted connection.

    `ell_a` is the initiator's encoding and `ell_b` the responder's, whichever side we are;
    `privkey` is ours, so it belongs to `ell_a` when `initiating` and to `ell_b` otherwise.
    """
    _check_len("ell_a", ell_a, ELLSWIFT_PUBKEY_SIZE)
    _check_len("ell_b", ell_b, ELLSWIFT_PUBKEY_SIZE)
    _check_len("privkey", privkey, PRIVKEY_SIZE)
    out = ffi.new("unsigned char[32]")
    party = 0 if initiating else 1  # libsecp256k1: 0 = privkey is A's, 1 = privkey is B's
    ok = lib.secp256k1_ellswift_xdh(
        GLOBAL_CONTEXT.ctx,
        out,
        bytes(ell_a),
        bytes(ell_b),
        bytes(privkey),
        party,
        lib.secp256k1_ellswift_xdh_hash_function_bip324,
        ffi.NULL,
    )
    if not ok:
        raise EllSwiftError("invalid private key")
    return bytes(ffi.buffer(out, 32))
