"""Descriptor script expressions as a tree of nodes, each producing its script at an index.

Every node knows its keys, its sub-expressions, how to print itself and how to build its script
(Core's DescriptorImpl subclasses). Context rules (what may nest where) are the parser's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.consensus.hashes import hash160, sha256
from core.crypto.taproot import TapBranch, TapLeaf, TaprootInfo, TapTree, taproot_info
from core.script.address import p2pkh_script, p2sh_script, witness_script
from core.script.opcodes import Opcode
from core.script.script import push_data, push_int
from core.wallet.descriptors.keys import DerivedKey, KeyExpr


@dataclass(slots=True)
class Expansion:
    """What a descriptor gives at one index: the output script and everything needed to spend it."""

    script_pubkey: bytes = b""
    redeem_script: bytes | None = None
    witness_script: bytes | None = None
    taproot: TaprootInfo | None = None
    keys: list[DerivedKey] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _At:
    """Derivation position: child index for ranged keys and the multipath alternative."""

    index: int | None
    multipath: int
    out: Expansion

    def key(self, key: KeyExpr) -> DerivedKey:
        derived = key.at(self.index, self.multipath)
        self.out.keys.append(derived)
        return derived


@dataclass(frozen=True, slots=True)
class Pk:
    """pk(KEY): `<KEY> OP_CHECKSIG` (x-only key inside tr())."""

    key: KeyExpr
    tap: bool = False

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key,)

    def script(self, at: _At) -> bytes:
        k = at.key(self.key)
        return push_data(k.xonly if self.tap else k.pubkey) + bytes((Opcode.OP_CHECKSIG,))

    def to_string(self, private: bool) -> str:
        return f"pk({self.key.to_string(private)})"


@dataclass(frozen=True, slots=True)
class Pkh:
    """pkh(KEY): P2PKH."""

    key: KeyExpr

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key,)

    def script(self, at: _At) -> bytes:
        return p2pkh_script(hash160(at.key(self.key).pubkey))

    def to_string(self, private: bool) -> str:
        return f"pkh({self.key.to_string(private)})"


@dataclass(frozen=True, slots=True)
class Wpkh:
    """wpkh(KEY): P2WPKH."""

    key: KeyExpr

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key,)

    def script(self, at: _At) -> bytes:
        return witness_script(0, hash160(at.key(self.key).pubkey))

    def to_string(self, private: bool) -> str:
        return f"wpkh({self.key.to_string(private)})"


@dataclass(frozen=True, slots=True)
class Multi:
    """multi / sortedmulti (bare, sh, wsh) and multi_a / sortedmulti_a (tapscript)."""

    threshold: int
    keys_: tuple[KeyExpr, ...]
    is_sorted: bool = False
    tap: bool = False

    @property
    def name(self) -> str:
        return ("sortedmulti" if self.is_sorted else "multi") + ("_a" if self.tap else "")

    def keys(self) -> tuple[KeyExpr, ...]:
        return self.keys_

    def script(self, at: _At) -> bytes:
        derived = [at.key(k) for k in self.keys_]
        pubs = [d.xonly if self.tap else d.pubkey for d in derived]
        if self.is_sorted:
            pubs.sort()
        if self.tap:
            # <K1> CHECKSIG <K2> CHECKSIGADD ... <Kn> CHECKSIGADD <k> NUMEQUAL (BIP387).
            out = push_data(pubs[0]) + bytes((Opcode.OP_CHECKSIG,))
            for p in pubs[1:]:
                out += push_data(p) + bytes((Opcode.OP_CHECKSIGADD,))
            return out + push_int(self.threshold) + bytes((Opcode.OP_NUMEQUAL,))
        body = b"".join(push_data(p) for p in pubs)
        return push_int(self.threshold) + body + push_int(len(pubs)) + bytes((Opcode.OP_CHECKMULTISIG,))

    def to_string(self, private: bool) -> str:
        return f"{self.name}({self.threshold}," + ",".join(k.to_string(private) for k in self.keys_) + ")"


@dataclass(frozen=True, slots=True)
class AndVOlder:
    """Miniscript `and_v(v:pk(KEY),older(N))`: `<KEY> OP_CHECKSIGVERIFY <N> OP_CHECKSEQUENCEVERIFY`.

    The trade escrow's timeout path: KEY may spend once the input is N blocks (or time units) old."""

    key: KeyExpr
    older: int
    tap: bool = False

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key,)

    def script(self, at: _At) -> bytes:
        k = at.key(self.key)
        return (
            push_data(k.xonly if self.tap else k.pubkey)
            + bytes((Opcode.OP_CHECKSIGVERIFY,))
            + push_int(self.older)
            + bytes((Opcode.OP_CHECKSEQUENCEVERIFY,))
        )

    def to_string(self, private: bool) -> str:
        return f"and_v(v:pk({self.key.to_string(private)}),older({self.older}))"


