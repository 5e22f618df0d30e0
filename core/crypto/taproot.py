"""BIP341 taproot commitments: tap leaf/branch/tweak hashes, key tweaking, script trees and
control blocks, and Core's VerifyTaprootCommitment.

Point arithmetic is libsecp256k1's (xonly/keypair tweak functions via coincurve's cffi module);
only the hashing and tree bookkeeping, which no library provides, are written here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from core.consensus.hashes import tagged_hash
from core.consensus.serialize import ser_var_bytes
from core.crypto.errors import InvalidKey, TaprootError

_CTX = GLOBAL_CONTEXT.ctx

TAPROOT_LEAF_MASK = 0xFE
TAPROOT_LEAF_TAPSCRIPT = 0xC0
TAPROOT_CONTROL_BASE_SIZE = 33
TAPROOT_CONTROL_NODE_SIZE = 32
TAPROOT_CONTROL_MAX_NODE_COUNT = 128
TAPROOT_CONTROL_MAX_SIZE = TAPROOT_CONTROL_BASE_SIZE + TAPROOT_CONTROL_NODE_SIZE * TAPROOT_CONTROL_MAX_NODE_COUNT


def tapleaf_hash(script: bytes, leaf_version: int = TAPROOT_LEAF_TAPSCRIPT) -> bytes:
    """TapLeaf tagged hash of (leaf_version, compact-size-prefixed script). As in Core, the caller
    masks a control block's first byte with TAPROOT_LEAF_MASK before passing it here."""
    return tagged_hash("TapLeaf", bytes((leaf_version,)) + ser_var_bytes(bytes(script)))


def tapbranch_hash(a: bytes, b: bytes) -> bytes:
    """TapBranch tagged hash of two child hashes, in lexicographic order."""
    return tagged_hash("TapBranch", a + b if a < b else b + a)


def taptweak_hash(internal_xonly: bytes, merkle_root: bytes | None) -> bytes:
    """TapTweak tagged hash of the internal key and (if any) the script tree's merkle root."""
    return tagged_hash("TapTweak", bytes(internal_xonly) + (merkle_root or b""))


def _parse_xonly(xonly32: bytes):  # -> secp256k1_xonly_pubkey* | None
    if len(xonly32) != 32:
        return None
    pk = ffi.new("secp256k1_xonly_pubkey *")
    if not lib.secp256k1_xonly_pubkey_parse(_CTX, pk, bytes(xonly32)):
        return None
    return pk


def taproot_tweak_pubkey(internal_xonly: bytes, merkle_root: bytes | None) -> tuple[bytes, int]:
    """BIP341 taproot_tweak_pubkey: the output key Q = P + t·G as (x-only bytes, Y parity bit).

    Raises InvalidKey if the internal key is not a curve x coordinate, TaprootError if the tweak
    is out of range (probability ~2^-128)."""
    internal = _parse_xonly(internal_xonly)
    if internal is None:
        raise InvalidKey("internal key is not a valid x-only public key")
    tweak = taptweak_hash(internal_xonly, merkle_root)
    full = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_xonly_pubkey_tweak_add(_CTX, full, internal, tweak):
        raise TaprootError("taproot tweak out of range")
    output = ffi.new("secp256k1_xonly_pubkey *")
    parity = ffi.new("int *")
    lib.secp256k1_xonly_pubkey_from_pubkey(_CTX, output, parity, full)
    out32 = ffi.new("unsigned char[32]")
    lib.secp256k1_xonly_pubkey_serialize(_CTX, out32, output)
    return bytes(out32), int(parity[0])


def taproot_tweak_seckey(seckey: bytes, merkle_root: bytes | None) -> bytes:
    """BIP341 taproot_tweak_seckey: the secret key for the tweaked output key (negating first when
    the internal point has odd Y). Raises InvalidKey for a bad secret."""
    if len(seckey) != 32:
        raise InvalidKey("secret key must be 32 bytes")
    keypair = ffi.new("secp256k1_keypair *")
    if not lib.secp256k1_keypair_create(_CTX, keypair, bytes(seckey)):
        raise InvalidKey("secret key out of range")
    xonly = ffi.new("secp256k1_xonly_pubkey *")
    lib.secp256k1_keypair_xonly_pub(_CTX, xonly, ffi.NULL, keypair)
    internal32 = ffi.new("unsigned char[32]")
    lib.secp256k1_xonly_pubkey_serialize(_CTX, internal32, xonly)
    tweak = taptweak_hash(bytes(internal32), merkle_root)
    if not lib.secp256k1_keypair_xonly_tweak_add(_CTX, keypair, tweak):
        raise TaprootError("taproot tweak out of range")
    out = ffi.new("unsigned char[32]")
    lib.secp256k1_keypair_sec(_CTX, out, keypair)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class TapLeaf:
    """A script leaf; `id` is an optional caller label (the BIP341 vectors number their leaves)."""

    script: bytes
    leaf_version: int = TAPROOT_LEAF_TAPSCRIPT
    id: int | None = None

    @property
    def leaf_hash(self) -> bytes:
        return tapleaf_hash(self.script, self.leaf_version)


@dataclass(frozen=True, slots=True)
class TapBranch:
    """An inner node with two children (order does not matter for the hash; it is kept for display)."""

    left: TapTree
    right: TapTree


TapTree = TapLeaf | TapBranch

#: Deeper trees cannot be spent: control blocks hold at most 128 path nodes.
_MAX_DEPTH = TAPROOT_CONTROL_MAX_NODE_COUNT


