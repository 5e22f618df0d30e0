"""BIP158 test vectors (testnet blocks): basic filter bytes, filter headers, matching and decoding.

Rows: [height, block hash, block hex, [prev output scripts], previous basic header, basic filter,
basic header, notes]; the first row is a column-name comment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.consensus.block import Block
from core.filters import BlockFilter, FilterHeader, basic_filter_elements
from core.filters import reference as ref
from core.filters.gcs import encode_values, read_element_count

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"

ROWS = [r for r in json.loads((VECTORS / "bip158_testnet19.json").read_text()) if len(r) > 1]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r[0]}-{r[7] or 'block'}" for r in ROWS])
def test_basic_filter_vector(row: list) -> None:
    height, block_hash, block_hex, prev_scripts_hex, prev_header, filter_hex, header_hex, _notes = row
    block = Block.parse(bytes.fromhex(block_hex))
    assert str(block.hash) == block_hash, height
    spent = [bytes.fromhex(s) for s in prev_scripts_hex]

    bf = BlockFilter.build_basic(block, spent)
    assert bf.encoded.hex() == filter_hex
    header = bf.compute_header(FilterHeader.from_hex(prev_header))
    assert isinstance(header, FilterHeader)
    assert str(header) == header_hex

    # Every element of the filter matches, through the public (kernel or fallback) path.
    elements = sorted(basic_filter_elements(block, spent))
    assert bf.match_set(elements) == set(range(len(elements)))
    assert bf.match_any(elements) == bool(elements)

    # Decoding round-trips and agrees with the bit-at-a-time reference.
    values = bf.decode()
    assert values == ref.decode(bf.encoded, 19)
    assert len(values) == len(elements)
    _, offset = read_element_count(bf.encoded, 19)
    assert encode_values(values) == bf.encoded[offset:]
