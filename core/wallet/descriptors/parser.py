"""Descriptor text → node tree (BIP380-386 script expressions, BIP386 trees, BIP387 multi_a and
the Miniscript fragment `and_v(v:pk(KEY),older(N))`).

Recursive descent over the text: an expression is `name(args)`, its arguments are split at
top-level commas. Each context (top level, sh, wsh, tr) allows only the expressions Core allows
there; errors name the expression and the reason.
"""

from __future__ import annotations

import re

from core.consensus.network import Network
from core.crypto.errors import AddressError
from core.crypto.taproot import TAPROOT_CONTROL_MAX_NODE_COUNT
from core.script.address import address_to_script, decode_address
from core.wallet.descriptors.keys import KeyContext, KeyExpr, is_hex, parse_key
from core.wallet.descriptors.nodes import (
    Addr,
    AndVOlder,
    Multi,
    Node,
    Pk,
    Pkh,
    Raw,
    RawTr,
    Sh,
    Tr,
    TreeBranch,
    TreeNode,
    Wpkh,
    Wsh,
)
from core.wallet.errors import DescriptorError

#: Core's MAX_PUBKEYS_PER_MULTISIG, MAX_PUBKEYS_PER_MULTI_A and MAX_SCRIPT_ELEMENT_SIZE.
MAX_PUBKEYS_PER_MULTISIG = 20
MAX_PUBKEYS_PER_MULTI_A = 999
MAX_SCRIPT_ELEMENT_SIZE = 520
#: Bare multisig is only standard with up to 3 keys.
MAX_BARE_MULTISIG_KEYS = 3
_DIGITS = re.compile(r"[0-9]+")
_NAME = re.compile(r"[a-z_]+")
_OPEN = {"(": ")", "{": "}", "[": "]", "<": ">"}
_CLOSE = {v: k for k, v in _OPEN.items()}

_WHERE = {
    KeyContext.TOP: "at the top level",
    KeyContext.P2SH: "inside sh()",
    KeyContext.P2WPKH: "inside wpkh()",
    KeyContext.P2WSH: "inside wsh()",
    KeyContext.P2TR: "inside a tr() script tree",
}


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def split_args(text: str) -> list[str]:
    """Split at commas that are not nested in (), {}, [] or <>. Raises DescriptorError for
    unbalanced brackets."""
    parts: list[str] = []
    stack: list[str] = []
    start = 0
    for pos, ch in enumerate(text):
        if ch in _OPEN:
            stack.append(_OPEN[ch])
        elif ch in _CLOSE:
            if not stack or stack.pop() != ch:
                raise DescriptorError(f"unbalanced '{ch}' at position {pos} in '{_short(text)}'")
        elif ch == "," and not stack:
            parts.append(text[start:pos])
            start = pos + 1
    if stack:
        raise DescriptorError(f"missing '{stack[-1]}' in '{_short(text)}'")
    parts.append(text[start:])
    return parts


def _call(text: str) -> tuple[str, list[str]] | None:
    """`name(a,b,...)` → (name, [a, b, ...]); None if `text` is not a call."""
    open_pos = text.find("(")
    if open_pos <= 0 or not _NAME.fullmatch(text[:open_pos]):
        return None
    if not text.endswith(")"):
        raise DescriptorError(f"'{_short(text)}' must end with ')'")
    inner = text[open_pos + 1 : -1]
    args = split_args(inner)
    # "f(a)(b)" balances overall but the first ')' closes the call early.
    if split_args(text[open_pos:]) != [text[open_pos:]] or _closes_early(text, open_pos):
        raise DescriptorError(f"unexpected text after ')' in '{_short(text)}'")
    return text[:open_pos], args


def _closes_early(text: str, open_pos: int) -> bool:
    depth = 0
    for pos in range(open_pos, len(text)):
        ch = text[pos]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth == 0:
                return pos != len(text) - 1
    return False


def _one_arg(name: str, args: list[str]) -> str:
    if len(args) != 1 or not args[0]:
        raise DescriptorError(f"{name}() takes exactly one argument")
    return args[0]


