"""Consistency check of a header tree, in the spirit of Core's CheckBlockIndex: used by tests and
fuzzing after every operation; costs O(n), so not for production paths."""

from __future__ import annotations

from core.chain.entry import HeaderEntry, get_skip_height
from core.chain.errors import ChainError
from core.chain.headers import HeaderTree
from core.chain.pow import pow_bits_for
from core.consensus.block import block_proof
from core.consensus.hashes import sha256d


def check_tree(tree: HeaderTree) -> None:
    """Raise ChainError describing the first broken invariant, if any."""
    genesis = tree.genesis
    _require(tree.at_height(0) is genesis, "active chain does not start at genesis")
    for h in range(1, tree.height + 1):
        e = tree.at_height(h)
        _require(e is not None and e.prev is tree.at_height(h - 1) and e.height == h, f"active chain broken at {h}")
    tip = tree.tip
    _require(not tip.is_invalid, "tip is invalid")
    has_child: set[int] = set()
    count = 0
    for e in tree.entries():
        count += 1
        _require(tree.get(e.hash) is e and sha256d(e.header.serialize()) == e.hash, f"{e}: index key mismatch")
        if e is not genesis:
            prev = e.prev
            _require(prev is not None and tree.get(prev.hash) is prev, f"{e}: parent not in tree")
            assert prev is not None
            has_child.add(id(prev))
            _require(e.header.prev_block == prev.hash and e.height == prev.height + 1, f"{e}: bad parent link")
            _require(e.chain_work == prev.chain_work + block_proof(e.header.bits), f"{e}: wrong chain work")
            _require(e.skip is e.ancestor(get_skip_height(e.height)) and e.skip is _walk(e, get_skip_height(e.height)), f"{e}: bad skip")
            _require(not prev.is_invalid or e.is_invalid, f"{e}: valid child of an invalid parent")
            _require(e.pow_bits == pow_bits_for(e, tree.params), f"{e}: wrong pow_bits")
        if not e.is_invalid:
            _require(e.chain_work <= tip.chain_work, f"{e}: valid entry with more work than the tip")
    _require(count == len(tree), "entry count mismatch")
    leaves = tree.leaves()
    _require({id(e) for e in leaves} == {id(e) for e in tree.entries() if id(e) not in has_child}, "leaf set mismatch")


def _walk(e: HeaderEntry, height: int) -> HeaderEntry | None:
    walk: HeaderEntry | None = e
    while walk is not None and walk.height > height:
        walk = walk.prev
    return walk


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ChainError(f"header tree inconsistent: {what}")
