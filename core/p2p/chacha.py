"""BIP324's rekeying ciphers: FSChaCha20 (packet lengths) and FSChaCha20Poly1305 (packet contents).

The primitives come from `cryptography` (RFC 8439 ChaCha20 and ChaCha20Poly1305); only the
forward-secure wrappers are written here, because no library offers BIP324's nonce layout and
rekeying schedule. `cryptography`'s raw ChaCha20 takes a 16-byte value that is the 4-byte
little-endian block counter followed by RFC 8439's 12-byte nonce.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from core.p2p.errors import DecryptError

REKEY_INTERVAL = 224
"""Messages (packets, or length chunks) encrypted under one key before the key is replaced."""

KEY_SIZE = 32
TAG_SIZE = 16  # Poly1305 tag appended by the AEAD

_REKEY_PACKET_FIELD = b"\xff\xff\xff\xff"  # the nonce's first 32 bits while deriving the next key


def _chacha20_stream(key: bytes, nonce12: bytes, block_counter: int = 0) -> CipherContext:
    """A ChaCha20 keystream XOR-er starting at `block_counter`; it keeps its position across calls."""
    return Cipher(
        algorithms.ChaCha20(key, block_counter.to_bytes(4, "little") + nonce12), mode=None
    ).encryptor()


class FSChaCha20:
    """Forward-secure ChaCha20 stream cipher for the 3-byte length fields.

    One keystream serves 224 consecutive chunks (the same nonce: 4 zero bytes and the 64-bit
    little-endian rekey count) so no keystream is wasted per packet; after the 224th chunk the
    next 32 keystream bytes become the new key and the block counter restarts at 0.
    Encryption and decryption are the same operation.
    """

    __slots__ = ("_chunk_counter", "_key", "_rekey_counter", "_stream")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("FSChaCha20 needs a 32-byte key")
        self._key = bytes(key)
        self._chunk_counter = 0
        self._rekey_counter = 0
        self._stream = self._new_stream()

    def _new_stream(self) -> CipherContext:
        return _chacha20_stream(self._key, bytes(4) + self._rekey_counter.to_bytes(8, "little"))

    def crypt(self, chunk: bytes) -> bytes:
        """XOR `chunk` with the next keystream bytes, rekeying after every 224th chunk."""
        out = self._stream.update(bytes(chunk))
        self._chunk_counter += 1
        if self._chunk_counter == REKEY_INTERVAL:
            # The keystream continues where the last chunk ended; its next 32 bytes are the new key.
            self._key = self._stream.update(bytes(KEY_SIZE))
            self._chunk_counter = 0
            self._rekey_counter += 1
            self._stream = self._new_stream()
        return out


class FSChaCha20Poly1305:
    """Forward-secure ChaCha20Poly1305 AEAD for packet contents; one instance per direction.

    Message i under the current key uses the 12-byte nonce LE32(i) || LE64(rekey count). After
    224 messages the new key is the first 32 bytes of the AEAD encryption of 32 zero bytes with
    nonce LE32(0xffffffff) || LE64(rekey count) — i.e. ChaCha20 keystream block 1 under that
    nonce, which is what we compute directly (the Poly1305 tag would be discarded anyway).
    """

    __slots__ = ("_aead", "_key", "_packet_counter", "_rekey_counter")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("FSChaCha20Poly1305 needs a 32-byte key")
        self._key = bytes(key)
        self._aead = ChaCha20Poly1305(self._key)
        self._packet_counter = 0
        self._rekey_counter = 0

    def _nonce(self) -> bytes:
        return self._packet_counter.to_bytes(4, "little") + self._rekey_counter.to_bytes(8, "little")

    def _next_message(self) -> None:
        self._packet_counter += 1
        if self._packet_counter == REKEY_INTERVAL:
            nonce = _REKEY_PACKET_FIELD + self._rekey_counter.to_bytes(8, "little")
            # AEAD encryption keystream starts at block 1 (block 0 is the Poly1305 key).
            self._key = _chacha20_stream(self._key, nonce, block_counter=1).update(bytes(KEY_SIZE))
            self._aead = ChaCha20Poly1305(self._key)
            self._packet_counter = 0
            self._rekey_counter += 1

    def encrypt(self, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt and authenticate one message; returns ciphertext || 16-byte tag."""
        try:
            return self._aead.encrypt(self._nonce(), bytes(plaintext), bytes(aad))
        finally:
            self._next_message()

    def decrypt(self, aad: bytes, ciphertext: bytes) -> bytes:
        """Verify and decrypt one message; raises DecryptError if it does not authenticate.

        The message counter advances either way, as in BIP324's reference: after a failure the
        connection is unusable and must be closed.
        """
        try:
            if len(ciphertext) < TAG_SIZE:
                raise DecryptError("ciphertext shorter than the Poly1305 tag")
            return self._aead.decrypt(self._nonce(), bytes(ciphertext), bytes(aad))
        except InvalidTag:
            raise DecryptError("packet authentication failed") from None
        finally:
            self._next_message()