def _parse_uint(text: str, what: str, high: int) -> int:
    if not _DIGITS.fullmatch(text):
        raise DescriptorError(f"{what} '{_short(text, 20)}' is not a number")
    value = int(text) if len(text) <= 12 else high + 1
    if value > high:
        raise DescriptorError(f"{what} {_short(text, 20)} is too large (at most {high})")
    return value


def _parse_multi(name: str, args: list[str], ctx: KeyContext, network: Network | None) -> Multi:
    tap = name.endswith("_a")
    if tap != (ctx is KeyContext.P2TR):
        where = "only inside a tr() script tree" if tap else "not inside tr(); use multi_a()"
        raise DescriptorError(f"{name}() is allowed {where}")
    if len(args) < 2:
        raise DescriptorError(f"{name}() needs a threshold and at least one key")
    limit = MAX_PUBKEYS_PER_MULTI_A if tap else MAX_PUBKEYS_PER_MULTISIG
    threshold = _parse_uint(args[0], f"{name}() threshold", limit)
    keys = tuple(parse_key(a, ctx, network) for a in args[1:])
    if threshold == 0:
        raise DescriptorError(f"{name}() threshold must be at least 1")
    if threshold > len(keys):
        raise DescriptorError(f"{name}() threshold {threshold} is larger than the number of keys ({len(keys)})")
    if len(keys) > limit:
        raise DescriptorError(f"{name}() has {len(keys)} keys; at most {limit} are allowed")
    if ctx is KeyContext.TOP and len(keys) > MAX_BARE_MULTISIG_KEYS:
        raise DescriptorError(f"bare {name}() may have at most 3 keys, not {len(keys)}")
    if ctx is KeyContext.P2SH:
        size = sum(65 if k.is_uncompressed else 33 for k in keys) + len(keys) + 3
        if size > MAX_SCRIPT_ELEMENT_SIZE:
            raise DescriptorError(
                f"sh({name}()) script would be {size} bytes, more than {MAX_SCRIPT_ELEMENT_SIZE} (at most 15 compressed keys)"
            )
    return Multi(threshold, keys, is_sorted=name.startswith("sorted"), tap=tap)


def _parse_and_v(args: list[str], ctx: KeyContext, network: Network | None) -> AndVOlder:
    if ctx not in (KeyContext.P2WSH, KeyContext.P2TR):
        raise DescriptorError(f"and_v() (Miniscript) is not allowed {_WHERE[ctx]}; use wsh() or tr()")
    if len(args) != 2 or not args[0].startswith("v:"):
        raise DescriptorError("only the Miniscript fragment and_v(v:pk(KEY),older(N)) is supported")
    pk = _call(args[0][2:])
    older = _call(args[1])
    if pk is None or pk[0] != "pk" or older is None or older[0] != "older":
        raise DescriptorError("only the Miniscript fragment and_v(v:pk(KEY),older(N)) is supported")
    key = parse_key(_one_arg("pk", pk[1]), ctx, network)
    n = _parse_uint(_one_arg("older", older[1]), "older()", 0x7FFFFFFF)
    if n == 0:
        raise DescriptorError("older() must be at least 1")
    return AndVOlder(key, n, tap=ctx is KeyContext.P2TR)


def _parse_tree(text: str, network: Network | None, depth: int) -> TreeNode:
    if depth > TAPROOT_CONTROL_MAX_NODE_COUNT:
        raise DescriptorError(f"tr() script tree is deeper than {TAPROOT_CONTROL_MAX_NODE_COUNT}")
    if text.startswith("{"):
        if not text.endswith("}"):
            raise DescriptorError(f"tree branch '{_short(text)}' must end with '}}'")
        parts = split_args(text[1:-1])
        if len(parts) != 2:
            raise DescriptorError(f"tree branch '{_short(text)}' must have exactly two children")
        return TreeBranch(_parse_tree(parts[0], network, depth + 1), _parse_tree(parts[1], network, depth + 1))
    node = parse_script(text, KeyContext.P2TR, network)
    if not isinstance(node, Pk | Multi | AndVOlder):
        raise DescriptorError(f"'{_short(text)}' is not allowed as a tapscript leaf")
    return node


