"""Bitcoin Core's tx_valid.json: transactions whose scripts verify, checked as transaction_tests.cpp does.

The flags field lists flags EXCLUDED from the full set. Each transaction must pass
CheckTransaction and verify with all other flags; it must keep verifying with any one more flag
removed, and must fail when any one excluded flag is put back (the exclusions are minimal).
"""

from __future__ import annotations

import pytest

from core.consensus.check import check_transaction
from core.script.flags import ALL_FLAGS, is_valid_flag_combination, parse_flags
from tests.vectors.tx_script_vectors import (
    SINGLE_FLAGS,
    decode,
    exclude_individual_flags,
    load,
    scripts_valid,
    trim_flags,
)

CASES = load("core_tx_valid.json")


@pytest.mark.parametrize(("row",), [(row,) for _, row in CASES], ids=[i for i, _ in CASES])
def test_tx_valid(row: list) -> None:
    vec = decode(row)
    check_transaction(vec.tx)
    excluded = parse_flags(vec.flags_text)
    flags = ALL_FLAGS & ~excluded
    assert is_valid_flag_combination(flags), "bad test flags"
    assert scripts_valid(vec, flags), "transaction unexpectedly failed"

    # Removing any flag must not invalidate a valid transaction.
    for flag in SINGLE_FLAGS:
        fewer = trim_flags(ALL_FLAGS & ~(excluded | flag))
        assert scripts_valid(vec, fewer), f"failed with {flag.name} unset as well"
    # The excluded set is maximal: re-enabling any one excluded flag makes it fail.
    for still_excluded in exclude_individual_flags(excluded):
        assert not scripts_valid(vec, ALL_FLAGS & ~still_excluded), "too many flags excluded"
