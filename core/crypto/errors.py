"""Errors of the crypto package: one tree rooted in CryptoError."""

from core.errors import PeerwalletError


class CryptoError(PeerwalletError):
    """Base of crypto-package errors."""


class InvalidKey(CryptoError):
    """A secret or public key that is malformed or out of range (or a WIF that does not hold one)."""


class InvalidSignature(CryptoError):
    """A signature that is malformed or cannot be produced."""


class EncodingError(CryptoError):
    """A string or byte encoding that does not decode (base58, bech32)."""


class Base58Error(EncodingError):
    """Invalid base58 / base58check text: bad character, bad checksum, wrong length."""


class Bech32Error(EncodingError):
    """Invalid bech32 / bech32m text or segwit address encoding (BIP173 / BIP350 rules)."""


class AddressError(CryptoError):
    """A string that is not a valid address for the requested network; the message says why."""


class TaprootError(CryptoError):
    """A malformed taproot script tree or tweak that cannot be applied."""
