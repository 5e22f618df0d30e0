"""BIP340 Schnorr signatures over secp256k1, for messages of any length.

coincurve's `sign_schnorr` / `PublicKeyXOnly.verify` only take 32-byte messages, while BIP340
(and its test vectors) allow any length, so we call libsecp256k1's variable-length functions
(`secp256k1_schnorrsig_sign_custom`, `secp256k1_schnorrsig_verify`) through coincurve's cffi module.
"""

from __future__ import annotations

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from core.crypto.errors import InvalidKey, InvalidSignature

_CTX = GLOBAL_CONTEXT.ctx
#: SECP256K1_SCHNORRSIG_EXTRAPARAMS_MAGIC from secp256k1_schnorrsig.h.
_EXTRAPARAMS_MAGIC = b"\xda\x6f\xb3\x8c"


def _keypair(priv32: bytes):  # -> secp256k1_keypair*
    if len(priv32) != 32:
        raise InvalidKey("secret key must be 32 bytes")
    keypair = ffi.new("secp256k1_keypair *")
    if not lib.secp256k1_keypair_create(_CTX, keypair, bytes(priv32)):
        raise InvalidKey("secret key out of range")
    return keypair


def xonly_pubkey_from_privkey(priv32: bytes) -> bytes:
    """The 32-byte BIP340 x-only public key of a secret key."""
    keypair = _keypair(priv32)
    xonly = ffi.new("secp256k1_xonly_pubkey *")
    lib.secp256k1_keypair_xonly_pub(_CTX, xonly, ffi.NULL, keypair)
    out = ffi.new("unsigned char[32]")
    lib.secp256k1_xonly_pubkey_serialize(_CTX, out, xonly)
    return bytes(out)


def schnorr_sign(priv32: bytes, msg: bytes, aux_rand32: bytes) -> bytes:
    """BIP340-sign `msg` (any length) with `aux_rand32` as auxiliary randomness; 64-byte signature.

    The signature is verified before it is returned (BIP340's recommended fault check).
    Raises InvalidKey for a bad secret, InvalidSignature for bad aux data or a failed self-check."""
    if len(aux_rand32) != 32:
        raise InvalidSignature("aux_rand must be 32 bytes")
    keypair = _keypair(priv32)
    msg = bytes(msg)
    aux = ffi.new("unsigned char[32]", bytes(aux_rand32))  # kept alive for the C call below
    extra = ffi.new("secp256k1_schnorrsig_extraparams *")
    extra.magic = list(_EXTRAPARAMS_MAGIC)
    extra.noncefp = ffi.NULL  # NULL selects the BIP340 nonce function
    extra.ndata = aux
    sig = ffi.new("unsigned char[64]")
    if not lib.secp256k1_schnorrsig_sign_custom(_CTX, sig, msg, len(msg), keypair, extra):
        raise InvalidSignature("signing failed")
    out = bytes(sig)
    xonly = ffi.new("secp256k1_xonly_pubkey *")
    lib.secp256k1_keypair_xonly_pub(_CTX, xonly, ffi.NULL, keypair)
    if not lib.secp256k1_schnorrsig_verify(_CTX, out, msg, len(msg), xonly):
        raise InvalidSignature("signature failed its own verification")
    return out


def schnorr_verify(xonly32: bytes, msg: bytes, sig64: bytes) -> bool:
    """BIP340-verify `sig64` on `msg` (any length) under x-only key `xonly32`.

    Returns False (never raises) for wrong sizes, keys not on the curve or invalid signatures."""
    if len(xonly32) != 32 or len(sig64) != 64:
        return False
    xonly = ffi.new("secp256k1_xonly_pubkey *")
    if not lib.secp256k1_xonly_pubkey_parse(_CTX, xonly, bytes(xonly32)):
        return False
    msg = bytes(msg)
    return bool(lib.secp256k1_schnorrsig_verify(_CTX, bytes(sig64), msg, len(msg), xonly))
