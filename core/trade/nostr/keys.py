"""Nostr keys: a secp256k1 secret with its BIP340 x-only public key (lowercase hex, as NIP-01 writes it).

Built on coincurve; the secret is kept out of repr() and str() so it never lands in logs.
"""

from __future__ import annotations

import os

from coincurve import PrivateKey, PublicKeyXOnly

from core.trade.errors import NostrError

#: secp256k1 group order; valid secrets are 1 .. N-1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX = frozenset("0123456789abcdef")


def is_lower_hex(value: object, nbytes: int) -> bool:
    """True if `value` is a str of exactly 2*nbytes lowercase hex digits (the only form NIP-01 allows)."""
    return isinstance(value, str) and len(value) == 2 * nbytes and _HEX.issuperset(value)


def parse_xonly(value: str | bytes) -> bytes:
    """32-byte x-only public key from lowercase hex or bytes, checked to be on the curve (BIP340 lift_x).

    Raises NostrError otherwise."""
    if isinstance(value, str):
        if not is_lower_hex(value, 32):
            raise NostrError("public key must be 64 lowercase hex digits")
        raw = bytes.fromhex(value)
    elif isinstance(value, bytes | bytearray) and len(value) == 32:
        raw = bytes(value)
    else:
        raise NostrError("public key must be 32 bytes")
    try:
        PublicKeyXOnly(raw)
    except ValueError as exc:  # coincurve: not an x coordinate on the curve
        raise NostrError("public key is not on secp256k1") from exc
    return raw


class NostrKey:
    """A Nostr key pair. `xonly` is the public key as 64 lowercase hex digits."""

    __slots__ = ("_priv", "_secret", "xonly")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray) or len(secret) != 32:
            raise NostrError("secret key must be 32 bytes")
        value = int.from_bytes(secret, "big")
        if not 0 < value < SECP256K1_N:
            raise NostrError("secret key out of range")
        self._secret = bytes(secret)
        self._priv = PrivateKey(self._secret)
        self.xonly: str = self._priv.public_key_xonly.format().hex()

    @classmethod
    def generate(cls) -> NostrKey:
        """A fresh random key (from the OS CSPRNG)."""
        while True:  # a random 32-byte string is out of range with probability ~2^-128
            secret = os.urandom(32)
            if 0 < int.from_bytes(secret, "big") < SECP256K1_N:
                return cls(secret)

    @classmethod
    def from_secret(cls, secret: bytes) -> NostrKey:
        """The key of a 32-byte secret; NostrError if it is not in 1..N-1."""
        return cls(secret)

    @classmethod
    def from_hex(cls, secret_hex: str) -> NostrKey:
        """The key of a secret written as 64 hex digits."""
        if not isinstance(secret_hex, str) or len(secret_hex) != 64:
            raise NostrError("secret key must be 64 hex digits")
        try:
            raw = bytes.fromhex(secret_hex)
        except ValueError as exc:
            raise NostrError("secret key must be 64 hex digits") from exc
        return cls(raw)

    @property
    def xonly_bytes(self) -> bytes:
        """The x-only public key as 32 bytes."""
        return bytes.fromhex(self.xonly)

    def secret_bytes(self) -> bytes:
        """The 32-byte secret (for storing it encrypted, or for ECDH); never log it."""
        return self._secret

    def sign_schnorr(self, msg32: bytes) -> bytes:
        """BIP340 signature of a 32-byte message with fresh auxiliary randomness."""
        if len(msg32) != 32:
            raise NostrError("message to sign must be 32 bytes")
        return self._priv.sign_schnorr(bytes(msg32), os.urandom(32))

    def __repr__(self) -> str:
        return f"NostrKey(xonly={self.xonly})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NostrKey) and other.xonly == self.xonly

    def __hash__(self) -> int:
        return hash(self.xonly)


def verify_schnorr(xonly: bytes, msg32: bytes, sig64: bytes) -> bool:
    """BIP340 verification; False (never raises) for a bad key, size or signature."""
    if len(xonly) != 32 or len(msg32) != 32 or len(sig64) != 64:
        return False
    try:
        return bool(PublicKeyXOnly(bytes(xonly)).verify(bytes(sig64), bytes(msg32)))
    except ValueError:
        return False