@dataclass(frozen=True, slots=True)
class Sh:
    """sh(SCRIPT): P2SH of the sub-expression's script (the redeemScript)."""

    sub: Node

    def keys(self) -> tuple[KeyExpr, ...]:
        return self.sub.keys()

    def script(self, at: _At) -> bytes:
        redeem = self.sub.script(at)
        at.out.redeem_script = redeem
        return p2sh_script(hash160(redeem))

    def to_string(self, private: bool) -> str:
        return f"sh({self.sub.to_string(private)})"


@dataclass(frozen=True, slots=True)
class Wsh:
    """wsh(SCRIPT): P2WSH of the sub-expression's script (the witnessScript)."""

    sub: Node

    def keys(self) -> tuple[KeyExpr, ...]:
        return self.sub.keys()

    def script(self, at: _At) -> bytes:
        ws = self.sub.script(at)
        at.out.witness_script = ws
        return witness_script(0, sha256(ws))

    def to_string(self, private: bool) -> str:
        return f"wsh({self.sub.to_string(private)})"


@dataclass(frozen=True, slots=True)
class Raw:
    """raw(HEX): the script itself."""

    data: bytes

    def keys(self) -> tuple[KeyExpr, ...]:
        return ()

    def script(self, at: _At) -> bytes:
        return self.data

    def to_string(self, private: bool) -> str:
        return f"raw({self.data.hex()})"


@dataclass(frozen=True, slots=True)
class Addr:
    """addr(ADDR): the script the address pays to."""

    address: str
    data: bytes

    def keys(self) -> tuple[KeyExpr, ...]:
        return ()

    def script(self, at: _At) -> bytes:
        return self.data

    def to_string(self, private: bool) -> str:
        return f"addr({self.address})"


@dataclass(frozen=True, slots=True)
class TreeBranch:
    """`{A,B}` in a tr() script tree."""

    left: TreeNode
    right: TreeNode


TapLeafNode = Pk | Multi | AndVOlder
TreeNode = TreeBranch | TapLeafNode


def _tree_keys(tree: TreeNode) -> tuple[KeyExpr, ...]:
    if isinstance(tree, TreeBranch):
        return _tree_keys(tree.left) + _tree_keys(tree.right)
    return tree.keys()


def _tree_script(tree: TreeNode, at: _At) -> TapTree:
    if isinstance(tree, TreeBranch):
        return TapBranch(_tree_script(tree.left, at), _tree_script(tree.right, at))
    return TapLeaf(tree.script(at))


def _tree_str(tree: TreeNode, private: bool) -> str:
    if isinstance(tree, TreeBranch):
        return "{" + _tree_str(tree.left, private) + "," + _tree_str(tree.right, private) + "}"
    return tree.to_string(private)


@dataclass(frozen=True, slots=True)
class Tr:
    """tr(KEY) / tr(KEY,TREE): P2TR with the BIP341 tweak of KEY by the tree's merkle root."""

    key: KeyExpr
    tree: TreeNode | None = None

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key, *(_tree_keys(self.tree) if self.tree is not None else ()))

    def script(self, at: _At) -> bytes:
        internal = at.key(self.key).xonly
        tree = _tree_script(self.tree, at) if self.tree is not None else None
        info = taproot_info(internal, tree)
        at.out.taproot = info
        return info.script_pubkey

    def to_string(self, private: bool) -> str:
        tree = "" if self.tree is None else "," + _tree_str(self.tree, private)
        return f"tr({self.key.to_string(private)}{tree})"


@dataclass(frozen=True, slots=True)
class RawTr:
    """rawtr(KEY): OP_1 <KEY> with no tweak (the key is the output key itself)."""

    key: KeyExpr

    def keys(self) -> tuple[KeyExpr, ...]:
        return (self.key,)

    def script(self, at: _At) -> bytes:
        return witness_script(1, at.key(self.key).xonly)

    def to_string(self, private: bool) -> str:
        return f"rawtr({self.key.to_string(private)})"


Node = Pk | Pkh | Wpkh | Multi | AndVOlder | Sh | Wsh | Raw | Addr | Tr | RawTr


def expand(node: Node, index: int | None, multipath: int = 0) -> Expansion:
    """Build `node`'s output script (and redeem/witness script, taproot data, keys) at `index`."""
    out = Expansion()
    out.script_pubkey = node.script(_At(index, multipath, out))
    return out
