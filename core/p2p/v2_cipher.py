"""BIP324Cipher: key derivation and packet encryption of the v2 encrypted transport.

Named and shaped after Bitcoin Core's `BIP324Cipher` (src/bip324.h). HKDF-SHA256 comes from
`cryptography`; the extract step is one HMAC, done with `hmac` so the six expansions share it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from core.p2p.chacha import TAG_SIZE, FSChaCha20, FSChaCha20Poly1305
from core.p2p.ellswift import ellswift_xdh_bip324
from core.p2p.errors import DecryptError

LENGTH_LEN = 3  # encrypted length field
HEADER_LEN = 1  # plaintext header byte, carrying the ignore bit
EXPANSION = LENGTH_LEN + HEADER_LEN + TAG_SIZE  # packet size minus contents size (20)
GARBAGE_TERMINATOR_LEN = 16
IGNORE_BIT = 0x80
MAX_CONTENTS_LEN = (1 << 24) - 1  # what a 3-byte length can say
SESSION_ID_LEN = 32

_HKDF_SALT_PREFIX = b"bitcoin_v2_shared_secret"


@dataclass(frozen=True, slots=True)
class BIP324Keys:
    """Everything HKDF derives from the ECDH secret, before it is split into send/receive sides."""

    initiator_l: bytes
    initiator_p: bytes
    responder_l: bytes
    responder_p: bytes
    initiator_garbage_terminator: bytes
    responder_garbage_terminator: bytes
    session_id: bytes


def derive_keys(shared_secret: bytes, magic: bytes) -> BIP324Keys:
    """HKDF-SHA256 with salt "bitcoin_v2_shared_secret" || network magic, as BIP324 specifies.

    The magic in the salt makes a connection between nodes of different networks fail at once.
    """
    prk = hmac.new(_HKDF_SALT_PREFIX + bytes(magic), bytes(shared_secret), hashlib.sha256).digest()

    def expand(info: str) -> bytes:
        return HKDFExpand(algorithm=SHA256(), length=32, info=info.encode()).derive(prk)

    terminators = expand("garbage_terminators")
    return BIP324Keys(
        initiator_l=expand("initiator_L"),
        initiator_p=expand("initiator_P"),
        responder_l=expand("responder_L"),
        responder_p=expand("responder_P"),
        initiator_garbage_terminator=terminators[:GARBAGE_TERMINATOR_LEN],
        responder_garbage_terminator=terminators[GARBAGE_TERMINATOR_LEN:],
        session_id=expand("session_id"),
    )


class BIP324Cipher:
    """The four ciphers, session id and garbage terminators of one side of a v2 connection.

    Build it with `initialize` once the peer's ElligatorSwift key is known (or with
    `from_shared_secret` when the ECDH secret is already at hand, as the test vectors do).
    """

    __slots__ = (
        "_recv_l",
        "_recv_p",
        "_send_l",
        "_send_p",
        "recv_garbage_terminator",
        "send_garbage_terminator",
        "session_id",
    )

    def __init__(self, keys: BIP324Keys, initiator: bool) -> None:
        if initiator:
            send_l, send_p, recv_l, recv_p = (
                keys.initiator_l,
                keys.initiator_p,
                keys.responder_l,
                keys.responder_p,
            )
            self.send_garbage_terminator = keys.initiator_garbage_terminator
            self.recv_garbage_terminator = keys.responder_garbage_terminator
        else:
            send_l, send_p, recv_l, recv_p = (
                keys.responder_l,
                keys.responder_p,
                keys.initiator_l,
                keys.initiator_p,
            )
            self.send_garbage_terminator = keys.responder_garbage_terminator
            self.recv_garbage_terminator = keys.initiator_garbage_terminator
        self._send_l = FSChaCha20(send_l)
        self._send_p = FSChaCha20Poly1305(send_p)
        self._recv_l = FSChaCha20(recv_l)
        self._recv_p = FSChaCha20Poly1305(recv_p)
        self.session_id = keys.session_id

    @classmethod
    def initialize(
        cls,
        privkey: bytes,
        ellswift_ours: bytes,
        ellswift_theirs: bytes,
        initiator: bool,
        magic: bytes,
    ) -> BIP324Cipher:
        """Run BIP324's ECDH with our key and the peer's encoding, then derive all keys."""
        ell_a, ell_b = (ellswift_ours, ellswift_theirs) if initiator else (ellswift_theirs, ellswift_ours)
        secret = ellswift_xdh_bip324(ell_a, ell_b, privkey, initiator)
        return cls.from_shared_secret(secret, initiator, magic)

    @classmethod
    def from_shared_secret(cls, shared_secret: bytes, initiator: bool, magic: bytes) -> BIP324Cipher:
        """Derive the ciphers from an already computed v2_ecdh secret."""
        return cls(derive_keys(shared_secret, magic), initiator)

    def encrypt(self, contents: bytes, aad: bytes = b"", ignore: bool = False) -> bytes:
        """Encrypt one packet: encrypted length || AEAD(header || contents), with `aad` authenticated."""
        if len(contents) > MAX_CONTENTS_LEN:
            raise ValueError("packet contents exceed 2**24-1 bytes")
        header = bytes([IGNORE_BIT if ignore else 0])
        # Same order as the BIP's reference: the AEAD first, then the length cipher.
        ciphertext = self._send_p.encrypt(aad, header + bytes(contents))
        enc_len = self._send_l.crypt(len(contents).to_bytes(LENGTH_LEN, "little"))
        return enc_len + ciphertext

    def decrypt_length(self, enc_len: bytes) -> int:
        """Decrypt a 3-byte length field: the contents length of the packet that follows it."""
        if len(enc_len) != LENGTH_LEN:
            raise DecryptError("length field must be 3 bytes")
        return int.from_bytes(self._recv_l.crypt(enc_len), "little")

    def decrypt(self, ciphertext: bytes, aad: bytes = b"") -> tuple[bool, bytes]:
        """Decrypt the rest of a packet (after its length); returns (ignore bit, contents).

        Raises DecryptError when authentication fails.
        """
        if len(ciphertext) < HEADER_LEN + TAG_SIZE:
            raise DecryptError("packet shorter than header and tag")
        plaintext = self._recv_p.decrypt(aad, ciphertext)
        return bool(plaintext[0] & IGNORE_BIT), plaintext[HEADER_LEN:]