def _parse_tr(args: list[str], ctx: KeyContext, network: Network | None) -> Tr:
    if ctx is not KeyContext.TOP:
        raise DescriptorError(f"tr() is allowed only at the top level, not {_WHERE[ctx]}")
    if len(args) not in (1, 2) or not all(args):
        raise DescriptorError("tr() takes a key and optionally a script tree: tr(KEY) or tr(KEY,TREE)")
    key = parse_key(args[0], KeyContext.P2TR, network)
    tree = _parse_tree(args[1], network, 0) if len(args) == 2 else None
    return Tr(key, tree)


def _parse_addr(arg: str, network: Network | None) -> Addr:
    try:
        script = address_to_script(arg, network) if network else decode_address(arg)[1]
    except AddressError as err:
        raise DescriptorError(f"addr(): invalid address '{_short(arg)}': {err}") from None
    return Addr(arg, script)


def _top_only(name: str, ctx: KeyContext) -> None:
    if ctx is not KeyContext.TOP:
        raise DescriptorError(f"{name}() is allowed only at the top level, not {_WHERE[ctx]}")


def parse_script(text: str, ctx: KeyContext, network: Network | None = None) -> Node:
    """Parse one script expression in context `ctx`. Raises DescriptorError."""
    call = _call(text)
    if call is None:
        if ctx is KeyContext.TOP or ctx is KeyContext.P2TR:
            raise DescriptorError(f"'{_short(text)}' is not a script expression such as wpkh(KEY) or tr(KEY)")
        raise DescriptorError(f"expected a script expression {_WHERE[ctx]}, found '{_short(text)}'")
    name, args = call
    if name == "pk":
        return Pk(parse_key(_one_arg(name, args), ctx, network), tap=ctx is KeyContext.P2TR)
    if name == "pkh":
        if ctx is KeyContext.P2TR:
            raise DescriptorError("pkh() is not allowed inside tr(); use pk()")
        return Pkh(parse_key(_one_arg(name, args), ctx, network))
    if name == "wpkh":
        if ctx not in (KeyContext.TOP, KeyContext.P2SH):
            raise DescriptorError(f"wpkh() is not allowed {_WHERE[ctx]}")
        return Wpkh(parse_key(_one_arg(name, args), KeyContext.P2WPKH, network))
    if name == "sh":
        _top_only(name, ctx)
        return Sh(parse_script(_one_arg(name, args), KeyContext.P2SH, network))
    if name == "wsh":
        if ctx not in (KeyContext.TOP, KeyContext.P2SH):
            raise DescriptorError(f"wsh() is not allowed {_WHERE[ctx]}")
        return Wsh(parse_script(_one_arg(name, args), KeyContext.P2WSH, network))
    if name in ("multi", "sortedmulti", "multi_a", "sortedmulti_a"):
        return _parse_multi(name, args, ctx, network)
    if name == "and_v":
        return _parse_and_v(args, ctx, network)
    if name == "tr":
        return _parse_tr(args, ctx, network)
    if name == "rawtr":
        _top_only(name, ctx)
        return RawTr(parse_key(_one_arg(name, args), KeyContext.P2TR, network))
    if name == "raw":
        _top_only(name, ctx)
        arg = _one_arg(name, args)
        if not is_hex(arg):
            raise DescriptorError(f"raw() argument '{_short(arg)}' is not hex")
        return Raw(bytes.fromhex(arg))
    if name == "addr":
        _top_only(name, ctx)
        return _parse_addr(_one_arg(name, args), network)
    if name == "combo":
        raise DescriptorError("combo() descriptors are not supported")
    raise DescriptorError(f"unknown script expression '{name}()'")


def node_keys(node: Node) -> tuple[KeyExpr, ...]:
    """Every key expression in the descriptor, in order of appearance."""
    return node.keys()
