"""cffi builder ("API out-of-line" mode) of the `core.filters._gcs` matching kernel.

setuptools runs it at install time (`cffi_modules` in setup.py); for development,
`python3 core/filters/_gcs_build.py` compiles the extension in place, next to this file.
The C source lives here as a string so an sdist needs nothing beyond this file to build it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

CDEF = """
int64_t gcs_match_scripts(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t f,
                          uint64_t k0, uint64_t k1, const uint8_t *blob, const uint64_t *offsets,
                          size_t count, uint32_t *found);
int64_t gcs_match_hashes(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t f,
                         const uint64_t *hashes, size_t count, uint32_t *found);
int64_t gcs_decode(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t *out);
int64_t gcs_encode(const uint64_t *values, size_t n, uint32_t p, uint8_t *out, size_t cap);
"""

# Negative return codes; kept in sync with core/filters/kernel.py.
SOURCE = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GCS_ERR_TRUNCATED (-1)
#define GCS_ERR_EXCESS (-2)
#define GCS_ERR_NOMEM (-3)
#define GCS_ERR_UNSORTED (-4)
#define GCS_ERR_CAPACITY (-5)

static inline uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t load_be64(const uint8_t *p) {
    return (uint64_t)p[7] | (uint64_t)p[6] << 8 | (uint64_t)p[5] << 16 | (uint64_t)p[4] << 24 |
           (uint64_t)p[3] << 32 | (uint64_t)p[2] << 40 | (uint64_t)p[1] << 48 | (uint64_t)p[0] << 56;
}

/* Count of leading zero bits of a non-zero word. */
static inline unsigned clz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (!(x & 0x8000000000000000ULL)) { x <<= 1; n++; }
    return n;
#endif
}

/* High 64 bits of a*b: Core's FastRange64 maps a hash into [0, F). */
static inline uint64_t mulhi64(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#else
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                   \
    do {                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                  \
    } while (0)

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *d, size_t len) {
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7, i;
    uint64_t m, last = (uint64_t)(len & 0xff) << 56;
    for (i = 0; i < full; i += 8) {
        m = load_le64(d + i);
        v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
    }
    for (i = 0; i < (len & 7); i++) last |= (uint64_t)d[full + i] << (8 * i);
    v3 ^= last; SIPROUND; SIPROUND; v0 ^= last;
    v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* MSB-first bit reader. `buf` holds `nbits` valid bits at its top; the bits below them are either zero
   or genuine look-ahead bits of the stream (the 8-byte refill may load more than it counts). */
typedef struct {
    const uint8_t *s;
    size_t len, pos;
    uint64_t buf;
    unsigned nbits;
} bitreader;

static inline void refill(bitreader *r) {
    if (r->nbits > 56) return;
    if (r->len - r->pos >= 8) {
        unsigned take = (64 - r->nbits) >> 3;
        r->buf |= load_be64(r->s + r->pos) >> r->nbits;
        r->pos += take;
        r->nbits += take * 8;
    } else {
        while (r->nbits <= 56 && r->pos < r->len) {
            r->buf |= (uint64_t)r->s[r->pos++] << (56 - r->nbits);
            r->nbits += 8;
        }
    }
}

/* One Golomb-Rice coded delta; returns 0 or GCS_ERR_TRUNCATED. */
static inline int read_delta(bitreader *r, unsigned p, uint64_t *delta) {
    uint64_t q = 0;
    for (;;) {
        uint64_t inv;
        unsigned ones;
        refill(r);
        if (r->nbits == 0) return GCS_ERR_TRUNCATED;
        inv = ~r->buf;
        ones = inv ? clz64(inv) : 64;
        if (ones >= r->nbits) { /* every valid bit is a one: keep counting after a refill */
            q += r->nbits;
            r->buf = 0;
            r->nbits = 0;
            continue;
        }
        q += ones;
        r->buf = (r->buf << ones) << 1;
        r->nbits -= ones + 1;
        break;
    }
    if (r->nbits < p) {
        refill(r);
        if (r->nbits < p) return GCS_ERR_TRUNCATED;
    }
    *delta = (q << p) | (r->buf >> (64 - p));
    r->buf <<= p;
    r->nbits -= p;
    return 0;
}

/* Core rejects a filter whose element count is reached before its last byte. */
static inline int check_end(const bitreader *r) {
    uint64_t used_bits = (uint64_t)r->pos * 8 - r->nbits;
    return (used_bits + 7) / 8 == r->len ? 0 : GCS_ERR_EXCESS;
}

typedef struct {
    uint64_t v;
    uint64_t i;
} pair;

/* LSD radix sort of pairs by v (< f) on 8-bit digits, skipping digits where every key agrees.
   Ping-pongs between the two buffers and returns the one holding the result. */
static pair *sort_pairs(pair *a, pair *tmp, size_t n, uint64_t f) {
    unsigned shift;
    size_t i;
    if (n < 2) return a;
    for (shift = 0; shift < 64 && ((f - 1) >> shift) != 0; shift += 8) {
        size_t count[256] = {0}, sum = 0;
        pair *t;
        for (i = 0; i < n; i++) count[(a[i].v >> shift) & 0xff]++;
        if (count[(a[0].v >> shift) & 0xff] == n) continue;
        for (i = 0; i < 256; i++) { size_t c = count[i]; count[i] = sum; sum += c; }
        for (i = 0; i < n; i++) tmp[count[(a[i].v >> shift) & 0xff]++] = a[i];
        t = a; a = tmp; tmp = t;
    }
    return a;
}

/* Decode all n deltas and merge-join them with the sorted queries; returns the number of matching
   query indexes written to `found`, or a negative error. */
static int64_t merge(const uint8_t *stream, size_t stream_len, unsigned p, uint64_t n, const pair *q,
                     size_t count, uint32_t *found) {
    bitreader r = {stream, stream_len, 0, 0, 0};
    uint64_t k, acc = 0, delta;
    size_t qi = 0;
    int64_t nfound = 0;
    int rc;
    for (k = 0; k < n; k++) {
        if ((rc = read_delta(&r, p, &delta)) != 0) return rc;
        acc += delta;
        while (qi < count && q[qi].v < acc) qi++;
        /* a match consumes every query equal to it, so a value repeated in the filter counts once */
        while (qi < count && q[qi].v == acc) found[nfound++] = (uint32_t)q[qi++].i;
    }
    rc = check_end(&r);
    return rc ? rc : nfound;
}

static pair *alloc_pairs(size_t count) {
    return (pair *)malloc(2 * (count ? count : 1) * sizeof(pair));
}

int64_t gcs_match_scripts(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t f,
                          uint64_t k0, uint64_t k1, const uint8_t *blob, const uint64_t *offsets,
                          size_t count, uint32_t *found) {
    pair *a = alloc_pairs(count), *sorted;
    size_t i;
    int64_t rc;
    if (!a) return GCS_ERR_NOMEM;
    for (i = 0; i < count; i++) {
        a[i].v = mulhi64(siphash24(k0, k1, blob + offsets[i], offsets[i + 1] - offsets[i]), f);
        a[i].i = i;
    }
    sorted = sort_pairs(a, a + count, count, f);
    rc = merge(stream, stream_len, p, n, sorted, count, found);
    free(a);
    return rc;
}

int64_t gcs_match_hashes(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t f,
                         const uint64_t *hashes, size_t count, uint32_t *found) {
    pair *a = alloc_pairs(count), *sorted;
    size_t i;
    int64_t rc;
    if (!a) return GCS_ERR_NOMEM;
    for (i = 0; i < count; i++) {
        a[i].v = mulhi64(hashes[i], f);
        a[i].i = i;
    }
    sorted = sort_pairs(a, a + count, count, f);
    rc = merge(stream, stream_len, p, n, sorted, count, found);
    free(a);
    return rc;
}

int64_t gcs_decode(const uint8_t *stream, size_t stream_len, uint32_t p, uint64_t n, uint64_t *out) {
    bitreader r = {stream, stream_len, 0, 0, 0};
    uint64_t k, acc = 0, delta;
    int rc;
    for (k = 0; k < n; k++) {
        if ((rc = read_delta(&r, p, &delta)) != 0) return rc;
        acc += delta;
        out[k] = acc;
    }
    rc = check_end(&r);
    return rc ? rc : (int64_t)n;
}

/* MSB-first bit writer: `acc` keeps the `nacc` (< 8 between calls) bits not yet written out. */
typedef struct {
    uint8_t *out;
    size_t cap, pos;
    uint64_t acc;
    unsigned nacc;
} bitwriter;

static inline int put_bits(bitwriter *w, uint64_t v, unsigned nbits) { /* nbits <= 32 */
    w->acc = (w->acc << nbits) | v;
    w->nacc += nbits;
    while (w->nacc >= 8) {
        if (w->pos == w->cap) return GCS_ERR_CAPACITY;
        w->nacc -= 8;
        w->out[w->pos++] = (uint8_t)(w->acc >> w->nacc);
    }
    w->acc &= ((uint64_t)1 << w->nacc) - 1;
    return 0;
}

int64_t gcs_encode(const uint64_t *values, size_t n, uint32_t p, uint8_t *out, size_t cap) {
    bitwriter w = {out, cap, 0, 0, 0};
    uint64_t last = 0, delta, q;
    size_t k;
    int rc;
    for (k = 0; k < n; k++) {
        if (values[k] < last) return GCS_ERR_UNSORTED;
        delta = values[k] - last;
        last = values[k];
        for (q = delta >> p; q >= 32; q -= 32)
            if ((rc = put_bits(&w, 0xffffffffULL, 32)) != 0) return rc;
        if ((rc = put_bits(&w, (((uint64_t)1 << q) - 1) << 1, (unsigned)q + 1)) != 0) return rc;
        if ((rc = put_bits(&w, delta & (((uint64_t)1 << p) - 1), p)) != 0) return rc;
    }
    if (w.nacc) {
        if (w.pos == w.cap) return GCS_ERR_CAPACITY;
        w.out[w.pos++] = (uint8_t)(w.acc << (8 - w.nacc));
    }
    return (int64_t)w.pos;
}
"""

MODULE_NAME = "core.filters._gcs"

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    MODULE_NAME,
    SOURCE,
    extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
)


def build_in_place() -> Path:
    """Compile the extension next to this file (core/filters/_gcs.*.so) for development."""
    repo_root = Path(__file__).resolve().parents[2]
    return Path(ffibuilder.compile(tmpdir=str(repo_root), verbose=False))


if __name__ == "__main__":
    print(build_in_place())
