#include "BF16Kernels.h"
#include "BF16Rounding.h"
#include "Cloning.h"

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

/// Float32 to bfloat16 (as bits), `backprop_bf16_bits` (BF16Rounding.h).
static inline uint32_t bf16_bits(uint32_t u) { return backprop_bf16_bits(u); }

static inline uint16_t to_bf16(float x) { return (uint16_t)bf16_bits(bits_of(x)); }

/// Two Float32 values as one dword of bfloat16: `low` in the low half (the even k of a pair), `high` in the high.
static inline uint32_t pair_of(float low, float high) {
    return bf16_bits(bits_of(low)) | (bf16_bits(bits_of(high)) << 16);
}

#if defined(__x86_64__)
/// `bf16_bits` of 16 lanes (AVX-512F).
static inline __attribute__((target("avx512f"), always_inline)) __m512i bf16_bits_avx512(__m512i u) {
    const __m512i high = _mm512_srli_epi32(u, 16);
    const __m512i rounded = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), _mm512_and_si512(high, _mm512_set1_epi32(1))), 16);
    const __m512i quiet = _mm512_or_si512(high, _mm512_set1_epi32(0x0040));
    const __m512i zero = _mm512_and_si512(high, _mm512_set1_epi32(0x8000));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)),
                                                  _mm512_set1_epi32(0x7F800000));
    const __mmask16 tiny = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7F800000));
    return _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(rounded, nan, quiet), tiny, zero);
}

/// `convert_pairs` on AVX-512F: 16 pairs per step.
static __attribute__((target("avx512f"))) void convert_pairs_avx512(const float *x, uint32_t *out, size_t pairs) {
    size_t q = 0;
    for (; q + 16 <= pairs; q += 16) {
        const __m256i low = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_loadu_si512(x + 2 * q)));
        const __m256i high = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_loadu_si512(x + 2 * q + 16)));
        _mm512_storeu_si512(out + q, _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1));
    }
    if (q < pairs) {
        // The last 1–15 pairs under masks (a convolution's unfolded rows are often that short: 3 × 3 × 1 values).
        const size_t rest = pairs - q;
        const __mmask16 first = (__mmask16)(rest >= 8 ? 0xFFFFu : (1u << (2 * rest)) - 1);
        const __mmask16 second = (__mmask16)(rest > 8 ? (1u << (2 * (rest - 8))) - 1 : 0);
        const __m256i low = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_maskz_loadu_epi32(first, x + 2 * q)));
        const __m256i high = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_maskz_loadu_epi32(second, x + 2 * q + 16)));
        _mm512_mask_storeu_epi32(out + q, (__mmask16)((1u << rest) - 1),
                                 _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1));
    }
}

/// The pairs (even[i], odd[i]) (odd: zero when NULL) for i < count, each run of 8 to its own tile: to
/// out[(i / 8) × tile_stride + i % 8]. A transposed A has its pairs in two rows of the source.
static __attribute__((target("avx512f"))) void interleave_rows_avx512(const float *even, const float *odd,
                                                                       size_t count, uint32_t *out,
                                                                       size_t tile_stride) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512i low = bf16_bits_avx512(_mm512_loadu_si512(even + i));
        const __m512i high = odd ? bf16_bits_avx512(_mm512_loadu_si512(odd + i)) : _mm512_setzero_si512();
        const __m512i pairs = _mm512_or_si512(low, _mm512_slli_epi32(high, 16));
        _mm256_storeu_si256((__m256i *)(out + (i / 8) * tile_stride), _mm512_castsi512_si256(pairs));
        _mm256_storeu_si256((__m256i *)(out + (i / 8 + 1) * tile_stride), _mm512_extracti64x4_epi64(pairs, 1));
    }
    for (; i < count; i++) out[(i / 8) * tile_stride + i % 8] = pair_of(even[i], odd ? odd[i] : 0);
}
#endif

/// `interleave_rows_avx512`, on any processor.
static void interleave_rows(const float *even, const float *odd, size_t count, uint32_t *out, size_t tile_stride) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return interleave_rows_avx512(even, odd, count, out, tile_stride);
#endif
    for (size_t i = 0; i < count; i++) out[(i / 8) * tile_stride + i % 8] = pair_of(even[i], odd ? odd[i] : 0);
}

