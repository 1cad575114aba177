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

/// Float32 to bfloat16: subnormals to signed zero, NaN to a quiet NaN of the same sign, else to nearest, ties to even.
static inline uint16_t to_bf16(float x) {
    uint32_t u = bits_of(x);
    if ((u & 0x7F800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
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

static inline float op_a(const backprop_gemm *p, const float *a, size_t i, size_t k) {
    return p->transpose_a ? a[k * p->lda + i] : a[i * p->lda + k];
}

static inline float op_b(const backprop_gemm *p, const float *b, size_t k, size_t j) {
    return p->transpose_b ? b[j * p->ldb + k] : b[k * p->ldb + j];
}

/// Packs op(B) into panels of 32 columns: for each pair p, 32 dwords, column j's holding bfloat16 (2p, j) in its low
/// half and (2p + 1, j) in its high half (zero beyond k and n).
static void pack_b(const backprop_gemm *p, const float *b, uint16_t *packed) {
    const size_t pairs = pairs_of(p->k);
    for (size_t j0 = 0; j0 < p->n; j0 += bf16_columns) {
        uint16_t *panel = packed + (j0 / bf16_columns) * pairs * 2 * bf16_columns;
        for (size_t q = 0; q < pairs; q++) {
            for (size_t jj = 0; jj < bf16_columns; jj++) {
                const size_t j = j0 + jj, k = 2 * q;
                panel[(q * bf16_columns + jj) * 2] = j < p->n ? to_bf16(op_b(p, b, k, j)) : 0;
                panel[(q * bf16_columns + jj) * 2 + 1] = j < p->n && k + 1 < p->k ? to_bf16(op_b(p, b, k + 1, j)) : 0;
            }
        }
    }
}

/// Packs rows i0 ..< i0 + height of op(A): for each pair p, 8 dwords, row i's holding (i, 2p) low and (i, 2p + 1)
/// high (zero beyond k and the rows).
static void pack_a(const backprop_gemm *p, const float *a, uint16_t *packed, size_t i0, size_t height) {
    const size_t pairs = pairs_of(p->k);
    for (size_t q = 0; q < pairs; q++) {
        for (size_t ii = 0; ii < bf16_rows; ii++) {
            const size_t k = 2 * q;
            packed[(q * bf16_rows + ii) * 2] = ii < height ? to_bf16(op_a(p, a, i0 + ii, k)) : 0;
            packed[(q * bf16_rows + ii) * 2 + 1] = ii < height && k + 1 < p->k ? to_bf16(op_a(p, a, i0 + ii, k + 1)) : 0;
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
static void tile_portable(const uint16_t *a, const uint16_t *b, size_t pairs, float *c, size_t ldc, size_t height,
                          size_t width, int accumulate) {
    for (size_t i = 0; i < height; i++) {
        for (size_t j = 0; j < width; j++) {
            float sum = 0;
            for (size_t q = 0; q < pairs; q++) {
                const uint16_t *x = a + (q * bf16_rows + i) * 2, *y = b + (q * bf16_columns + j) * 2;
                sum = flushed(fmaf(from_bf16(x[1]), from_bf16(y[1]), sum));
                sum = flushed(fmaf(from_bf16(x[0]), from_bf16(y[0]), sum));
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
        }
    }
}

#if defined(__x86_64__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// The tile on `vdpbf16ps`: 8 rows × 2 vectors of accumulators, one broadcast of A's pair per row and two loads of
/// B's pairs per step.
static BF16_TARGET void tile_instruction(const uint16_t *a, const uint16_t *b, size_t pairs, float *c, size_t ldc,
                                         size_t height, size_t width, int accumulate) {
    __m512 sums[bf16_rows][2];
    for (int i = 0; i < bf16_rows; i++) sums[i][0] = sums[i][1] = _mm512_setzero_ps();
    const uint32_t *rows = (const uint32_t *)a;
    for (size_t q = 0; q < pairs; q++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns * 2);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns * 2 + 32);
        for (int i = 0; i < bf16_rows; i++) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)rows[q * bf16_rows + i]);
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
    uint16_t *packed_b = scratch;
    uint16_t *packed_a = scratch + 2 * pairs * ((p->n + bf16_columns - 1) / bf16_columns) * bf16_columns;
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
            const uint16_t *panel = packed_b + (j0 / bf16_columns) * pairs * 2 * bf16_columns;
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
