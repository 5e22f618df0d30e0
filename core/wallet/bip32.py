"""BIP32 hierarchical deterministic keys: master key from a seed, CKDpriv/CKDpub, paths, and the
78-byte extended-key serialisation (xpub/xprv, tpub/tprv and SLIP-132 ypub/zpub/upub/vpub).

Point arithmetic is libsecp256k1's through coincurve (pubkey parse, tweak-add, serialise); only
the BIP32 bookkeeping, which no dependency provides, is written here. An `ExtendedKey` is
network-independent: the network (and SLIP-132 script kind) only matters when printing or parsing.
Derivation of many children from one parent is cheap: the parent's parsed point and fingerprint
are cached on the (frozen) key object.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cached_property

from coincurve import PrivateKey, PublicKey

from core.consensus.hashes import hash160
from core.consensus.network import MAINNET, TESTNET, Network
from core.crypto.base58 import b58check_decode, b58check_encode
from core.crypto.errors import Base58Error
from core.wallet.errors import Bip32Error

HARDENED = 0x80000000
#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Serialised extended key: version(4) depth(1) parent fingerprint(4) child number(4) chain code(32) key(33).
EXTKEY_SIZE = 78
_MAX_DEPTH = 255
_MASTER_HMAC_KEY = b"Bitcoin seed"


class Slip132(enum.Enum):
    """SLIP-132 script kinds whose version bytes some wallets use instead of xpub/tpub."""

    #: BIP49 P2WPKH nested in P2SH: ypub/yprv (main), upub/uprv (test).
    P2WPKH_P2SH = "p2wpkh-p2sh"
    #: BIP84 native P2WPKH: zpub/zprv (main), vpub/vprv (test).
    P2WPKH = "p2wpkh"


@dataclass(frozen=True, slots=True)
class ExtendedKeyVersion:
    """What the 4 version bytes of a serialised key say. `network` is MAINNET or TESTNET: every test
    network (testnet4, signet, regtest) shares testnet's versions, so they cannot be told apart."""

    version: bytes
    network: Network
    is_private: bool
    slip132: Slip132 | None = None


def _versions() -> dict[bytes, ExtendedKeyVersion]:
    table: list[tuple[str, Network, bool, Slip132 | None]] = [
        ("049d7cb2", MAINNET, False, Slip132.P2WPKH_P2SH),  # ypub
        ("049d7878", MAINNET, True, Slip132.P2WPKH_P2SH),  # yprv
        ("04b24746", MAINNET, False, Slip132.P2WPKH),  # zpub
        ("04b2430c", MAINNET, True, Slip132.P2WPKH),  # zprv
        ("044a5262", TESTNET, False, Slip132.P2WPKH_P2SH),  # upub
        ("044a4e28", TESTNET, True, Slip132.P2WPKH_P2SH),  # uprv
        ("045f1cf6", TESTNET, False, Slip132.P2WPKH),  # vpub
        ("045f18bc", TESTNET, True, Slip132.P2WPKH),  # vprv
    ]
    out = {}
    for net in (MAINNET, TESTNET):
        out[net.ext_public_key_prefix] = ExtendedKeyVersion(net.ext_public_key_prefix, net, False)
        out[net.ext_secret_key_prefix] = ExtendedKeyVersion(net.ext_secret_key_prefix, net, True)
    for hexv, net, private, kind in table:
        out[bytes.fromhex(hexv)] = ExtendedKeyVersion(bytes.fromhex(hexv), net, private, kind)
    return out


_VERSIONS = _versions()
_SLIP132_VERSION = {(v.network.is_test, v.is_private, v.slip132): v.version for v in _VERSIONS.values() if v.slip132}


def version_bytes(network: Network, private: bool, slip132: Slip132 | None = None) -> bytes:
    """The 4 version bytes for a key of this kind on `network`."""
    if slip132 is None:
        return network.ext_secret_key_prefix if private else network.ext_public_key_prefix
    return _SLIP132_VERSION[(network.is_test, private, Slip132(slip132))]


_PATH_STEP = re.compile(r"(\d{1,10})([hH']?)")


def parse_path(text: str) -> list[int]:
    """Child numbers of a path such as "m/84h/0h/0h", "84'/0'/1" or "m" (hardened steps get
    HARDENED added). Raises Bip32Error for anything else."""
    if not isinstance(text, str):
        raise Bip32Error("a derivation path must be text")
    if text in ("", "m", "M"):
        return []
    parts = text.split("/")
    if parts[0] in ("m", "M"):
        parts = parts[1:]
    out = []
    for pos, part in enumerate(parts, start=1):
        m = _PATH_STEP.fullmatch(part)
        if m is None:
            raise Bip32Error(f"path step {pos} {part[:16]!r} is not a number with an optional h or '")
        index = int(m.group(1))
        if index >= HARDENED:
            raise Bip32Error(f"path step {pos} {index} is out of range (must be below 2^31)")
        out.append(index | HARDENED if m.group(2) else index)
    return out


