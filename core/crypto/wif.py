"""Wallet Import Format private keys (Core's EncodeSecret / DecodeSecret)."""

from __future__ import annotations

from dataclasses import dataclass

from core.consensus.network import ALL_NETWORKS, Network
from core.crypto.base58 import b58check_decode, b58check_encode
from core.crypto.ecdsa import is_valid_seckey
from core.crypto.errors import InvalidKey

#: Version byte + 32-byte secret + optional 0x01 compression marker.
_MAX_PAYLOAD = 34


@dataclass(frozen=True, slots=True)
class WifKey:
    """A decoded WIF: the 32-byte secret and whether its public key is used compressed."""

    secret: bytes
    compressed: bool
    network: Network


def encode_wif(secret: bytes, network: Network, compressed: bool = True) -> str:
    """Encode a secret key as WIF for `network`. Raises InvalidKey for an out-of-range secret."""
    if not is_valid_seckey(secret):
        raise InvalidKey("secret key must be 32 bytes in [1, n-1]")
    return b58check_encode(network.secret_key_prefix + bytes(secret) + (b"\x01" if compressed else b""))


def decode_wif(text: str, network: Network) -> WifKey:
    """Decode a WIF for `network` as Core's DecodeSecret does. Raises Base58Error for bad base58 or
    checksum, InvalidKey for a wrong version byte, length, compression marker or key range."""
    data = b58check_decode(text, _MAX_PAYLOAD)
    prefix = network.secret_key_prefix
    if not data.startswith(prefix):
        if any(data.startswith(n.secret_key_prefix) for n in ALL_NETWORKS):
            other = "a mainnet" if network.is_test else "a testnet"
            raise InvalidKey(f"wrong network: this is {other} private key")
        raise InvalidKey("not a private key (unknown version byte)")
    body = data[len(prefix) :]
    if len(body) == 32:
        compressed = False
    elif len(body) == 33 and body[32] == 1:
        compressed = True
    else:
        raise InvalidKey("invalid private key length or compression flag")
    secret = body[:32]
    if not is_valid_seckey(secret):
        raise InvalidKey("private key out of range")
    return WifKey(secret, compressed, network)
