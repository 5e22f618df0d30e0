"""Encryption of seeds and private keys at rest.

A password is stretched with scrypt (memory-hard, in `hashlib`) into a 32-byte key, which seals the secret
with ChaCha20-Poly1305 (from `cryptography`) under a random 12-byte nonce. The associated data binds the
ciphertext to its record (wallet id + record name, see `record_aad`), so an envelope copied into another
record or wallet fails authentication. The scrypt parameters and salt travel inside the envelope so they
can be raised later without breaking old records. Nothing here is written by hand except the envelope layout.

Envelope (version 1), all integers big-endian:

    b"PWSE" | version (1) | mode (1) | mode-specific body

    mode 1 (scrypt + ChaCha20-Poly1305): log2(n) (1) | r (4) | p (4) | salt_len (1) | salt | nonce (12)
                                         | ciphertext + 16-byte tag
    mode 0 (no password, test wallets only): nonce (12) | ciphertext + tag under an all-zero key, which
                                         keeps tamper and record binding checks but gives NO secrecy.

The header bytes are part of the associated data too, so they cannot be edited without detection.
Secrets are handed back wrapped in `Secret`, whose repr/str never show the bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import time
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from core.wallet.errors import StorageError, WrongPassword

MAGIC = b"PWSE"
ENVELOPE_VERSION = 1
NONCE_LEN = 12
SALT_LEN = 16
KEY_LEN = 32
TAG_LEN = 16
MIN_KDF_SECONDS = 0.25

_AAD_PREFIX = b"peerwallet/secret/v1\x00"
# Refuse absurd parameters from a (possibly hostile) file before scrypt allocates memory for them.
_MAX_LOG2_N = 24
_MAX_R = 64
_MAX_P = 16
_MAX_MEM = 2**31 - 1


class Mode(IntEnum):
    """How an envelope's body is protected."""

    NO_PASSWORD = 0
    SCRYPT_CHACHA20POLY1305 = 1


class Secret(bytes):
    """Bytes that must never be shown: repr/str/format print "<secret>" instead of the contents."""

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "<secret>"


@dataclass(frozen=True)
class KdfParams:
    """scrypt cost parameters: n = 2**log2_n (memory and time), r (block size), p (parallelism)."""

    log2_n: int = 17  # 2**17 * 128 * r bytes = 128 MiB with r=8; ~0.35 s on the development machine
    r: int = 8
    p: int = 1

    @property
    def n(self) -> int:
        return 1 << self.log2_n

    def validate(self) -> None:
        """Raise StorageError if the parameters are outside what this code agrees to compute."""
        if not (1 <= self.log2_n <= _MAX_LOG2_N and 1 <= self.r <= _MAX_R and 1 <= self.p <= _MAX_P):
            raise StorageError(f"unsupported scrypt parameters (log2 n={self.log2_n}, r={self.r}, p={self.p})")
        if 128 * self.r * (self.n + self.p + 2) > _MAX_MEM:
            raise StorageError("scrypt parameters need more memory than allowed")


DEFAULT_KDF = KdfParams()


def record_aad(wallet_id: str, name: str) -> bytes:
    """Associated data binding an envelope to one record of one wallet."""
    return _AAD_PREFIX + wallet_id.encode() + b"\x00" + name.encode()


def _password_bytes(password: str | bytes) -> bytes:
    if isinstance(password, str):
        import unicodedata

        # NFKC so the same password typed on different keyboards/OSes derives the same key (as BIP39 does).
        return unicodedata.normalize("NFKC", password).encode()
    return bytes(password)


def derive_key(password: str | bytes, salt: bytes, params: KdfParams = DEFAULT_KDF) -> Secret:
    """scrypt(password, salt) -> 32-byte key. CPU- and memory-bound: call `derive_key_async` from a loop."""
    params.validate()
    key = hashlib.scrypt(
        _password_bytes(password), salt=salt, n=params.n, r=params.r, p=params.p, maxmem=_MAX_MEM, dklen=KEY_LEN
    )
    return Secret(key)


async def derive_key_async(password: str | bytes, salt: bytes, params: KdfParams = DEFAULT_KDF) -> Secret:
    """`derive_key` in the default executor so the event loop keeps running during the ~0.3 s of work."""
    return await asyncio.get_running_loop().run_in_executor(None, derive_key, password, salt, params)


def measure_kdf(params: KdfParams = DEFAULT_KDF) -> float:
    """Seconds one key derivation with `params` takes here."""
    start = time.perf_counter()
    derive_key(b"calibration", b"\x00" * SALT_LEN, params)
    return time.perf_counter() - start


def calibrate_kdf(min_seconds: float = MIN_KDF_SECONDS, start: KdfParams = DEFAULT_KDF) -> tuple[KdfParams, float]:
    """Smallest n (from `start` upward, doubling) whose derivation takes >= min_seconds; returns it and the time."""
    params = start
    while True:
        seconds = measure_kdf(params)
        if seconds >= min_seconds or params.log2_n >= _MAX_LOG2_N:
            return params, seconds
        params = KdfParams(params.log2_n + 1, params.r, params.p)