/// out[q] = the pair (x[2q], x[2q + 1]) for q < pairs: consecutive values, as a row of A or of a transposed B holds
/// them.
static inline void convert_pairs(const float *x, uint32_t *out, size_t pairs) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return convert_pairs_avx512(x, out, pairs);
#endif
    for (size_t q = 0; q < pairs; q++) out[q] = pair_of(x[2 * q], x[2 * q + 1]);
}

void backprop_round_to_bf16(const float *x, uint16_t *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = to_bf16(x[i]);
}

CLONED void backprop_round_to_bf16_values(const float *x, float *y, size_t count) {
    VECTORISE for (size_t i = 0; i < count; i++) y[i] = backprop_bf16_value(x[i]);
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

/// Pairs of k per block: a block of B's panel (block × 32 dwords, 64 KB at most) stays in the second-level cache,
/// streamed to the first, while every row of tiles reads it. Larger blocks measured faster than blocks that fit the
/// first-level cache (128 pairs: 447 GFLOP/s on 128 × 784 · (512 × 784)ᵀ, one block of 392: 484–503), which pay for
/// storing and reloading C's partial sums. Blocks are even in size, so that the last is not a sliver.
enum { bf16_block_pairs = 512 };

static inline size_t block_pairs(size_t pairs) {
    const size_t blocks = (pairs + bf16_block_pairs - 1) / bf16_block_pairs;
    return blocks == 0 ? 0 : (pairs + blocks - 1) / blocks;
}

/// The pairs of each block of k: C += A·B is one rounding of C plus the whole sum, so accumulating products take k in
/// one block.
static inline size_t depth_of_blocks(const backprop_gemm *p) {
    return p->accumulate ? pairs_of(p->k) : block_pairs(pairs_of(p->k));
}

size_t backprop_bf16_panels(const backprop_gemm *p) { return (p->n + bf16_columns - 1) / bf16_columns; }

size_t backprop_bf16_packed_b_size(const backprop_gemm *p) {
    return backprop_bf16_panels(p) * pairs_of(p->k) * bf16_columns;
}

size_t backprop_gemm_bf16_packed_scratch(const backprop_gemm *p) {
    // A: one block of pairs of every row, rounded up to whole tiles.
    const size_t rows = (p->m + bf16_rows - 1) / bf16_rows * bf16_rows;
    return rows * depth_of_blocks(p);
}

size_t backprop_gemm_bf16_scratch(const backprop_gemm *p) {
    return backprop_bf16_packed_b_size(p) + backprop_gemm_bf16_packed_scratch(p);
}

/// Converts pairs q0 ..< q0 + count (at most 16) of rows j0 ..< j0 + width of B into block[jj][qq], zero beyond k:
/// the first half of the transposed case of `pack_b`, reading and writing in order.
static inline __attribute__((always_inline)) void convert_rows(const backprop_gemm *p, const float *b, size_t j0,
                                                               size_t width, size_t q0, size_t count,
                                                               uint32_t block[32][16]) {
    const size_t whole = p->k / 2;
    const size_t complete = whole > q0 ? (whole - q0 < count ? whole - q0 : count) : 0;
    for (size_t jj = 0; jj < width; jj++) {
        const float *row = b + (j0 + jj) * p->ldb + 2 * q0;
        convert_pairs(row, block[jj], complete);
        if (complete < count) block[jj][complete] = pair_of(row[2 * complete], 0);
    }
}

/// The transposed case of `pack_b`: column j of op(B) is row j of B, whose pairs are consecutive. Blocks of 16 pairs
/// of the panel's rows are converted in the source's order, then transposed into the panel.
static void pack_b_transposed(const backprop_gemm *p, const float *b, uint32_t *panel, size_t j0, size_t width) {
    const size_t pairs = pairs_of(p->k);
    uint32_t block[32][16];
    for (size_t q0 = 0; q0 < pairs; q0 += 16) {
        const size_t count = pairs - q0 < 16 ? pairs - q0 : 16;
        convert_rows(p, b, j0, width, q0, count, block);
        for (size_t qq = 0; qq < count; qq++) {
            uint32_t *out = panel + (q0 + qq) * bf16_columns;
            for (size_t jj = 0; jj < width; jj++) out[jj] = block[jj][qq];
        }
    }
}

#if defined(__x86_64__)
/// Transposes 16 × 16 dwords in registers: four butterfly stages, stage s swapping bit s of the row and of the column
/// index. Unrolled whole, so that the rows stay in registers and the permutations' indices are constants.
static inline __attribute__((target("avx512f"), always_inline)) void transpose_16x16(__m512i r[16]) {
#pragma clang loop unroll(full)
    for (int s = 8; s >= 1; s /= 2) {
        int low[16], high[16];
#pragma clang loop unroll(full)
        for (int e = 0; e < 16; e++) {
            low[e] = (e & s) ? 16 + e - s : e;
            high[e] = (e & s) ? 16 + e : e + s;
        }
        const __m512i low_index = _mm512_loadu_si512(low), high_index = _mm512_loadu_si512(high);
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {
            if (i & s) continue;
            const __m512i x = r[i], y = r[i + s];
            r[i] = _mm512_permutex2var_epi32(x, low_index, y);
            r[i + s] = _mm512_permutex2var_epi32(x, high_index, y);
        }
    }
}

/// `pack_b_transposed` on AVX-512 (the same dwords): whole blocks of 32 rows × 16 pairs transposed in registers, as
/// two 16 × 16 transposes.
static __attribute__((target("avx512f"))) void pack_b_transposed_avx512(const backprop_gemm *p, const float *b,
                                                                       uint32_t *panel, size_t j0, size_t width) {
    const size_t pairs = pairs_of(p->k);
    if (width < bf16_columns) return pack_b_transposed(p, b, panel, j0, width);
    // Blocks of 16 whole pairs are converted straight into the registers they are transposed in (every loop over
    // them unrolled, so that the 16 rows never leave the registers); the last block, with a lone value or fewer
    // pairs, goes through memory.
    size_t q0 = 0;
    for (; 2 * (q0 + 16) <= p->k; q0 += 16) {
        for (int half = 0; half < 2; half++) {
            __m512i r[16];
#pragma clang loop unroll(full)
            for (int i = 0; i < 16; i++) {
                const float *row = b + (j0 + 16 * half + i) * p->ldb + 2 * q0;
                const __m256i low = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_loadu_si512(row)));
                const __m256i high = _mm512_cvtepi32_epi16(bf16_bits_avx512(_mm512_loadu_si512(row + 16)));
                r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
            }
            transpose_16x16(r);
#pragma clang loop unroll(full)
            for (int qq = 0; qq < 16; qq++) _mm512_storeu_si512(panel + (q0 + qq) * bf16_columns + 16 * half, r[qq]);
        }
    }
    if (q0 == pairs) return;
    uint32_t block[32][16];
    const size_t count = pairs - q0;
    convert_rows(p, b, j0, width, q0, count, block);
    for (int half = 0; half < 2; half++) {
        __m512i r[16];
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(block[16 * half + i]);
        transpose_16x16(r);
#pragma clang loop unroll(full)
        for (int qq = 0; qq < 16; qq++) {
            if ((size_t)qq < count) _mm512_storeu_si512(panel + (q0 + qq) * bf16_columns + 16 * half, r[qq]);
        }
    }
}
#endif

