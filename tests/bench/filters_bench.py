"""Benchmark: matching a 1,000-script wallet against mainnet-size BIP158 filters.

`run()` builds `n_filters` filters of ~7,500 elements (~20 KB each, like mainnet blocks) from a seeded RNG
and times, in ms per filter: the fast path (C kernel, wallet prepared once as an ElementSet), the same
with a plain list of scripts, the C kernel fed SipHash values computed in Python with siphashc, the
pure-Python + siphashc fallback, and the pure-Python reference (pure SipHash, bit-at-a-time decoding)
on a few filters as the same-run baseline. Filter values are drawn uniformly from [0, N*M), which is
exactly the distribution of hashed elements, and some filters get a wallet script planted so matches
are checked too. Run directly for a table: `python3 tests/bench/filters_bench.py [--filters N]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import siphashc  # noqa: E402

from core.consensus.serialize import ser_compact_size  # noqa: E402
from core.filters import gcs  # noqa: E402
from core.filters import reference as ref  # noqa: E402
from core.filters.gcs import BASIC_FILTER_M as M  # noqa: E402
from core.filters.gcs import BASIC_FILTER_P as P  # noqa: E402
from core.filters.kernel import get_kernel  # noqa: E402

GOAL_MS = 0.5
PLANT_EVERY = 25  # every 25th filter contains one wallet script
_BATCH = 250  # filters generated at a time, to bound memory

Filter = tuple[bytes, bytes, int | None]  # (encoded filter, key, index of the planted wallet script)


def _sorted_values(rng: random.Random, n: int, f: int) -> list[int]:
    try:
        import numpy as np
    except ImportError:
        return sorted(rng.randrange(f) for _ in range(n))
    gen = np.random.default_rng(rng.getrandbits(64))
    return np.sort(gen.integers(0, f, size=n, dtype=np.uint64)).tolist()


def _filters(rng: random.Random, count: int, n_elements: int, wallet: list[bytes]) -> Iterator[list[Filter]]:
    """Batches of encoded filters, each with its key and planted wallet-script index (or None)."""
    made = 0
    while made < count:
        batch = []
        for _ in range(min(_BATCH, count - made)):
            key = rng.randbytes(16)
            planted = rng.randrange(len(wallet)) if made % PLANT_EVERY == 0 else None
            n = n_elements
            values = _sorted_values(rng, n - (planted is not None), n * M)
            if planted is not None:
                values.append(gcs.hash_to_range(key, wallet[planted], n * M))
                values.sort()
            batch.append((ser_compact_size(n) + gcs.encode_values(values, P), key, planted))
            made += 1
        yield batch


def _time_per_filter(fn, filters: list[Filter]) -> tuple[float, list[set[int]]]:
    results = []
    t0 = time.perf_counter()
    for data, key, _ in filters:
        results.append(fn(data, key))
    return (time.perf_counter() - t0) * 1000 / len(filters), results


def _metric(name: str, value: float, unit: str = "ms", goal: float | None = None,
            baseline: float | None = None) -> dict:  # fmt: skip
    ratio = round(baseline / value, 1) if baseline is not None and value > 0 else None
    baseline = round(baseline, 4) if baseline is not None else None
    return {
        "metric": name,
        "value": round(value, 4),
        "unit": unit,
        "goal": goal,
        "baseline": baseline,
        "ratio": ratio,
    }


def run(n_filters: int = 5000, n_elements: int = 7500, wallet_size: int = 1000, baseline_filters: int = 20,
        seed: int = 158) -> list[dict]:  # fmt: skip
    """Time the matching paths; returns metric dicts {"metric","value","unit","goal","baseline","ratio"}."""
    rng = random.Random(seed)
    wallet_scripts = [bytes.fromhex("0014") + rng.randbytes(20) for _ in range(wallet_size)]
    wallet = gcs.ElementSet(wallet_scripts)
    kern = get_kernel()

    fast_ms = list_ms = hashing_ms = 0.0
    fallback_ms: list[float] = []
    kept: list[Filter] = []
    total_bytes = 0
    for batch in _filters(rng, n_filters, n_elements, wallet_scripts):
        total_bytes += sum(len(d) for d, _, _ in batch)
        ms, found = _time_per_filter(lambda d, k: gcs.match_set(d, k, wallet), batch)
        fast_ms += ms * len(batch)
        for (_, _, planted), hits in zip(batch, found, strict=True):
            if planted is not None and planted not in hits:
                raise AssertionError("planted wallet script not matched")
        list_ms += _time_per_filter(lambda d, k: gcs.match_set(d, k, wallet_scripts), batch)[0] * len(batch)
        if kern is not None:
            hashing_ms += _time_per_filter(lambda d, k: _kernel_python_hashing(kern, d, k, wallet_scripts),
                                           batch)[0] * len(batch)  # fmt: skip
        if len(kept) < baseline_filters:
            kept.extend(batch[: baseline_filters - len(kept)])
        fallback_sample = batch[:10]
        ms, fb = _time_per_filter(
            lambda d, k: gcs.python_match_set(d, k, wallet_scripts, P, M), fallback_sample
        )
        fallback_ms.append(ms)
        if fb != found[: len(fallback_sample)]:
            raise AssertionError("fallback and fast path disagree")

    ref_ms, ref_found = _time_per_filter(lambda d, k: ref.match_set(d, k, P, M, wallet_scripts), kept)
    fast_kept = [gcs.match_set(d, k, wallet) for d, k, _ in kept]
    if ref_found != fast_kept:
        raise AssertionError("reference and fast path disagree")

    fast = fast_ms / n_filters
    rows = [
        _metric("filters.match_ms_per_filter", fast, goal=GOAL_MS, baseline=ref_ms),
        _metric("filters.match_ms_per_filter_list_arg", list_ms / n_filters, goal=GOAL_MS, baseline=ref_ms),
    ]
    if kern is not None:
        rows.append(
            _metric("filters.match_ms_per_filter_siphashc_in_python", hashing_ms / n_filters, baseline=ref_ms)
        )
    rows += [
        _metric(
            "filters.match_ms_per_filter_python_fallback",
            sum(fallback_ms) / len(fallback_ms),
            baseline=ref_ms,
        ),
        _metric("filters.reference_ms_per_filter", ref_ms),
        _metric("filters.filter_size_avg", total_bytes / n_filters, unit="bytes"),
        _metric("filters.c_kernel_built", 1.0 if kern is not None else 0.0, unit="bool", goal=1.0),
    ]
    return rows


def _kernel_python_hashing(kern, data: bytes, key: bytes, scripts: list[bytes]) -> set[int]:
    """The alternative design: SipHash in Python with siphashc, decode and merge in C."""
    n, offset = gcs.read_element_count(data, P)
    hashes = [siphashc.siphash(key, s) for s in scripts]
    return set(kern.match_hashes(data, offset, n, P, n * M, hashes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="BIP158 filter matching benchmark")
    ap.add_argument("--filters", type=int, default=5000, help="number of mainnet-size filters (default 5000)")
    ap.add_argument("--baseline-filters", type=int, default=20, help="filters timed with the reference")
    args = ap.parse_args(argv)
    from tests.bench.run import print_table

    print_table(run(n_filters=args.filters, baseline_filters=args.baseline_filters))
    return 0


if __name__ == "__main__":
    sys.exit(main())
