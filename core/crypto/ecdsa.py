"""ECDSA over secp256k1 as Bitcoin Core uses it (CPubKey::Verify, CheckLowS, CKey::Sign).

The curve arithmetic is libsecp256k1's, reached through coincurve and its cffi module. Only the
lax DER parser is ported by hand: it lives in libsecp256k1's contrib/lax_der_parsing.c, which is
not compiled into the library, yet consensus depends on its exact leniency (pre-BIP66 signatures).
"""

from __future__ import annotations

from coincurve import PrivateKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from core.crypto.errors import CryptoError, InvalidKey, InvalidSignature

COMPRESSED_PUBKEY_SIZE = 33
PUBKEY_SIZE = 65
#: Width of size_t on the platforms Core ships for; lax_der_parsing.c rejects length fields this wide.
_SIZEOF_SIZE_T = 8

_CTX = GLOBAL_CONTEXT.ctx
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = SECP256K1_ORDER // 2


def _read_length(sig: bytes, pos: int) -> tuple[int, int] | None:
    """Parse one DER integer length the lax way; returns (length, new pos) or None."""
    n = len(sig)
    if pos == n:
        return None
    lenbyte = sig[pos]
    pos += 1
    if not lenbyte & 0x80:
        return lenbyte, pos
    lenbyte -= 0x80
    if lenbyte > n - pos:
        return None
    while lenbyte > 0 and sig[pos] == 0:
        pos += 1
        lenbyte -= 1
    if lenbyte >= _SIZEOF_SIZE_T:
        return None
    length = 0
    while lenbyte > 0:
        length = (length << 8) + sig[pos]
        pos += 1
        lenbyte -= 1
    return length, pos


def parse_der_lax(sig: bytes) -> tuple[int, int] | None:
    """Parse a DER-ish ECDSA signature exactly like libsecp256k1's ecdsa_signature_parse_der_lax.

    Returns None where the C function returns 0. Like the C function, a signature whose R or S is
    wider than 32 bytes or not below the group order parses "successfully" as (0, 0), which no
    verification accepts."""
    n = len(sig)
    pos = 0
    # Sequence tag and length; the sequence length itself is skipped, not checked.
    if pos == n or sig[pos] != 0x30:
        return None
    pos += 1
    if pos == n:
        return None
    lenbyte = sig[pos]
    pos += 1
    if lenbyte & 0x80:
        lenbyte -= 0x80
        if lenbyte > n - pos:
            return None
        pos += lenbyte

    # Integer tag and length for R.
    if pos == n or sig[pos] != 0x02:
        return None
    pos += 1
    got = _read_length(sig, pos)
    if got is None:
        return None
    rlen, pos = got
    if rlen > n - pos:
        return None
    rpos = pos
    pos += rlen

    # Integer tag and length for S.
    if pos == n or sig[pos] != 0x02:
        return None
    pos += 1
    got = _read_length(sig, pos)
    if got is None:
        return None
    slen, pos = got
    if slen > n - pos:
        return None
    spos = pos

    r_bytes = sig[rpos : rpos + rlen].lstrip(b"\x00")
    s_bytes = sig[spos : spos + slen].lstrip(b"\x00")
    if len(r_bytes) > 32 or len(s_bytes) > 32:
        return 0, 0
    r, s = int.from_bytes(r_bytes, "big"), int.from_bytes(s_bytes, "big")
    if r >= SECP256K1_ORDER or s >= SECP256K1_ORDER:  # parse_compact's overflow check
        return 0, 0
    return r, s


def _parse_compact(compact64: bytes):  # -> secp256k1_ecdsa_signature* | None
    sig = ffi.new("secp256k1_ecdsa_signature *")
    if not lib.secp256k1_ecdsa_signature_parse_compact(_CTX, sig, compact64):
        return None
    return sig