def format_path(indexes: list[int] | tuple[int, ...], hardened_marker: str = "h") -> str:
    """ "m/84h/0h/0h" for child numbers [84|H, 0|H, 0|H]."""
    steps = (f"{i & ~HARDENED}{hardened_marker}" if i & HARDENED else str(i) for i in indexes)
    return "/".join(("m", *steps))


def _hmac_sha512(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, hashlib.sha512)


def _check_secret(secret: bytes) -> int:
    k = int.from_bytes(secret, "big")
    if not 0 < k < SECP256K1_N:
        raise Bip32Error("private key is not in the range 1..n-1")
    return k


def _parse_point(pubkey: bytes) -> PublicKey:
    if len(pubkey) != 33 or pubkey[0] not in (2, 3):
        raise Bip32Error("public key must be 33 bytes starting with 02 or 03")
    try:
        return PublicKey(pubkey)
    except ValueError:
        raise Bip32Error("public key is not a point on the curve") from None


@dataclass(frozen=True)
class ExtendedKey:
    """A BIP32 extended key. `key` is the 32-byte secret of a private key or the 33-byte compressed
    public key of a public one; the secret never appears in repr/str."""

    depth: int
    parent_fingerprint: bytes
    child_number: int
    chain_code: bytes
    key: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.depth <= _MAX_DEPTH:
            raise Bip32Error("depth must be 0..255")
        if len(self.parent_fingerprint) != 4 or len(self.chain_code) != 32:
            raise Bip32Error("parent fingerprint must be 4 bytes and chain code 32 bytes")
        if not 0 <= self.child_number <= 0xFFFFFFFF:
            raise Bip32Error("child number must be 0..2^32-1")
        if self.depth == 0 and (self.parent_fingerprint != bytes(4) or self.child_number != 0):
            raise Bip32Error("a depth-0 key must have zero parent fingerprint and child number")
        if len(self.key) == 32:
            _check_secret(self.key)
        elif len(self.key) == 33:
            self.__dict__["_point"] = _parse_point(self.key)  # validates, and caches for derivation
        else:
            raise Bip32Error("key must be a 32-byte secret or a 33-byte public key")

    @classmethod
    def _trusted(
        cls, depth: int, parent_fingerprint: bytes, child_number: int, chain_code: bytes, key: bytes
    ) -> ExtendedKey:
        # Derived children are valid by construction; skipping __post_init__ keeps derivation fast.
        obj = object.__new__(cls)
        d = obj.__dict__
        d.update(
            depth=depth,
            parent_fingerprint=parent_fingerprint,
            child_number=child_number,
            chain_code=chain_code,
            key=key,
        )
        return obj

    def __repr__(self) -> str:
        kind = "private" if self.is_private else "public"
        return (
            f"ExtendedKey({kind}, depth={self.depth}, parent_fingerprint={self.parent_fingerprint.hex()}, "
            f"child_number={self.child_number}, fingerprint={self.fingerprint.hex()})"
        )

    __str__ = __repr__

    # -- properties -------------------------------------------------------------------------------

    @property
    def is_private(self) -> bool:
        """True if this key holds the secret."""
        return len(self.key) == 32

    @cached_property
    def _point(self) -> PublicKey:
        return PrivateKey(self.key).public_key if self.is_private else PublicKey(self.key)

    @cached_property
    def pubkey(self) -> bytes:
        """The 33-byte compressed public key."""
        return self.key if not self.is_private else self._point.format(compressed=True)

    @property
    def secret(self) -> bytes:
        """The 32-byte private key; Bip32Error for a public extended key."""
        if not self.is_private:
            raise Bip32Error("a public extended key has no secret")
        return self.key

    @cached_property
    def identifier(self) -> bytes:
        """Hash160 of the public key (BIP32 key identifier)."""
        return hash160(self.pubkey)

    @property
    def fingerprint(self) -> bytes:
        """First 4 bytes of the identifier."""
        return self.identifier[:4]

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, seed: bytes) -> ExtendedKey:
        """The master key of a 16..64-byte seed (I = HMAC-SHA512("Bitcoin seed", seed)). Raises
        Bip32Error for a seed of another length or the (astronomically unlikely) invalid master."""
        seed = bytes(seed)
        if not 16 <= len(seed) <= 64:
            raise Bip32Error(f"seed must be 16 to 64 bytes, not {len(seed)}")
        i = _hmac_sha512(_MASTER_HMAC_KEY, seed)
        _check_secret(i[:32])
        return cls._trusted(0, bytes(4), 0, i[32:], i[:32])

    def neuter(self) -> ExtendedKey:
        """The public extended key (N() in BIP32); a public key is returned unchanged."""
        if not self.is_private:
            return self
        pub = ExtendedKey._trusted(self.depth, self.parent_fingerprint, self.child_number, self.chain_code, self.pubkey)
        pub.__dict__["_point"] = self._point
        if "identifier" in self.__dict__:
            pub.__dict__["identifier"] = self.identifier
        return pub

    # -- derivation -------------------------------------------------------------------------------

    def derive(self, index: int) -> ExtendedKey:
        """Child `index` (add HARDENED for a hardened child): CKDpriv for a private key, CKDpub for
        a public one. Raises Bip32Error for a hardened child of a public key, a bad index, depth
        overflow, or an invalid child (IL >= n or a zero key/infinity): BIP32 says to move on to the
        next index then, which is the caller's decision."""
        if not isinstance(index, int) or not 0 <= index <= 0xFFFFFFFF:
            raise Bip32Error(f"child index {index!r} is out of range 0..2^32-1")
        if self.depth >= _MAX_DEPTH:
            raise Bip32Error("cannot derive below depth 255")
        hardened = index >= HARDENED
        if hardened:
            if not self.is_private:
                raise Bip32Error("cannot derive a hardened child from a public key")
            data = b"\x00" + self.key + index.to_bytes(4, "big")
        else:
            data = self.pubkey + index.to_bytes(4, "big")
        i = _hmac_sha512(self.chain_code, data)
        il, chain_code = i[:32], i[32:]
        tweak = int.from_bytes(il, "big")
        if tweak >= SECP256K1_N:
            raise Bip32Error(f"child {index} is invalid (IL >= n); use the next index")
        if self.is_private:
            child = (tweak + int.from_bytes(self.key, "big")) % SECP256K1_N
            if child == 0:
                raise Bip32Error(f"child {index} is invalid (zero key); use the next index")
            return ExtendedKey._trusted(
                self.depth + 1, self.fingerprint, index, chain_code, child.to_bytes(32, "big")
            )
        try:
            point = self._point.add(il)
        except ValueError:  # the sum is the point at infinity
            raise Bip32Error(f"child {index} is invalid (point at infinity); use the next index") from None
        key = ExtendedKey._trusted(
            self.depth + 1, self.fingerprint, index, chain_code, point.format(compressed=True)
        )
        key.__dict__["_point"] = point
        return key

    def derive_path(self, path: str | list[int] | tuple[int, ...]) -> ExtendedKey:
        """Derive along a path ("m/84h/0h/0h", "84'/0'/0'" or child numbers), relative to this key."""
        key = self
        for index in parse_path(path) if isinstance(path, str) else path:
            key = key.derive(index)
        return key

    # -- serialisation ----------------------------------------------------------------------------

    def serialize(self, version: bytes) -> bytes:
        """The 78-byte serialisation with the given 4 version bytes."""
        keydata = b"\x00" + self.key if self.is_private else self.key
        return (
            bytes(version)
            + bytes((self.depth,))
            + self.parent_fingerprint
            + self.child_number.to_bytes(4, "big")
            + self.chain_code
            + keydata
        )

    def to_string(self, network: Network = MAINNET, slip132: Slip132 | None = None) -> str:
        """Base58Check text: xprv/xpub (tprv/tpub on test networks), or with `slip132` the
        ypub/zpub (upub/vpub) forms."""
        return b58check_encode(self.serialize(version_bytes(network, self.is_private, slip132)))

    @classmethod
    def parse(cls, text: str) -> tuple[ExtendedKey, ExtendedKeyVersion]:
        """Parse xprv/xpub/tprv/tpub or a SLIP-132 form; returns the key and what its version bytes
        say. Raises Bip32Error for a bad encoding or checksum, unknown version, a key type that does
        not match the version, zero depth with non-zero parent fingerprint or index, an invalid
        public key, or a private key outside 1..n-1 (BIP32 test vector 5)."""
        if not isinstance(text, str):
            raise Bip32Error("an extended key must be text")
        try:
            raw = b58check_decode(text, max_len=EXTKEY_SIZE)
        except Base58Error as err:
            raise Bip32Error(f"extended key is not valid base58check: {err}") from None
        if len(raw) != EXTKEY_SIZE:
            raise Bip32Error(f"extended key must be {EXTKEY_SIZE} bytes, not {len(raw)}")
        return cls.deserialize(raw)

    @classmethod
    def deserialize(cls, raw: bytes) -> tuple[ExtendedKey, ExtendedKeyVersion]:
        """Parse the 78-byte serialisation (see `parse`)."""
        raw = bytes(raw)
        if len(raw) != EXTKEY_SIZE:
            raise Bip32Error(f"extended key must be {EXTKEY_SIZE} bytes, not {len(raw)}")
        version = _VERSIONS.get(raw[:4])
        if version is None:
            raise Bip32Error(f"unknown extended key version {raw[:4].hex()}")
        keydata = raw[45:78]
        if version.is_private:
            if keydata[0] != 0:
                raise Bip32Error("private key version but the key data is not 00 followed by a secret")
            key = keydata[1:]
        else:
            if keydata[0] not in (2, 3):
                raise Bip32Error(f"invalid public key prefix {keydata[0]:02x}")
            key = keydata
        ext = cls(
            depth=raw[4],
            parent_fingerprint=raw[5:9],
            child_number=int.from_bytes(raw[9:13], "big"),
            chain_code=raw[13:45],
            key=key,
        )
        return ext, version
