"""Bitcoin Core's tx_invalid.json: transactions that must be rejected, as transaction_tests.cpp checks.

"BADTX" rows must fail CheckTransaction. Every other row passes CheckTransaction but fails script
verification with the listed flags; it must keep failing with any one flag added, and must pass
when any one listed flag is removed (the listed set is minimal).
"""

from __future__ import annotations

import pytest

from core.consensus.check import check_transaction
from core.consensus.errors import ValidationError
from core.script.flags import parse_flags
from tests.vectors.tx_script_vectors import (
    SINGLE_FLAGS,
    decode,
    exclude_individual_flags,
    fill_flags,
    load,
    scripts_valid,
)

CASES = load("core_tx_invalid.json")


@pytest.mark.parametrize(("row",), [(row,) for _, row in CASES], ids=[i for i, _ in CASES])
def test_tx_invalid(row: list) -> None:
    vec = decode(row)
    try:
        check_transaction(vec.tx)
    except ValidationError:
        assert vec.flags_text == "BADTX", "CheckTransaction failed, but the row does not say BADTX"
        return
    assert vec.flags_text != "BADTX", "expected CheckTransaction to fail"
    flags = parse_flags(vec.flags_text)
    assert flags == fill_flags(flags), "bad test flags"
    assert not scripts_valid(vec, flags), "transaction unexpectedly passed"

    # Adding any flag must not validate an invalid transaction.
    for flag in SINGLE_FLAGS:
        assert not scripts_valid(vec, fill_flags(flags | flag)), f"passed with {flag.name} set"
    # The listed set is minimal: without any one of them the transaction verifies.
    for fewer in exclude_individual_flags(flags):
        assert scripts_valid(vec, fewer), "too many flags listed"
