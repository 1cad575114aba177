#include "BF16Kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Every addition is written as one fused multiply-add or one addition: nothing may be contracted or reassociated.
#pragma clang fp contract(off)

/// Rows of C per tile, and columns (two vectors of 16 Float32 accumulators).
enum { bf16_rows = 8, bf16_columns = 32 };

static inline uint32_t bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static inline float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/// Float32 to bfloat16 (as bits): subnormals to signed zero, NaN to a quiet NaN of the same sign, else to nearest,
/// ties to even. Written without branches, so that the packing loops vectorise.
static inline uint32_t bf16_bits(uint32_t u) {
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet = (u >> 16) | 0x0040u;
    const uint32_t zero = (u >> 16) & 0x8000u;
    const uint32_t finite = (u & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
    return (u & 0x7F800000u) == 0 ? zero : finite;
}

static inline uint16_t to_bf16(float x) { return (uint16_t)bf16_bits(bits_of(x)); }

/// Two Float32 values as one dword of bfloat16: `low` in the low half (the even k of a pair), `high` in the high.
static inline uint32_t pair_of(float low, float high) {
    return bf16_bits(bits_of(low)) | (bf16_bits(bits_of(high)) << 16);
}

void backprop_round_to_bf16(const float *x, uint16_t *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = to_bf16(x[i]);
}

int backprop_bf16_instruction_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/// The pairs of k, rounded up.
static inline size_t pairs_of(size_t k) { return (k + 1) / 2; }

size_t backprop_gemm_bf16_scratch(const backprop_gemm *p) {
    // B: every panel of 32 columns, two bfloat16 per pair; A: one panel of 8 rows.
    const size_t panels = (p->n + bf16_columns - 1) / bf16_columns;
    return 2 * pairs_of(p->k) * (panels * bf16_columns + bf16_rows);
}

/// Packs op(B) into panels of 32 columns: for each pair p, 32 dwords, column j's holding bfloat16 (2p, j) in its low
/// half and (2p + 1, j) in its high half (zero beyond k and n). Each loop reads the source in its stored order.
static void pack_b(const backprop_gemm *p, const float *b, uint32_t *packed) {
    const size_t pairs = pairs_of(p->k), whole = p->k / 2;
    for (size_t j0 = 0; j0 < p->n; j0 += bf16_columns) {
        uint32_t *panel = packed + (j0 / bf16_columns) * pairs * bf16_columns;
        const size_t width = p->n - j0 < bf16_columns ? p->n - j0 : bf16_columns;
        if (width < bf16_columns) memset(panel, 0, pairs * bf16_columns * 4);
        if (p->transpose_b) {
            // Column j of op(B) is row j of B: its pairs are consecutive.
            for (size_t jj = 0; jj < width; jj++) {
                const float *row = b + (j0 + jj) * p->ldb;
                for (size_t q = 0; q < whole; q++) panel[q * bf16_columns + jj] = pair_of(row[2 * q], row[2 * q + 1]);
                if (whole < pairs) panel[whole * bf16_columns + jj] = pair_of(row[2 * whole], 0);
            }
        } else {
            for (size_t q = 0; q < pairs; q++) {
                const float *even = b + 2 * q * p->ldb + j0;
                uint32_t *out = panel + q * bf16_columns;
                if (2 * q + 1 < p->k) {
                    const float *odd = even + p->ldb;
                    for (size_t jj = 0; jj < width; jj++) out[jj] = pair_of(even[jj], odd[jj]);
                } else {
                    for (size_t jj = 0; jj < width; jj++) out[jj] = pair_of(even[jj], 0);
                }
            }
        }
    }
}

/// Packs rows i0 ..< i0 + height of op(A): for each pair p, 8 dwords, row i's holding (i, 2p) low and (i, 2p + 1)
/// high (zero beyond k and the rows).
static void pack_a(const backprop_gemm *p, const float *a, uint32_t *packed, size_t i0, size_t height) {
    const size_t pairs = pairs_of(p->k), whole = p->k / 2;
    if (height < bf16_rows) memset(packed, 0, pairs * bf16_rows * 4);
    if (p->transpose_a) {
        for (size_t q = 0; q < pairs; q++) {
            const float *even = a + 2 * q * p->lda + i0;
            uint32_t *out = packed + q * bf16_rows;
            if (2 * q + 1 < p->k) {
                const float *odd = even + p->lda;
                for (size_t ii = 0; ii < height; ii++) out[ii] = pair_of(even[ii], odd[ii]);
            } else {
                for (size_t ii = 0; ii < height; ii++) out[ii] = pair_of(even[ii], 0);
            }
        }
    } else {
        for (size_t ii = 0; ii < height; ii++) {
            const float *row = a + (i0 + ii) * p->lda;
            for (size_t q = 0; q < whole; q++) packed[q * bf16_rows + ii] = pair_of(row[2 * q], row[2 * q + 1]);
            if (whole < pairs) packed[whole * bf16_rows + ii] = pair_of(row[2 * whole], 0);
        }
    }
}

/// A bfloat16 as Float32, read as zero when subnormal (packed values never are; kept for the definition).
static inline float from_bf16(uint16_t h) {
    if ((h & 0x7F80u) == 0) h &= 0x8000u;
    return float_of((uint32_t)h << 16);
}

/// Flushes a subnormal result to zero of its sign.
static inline float flushed(float x) {
    return fabsf(x) < 0x1p-126f ? copysignf(0.0f, x) : x;
}

/// The portable tile: exactly `vdpbf16ps`'s additions, one element at a time.
static void tile_portable(const uint32_t *a, const uint32_t *b, size_t pairs, float *c, size_t ldc, size_t height,
                          size_t width, int accumulate) {
    for (size_t i = 0; i < height; i++) {
        for (size_t j = 0; j < width; j++) {
            float sum = 0;
            for (size_t q = 0; q < pairs; q++) {
                const uint32_t x = a[q * bf16_rows + i], y = b[q * bf16_columns + j];
                sum = flushed(fmaf(from_bf16((uint16_t)(x >> 16)), from_bf16((uint16_t)(y >> 16)), sum));
                sum = flushed(fmaf(from_bf16((uint16_t)x), from_bf16((uint16_t)y), sum));
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
        }
    }
}

#if defined(__x86_64__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// The tile on `vdpbf16ps`: 8 rows × 2 vectors of accumulators, one broadcast of A's pair per row and two loads of
/// B's pairs per step.
static BF16_TARGET void tile_instruction(const uint32_t *a, const uint32_t *b, size_t pairs, float *c, size_t ldc,
                                         size_t height, size_t width, int accumulate) {
    __m512 sums[bf16_rows][2];
    for (int i = 0; i < bf16_rows; i++) sums[i][0] = sums[i][1] = _mm512_setzero_ps();
    for (size_t q = 0; q < pairs; q++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns + 16);
        for (int i = 0; i < bf16_rows; i++) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[q * bf16_rows + i]);
            sums[i][0] = _mm512_dpbf16_ps(sums[i][0], ai, b0);
            sums[i][1] = _mm512_dpbf16_ps(sums[i][1], ai, b1);
        }
    }
    for (size_t i = 0; i < height; i++) {
        float row[bf16_columns];
        _mm512_storeu_ps(row, sums[i][0]);
        _mm512_storeu_ps(row + 16, sums[i][1]);
        for (size_t j = 0; j < width; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + row[j] : row[j];
    }
}
#endif

