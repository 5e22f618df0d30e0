"""NIP-44 version 2 encrypted payloads (secp256k1 ECDH, HKDF-SHA256, padding, ChaCha20, HMAC-SHA256).

The primitives come from libraries: the shared point from coincurve (`PublicKey.multiply`, because
coincurve's `ecdh()` hashes the point and NIP-44 needs the bare x coordinate), HKDF and ChaCha20 from
`cryptography`, HMAC from the standard library. Only the NIP's own framing (padding, payload layout)
is written here. Payloads are capped at the audited v2 limit of 65535 plaintext bytes, which is what
the official test vectors (paulmillr/nip44) require; the later extended 6-byte length prefix is not
produced and is rejected when read. Every failure raises Nip44Error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from coincurve import PublicKey
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from core.trade.errors import Nip44Error, NostrError
from core.trade.nostr.keys import SECP256K1_N, NostrKey, parse_xonly

VERSION = 2
SALT = b"nip44-v2"
MIN_PLAINTEXT_SIZE = 1
MAX_PLAINTEXT_SIZE = 65535
#: Base64 sizes of the smallest (99 bytes) and largest (65603 bytes) raw payload.
MIN_PAYLOAD_CHARS = 132
MAX_PAYLOAD_CHARS = 87472
MIN_RAW_SIZE = 99
MAX_RAW_SIZE = 65603


def _secret_bytes(secret: bytes | NostrKey) -> bytes:
    raw = secret.secret_bytes() if isinstance(secret, NostrKey) else secret
    if not isinstance(raw, bytes | bytearray) or len(raw) != 32:
        raise Nip44Error("secret key must be 32 bytes")
    if not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
        raise Nip44Error("secret key out of range")
    return bytes(raw)


def shared_x(secret: bytes | NostrKey, peer_xonly: str | bytes) -> bytes:
    """The unhashed x coordinate of secret·P where P is the even-y lift of `peer_xonly`."""
    priv = _secret_bytes(secret)
    try:
        peer = parse_xonly(peer_xonly)
    except NostrError as exc:
        raise Nip44Error(f"invalid public key: {exc}") from exc
    try:
        point = PublicKey(b"\x02" + peer).multiply(priv)
    except ValueError as exc:  # unreachable for checked inputs; kept so nothing foreign escapes
        raise Nip44Error("ECDH failed") from exc
    return point.format(compressed=True)[1:]


def conversation_key(secret: bytes | NostrKey, peer_xonly: str | bytes) -> bytes:
    """The 32-byte conversation key between `secret` and `peer_xonly` (same from either side)."""
    return hmac.new(SALT, shared_x(secret, peer_xonly), hashlib.sha256).digest()  # HKDF-extract


def message_keys(conv_key: bytes, nonce: bytes) -> tuple[bytes, bytes, bytes]:
    """(chacha_key 32, chacha_nonce 12, hmac_key 32) from HKDF-expand(conv_key, info=nonce, 76)."""
    if len(conv_key) != 32:
        raise Nip44Error("conversation key must be 32 bytes")
    if len(nonce) != 32:
        raise Nip44Error("nonce must be 32 bytes")
    keys = HKDFExpand(algorithm=hashes.SHA256(), length=76, info=bytes(nonce)).derive(bytes(conv_key))
    return keys[:32], keys[32:44], keys[44:76]


def calc_padded_len(unpadded_len: int) -> int:
    """Padded length per NIP-44: 32 bytes minimum, then power-of-two-sized chunks."""
    if unpadded_len < 1:
        raise Nip44Error("plaintext length must be positive")
    if unpadded_len <= 32:
        return 32
    next_power = 1 << ((unpadded_len - 1).bit_length())  # 1 << (floor(log2(len - 1)) + 1)
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((unpadded_len - 1) // chunk + 1)


def pad(plaintext: str) -> bytes:
    """u16 big-endian length, the UTF-8 plaintext, zeros up to calc_padded_len."""
    try:
        raw = plaintext.encode("utf-8")
    except (UnicodeEncodeError, AttributeError) as exc:
        raise Nip44Error("plaintext must be a valid Unicode string") from exc
    if not MIN_PLAINTEXT_SIZE <= len(raw) <= MAX_PLAINTEXT_SIZE:
        raise Nip44Error("invalid plaintext length")
    return len(raw).to_bytes(2, "big") + raw + bytes(calc_padded_len(len(raw)) - len(raw))


def unpad(padded: bytes) -> str:
    """Inverse of pad; checks the length prefix and the exact padding size."""
    if len(padded) < 2:
        raise Nip44Error("invalid padding")
    unpadded_len = int.from_bytes(padded[:2], "big")
    unpadded = padded[2 : 2 + unpadded_len]
    if (
        unpadded_len == 0
        or len(unpadded) != unpadded_len
        or len(padded) != 2 + calc_padded_len(unpadded_len)
    ):
        raise Nip44Error("invalid padding")
    try:
        return unpadded.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Nip44Error("plaintext is not UTF-8") from exc


def _chacha20(key: bytes, nonce12: bytes, data: bytes) -> bytes:
    # cryptography's ChaCha20 takes a 16-byte nonce: 32-bit little-endian block counter (0) + 96-bit nonce.
    cipher = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None)
    enc = cipher.encryptor()
    return enc.update(data) + enc.finalize()


def _hmac_aad(key: bytes, message: bytes, aad: bytes) -> bytes:
    if len(aad) != 32:
        raise Nip44Error("AAD must be 32 bytes")
    return hmac.new(key, aad + message, hashlib.sha256).digest()


def encrypt(plaintext: str, conv_key: bytes, nonce: bytes | None = None) -> str:
    """Encrypt to a base64 payload; `nonce` (32 bytes) is random unless given (tests only)."""
    nonce = os.urandom(32) if nonce is None else nonce
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    ciphertext = _chacha20(chacha_key, chacha_nonce, pad(plaintext))
    mac = _hmac_aad(hmac_key, ciphertext, nonce)
    return base64.b64encode(bytes([VERSION]) + nonce + ciphertext + mac).decode("ascii")


def decode_payload(payload: str) -> tuple[bytes, bytes, bytes]:
    """Split a payload into (nonce, ciphertext, mac), checking version and sizes before decoding."""
    if not isinstance(payload, str):
        raise Nip44Error("payload must be a string")
    if len(payload) == 0 or payload[0] == "#":
        raise Nip44Error("unknown encryption version")
    if not MIN_PAYLOAD_CHARS <= len(payload) <= MAX_PAYLOAD_CHARS:
        raise Nip44Error("invalid payload size")
    try:
        data = base64.b64decode(payload.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise Nip44Error("invalid base64") from exc
    if not MIN_RAW_SIZE <= len(data) <= MAX_RAW_SIZE:
        raise Nip44Error("invalid data size")
    if data[0] != VERSION:
        raise Nip44Error(f"unknown encryption version {data[0]}")
    return data[1:33], data[33:-32], data[-32:]


def decrypt(payload: str, conv_key: bytes) -> str:
    """Decrypt a base64 payload; Nip44Error for a bad version, size, base64, MAC or padding."""
    nonce, ciphertext, mac = decode_payload(payload)
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    if not hmac.compare_digest(_hmac_aad(hmac_key, ciphertext, nonce), mac):
        raise Nip44Error("invalid MAC")
    return unpad(_chacha20(chacha_key, chacha_nonce, ciphertext))
