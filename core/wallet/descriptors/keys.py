"""Descriptor key expressions (BIP380 KEY, BIP386 x-only keys, BIP389 multipath).

A key expression is optional origin info `[fingerprint/path]` followed by a hex public key, a
WIF private key, or an extended key with derivation steps and an optional final `/*` or `/*h`.
The hardened marker (`h` or `'`) of every step is kept so printing gives back what was written.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from core.consensus.network import ALL_NETWORKS, Network
from core.crypto.ecdsa import is_valid_pubkey, pubkey_from_privkey
from core.crypto.errors import CryptoError
from core.crypto.wif import decode_wif, encode_wif
from core.wallet.bip32 import HARDENED, ExtendedKey
from core.wallet.errors import DescriptorError, WalletError

_HEX = re.compile(r"[0-9a-fA-F]*")
_DIGITS = re.compile(r"[0-9]+")
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{8}")


class KeyContext(enum.Enum):
    """Where a key appears; decides which key forms are allowed (Core's ParseScriptContext)."""

    TOP = "top"
    P2SH = "sh"
    P2WPKH = "wpkh"
    P2WSH = "wsh"
    P2TR = "tr"

    @property
    def needs_compressed(self) -> bool:
        return self in (KeyContext.P2WPKH, KeyContext.P2WSH, KeyContext.P2TR)


class DeriveType(enum.Enum):
    """The final step of an extended key: none, `/*` or `/*h`."""

    NO = ""
    UNHARDENED = "*"
    HARDENED = "*h"


@dataclass(frozen=True, slots=True)
class PathStep:
    """One derivation step; `marker` is "" for unhardened, else the hardened marker as written."""

    index: int  # includes the HARDENED bit
    marker: str = ""

    def __str__(self) -> str:
        return f"{self.index & ~HARDENED}{self.marker}"


def is_hex(text: str) -> bool:
    """Non-empty, even-length, hex digits only (bytes.fromhex alone would allow spaces)."""
    return bool(text) and len(text) % 2 == 0 and _HEX.fullmatch(text) is not None


def _parse_step(text: str, where: str) -> PathStep:
    marker = ""
    if text.endswith(("h", "'")):
        marker, text = text[-1], text[:-1]
    if not _DIGITS.fullmatch(text):
        raise DescriptorError(f"{where}: derivation step '{text}{marker}' is not a number with optional h or '")
    value = int(text)
    if value >= HARDENED:
        raise DescriptorError(f"{where}: derivation index {value} out of range (must be below 2^31)")
    return PathStep(value | (HARDENED if marker else 0), marker)


def _parse_path(steps: list[str], where: str) -> tuple[PathStep, ...]:
    return tuple(_parse_step(s, where) for s in steps)


def _path_str(path: tuple[PathStep, ...]) -> str:
    return "".join(f"/{s}" for s in path)


@dataclass(frozen=True, slots=True)
class KeyOrigin:
    """`[fingerprint/path]`: where the key came from (for PSBT/hardware-wallet metadata)."""

    fingerprint: bytes
    path: tuple[PathStep, ...]

    def __str__(self) -> str:
        return f"[{self.fingerprint.hex()}{_path_str(self.path)}]"

    @property
    def indexes(self) -> list[int]:
        return [s.index for s in self.path]


@dataclass(frozen=True, slots=True)
class DerivedKey:
    """A key at one index: public key as used in scripts, the secret if known, and its full origin."""

    pubkey: bytes  # 33 or 65 bytes (never x-only; callers drop the prefix byte for taproot)
    secret: bytes | None = field(repr=False)
    fingerprint: bytes | None
    path: tuple[int, ...]

    @property
    def xonly(self) -> bytes:
        return self.pubkey[1:33]


@dataclass(frozen=True, slots=True)
class ConstKey:
    """A hex public key or WIF private key (optionally with origin info)."""

    origin: KeyOrigin | None
    pubkey: bytes  # 33 or 65 bytes; x-only keys are stored with an 0x02 prefix and `xonly` set
    xonly: bool = False
    secret: bytes | None = field(default=None, repr=False)
    wif: str | None = field(default=None, repr=False)

    def is_range(self) -> bool:
        return False

    @property
    def is_uncompressed(self) -> bool:
        return len(self.pubkey) == 65

    @property
    def multipath_count(self) -> int:
        return 1

    @property
    def has_private(self) -> bool:
        return self.secret is not None

    def at(self, index: int | None = None, multipath: int = 0) -> DerivedKey:
        fp = self.origin.fingerprint if self.origin else None
        path = tuple(self.origin.indexes) if self.origin else ()
        return DerivedKey(self.pubkey, self.secret, fp, path)

    def to_string(self, private: bool = False) -> str:
        prefix = str(self.origin) if self.origin else ""
        if private and self.wif is not None:
            return prefix + self.wif
        return prefix + (self.pubkey[1:] if self.xonly else self.pubkey).hex()


@dataclass(frozen=True, slots=True)
class ExtKey:
    """An extended key with derivation steps and an optional wildcard.

    `paths` has one entry per multipath alternative (BIP389 `<0;1>`): usually exactly one."""

    origin: KeyOrigin | None
    root: ExtendedKey = field(repr=False)
    network: Network
    paths: tuple[tuple[PathStep, ...], ...]
    derive: DeriveType
    wildcard_marker: str = ""
    #: index into a step for printing multipath `<a;b>`, or -1
    multipath_pos: int = -1
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def is_range(self) -> bool:
        return self.derive is not DeriveType.NO

    @property
    def is_uncompressed(self) -> bool:
        return False

    @property
    def multipath_count(self) -> int:
        return len(self.paths)

    @property
    def has_private(self) -> bool:
        return self.root.is_private

    def _base(self, multipath: int) -> ExtendedKey:
        # Deriving the fixed steps once per alternative keeps range derivation to one step per index.
        key = self._cache.get(multipath)
        if key is None:
            key = self.root
            for step in self.paths[multipath]:
                if step.index & HARDENED and not key.is_private:
                    raise DescriptorError(f"cannot derive hardened step {step} from a public extended key")
                try:
                    key = key.derive(step.index)
                except WalletError as err:
                    raise DescriptorError(f"cannot derive step {step}: {err}") from None
            self._cache[multipath] = key
        return key

    def at(self, index: int | None = None, multipath: int = 0) -> DerivedKey:
        # A key without `<a;b>` is the same in every alternative of a multipath descriptor.
        multipath = multipath if len(self.paths) > 1 else 0
        if not 0 <= multipath < len(self.paths):
            raise DescriptorError(f"multipath alternative {multipath} out of range")
        key = self._base(multipath)
        steps = [s.index for s in self.paths[multipath]]
        if self.derive is not DeriveType.NO:
            if index is None or not 0 <= index < HARDENED:
                raise DescriptorError("a ranged descriptor needs a derivation index in [0, 2^31)")
            child = index | (HARDENED if self.derive is DeriveType.HARDENED else 0)
            if child & HARDENED and not key.is_private:
                raise DescriptorError("cannot derive hardened children '*h' from a public extended key")
            try:
                key = key.derive(child)
            except WalletError as err:
                raise DescriptorError(f"cannot derive child {index}: {err}") from None
            steps.append(child)
        if self.origin is not None:
            fp, path = self.origin.fingerprint, (*self.origin.indexes, *steps)
        else:
            fp, path = self.root.fingerprint, tuple(steps)
        secret = key.secret if key.is_private else None
        return DerivedKey(key.pubkey, secret, fp, tuple(path))

    def to_string(self, private: bool = False) -> str:
        prefix = str(self.origin) if self.origin else ""
        root = self.root if private else self.root.neuter()
        body = root.to_string(self.network)
        if len(self.paths) == 1:
            body += _path_str(self.paths[0])
        else:
            for pos in range(len(self.paths[0])):
                if pos == self.multipath_pos:
                    body += "/<" + ";".join(str(p[pos]) for p in self.paths) + ">"
                else:
                    body += f"/{self.paths[0][pos]}"
        if self.derive is not DeriveType.NO:
            body += "/*" + self.wildcard_marker
        return prefix + body


KeyExpr = ConstKey | ExtKey


def _parse_origin(text: str) -> tuple[KeyOrigin | None, str]:
    if not text.startswith("["):
        if "]" in text:
            raise DescriptorError(f"key '{text[:20]}...' has ']' without a matching '['")
        return None, text
    end = text.find("]")
    if end < 0:
        raise DescriptorError("key origin starts with '[' but has no closing ']'")
    inner, rest = text[1:end], text[end + 1 :]
    if "[" in inner or rest.startswith("[") or "]" in rest:
        raise DescriptorError("multiple key origins in one key expression")
    parts = inner.split("/")
    if len(parts[0]) != 8:
        raise DescriptorError(f"fingerprint '{parts[0]}' is not 8 hex characters")
    if not _FINGERPRINT.fullmatch(parts[0]):
        raise DescriptorError(f"fingerprint '{parts[0]}' is not hex")
    return KeyOrigin(bytes.fromhex(parts[0]), _parse_path(parts[1:], "key origin")), rest


def _parse_hex_pubkey(origin: KeyOrigin | None, text: str, ctx: KeyContext) -> ConstKey:
    raw = bytes.fromhex(text)
    if len(raw) == 32:
        if ctx is not KeyContext.P2TR:
            raise DescriptorError("x-only (32-byte) public keys are only allowed inside tr()")
        full = b"\x02" + raw
        if not is_valid_pubkey(full):
            raise DescriptorError(f"x-only public key '{text}' is not on the curve")
        return ConstKey(origin, full, xonly=True)
    if len(raw) not in (33, 65) or not is_valid_pubkey(raw):
        raise DescriptorError(f"public key '{text}' is not a valid public key")
    if len(raw) == 65 and ctx.needs_compressed:
        raise DescriptorError(f"uncompressed public keys are not allowed in {ctx.value}()")
    return ConstKey(origin, raw)


def _decode_any_wif(text: str, network: Network | None) -> tuple[bytes, bool, Network]:
    networks = (network,) if network else ALL_NETWORKS
    first_err: Exception | None = None
    for net in networks:
        try:
            wif = decode_wif(text, net)
        except CryptoError as err:
            first_err = first_err or err
            continue
        return wif.secret, wif.compressed, net
    raise DescriptorError(f"key '{text[:12]}...' is not a valid key: {first_err}") from None


def _parse_wif(origin: KeyOrigin | None, text: str, ctx: KeyContext, network: Network | None) -> ConstKey:
    secret, compressed, net = _decode_any_wif(text, network)
    if not compressed and ctx.needs_compressed:
        raise DescriptorError(f"uncompressed keys are not allowed in {ctx.value}()")
    pub = pubkey_from_privkey(secret, compressed)
    # Inside tr() Core prints a WIF's public form x-only.
    return ConstKey(origin, pub, xonly=ctx is KeyContext.P2TR, secret=secret, wif=encode_wif(secret, net, compressed))


def _parse_multipath_step(text: str) -> list[PathStep]:
    inner = text[1:-1]
    options = inner.split(";")
    if len(options) < 2:
        raise DescriptorError(f"multipath step '{text}' needs at least two alternatives")
    steps = [_parse_step(o, "multipath step") for o in options]
    if len({s.index for s in steps}) != len(steps):
        raise DescriptorError(f"multipath step '{text}' repeats an index")
    return steps


def _parse_extended(origin: KeyOrigin | None, parts: list[str], network: Network | None) -> ExtKey:
    try:
        root, net = parse_extended_key(parts[0])
    except WalletError as err:
        raise DescriptorError(f"invalid extended key: {err}") from None
    if network is not None and net.ext_public_key_prefix != network.ext_public_key_prefix:
        raise DescriptorError(f"extended key is for another network than {network.name}")
    steps = parts[1:]
    derive, wildcard_marker = DeriveType.NO, ""
    if steps and steps[-1] in ("*", "*h", "*'"):
        derive = DeriveType.UNHARDENED if steps[-1] == "*" else DeriveType.HARDENED
        wildcard_marker = steps[-1][1:]
        steps = steps[:-1]
    alternatives: list[list[PathStep]] = [[]]
    multipath_pos = -1
    for pos, s in enumerate(steps):
        if s.startswith("<") and s.endswith(">"):
            if multipath_pos >= 0:
                raise DescriptorError("only one multipath <a;b> step is allowed per key")
            options = _parse_multipath_step(s)
            multipath_pos = pos
            alternatives = [[*alternatives[0], o] for o in options]
            continue
        if "*" in s:
            raise DescriptorError("'*' may only be the last derivation step")
        step = _parse_step(s, "key derivation")
        for alt in alternatives:
            alt.append(step)
    # Hardened steps after an xpub parse (BIP380 lists them as valid) but fail at derivation.
    return ExtKey(
        origin,
        root,
        net,
        tuple(tuple(a) for a in alternatives),
        derive,
        wildcard_marker,
        multipath_pos,
    )


def parse_extended_key(text: str) -> tuple[ExtendedKey, Network]:
    """An xpub/xprv/tpub/tprv and the network its version bytes name (MAINNET or TESTNET). SLIP-132
    forms (ypub, zpub ...) are rejected: in descriptors the script type comes from the descriptor."""
    key, version = ExtendedKey.parse(text)
    if version.slip132 is not None:
        raise DescriptorError(
            f"'{text[:4]}' keys are not allowed in descriptors; convert to {'tpub' if version.network.is_test else 'xpub'}"
        )
    return key, version.network


def parse_key(text: str, ctx: KeyContext, network: Network | None = None) -> KeyExpr:
    """Parse one key expression in context `ctx`. Raises DescriptorError saying what is wrong."""
    if "(" in text or "{" in text:
        raise DescriptorError(f"expected a key, found a script expression '{text[:30]}'")
    if not text:
        raise DescriptorError("missing key")
    origin, rest = _parse_origin(text)
    if not rest:
        raise DescriptorError("key origin is not followed by a key")
    parts = rest.split("/")
    if is_hex(parts[0]) and len(parts) == 1:
        return _parse_hex_pubkey(origin, parts[0], ctx)
    if parts[0][1:4] in ("pub", "prv") and len(parts[0]) > 100:
        return _parse_extended(origin, parts, network)
    if len(parts) > 1:
        raise DescriptorError(f"key '{parts[0][:12]}...' is not an extended key; it cannot have derivation steps")
    if _HEX.fullmatch(parts[0]):
        raise DescriptorError(f"public key '{parts[0]}' has an invalid length")
    return _parse_wif(origin, parts[0], ctx, network)