def _lax_signature(sig_der: bytes):  # -> secp256k1_ecdsa_signature* | None
    """Lax-parse and normalize to low S in one step (what Verify needs)."""
    n = len(sig_der)
    len_r = sig_der[3] if n > 3 else 0
    if (
        n >= 8
        and sig_der[0] == 0x30
        and sig_der[1] < 0x80  # short-form sequence length (its value is ignored, as lax does)
        and sig_der[2] == 0x02
        and 0 < len_r <= 33
        and n > len_r + 6
        and sig_der[4 + len_r] == 0x02
        and 0 < sig_der[5 + len_r] <= 33
        and n == 6 + len_r + sig_der[5 + len_r]
    ):
        # Plain DER shape (nearly every signature): the lax parser would read the same R and S.
        r = int.from_bytes(sig_der[4 : 4 + len_r], "big")
        s = int.from_bytes(sig_der[6 + len_r :], "big")
        if r >= SECP256K1_ORDER or s >= SECP256K1_ORDER:
            r = s = 0
    else:
        rs = parse_der_lax(sig_der)
        if rs is None:
            return None
        r, s = rs
    if s > _HALF_ORDER:
        s = SECP256K1_ORDER - s
    return _parse_compact(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _parse_pubkey(pubkey: bytes):  # -> secp256k1_pubkey* | None
    # ec_pubkey_parse accepts 33-byte 02/03, 65-byte 04 and hybrid 06/07 keys, as CPubKey does.
    if len(pubkey) not in (COMPRESSED_PUBKEY_SIZE, PUBKEY_SIZE):
        return None
    pk = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_parse(_CTX, pk, pubkey, len(pubkey)):
        return None
    return pk


def ecdsa_verify(pubkey: bytes, sig_der: bytes, msg32: bytes) -> bool:
    """Verify like Core's CPubKey::Verify: lax-DER parse, normalize to low S, then verify.

    Returns False (never raises) for a bad key, signature or message length."""
    if type(msg32) is not bytes:
        if not isinstance(msg32, bytearray):
            return False
        msg32 = bytes(msg32)
    if len(msg32) != 32:
        return False
    pk = _parse_pubkey(pubkey if type(pubkey) is bytes else bytes(pubkey))
    if pk is None:
        return False
    # libsecp256k1 only accepts low-S; consensus accepts both, so _lax_signature normalizes (as Core does).
    sig = _lax_signature(sig_der if type(sig_der) is bytes else bytes(sig_der))
    if sig is None:
        return False
    return bool(lib.secp256k1_ecdsa_verify(_CTX, sig, msg32, pk))


def check_low_s(sig_der: bytes) -> bool:
    """Core's CPubKey::CheckLowS: the lax-parsed signature must already be normalized (S ≤ n/2)."""
    rs = parse_der_lax(bytes(sig_der))
    if rs is None:
        return False
    return rs[1] <= _HALF_ORDER


def ecdsa_sign(privkey32: bytes, msg32: bytes) -> bytes:
    """Sign a 32-byte digest: deterministic RFC6979 nonce, low-S, strict DER output (Core's CKey::Sign
    without grinding). Raises InvalidKey for an invalid secret, CryptoError for a bad digest."""
    if len(msg32) != 32:
        raise CryptoError("message digest must be 32 bytes")
    key = _private_key(privkey32)
    try:
        return key.sign(bytes(msg32), hasher=None)
    except ValueError as exc:  # pragma: no cover - libsecp256k1 cannot fail for a valid key
        raise InvalidSignature(str(exc)) from exc


def _private_key(privkey32: bytes) -> PrivateKey:
    if len(privkey32) != 32:
        raise InvalidKey("secret key must be 32 bytes")
    if not lib.secp256k1_ec_seckey_verify(_CTX, bytes(privkey32)):
        raise InvalidKey("secret key out of range")
    return PrivateKey(bytes(privkey32))


def is_valid_seckey(privkey32: bytes) -> bool:
    """True if `privkey32` is 32 bytes encoding an integer in [1, n-1] (Core's CKey::Check)."""
    return len(privkey32) == 32 and bool(lib.secp256k1_ec_seckey_verify(_CTX, bytes(privkey32)))


def pubkey_from_privkey(privkey32: bytes, compressed: bool = True) -> bytes:
    """The serialized public key of a secret key (33 bytes compressed, 65 uncompressed)."""
    return _private_key(privkey32).public_key.format(compressed=compressed)


def is_valid_pubkey(pubkey: bytes) -> bool:
    """True if libsecp256k1 parses `pubkey` (compressed, uncompressed or hybrid) as a curve point."""
    return _parse_pubkey(bytes(pubkey)) is not None


def is_compressed_or_uncompressed_pubkey(pubkey: bytes) -> bool:
    """Core's IsCompressedOrUncompressedPubKey: 33 bytes starting 02/03 or 65 bytes starting 04.

    An encoding check only (SCRIPT_VERIFY_STRICTENC); the point is not checked to be on the curve."""
    if len(pubkey) < COMPRESSED_PUBKEY_SIZE:
        return False
    if pubkey[0] == 0x04:
        return len(pubkey) == PUBKEY_SIZE
    if pubkey[0] in (0x02, 0x03):
        return len(pubkey) == COMPRESSED_PUBKEY_SIZE
    return False


def is_compressed_pubkey(pubkey: bytes) -> bool:
    """Core's IsCompressedPubKey: 33 bytes starting 02 or 03 (SCRIPT_VERIFY_WITNESS_PUBKEYTYPE)."""
    return len(pubkey) == COMPRESSED_PUBKEY_SIZE and pubkey[0] in (0x02, 0x03)