CLONED void backprop_bf16_pack_b(const backprop_gemm *p, const float *b, uint32_t *packed, size_t first_panel,
                                 size_t end_panel) {
    const size_t pairs = pairs_of(p->k);
    for (size_t panel_index = first_panel; panel_index < end_panel; panel_index++) {
        const size_t j0 = panel_index * bf16_columns;
        uint32_t *panel = packed + panel_index * pairs * bf16_columns;
        const size_t width = p->n - j0 < bf16_columns ? p->n - j0 : bf16_columns;
        if (width < bf16_columns) memset(panel, 0, pairs * bf16_columns * 4);
        if (p->transpose_b) {
#if defined(__x86_64__)
            if (__builtin_cpu_supports("avx512f")) {
                pack_b_transposed_avx512(p, b, panel, j0, width);
                continue;
            }
#endif
            pack_b_transposed(p, b, panel, j0, width);
            continue;
        }
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

/// Where column j of A gathered by `g` lies from its row's start, and how many columns from j on lie next to it.
static inline size_t gathered_run(const backprop_gathered *g, size_t j, size_t *run) {
    const size_t column = g->first_column + j, within = column % g->segment_length;
    *run = g->segment_length - within;
    return g->segment_offsets[column / g->segment_length] + within;
}

/// `pack_a` of A gathered by `g` (see `backprop_gathered`): the same values in the same places, read run by run.
static CLONED void pack_gathered_a(const backprop_gemm *p, const backprop_gathered *g, const float *a,
                                   uint32_t *packed, size_t q0, size_t count, size_t first, size_t end_row) {
    const size_t tiles = (p->m + bf16_rows - 1) / bf16_rows;
    if (p->transpose_a) {
        // Pair q is gathered rows 2q and 2q + 1; a run of columns starting on a tile's first row converts whole.
        const size_t tile_stride = bf16_rows * count;
        for (size_t qq = 0; qq < count; qq++) {
            const size_t q = q0 + qq;
            const float *even = a + g->row_offsets[2 * q];
            const float *odd = 2 * q + 1 < p->k ? a + g->row_offsets[2 * q + 1] : NULL;
            uint32_t *out = packed + qq * bf16_rows;
            for (size_t i = 0, run; i < p->m; i += run) {
                const size_t at = gathered_run(g, i, &run);
                if (run > p->m - i) run = p->m - i;
                if (i % bf16_rows == 0) {
                    interleave_rows(even + at, odd ? odd + at : NULL, run, out + (i / 8) * tile_stride, tile_stride);
                } else {
                    for (size_t r = 0; r < run; r++) {
                        out[((i + r) / 8) * tile_stride + (i + r) % 8] = pair_of(even[at + r], odd ? odd[at + r] : 0);
                    }
                }
            }
            for (size_t i = p->m; i < tiles * bf16_rows; i++) out[(i / 8) * tile_stride + i % 8] = 0;
        }
        return;
    }
    // Row i's pairs: runs of whole pairs convert whole, a pair across two runs value by value.
    const size_t end = 2 * (q0 + count) < p->k ? 2 * (q0 + count) : p->k;
    for (size_t i = first; i < end_row; i++) {
        uint32_t *out = packed + (i - first) * count;
        if (i >= p->m) {
            memset(out, 0, count * 4);
            continue;
        }
        const float *row = a + g->row_offsets[i];
        size_t j = 2 * q0;
        while (j < end) {
            size_t run;
            const size_t at = gathered_run(g, j, &run);
            if (run > end - j) run = end - j;
            if (run >= 2) {
                convert_pairs(row + at, out + (j / 2 - q0), run / 2);
                j += run / 2 * 2;
                continue;
            }
            // One value left in this run: its pair's other value is the next run's first, or zero past k.
            size_t next_run;
            const float second = j + 1 < p->k ? row[gathered_run(g, j + 1, &next_run)] : 0;
            out[j / 2 - q0] = pair_of(row[at], second);
            j += 2;
        }
        for (size_t q = (end + 1) / 2; q < q0 + count; q++) out[q - q0] = 0;
    }
}

/// Packs pairs q0 ..< q0 + count of every row of op(A) into tiles of 8 rows, zero beyond the rows and k. A plain A
/// keeps each row's pairs together (row ii of a tile at ii × count, its pairs consecutive: the conversion reads and
/// writes in order), and packs only rows first ..< end_row (whole tiles; row i at (i − first) × count); a transposed
/// A, whose pairs are two rows of the source, keeps each pair's 8 rows together and packs every row.
static CLONED void pack_a(const backprop_gemm *p, const float *a, uint32_t *packed, size_t q0, size_t count,
                          size_t first, size_t end_row) {
    const size_t tiles = (p->m + bf16_rows - 1) / bf16_rows;
    if (p->transpose_a) {
        // Pair q is rows 2q and 2q + 1 of the source, each of whose runs of 8 values goes to its own tile.
        const size_t tile_stride = bf16_rows * count;
        for (size_t qq = 0; qq < count; qq++) {
            const size_t q = q0 + qq;
            const float *even = a + 2 * q * p->lda;
            uint32_t *out = packed + qq * bf16_rows;
            interleave_rows(even, 2 * q + 1 < p->k ? even + p->lda : NULL, p->m, out, tile_stride);
            for (size_t i = p->m; i < tiles * bf16_rows; i++) out[(i / 8) * tile_stride + i % 8] = 0;
        }
        return;
    }
    const size_t whole = p->k / 2;
    const size_t complete = whole > q0 ? (whole - q0 < count ? whole - q0 : count) : 0;
    for (size_t i = first; i < end_row; i++) {
        uint32_t *out = packed + (i - first) * count;
        if (i >= p->m) {
            memset(out, 0, count * 4);
            continue;
        }
        const float *row = a + i * p->lda + 2 * q0;
        convert_pairs(row, out, complete);
        if (complete < count) out[complete] = pair_of(row[2 * complete], 0);
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

/// The portable tile: exactly `vdpbf16ps`'s additions, one element at a time. Pair q of row i of the tile's A is
/// a[i × a_row + q × a_pair]. The sums start from zero, or from C's values when `resume` (the partial sums of the
/// earlier blocks of k: stored and reloaded exactly, so blocking changes no bit); they are then written to C, or
/// added to it when `accumulate`.
static void tile_portable(const uint32_t *a, size_t a_row, size_t a_pair, const uint32_t *b, size_t pairs, float *c,
                          size_t ldc, size_t height, size_t width, int resume, int accumulate) {
    for (size_t i = 0; i < height; i++) {
        for (size_t j = 0; j < width; j++) {
            float sum = resume ? c[i * ldc + j] : 0;
            for (size_t q = 0; q < pairs; q++) {
                const uint32_t x = a[i * a_row + q * a_pair], y = b[q * bf16_columns + j];
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
/// B's pairs per step; arguments as `tile_portable`'s.
static BF16_TARGET void tile_instruction(const uint32_t *a, size_t a_row, size_t a_pair, const uint32_t *b,
                                         size_t pairs, float *c, size_t ldc, size_t height, size_t width, int resume,
                                         int accumulate) {
    __m512 sums[bf16_rows][2];
    const int whole = height == bf16_rows && width == bf16_columns;
    for (int i = 0; i < bf16_rows; i++) {
        if (!resume || (size_t)i >= height) {
            sums[i][0] = sums[i][1] = _mm512_setzero_ps();
        } else if (whole) {
            sums[i][0] = _mm512_loadu_ps(c + i * ldc);
            sums[i][1] = _mm512_loadu_ps(c + i * ldc + 16);
        } else {
            float row[bf16_columns] = {0};
            for (size_t j = 0; j < width; j++) row[j] = c[i * ldc + j];
            sums[i][0] = _mm512_loadu_ps(row);
            sums[i][1] = _mm512_loadu_ps(row + 16);
        }
    }
    for (size_t q = 0; q < pairs; q++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * bf16_columns + 16);
        for (int i = 0; i < bf16_rows; i++) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * a_row + q * a_pair]);
            sums[i][0] = _mm512_dpbf16_ps(sums[i][0], ai, b0);
            sums[i][1] = _mm512_dpbf16_ps(sums[i][1], ai, b1);
        }
    }
    if (whole && !accumulate) {
        for (int i = 0; i < bf16_rows; i++) {
            _mm512_storeu_ps(c + i * ldc, sums[i][0]);
            _mm512_storeu_ps(c + i * ldc + 16, sums[i][1]);
        }
        return;
    }
    for (size_t i = 0; i < height; i++) {
        float row[bf16_columns];
        _mm512_storeu_ps(row, sums[i][0]);
        _mm512_storeu_ps(row + 16, sums[i][1]);
        for (size_t j = 0; j < width; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + row[j] : row[j];
    }
}
#endif

/// One tile on `vdpbf16ps` when `instruction`, else on the portable path (the same bits); arguments as
/// `tile_portable`'s.
static inline void run_tile(int instruction, const uint32_t *a, size_t a_row, size_t a_pair, const uint32_t *b,
                            size_t pairs, float *c, size_t ldc, size_t height, size_t width, int resume,
                            int accumulate) {
#if defined(__x86_64__)
    if (instruction) {
        tile_instruction(a, a_row, a_pair, b, pairs, c, ldc, height, width, resume, accumulate);
        return;
    }
#else
    (void)instruction;
#endif
    tile_portable(a, a_row, a_pair, b, pairs, c, ldc, height, width, resume, accumulate);
}

#if defined(__x86_64__)
/// `scatter_tile` on AVX-512F: each run's additions 16 at a time (the same additions: one per element).
static __attribute__((target("avx512f"))) void scatter_tile_avx512(const backprop_gathered *scatter, const float *sums,
                                                                    size_t i0, size_t height, size_t j0, size_t width,
                                                                    float *c) {
    for (size_t i = 0; i < height; i++) {
        float *target = c + scatter->row_offsets[i0 + i];
        for (size_t jj = 0, run; jj < width; jj += run) {
            const size_t at = gathered_run(scatter, j0 + jj, &run);
            if (run > width - jj) run = width - jj;
            const float *source = sums + i * bf16_columns + jj;
            for (size_t t = 0; t < run; t += 16) {
                const __mmask16 lanes = run - t >= 16 ? 0xFFFF : (__mmask16)((1u << (run - t)) - 1);
                const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, target + at + t),
                                                 _mm512_maskz_loadu_ps(lanes, source + t));
                _mm512_mask_storeu_ps(target + at + t, lanes, sum);
            }
        }
    }
}
#endif

/// Adds the tile's sums (`sums`, rows of bf16_columns) to rows i0 ..< i0 + height of C gathered by `scatter`, columns
/// j0 ..< j0 + width.
static void scatter_tile(const backprop_gathered *scatter, const float *sums, size_t i0, size_t height, size_t j0,
                         size_t width, float *c) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return scatter_tile_avx512(scatter, sums, i0, height, j0, width, c);
#endif
    for (size_t i = 0; i < height; i++) {
        float *target = c + scatter->row_offsets[i0 + i];
        for (size_t jj = 0, run; jj < width; jj += run) {
            const size_t at = gathered_run(scatter, j0 + jj, &run);
            if (run > width - jj) run = width - jj;
            for (size_t t = 0; t < run; t++) target[at + t] += sums[i * bf16_columns + jj + t];
        }
    }
}

/// `backprop_gemm_bf16_packed`, with A gathered by `g` when it is not null; with `scatter`, each tile's sums are
/// added to C gathered by it (one block of k: the problem accumulates). Panel by panel, each panel's tiles in
/// order: an element of C gets its rows' terms in the order of (panel, row) whatever the tiles.
static void gemm_packed(const backprop_gemm *p, const backprop_gathered *g, const float *a, const uint32_t *packed_b,
                        float *c, uint32_t *scratch, backprop_bf16_path path, const backprop_gathered *scatter) {
    if (p->m == 0 || p->n == 0) return;
    const size_t pairs = pairs_of(p->k), panels = backprop_bf16_panels(p);
    const size_t tiles = (p->m + bf16_rows - 1) / bf16_rows;
    const size_t block = depth_of_blocks(p);
    uint32_t *packed_a = scratch;
    int instruction = path == backprop_bf16_instruction
        || (path == backprop_bf16_automatic && backprop_bf16_instruction_available());
#if !defined(__x86_64__)
    instruction = 0;
#endif
    if (pairs == 0) {
        for (size_t i = 0; i < p->m; i++) {
            for (size_t j = 0; j < p->n; j++) c[i * p->ldc + j] = p->accumulate ? c[i * p->ldc + j] + 0.0f : 0.0f;
        }
        return;
    }
    for (size_t q0 = 0; q0 < pairs; q0 += block) {
        const size_t count = pairs - q0 < block ? pairs - q0 : block;
        const size_t a_row = p->transpose_a ? 1 : count, a_pair = p->transpose_a ? bf16_rows : 1;
        if (!p->transpose_a && !scatter && panels * count * bf16_columns * 4 <= 128 * 1024) {
            // A block of B this small stays in cache whole: tile by tile, each tile's rows packed just before all
            // the panels read them, while in the first-level cache (packing every row first wrote and read back
            // megabytes for a convolution's tall products). Every element's sums are the same, in whichever order
            // the tiles run. A larger B (a perceptron's weights) keeps one panel in cache while every tile reads it.
            for (size_t t = 0; t < tiles; t++) {
                const size_t i0 = t * bf16_rows, height = p->m - i0 < bf16_rows ? p->m - i0 : bf16_rows;
                if (g) {
                    pack_gathered_a(p, g, a, packed_a, q0, count, i0, i0 + bf16_rows);
                } else {
                    pack_a(p, a, packed_a, q0, count, i0, i0 + bf16_rows);
                }
                for (size_t panel = 0; panel < panels; panel++) {
                    const size_t j0 = panel * bf16_columns;
                    const size_t width = p->n - j0 < bf16_columns ? p->n - j0 : bf16_columns;
                    const uint32_t *b = packed_b + (panel * pairs + q0) * bf16_columns;
                    run_tile(instruction, packed_a, a_row, a_pair, b, count, c + i0 * p->ldc + j0, p->ldc, height,
                             width, q0 > 0, p->accumulate);
                }
            }
            continue;
        }
        if (g) {
            pack_gathered_a(p, g, a, packed_a, q0, count, 0, tiles * bf16_rows);
        } else {
            pack_a(p, a, packed_a, q0, count, 0, tiles * bf16_rows);
        }
        for (size_t panel = 0; panel < panels; panel++) {
            const size_t j0 = panel * bf16_columns;
            const size_t width = p->n - j0 < bf16_columns ? p->n - j0 : bf16_columns;
            const uint32_t *b = packed_b + (panel * pairs + q0) * bf16_columns;
            for (size_t t = 0; t < tiles; t++) {
                const size_t i0 = t * bf16_rows, height = p->m - i0 < bf16_rows ? p->m - i0 : bf16_rows;
                const uint32_t *tile_a = packed_a + t * bf16_rows * count;
                if (scatter) {
                    float sums[bf16_rows * bf16_columns];
                    run_tile(instruction, tile_a, a_row, a_pair, b, count, sums, bf16_columns, height, width, 0, 0);
                    scatter_tile(scatter, sums, i0, height, j0, width, c);
                    continue;
                }
                run_tile(instruction, tile_a, a_row, a_pair, b, count, c + i0 * p->ldc + j0, p->ldc, height, width,
                         q0 > 0, p->accumulate);
            }
        }
    }
}

void backprop_gemm_bf16_packed(const backprop_gemm *p, const float *a, const uint32_t *packed_b, float *c,
                               uint32_t *scratch, backprop_bf16_path path) {
    gemm_packed(p, NULL, a, packed_b, c, scratch, path, NULL);
}

void backprop_gemm_bf16_packed_gathered(const backprop_gemm *p, const backprop_gathered *g, const float *a,
                                        const uint32_t *packed_b, float *c, uint32_t *scratch,
                                        backprop_bf16_path path) {
    gemm_packed(p, g, a, packed_b, c, scratch, path, NULL);
}

/// The problem a scattered call runs: one block of k.
static backprop_gemm scattered_problem(const backprop_gemm *p) {
    backprop_gemm one_block = *p;
    one_block.accumulate = 1;
    return one_block;
}

size_t backprop_gemm_bf16_packed_scattered_scratch(const backprop_gemm *p) {
    const backprop_gemm one_block = scattered_problem(p);
    return backprop_gemm_bf16_packed_scratch(&one_block);
}

void backprop_gemm_bf16_packed_scattered(const backprop_gemm *p, const backprop_gathered *scatter, const float *a,
                                         const uint32_t *packed_b, float *c, uint32_t *scratch,
                                         backprop_bf16_path path) {
    const backprop_gemm one_block = scattered_problem(p);
    gemm_packed(&one_block, NULL, a, packed_b, c, scratch, path, scatter);
}

void backprop_gemm_bf16(const backprop_gemm *p, const float *a, const float *b, float *c, uint32_t *scratch,
                        backprop_bf16_path path) {
    backprop_bf16_pack_b(p, b, scratch, 0, backprop_bf16_panels(p));
    backprop_gemm_bf16_packed(p, a, scratch, c, scratch + backprop_bf16_packed_b_size(p), path);
}
