"""BIP157/158 compact block filters: Golomb-coded sets, basic filters, filter headers, fast matching."""

from core.filters.basic import (
    BlockFilter,
    FilterHash,
    FilterHeader,
    FilterType,
    basic_filter_elements,
    compute_filter_header,
)
from core.filters.errors import FilterDecodeError, FilterError
from core.filters.gcs import (
    BASIC_FILTER_M,
    BASIC_FILTER_P,
    ElementSet,
    GCSParams,
    build_filter,
    decode_filter,
    match_any,
    match_set,
)

__all__ = [
    "BASIC_FILTER_M",
    "BASIC_FILTER_P",
    "BlockFilter",
    "ElementSet",
    "FilterDecodeError",
    "FilterError",
    "FilterHash",
    "FilterHeader",
    "FilterType",
    "GCSParams",
    "basic_filter_elements",
    "build_filter",
    "compute_filter_header",
    "decode_filter",
    "match_any",
    "match_set",
]