void backprop_gemm_bf16(const backprop_gemm *p, const float *a, const float *b, float *c, uint16_t *scratch,
                        backprop_bf16_path path) {
    if (p->m == 0 || p->n == 0) return;
    const size_t pairs = pairs_of(p->k);
    uint32_t *packed_b = (uint32_t *)scratch;
    uint32_t *packed_a = packed_b + pairs * ((p->n + bf16_columns - 1) / bf16_columns) * bf16_columns;
    pack_b(p, b, packed_b);
    int instruction = path == backprop_bf16_instruction
        || (path == backprop_bf16_automatic && backprop_bf16_instruction_available());
#if !defined(__x86_64__)
    instruction = 0;
#endif
    for (size_t i0 = 0; i0 < p->m; i0 += bf16_rows) {
        const size_t height = p->m - i0 < bf16_rows ? p->m - i0 : bf16_rows;
        pack_a(p, a, packed_a, i0, height);
        for (size_t j0 = 0; j0 < p->n; j0 += bf16_columns) {
            const size_t width = p->n - j0 < bf16_columns ? p->n - j0 : bf16_columns;
            const uint32_t *panel = packed_b + (j0 / bf16_columns) * pairs * bf16_columns;
            float *tile = c + i0 * p->ldc + j0;
#if defined(__x86_64__)
            if (instruction) {
                tile_instruction(packed_a, panel, pairs, tile, p->ldc, height, width, p->accumulate);
                continue;
            }
#endif
            tile_portable(packed_a, panel, pairs, tile, p->ldc, height, width, p->accumulate);
        }
    }
}
