"""Loader and Python face of the compiled cffi matching kernel (`core.filters._gcs`).

The kernel decodes a Golomb-Rice stream word-at-a-time, hashes the wallet's scripts with SipHash-2-4 in C
and merge-joins the two sorted sequences, so one mainnet-size filter (~7,500 elements) against 1,000
scripts costs tens of microseconds instead of the ~50 ms of the pure-Python reference. The source and
builder are in `_gcs_build.py`. When the extension was not built, `get_kernel()` returns None once it
has logged a single warning, and `core.filters.gcs` falls back to its pure-Python + siphashc path.
"""

from __future__ import annotations

import importlib
import logging
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from types import ModuleType
from typing import Any

from core.filters.errors import FilterDecodeError, FilterError

log = logging.getLogger(__name__)

MODULE_NAME = "core.filters._gcs"

# Return codes of the C functions (see _gcs_build.py).
_ERR_TRUNCATED = -1
_ERR_EXCESS = -2
_ERR_NOMEM = -3
_ERR_UNSORTED = -4
_ERR_CAPACITY = -5


def _raise_for(rc: int) -> None:
    if rc == _ERR_TRUNCATED:
        raise FilterDecodeError("filter stream truncated")
    if rc == _ERR_EXCESS:
        raise FilterDecodeError("encoded filter contains excess data")
    if rc == _ERR_NOMEM:
        raise MemoryError("filter kernel could not allocate its scratch space")
    if rc == _ERR_UNSORTED:
        raise FilterError("values to encode are not sorted")
    raise FilterError(f"filter kernel failed with code {rc}")


@dataclass(frozen=True, slots=True)
class PackedScripts:
    """Scripts laid out for the kernel once: one contiguous blob plus count+1 offsets into it."""

    count: int
    blob: Any  # cdata uint8_t[] (keeps the joined bytes alive)
    offsets: Any  # cdata uint64_t[count + 1] over an array('Q')


class CKernel:
    """Typed wrapper over one loaded copy of the extension (its `ffi` and `lib`)."""

    def __init__(self, module: ModuleType) -> None:
        self.ffi = module.ffi
        self.lib = module.lib
        # Output buffers are written before they are read: skip zero-filling them.
        self._new_raw = module.ffi.new_allocator(should_clear_after_alloc=False)

    def pack(self, scripts: Sequence[bytes]) -> PackedScripts:
        """Lay out `scripts` for `match_scripts`; do it once per wallet, not once per block."""
        blob = b"".join(scripts) or b"\x00"  # one byte keeps the pointer valid for an empty wallet
        offsets = array("Q", accumulate(map(len, scripts), initial=0))
        ffi = self.ffi
        return PackedScripts(
            len(scripts), ffi.from_buffer("uint8_t[]", blob), ffi.from_buffer("uint64_t[]", offsets)
        )

    def match_scripts(
        self, data: bytes, offset: int, n: int, p: int, f: int, key: bytes, packed: PackedScripts
    ) -> list[int]:
        """Indexes of packed scripts whose hash under `key` is in the stream `data[offset:]` of n items."""
        ffi = self.ffi
        stream = ffi.from_buffer("uint8_t[]", data)
        found = self._new_raw("uint32_t[]", max(packed.count, 1))
        k0 = int.from_bytes(key[:8], "little")
        k1 = int.from_bytes(key[8:16], "little")
        rc = self.lib.gcs_match_scripts(
            stream + offset, len(data) - offset, p, n, f, k0, k1, packed.blob, packed.offsets,
            packed.count, found,
        )  # fmt: skip
        if rc < 0:
            _raise_for(rc)
        return ffi.unpack(found, rc)

    def match_hashes(
        self, data: bytes, offset: int, n: int, p: int, f: int, hashes: Sequence[int]
    ) -> list[int]:
        """Like `match_scripts` but with the 64-bit SipHash values computed by the caller."""
        ffi = self.ffi
        stream = ffi.from_buffer("uint8_t[]", data)
        found = self._new_raw("uint32_t[]", max(len(hashes), 1))
        hashes_c = ffi.new("uint64_t[]", hashes) if hashes else ffi.NULL
        rc = self.lib.gcs_match_hashes(
            stream + offset, len(data) - offset, p, n, f, hashes_c, len(hashes), found
        )
        if rc < 0:
            _raise_for(rc)
        return ffi.unpack(found, rc)

    def decode(self, data: bytes, offset: int, n: int, p: int) -> list[int]:
        """The n cumulative values of the Golomb-Rice stream `data[offset:]`."""
        ffi = self.ffi
        stream = ffi.from_buffer("uint8_t[]", data)
        out = self._new_raw("uint64_t[]", max(n, 1))
        rc = self.lib.gcs_decode(stream + offset, len(data) - offset, p, n, out)
        if rc < 0:
            _raise_for(rc)
        return ffi.unpack(out, n)

    def encode(self, values: Sequence[int], p: int) -> bytes:
        """Golomb-Rice stream of the sorted `values` (deltas, unary quotient, p-bit remainder)."""
        if not values:
            return b""
        # Exact upper bound: the unary parts add up to at most max(values) >> p bits.
        cap = ((values[-1] >> p) + len(values) * (p + 1) + 7) // 8
        ffi = self.ffi
        out = self._new_raw("uint8_t[]", cap)
        rc = self.lib.gcs_encode(ffi.new("uint64_t[]", values), len(values), p, out, cap)
        if rc < 0:
            _raise_for(rc)
        return ffi.buffer(out, rc)[:]


_kernel: CKernel | None = None
_loaded = False


def get_kernel() -> CKernel | None:
    """The compiled kernel, or None (after one logged warning) when the extension is not built."""
    global _kernel, _loaded
    if not _loaded:
        _loaded = True
        try:
            _kernel = CKernel(importlib.import_module(MODULE_NAME))
        except ImportError as e:
            log.warning(
                "compact block filter kernel not built (%s); using the slower pure-Python path. "
                "Build it with: python3 core/filters/_gcs_build.py",
                e,
            )
    return _kernel
