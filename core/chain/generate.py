"""Header generation for tests, benchmarks and the sandbox: grind a nonce until the header meets its
target. Only practical at regtest-like difficulty (about two hashes per header at 0x207fffff)."""

from __future__ import annotations

import hashlib
import struct

from core.chain.entry import HeaderEntry, get_skip_height
from core.chain.errors import ChainError
from core.chain.headers import HeaderTree
from core.chain.params import ChainParams
from core.chain.pow import get_next_work_required, pow_bits_for
from core.consensus.block import BlockHeader, bits_to_target, block_proof
from core.consensus.hashes import BlockHash

_HEADER = struct.Struct("<i32s32sIII")
#: Version with the BIP9 top bits set, as Core's miner produces (>= 4, so it passes every version rule).
DEFAULT_VERSION = 0x20000000
#: Nonces tried before giving up (regtest needs about 2; a real network's difficulty is out of reach).
MAX_NONCE_TRIES = 1 << 24


def mine_header(
    prev: HeaderEntry | BlockHeader | bytes,
    time: int,
    bits: int,
    merkle_root: bytes = bytes(32),
    version: int = DEFAULT_VERSION,
) -> BlockHeader:
    """A header on top of `prev` (an entry, a header, or a block hash in internal order) whose hash meets
    `bits`. Raises ChainError if no nonce is found within MAX_NONCE_TRIES."""
    if isinstance(prev, HeaderEntry | BlockHeader):
        prev_hash = prev.hash
    else:
        prev_hash = BlockHash(prev)
    target = bits_to_target(bits)[0]
    prefix = _HEADER.pack(version, prev_hash, merkle_root, time, bits, 0)[:76]
    sha256 = hashlib.sha256
    pack_nonce = struct.Struct("<I").pack
    for nonce in range(MAX_NONCE_TRIES):
        h = sha256(sha256(prefix + pack_nonce(nonce)).digest()).digest()
        if int.from_bytes(h, "little") <= target:
            return BlockHeader(version, BlockHash(prev_hash), merkle_root, time, bits, nonce)
    raise ChainError(f"no nonce meets bits {bits:#010x} within {MAX_NONCE_TRIES} tries")


def generate_headers(
    tree_or_prev: HeaderTree | HeaderEntry | BlockHeader,
    count: int,
    start_time: int | None = None,
    *,
    spacing: int = 600,
    params: ChainParams | None = None,
    bits: int | None = None,
    tag: bytes = b"",
    version: int = DEFAULT_VERSION,
) -> list[BlockHeader]:
    """`count` mined headers in a row on top of a tree's tip, an entry or a header, `spacing` seconds
    apart from `start_time` (default: parent time + spacing). Long chains need a small spacing (or a
    later `now` for accept): from regtest's 2011 genesis, 600 s steps pass today's clock after ~800k.

    Bits: given `bits`, else the tree's (or `params`') next work required for the regtest-style
    networks this is meant for, else the parent's bits. `tag` goes into each merkle root so that
    branches generated from the same parent differ."""
    if isinstance(tree_or_prev, HeaderTree):
        params = params or tree_or_prev.params
        prev_entry: HeaderEntry | None = tree_or_prev.tip
        prev_header = tree_or_prev.tip.header
    elif isinstance(tree_or_prev, HeaderEntry):
        prev_entry, prev_header = tree_or_prev, tree_or_prev.header
    else:
        prev_entry, prev_header = None, tree_or_prev
    if bits is None:
        if params is not None and prev_entry is not None and params.pow_no_retargeting:
            bits = get_next_work_required(prev_entry, prev_header.time + spacing, params)
        else:
            bits = prev_header.bits
    t = prev_header.time + spacing if start_time is None else start_time
    prev_hash = prev_header.hash
    out: list[BlockHeader] = []
    sha256 = hashlib.sha256
    for _ in range(count):
        root = sha256(tag + prev_hash).digest()
        header = mine_header(prev_hash, t, bits, root, version)
        out.append(header)
        prev_hash = sha256(sha256(header.serialize()).digest()).digest()
        t += spacing
    return out


def entry_chain(
    params: ChainParams, times: list[int], bits: list[int], version: int = DEFAULT_VERSION
) -> list[HeaderEntry]:
    """Linked entries from genesis (times[0], bits[0] are height 0) with no proof of work: for testing
    the difficulty rules at real networks' difficulty, where mining is out of reach. Skip pointers, chain
    work and the min-difficulty cache are filled in as the tree would."""
    out: list[HeaderEntry] = []
    prev: HeaderEntry | None = None
    for height, (t, b) in enumerate(zip(times, bits, strict=True)):
        prev_hash = prev.hash if prev is not None else BlockHash()
        header = BlockHeader(version, prev_hash, bytes(32), t, b, 0)
        work = block_proof(b) + (prev.chain_work if prev is not None else 0)
        skip = prev.ancestor(get_skip_height(height)) if prev is not None else None
        entry = HeaderEntry(header, header.hash, height, work, prev, skip)
        entry.pow_bits = pow_bits_for(entry, params)
        out.append(entry)
        prev = entry
    return out
