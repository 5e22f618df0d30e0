"""Fuzzing the header tree: random and mutated header batches never raise, only Rejected (or a valid
result), and the tree stays consistent (check_tree) after every batch."""

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.chain.check_index import check_tree
from core.chain.entry import AcceptResult, Connected, ForkAdded, Rejected, Reorganized
from core.chain.generate import generate_headers, mine_header
from core.chain.headers import HeaderTree
from core.chain.params import params_for
from core.consensus.block import BlockHeader

REGTEST = params_for("regtest")
NOW = 2_000_000_000

# A fixed valid chain of 24 headers plus a 6-header fork from height 14: the material mutations start from.
_base = HeaderTree(REGTEST)
MAIN = generate_headers(_base, 24, spacing=300)
_base.accept(MAIN, now=NOW)
FORK = generate_headers(_base.at_height(14), 12, tag=b"fork", spacing=301)

_FIELDS = ("version", "prev_block", "merkle_root", "time", "bits", "nonce")
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_result(tree: HeaderTree, result: AcceptResult) -> None:
    assert isinstance(result, Connected | Reorganized | ForkAdded | Rejected)
    if isinstance(result, Rejected):
        assert isinstance(result.reason, str) and result.reason
    check_tree(tree)


@st.composite
def raw_header(draw) -> BlockHeader:
    return BlockHeader.parse(draw(st.binary(min_size=80, max_size=80)))


@st.composite
def mutated_header(draw) -> BlockHeader:
    h = draw(st.sampled_from(MAIN + FORK))
    field = draw(st.sampled_from(_FIELDS))
    if field in ("prev_block", "merkle_root"):
        choices = st.sampled_from([x.hash for x in MAIN + FORK] + [REGTEST.genesis_hash]) | st.binary(min_size=32, max_size=32)
        value = draw(choices)
        if field == "prev_block":
            from core.consensus.hashes import BlockHash

            value = BlockHash(value)
    elif field == "version":
        value = draw(st.integers(-(2**31), 2**31 - 1))
    elif field == "bits":
        value = draw(st.sampled_from([0x207FFFFF, 0x207FFFFE, 0x1F7FFFFF, 0x00000000, 0x21000001, 0x20FFFFFF, 0x04800001]) | st.integers(0, 2**32 - 1))
    else:
        base = getattr(h, field)
        value = draw(st.integers(0, 2**32 - 1) | st.integers(max(base - 4000, 0), min(base + 4000, 2**32 - 1)))
    return replace(h, **{field: value})


@st.composite
def remined_header(draw) -> BlockHeader:
    """A mutated header whose nonce is ground again, so it passes the PoW check and meets the later rules."""
    h = draw(st.sampled_from(MAIN + FORK))
    field = draw(st.sampled_from(("time", "bits", "version", "prev_block")))
    if field == "time":
        value = h.time + draw(st.integers(-4000, 9000))
    elif field == "bits":
        value = draw(st.sampled_from([0x207FFFFE, 0x2000FFFF, 0x1F7FFFFF]))
    elif field == "version":
        value = draw(st.integers(-3, 5))
    else:
        value = draw(st.sampled_from([x.hash for x in MAIN + FORK] + [REGTEST.genesis_hash]))
    h = replace(h, **{field: value})
    return mine_header(h.prev_block, h.time, h.bits, h.merkle_root, h.version)


@st.composite
def segment(draw) -> list[BlockHeader]:
    """A run of consecutive valid headers (main or fork) or one broken header."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        chain = draw(st.sampled_from((MAIN, FORK)))
        start = draw(st.just(0) | st.integers(0, len(chain) - 1))
        return chain[start : start + draw(st.integers(1, 12))]
    return [draw((mutated_header, remined_header, raw_header)[kind - 1]())]


batch_item = st.sampled_from(MAIN + FORK) | mutated_header() | raw_header()
batch = st.lists(segment(), max_size=5).map(lambda segs: [h for seg in segs for h in seg])


@_SETTINGS
@given(st.lists(raw_header(), max_size=20))
def test_random_headers_are_rejected(headers: list[BlockHeader]) -> None:
    tree = HeaderTree(REGTEST)
    result = tree.accept(headers, now=NOW)
    if headers:
        assert isinstance(result, Rejected)
    _check_result(tree, result)
    assert tree.height == 0


@_SETTINGS
@given(st.integers(0, len(MAIN)), st.lists(batch, min_size=1, max_size=4))
def test_mutated_chains_keep_tree_consistent(known: int, batches: list[list[BlockHeader]]) -> None:
    tree = HeaderTree(REGTEST)
    _check_result(tree, tree.accept(MAIN[:known], now=NOW))
    for batch in batches:
        _check_result(tree, tree.accept(batch, now=NOW))


@_SETTINGS
@given(st.permutations(MAIN[:12]), st.integers(0, 11))
def test_out_of_order_batches(order: list[BlockHeader], cut: int) -> None:
    tree = HeaderTree(REGTEST)
    _check_result(tree, tree.accept(order[:cut], now=NOW))
    _check_result(tree, tree.accept(order[cut:], now=NOW))


@_SETTINGS
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 36)), max_size=6))
def test_invalidation_sequences(ops: list[tuple[bool, int]]) -> None:
    tree = HeaderTree(REGTEST)
    tree.accept(MAIN, now=NOW)
    for is_accept, k in ops:
        if is_accept:
            result = tree.accept((MAIN + FORK)[k - 1 : k + 5], now=NOW)
            _check_result(tree, result)
        else:
            entry = tree.get((MAIN + FORK)[k - 1].hash)
            if entry is not None:
                tree.mark_invalid(entry)
                check_tree(tree)


@_SETTINGS
@given(st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40))
def test_out_of_range_fields_are_rejected(version: int, nonce: int) -> None:
    tree = HeaderTree(REGTEST)
    header = replace(MAIN[0], version=version, nonce=nonce)
    result = tree.accept([header], now=NOW)
    _check_result(tree, result)
    if not (-(2**31) <= version < 2**31 and 0 <= nonce < 2**32):
        assert isinstance(result, Rejected) and result.reason == "bad-header-encoding"