def _header(mode: Mode) -> bytes:
    return MAGIC + bytes((ENVELOPE_VERSION, mode))


def encrypt_secret(
    plaintext: bytes, password: str | bytes | None, aad: bytes, params: KdfParams = DEFAULT_KDF
) -> bytes:
    """Seal `plaintext` for storage; password None means the explicitly flagged no-password (test) mode."""
    nonce = os.urandom(NONCE_LEN)
    if password is None:
        head = _header(Mode.NO_PASSWORD) + nonce
        key = bytes(KEY_LEN)
    else:
        salt = os.urandom(SALT_LEN)
        head = (
            _header(Mode.SCRYPT_CHACHA20POLY1305)
            + struct.pack(">BIIB", params.log2_n, params.r, params.p, len(salt))
            + salt
            + nonce
        )
        key = derive_key(password, salt, params)
    return head + ChaCha20Poly1305(key).encrypt(nonce, bytes(plaintext), head + aad)


@dataclass(frozen=True)
class EnvelopeInfo:
    """The parsed, unauthenticated header of an envelope."""

    mode: Mode
    kdf: KdfParams | None
    salt: bytes
    nonce: bytes
    header: bytes
    sealed: bytes


def parse_envelope(envelope: bytes) -> EnvelopeInfo:
    """Split an envelope into header fields; raises StorageError (never struct/Index errors) if malformed."""
    data = bytes(envelope)
    if len(data) < 6 or data[:4] != MAGIC:
        raise StorageError("not a Peerwallet secret envelope")
    if data[4] != ENVELOPE_VERSION:
        raise StorageError(f"secret envelope version {data[4]} is not supported (newer Peerwallet?)")
    try:
        mode = Mode(data[5])
    except ValueError:
        raise StorageError(f"unknown secret envelope mode {data[5]}") from None
    pos = 6
    kdf: KdfParams | None = None
    salt = b""
    if mode is Mode.SCRYPT_CHACHA20POLY1305:
        if len(data) < pos + 10:
            raise StorageError("secret envelope is truncated")
        log2_n, r, p, salt_len = struct.unpack_from(">BIIB", data, pos)
        pos += 10
        kdf = KdfParams(log2_n, r, p)
        kdf.validate()
        salt = data[pos : pos + salt_len]
        pos += salt_len
    nonce = data[pos : pos + NONCE_LEN]
    pos += NONCE_LEN
    if len(data) < pos + TAG_LEN:
        raise StorageError("secret envelope is truncated")
    return EnvelopeInfo(mode, kdf, salt, nonce, data[:pos], data[pos:])


def is_encrypted(envelope: bytes) -> bool:
    """True if the envelope needs a password (False for the no-password test mode)."""
    return parse_envelope(envelope).mode is not Mode.NO_PASSWORD


def decrypt_secret(envelope: bytes, password: str | bytes | None, aad: bytes) -> Secret:
    """Open an envelope made by `encrypt_secret` with the same aad.

    Raises WrongPassword if authentication fails (wrong password, other record, or altered bytes) and
    StorageError if the envelope is malformed or a password is missing. The password is not needed (and
    ignored) for no-password envelopes.
    """
    info = parse_envelope(envelope)
    if info.mode is Mode.NO_PASSWORD:
        key = bytes(KEY_LEN)
    else:
        if password is None:
            raise StorageError("this secret is encrypted; a password is needed")
        assert info.kdf is not None
        key = derive_key(password, info.salt, info.kdf)
    try:
        plain = ChaCha20Poly1305(key).decrypt(info.nonce, info.sealed, info.header + aad)
    except InvalidTag:
        what = "the record was altered" if info.mode is Mode.NO_PASSWORD else "wrong password"
        raise WrongPassword(
            f"cannot decrypt the secret: {what} (or the data belongs to another record or was altered)"
        ) from None
    return Secret(plain)


async def encrypt_secret_async(
    plaintext: bytes, password: str | bytes | None, aad: bytes, params: KdfParams = DEFAULT_KDF
) -> bytes:
    """`encrypt_secret` run in the default executor (the KDF would otherwise block the loop)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, encrypt_secret, plaintext, password, aad, params)


async def decrypt_secret_async(envelope: bytes, password: str | bytes | None, aad: bytes) -> Secret:
    """`decrypt_secret` run in the default executor (the KDF would otherwise block the loop)."""
    return await asyncio.get_running_loop().run_in_executor(None, decrypt_secret, envelope, password, aad)


def needs_rehash(envelope: bytes, params: KdfParams = DEFAULT_KDF) -> bool:
    """True if an encrypted envelope uses weaker scrypt parameters than `params` (re-encrypt on next unlock)."""
    info = parse_envelope(envelope)
    if info.kdf is None:
        return False
    return (info.kdf.log2_n, info.kdf.r, info.kdf.p) < (params.log2_n, params.r, params.p)