def tree_from_json(obj: Any, _depth: int = 0) -> TapTree:
    """Build a tree from the BIP341 vector shape: a leaf is {"id", "script" (hex), "leafVersion"},
    a branch is a two-element list [left, right]. Raises TaprootError on any other shape."""
    if _depth > _MAX_DEPTH:
        raise TaprootError("script tree deeper than 128")
    if isinstance(obj, dict):
        script_hex = obj.get("script")
        version = obj.get("leafVersion", TAPROOT_LEAF_TAPSCRIPT)
        leaf_id = obj.get("id")
        if not isinstance(script_hex, str) or not isinstance(version, int):
            raise TaprootError("leaf needs a hex 'script' and an integer 'leafVersion'")
        if version & ~TAPROOT_LEAF_MASK or not 0 <= version <= 0xFF:
            raise TaprootError(f"invalid leaf version {version:#x}")
        if leaf_id is not None and not isinstance(leaf_id, int):
            raise TaprootError("leaf 'id' must be an integer")
        try:
            script = bytes.fromhex(script_hex)
        except ValueError:
            raise TaprootError("leaf script is not hex") from None
        return TapLeaf(script, version, leaf_id)
    if isinstance(obj, list | tuple) and len(obj) == 2:
        return TapBranch(tree_from_json(obj[0], _depth + 1), tree_from_json(obj[1], _depth + 1))
    raise TaprootError("script tree node must be a leaf object or a [left, right] pair")


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """A leaf with its hash and merkle path (sibling hashes from the leaf up to the root)."""

    leaf: TapLeaf
    leaf_hash: bytes
    path: tuple[bytes, ...]


def _walk(tree: TapTree) -> tuple[list[LeafInfo], bytes]:
    """BIP341's taproot_tree_helper: every leaf with its path, plus the subtree hash."""
    if isinstance(tree, TapLeaf):
        h = tree.leaf_hash
        return [LeafInfo(tree, h, ())], h
    left, left_h = _walk(tree.left)
    right, right_h = _walk(tree.right)
    leaves = [LeafInfo(i.leaf, i.leaf_hash, (*i.path, right_h)) for i in left]
    leaves += [LeafInfo(i.leaf, i.leaf_hash, (*i.path, left_h)) for i in right]
    return leaves, tapbranch_hash(left_h, right_h)


@dataclass(frozen=True, slots=True)
class TaprootInfo:
    """Everything derived from an internal key and an optional script tree (Core's TaprootSpendData)."""

    internal_key: bytes
    merkle_root: bytes | None
    tweak: bytes
    output_key: bytes
    output_parity: int
    leaves: tuple[LeafInfo, ...]

    @property
    def script_pubkey(self) -> bytes:
        """OP_1 <32-byte output key>."""
        return b"\x51\x20" + self.output_key

    def control_block(self, leaf: LeafInfo) -> bytes:
        """Control block for spending `leaf`: (leaf version | parity), internal key, merkle path."""
        return bytes((leaf.leaf.leaf_version | self.output_parity,)) + self.internal_key + b"".join(leaf.path)

    def control_blocks(self) -> Iterator[tuple[LeafInfo, bytes]]:
        """Every leaf, in tree order (left to right), with its control block."""
        for leaf in self.leaves:
            yield leaf, self.control_block(leaf)


def taproot_info(internal_xonly: bytes, tree: TapTree | None) -> TaprootInfo:
    """Compute merkle root, tweak, output key and per-leaf paths for a taproot output."""
    if tree is None:
        leaves: Sequence[LeafInfo] = ()
        root = None
    else:
        leaves, root = _walk(tree)
    output, parity = taproot_tweak_pubkey(internal_xonly, root)
    return TaprootInfo(
        internal_key=bytes(internal_xonly),
        merkle_root=root,
        tweak=taptweak_hash(internal_xonly, root),
        output_key=output,
        output_parity=parity,
        leaves=tuple(leaves),
    )


def compute_taproot_merkle_root(control_block: bytes, leaf_hash: bytes) -> bytes:
    """Core's ComputeTaprootMerkleRoot: fold the control block's path nodes into the leaf hash.
    The caller has checked the control block size."""
    k = leaf_hash
    for off in range(TAPROOT_CONTROL_BASE_SIZE, len(control_block), TAPROOT_CONTROL_NODE_SIZE):
        k = tapbranch_hash(k, control_block[off : off + TAPROOT_CONTROL_NODE_SIZE])
    return k


def is_valid_control_block_size(size: int) -> bool:
    """33 + 32·m bytes with m ≤ 128 (the interpreter's SCRIPT_ERR_TAPROOT_WRONG_CONTROL_SIZE check)."""
    return (
        TAPROOT_CONTROL_BASE_SIZE <= size <= TAPROOT_CONTROL_MAX_SIZE
        and (size - TAPROOT_CONTROL_BASE_SIZE) % TAPROOT_CONTROL_NODE_SIZE == 0
    )


def verify_taproot_commitment(control_block: bytes, program32: bytes, leaf_hash: bytes) -> bool:
    """Core's VerifyTaprootCommitment: does witness program `program32` commit to `leaf_hash` via
    the internal key, parity and path in `control_block`? False for bad sizes or keys; never raises."""
    if not is_valid_control_block_size(len(control_block)) or len(program32) != 32 or len(leaf_hash) != 32:
        return False
    internal_bytes = bytes(control_block[1:TAPROOT_CONTROL_BASE_SIZE])
    internal = _parse_xonly(internal_bytes)
    if internal is None:
        return False
    root = compute_taproot_merkle_root(bytes(control_block), bytes(leaf_hash))
    tweak = taptweak_hash(internal_bytes, root)
    # Core's XOnlyPubKey::CheckTapTweak: compares against Q's bytes without parsing Q itself.
    return bool(
        lib.secp256k1_xonly_pubkey_tweak_add_check(_CTX, bytes(program32), control_block[0] & 1, internal, tweak)
    )
