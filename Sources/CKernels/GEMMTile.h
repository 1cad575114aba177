// One tile shape of a variant of the portable matrix product (GEMMKernel.h), included with these macros defined:
//   VECTORS    vectors per row of a tile: NR = VECTORS × W columns
//   ROWS       rows of a tile
//   SHAPE(x)   this shape's name for x
// A tile of C is ROWS × NR: the micro-kernel keeps it in registers while it walks k, adding one rank-one product per
// step (VECTORS vector loads from B, ROWS broadcasts from A, each packed or read in place).

#define NR (VECTORS * W)

/// Elements of scratch memory for the packed panels of one k-block: B (all columns, rounded up to NR) and A (ROWS
/// rows).
static size_t SHAPE(scratch)(const backprop_gemm *p) {
    const size_t depth = p->k < depth_block ? p->k : depth_block;
    return ((p->n + NR - 1) / NR) * NR * depth + ROWS * depth;
}

/// Packs rows k0 ..< k0 + kc of op(B) into panels of NR columns, each kc × NR, zero-padded on the right; with
/// `only_narrow`, only a last panel narrower than NR (the tiles read whole ones in place).
static inline __attribute__((always_inline)) TARGET void SHAPE(pack_b)(
    const backprop_gemm *p, const T *b, T *packed, size_t k0, size_t kc, int only_narrow) {
    for (size_t j0 = 0; j0 < p->n; j0 += NR) {
        const size_t width = p->n - j0 < NR ? p->n - j0 : NR;
        if (only_narrow && width == NR) continue;
        T *panel = packed + (j0 / NR) * kc * NR;
        if (p->transpose_b) {
            // Column j of op(B) is row j of B: the panel is the transpose of NR rows of B.
            const T *rows = b + j0 * p->ldb + k0;
            if (width == NR) {
                NAME(transpose)(rows, p->ldb, NR, kc, panel, NR);
            } else {
                for (size_t kk = 0; kk < kc; kk++) {
                    for (size_t jj = 0; jj < NR; jj++) panel[kk * NR + jj] = jj < width ? rows[jj * p->ldb + kk] : 0;
                }
            }
        } else {
            for (size_t kk = 0; kk < kc; kk++) {
                const T *row = b + (k0 + kk) * p->ldb + j0;
                for (size_t jj = 0; jj < NR; jj++) panel[kk * NR + jj] = jj < width ? row[jj] : 0;
            }
        }
    }
}

/// Packs columns k0 ..< k0 + kc of rows i0 ..< i0 + height of op(A), ROWS values per k, zero-padded below; with
/// `g`, of the transposed gathered A where its tile cannot read it in place (`SHAPE(gemm_gathered)` runs a gathered A
/// that is not transposed).
static TARGET void SHAPE(pack_a)(const backprop_gemm *p, const backprop_gathered *g, const T *a, T *packed, size_t i0,
                                size_t height, size_t k0, size_t kc) {
    if (g) {
        // Row k0 + kk of the stored A holds the tile's values at the same offsets from its start in every row.
        size_t at[ROWS];
        for (size_t ii = 0; ii < ROWS; ii++) {
            const size_t j = g->first_column + i0 + (ii < height ? ii : 0);
            at[ii] = g->segment_offsets[j / g->segment_length] + j % g->segment_length;
        }
        for (size_t kk = 0; kk < kc; kk++) {
            const T *row = a + g->row_offsets[k0 + kk];
            for (size_t ii = 0; ii < ROWS; ii++) packed[kk * ROWS + ii] = ii < height ? row[at[ii]] : 0;
        }
    } else if (p->transpose_a) {
        for (size_t kk = 0; kk < kc; kk++) {
            const T *row = a + (k0 + kk) * p->lda + i0;
            for (size_t ii = 0; ii < ROWS; ii++) packed[kk * ROWS + ii] = ii < height ? row[ii] : 0;
        }
    } else {
        const T *rows = a + i0 * p->lda + k0;
        if (height == ROWS) {
            NAME(transpose)(rows, p->lda, ROWS, kc, packed, ROWS);
        } else {
            for (size_t kk = 0; kk < kc; kk++) {
                for (size_t ii = 0; ii < ROWS; ii++) {
                    packed[kk * ROWS + ii] = ii < height ? rows[ii * p->lda + kk] : 0;
                }
            }
        }
    }
}

/// Writes (or adds, when `accumulate`) the height × width corner of the ROWS × NR sums to the tile of C at `c`.
static inline __attribute__((always_inline)) TARGET void SHAPE(store)(
    NAME(vector) sums[ROWS][VECTORS], T *restrict c, size_t ldc, size_t height, size_t width, int accumulate) {
    typedef NAME(vector) V;
    if (height == ROWS && width == NR) {
        _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
            V *row = (V *)(c + i * ldc);
            _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) {
                row[v] = accumulate ? row[v] + sums[i][v] : sums[i][v];
            }
        }
        return;
    }
    T whole[ROWS][NR];
    for (size_t i = 0; i < ROWS; i++) {
        for (size_t v = 0; v < VECTORS; v++) *(V *)&whole[i][v * W] = sums[i][v];
    }
    for (size_t i = 0; i < height; i++) {
        for (size_t j = 0; j < width; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + whole[i][j] : whole[i][j];
    }
}

/// One ROWS × NR tile of C over a k-block of kc; only height × width of it is written.
/// Element (i, kk) of the tile's rows of op(A) is a[i × row_stride + kk × depth_stride]: packed (1, ROWS), or read in
/// place from A (lda, 1) or from a transposed A (1, lda); with `depth_offsets`, a[depth_offsets[kk] + i × row_stride]
/// (a transposed gathered A in place). Row kk of its columns of op(B) starts at b + kk × b_stride: a packed panel
/// (NR) or B in place (ldb).
static inline __attribute__((always_inline)) TARGET void SHAPE(tile)(
    const T *restrict a, size_t row_stride, size_t depth_stride, const size_t *restrict depth_offsets,
    const T *restrict b, size_t b_stride, size_t kc, T *restrict c, size_t ldc, size_t height, size_t width,
    int accumulate) {
    typedef NAME(vector) V;
    V sums[ROWS][VECTORS];
    _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
        _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) sums[i][v] = 0;
    }
    for (size_t kk = 0; kk < kc; kk++) {
        V bk[VECTORS];
        _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) {
            bk[v] = *(const V *)(b + kk * b_stride + v * W);
        }
        const T *ak = depth_offsets ? a + depth_offsets[kk] : a + kk * depth_stride;
        _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
            const T ai = ak[i * row_stride];
            _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) sums[i][v] += ai * bk[v];
        }
    }
    SHAPE(store)(sums, c, ldc, height, width, accumulate);
}

/// One row of tiles, rows i0 ..< i0 + height of C over the k-block k0 ..< k0 + kc, with `a` and its strides as in
/// `tile`; whole panels of B in place when `b_in_place`, else (and the last, narrower one) packed.
static inline __attribute__((always_inline)) TARGET void SHAPE(row_of_tiles)(
    const backprop_gemm *p, const T *a, size_t row_stride, size_t depth_stride, const size_t *depth_offsets,
    const T *b, int b_in_place, const T *packed_b, size_t k0, size_t kc, size_t i0, size_t height, T *c,
    int accumulate) {
    for (size_t j0 = 0; j0 < p->n; j0 += NR) {
        const size_t width = p->n - j0 < NR ? p->n - j0 : NR;
        if (b_in_place && width == NR) {
            SHAPE(tile)(a, row_stride, depth_stride, depth_offsets, b + k0 * p->ldb + j0, p->ldb, kc,
                        c + i0 * p->ldc + j0, p->ldc, height, width, accumulate);
        } else {
            SHAPE(tile)(a, row_stride, depth_stride, depth_offsets, packed_b + (j0 / NR) * kc * NR, NR, kc,
                        c + i0 * p->ldc + j0, p->ldc, height, width, accumulate);
        }
    }
}

/// Whether rows i0 ..< i0 + ROWS of op(A), for the transposed A gathered by `g`, are one run of columns of every
/// gathered row (so that a tile reads them in place), and where that run starts from a row's start.
static inline __attribute__((always_inline)) int SHAPE(gathered_run)(const backprop_gathered *g, size_t i0,
                                                                    size_t height, size_t *at) {
    const size_t j = g->first_column + i0, within = j % g->segment_length;
    *at = g->segment_offsets[j / g->segment_length] + within;
    return height == ROWS && within + ROWS <= g->segment_length;
}

/// The product over k-blocks of `depth_block`: B packed per k-block, A read in place or packed per row of tiles; with
/// `g`, A is gathered and transposed and always packed.
static inline __attribute__((always_inline)) TARGET void SHAPE(gemm)(
    const backprop_gemm *p, const backprop_gathered *g, const T *a, const T *b, T *c, T *scratch) {
    const size_t panels = (p->n + NR - 1) / NR;
    const size_t depth = p->k < depth_block ? p->k : depth_block;
    T *packed_b = scratch, *packed_a = scratch + panels * NR * depth;
    // Packing B pays off when several rows of tiles read each panel; a product of one or two rows of tiles (the
    // weight gradient of a small output layer) reads B's rows in place, NR contiguous values per k.
    const int b_in_place = !p->transpose_b && p->m <= 2 * ROWS;
    // A transposed A gives a tile its ROWS values of each k side by side, at one line per k. Read in place, that
    // beats packing (the weight gradients δᵀa: 512 × 784 × 128 Aᵀ 226 → 219 µs, 256 × 512 × 128 Aᵀ 73.5 → 71 µs on two
    // threads) only when those values fill half a line or more (not SSE2's four floats: 4 % slower), the product
    // has one k-block (1024³: 15 % slower in place), and A's rows are not a multiple of 4 KB apart (then every k falls
    // in the same cache set: 1024 × 1024 × 128, 10 % slower). A single tile always reads it in place.
    const int transposed_a_in_place =
        ROWS * sizeof(T) >= 32 && p->k <= depth_block && (p->lda * sizeof(T)) % 4096 != 0;
    for (size_t k0 = 0; k0 < p->k; k0 += depth_block) {
        const size_t kc = p->k - k0 < depth_block ? p->k - k0 : depth_block;
        const int accumulate = p->accumulate || k0 > 0;
        SHAPE(pack_b)(p, b, packed_b, k0, kc, b_in_place);
        for (size_t i0 = 0; i0 < p->m; i0 += ROWS) {
            const size_t height = p->m - i0 < ROWS ? p->m - i0 : ROWS;
            // A full row of tiles reads A's rows in place: ROWS rows side by side, one value of each per k, which the
            // caches serve as well as a packed copy (measured: 128 × 256 × 512 Bᵀ 77.5 → 73 µs on two threads, no
            // loss on 1024³). A short row of tiles (the last) is packed, zero-padded.
            // A gathered A is read in place too, each k's ROWS values a run of one gathered row (they lie a few
            // cache lines apart: a convolution's neighbouring windows overlap).
            size_t at;
            if (g && SHAPE(gathered_run)(g, i0, height, &at)) {
                SHAPE(row_of_tiles)(p, a + at, 1, 0, g->row_offsets + k0, b, b_in_place, packed_b, k0, kc, i0, height,
                                    c, accumulate);
            } else if (g || height < ROWS || (p->transpose_a && p->n > NR && !transposed_a_in_place)) {
                SHAPE(pack_a)(p, g, a, packed_a, i0, height, k0, kc);
                SHAPE(row_of_tiles)(p, packed_a, 1, ROWS, NULL, b, b_in_place, packed_b, k0, kc, i0, height, c,
                                    accumulate);
            } else if (p->transpose_a) {
                SHAPE(row_of_tiles)(p, a + k0 * p->lda + i0, 1, p->lda, NULL, b, b_in_place, packed_b, k0, kc, i0,
                                    height, c, accumulate);
            } else {
                SHAPE(row_of_tiles)(p, a + i0 * p->lda + k0, p->lda, 1, NULL, b, b_in_place, packed_b, k0, kc, i0,
                                    height, c, accumulate);
            }
        }
    }
}

/// Adds the height × width corner of the ROWS × NR sums to C gathered by `s`: row i of the tile at `targets[i]`,
/// columns j0 ..< j0 + width.
static inline __attribute__((always_inline)) TARGET void SHAPE(scatter)(
    NAME(vector) sums[ROWS][VECTORS], const backprop_gathered *s, T *const *targets, size_t j0, size_t height,
    size_t width) {
    typedef NAME(vector) V;
    const size_t within = j0 % s->segment_length, offset = s->segment_offsets[j0 / s->segment_length] + within;
    if (width == NR && within + NR <= s->segment_length) {
        // The tile's columns are one run of every row.
        for (size_t i = 0; i < height; i++) {
            _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) {
                V *target = (V *)(targets[i] + offset + v * W);
                *target = *target + sums[i][v];
            }
        }
        return;
    }
    T whole[ROWS][NR];
    for (size_t i = 0; i < ROWS; i++) {
        for (size_t v = 0; v < VECTORS; v++) *(V *)&whole[i][v * W] = sums[i][v];
    }
    for (size_t i = 0; i < height; i++) {
        for (size_t j = 0; j < width; j++) {
            const size_t column = j0 + j;
            targets[i][s->segment_offsets[column / s->segment_length] + column % s->segment_length] += whole[i][j];
        }
    }
}

/// One ROWS × NR tile of C = A·op(B) with A gathered by `g`, its rows read in place at `rows` (ROWS pointers, the
/// last repeated below a short tile), over the k-blocks of `SHAPE(gemm)` and with its sums: each block's sum starts
/// at zero and is added to C, so the two give the same bits. `panel` holds op(B)'s panel over all of k. With
/// `scatter`, each block's sum is added to C gathered by it instead, row i at `targets[i]`, from column `c_column`.
static inline __attribute__((always_inline)) TARGET void SHAPE(gathered_tile)(
    const backprop_gathered *g, const T *const *rows, size_t k, const T *restrict panel, T *restrict c, size_t ldc,
    size_t height, size_t width, int accumulate, const backprop_gathered *scatter, T *const *targets,
    size_t c_column) {
    typedef NAME(vector) V;
    for (size_t k0 = 0; k0 < k; k0 += depth_block) {
        const size_t kc = k - k0 < depth_block ? k - k0 : depth_block;
        V sums[ROWS][VECTORS];
        _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
            _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) sums[i][v] = 0;
        }
        // A run of columns within one segment: the same offset from every row's start.
        for (size_t kk = k0; kk < k0 + kc;) {
            const size_t j = g->first_column + kk, within = j % g->segment_length;
            const size_t run = g->segment_length - within < k0 + kc - kk ? g->segment_length - within : k0 + kc - kk;
            const size_t offset = g->segment_offsets[j / g->segment_length] + within;
            const T *r[ROWS];
            _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) r[i] = rows[i] + offset;
            const T *bk = panel + kk * NR;
            for (size_t t = 0; t < run; t++, bk += NR) {
                V bv[VECTORS];
                _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) {
                    bv[v] = *(const V *)(bk + v * W);
                }
                _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
                    const T ai = r[i][t];
                    _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) sums[i][v] += ai * bv[v];
                }
            }
            kk += run;
        }
        if (scatter) {
            SHAPE(scatter)(sums, scatter, targets, c_column, height, width);
        } else {
            SHAPE(store)(sums, c, ldc, height, width, accumulate || k0 > 0);
        }
    }
}

/// The product with A gathered by `g`. Transposed, it is `SHAPE(gemm)`'s, packing A from the gathered rows; else
/// op(B) is packed once over all of k and every tile reads its ROWS rows of A in place, a convolution's windows
/// straight from the image.
static TARGET void SHAPE(gemm_gathered)(const backprop_gemm *p, const backprop_gathered *g, const T *a, const T *b,
                                        T *c, T *scratch) {
    if (p->transpose_a) {
        SHAPE(gemm)(p, g, a, b, c, scratch);
        return;
    }
    SHAPE(pack_b)(p, b, scratch, 0, p->k, 0);
    for (size_t i0 = 0; i0 < p->m; i0 += ROWS) {
        const size_t height = p->m - i0 < ROWS ? p->m - i0 : ROWS;
        const T *rows[ROWS];
        for (size_t i = 0; i < ROWS; i++) rows[i] = a + g->row_offsets[i0 + (i < height ? i : height - 1)];
        for (size_t j0 = 0; j0 < p->n; j0 += NR) {
            const size_t width = p->n - j0 < NR ? p->n - j0 : NR;
            SHAPE(gathered_tile)(g, rows, p->k, scratch + (j0 / NR) * p->k * NR, c + i0 * p->ldc + j0, p->ldc, height,
                                 width, p->accumulate, NULL, NULL, 0);
        }
    }
}

/// C gathered by `s` += A·op(B), A dense and not transposed: each row of A·op(B) added to its gathered row of C (a
/// convolution's input gradient, the fold of δ W̃, without δ W̃ written out). The rows' tiles lie on a grid of ROWS
/// rows from the whole matrix's row 0 (`s->first_row` is this call's first), so every row is summed and added the
/// same way whichever block of rows a call covers; rows of different calls must not add to the same elements.
static TARGET void SHAPE(gemm_scattered)(const backprop_gemm *p, const backprop_gathered *s, const T *a, const T *b,
                                         T *c, T *scratch) {
    SHAPE(pack_b)(p, b, scratch, 0, p->k, 0);
    const size_t dense_offset = 0;
    const backprop_gathered dense = {NULL, &dense_offset, p->k, 0, 0};
    for (size_t i0 = 0; i0 < p->m;) {
        const size_t phase = (s->first_row + i0) % ROWS;
        const size_t height = p->m - i0 < ROWS - phase ? p->m - i0 : ROWS - phase;
        const T *rows[ROWS];
        T *targets[ROWS];
        for (size_t i = 0; i < ROWS; i++) {
            const size_t row = i0 + (i < height ? i : height - 1);
            rows[i] = a + row * p->lda;
            targets[i] = c + s->row_offsets[row];
        }
        for (size_t j0 = 0; j0 < p->n; j0 += NR) {
            const size_t width = p->n - j0 < NR ? p->n - j0 : NR;
            SHAPE(gathered_tile)(&dense, rows, p->k, scratch + (j0 / NR) * p->k * NR, NULL, 0, height, width, 1, s,
                                 targets, j0);
        }
        i0 += height;
    }
}

/// Elements of scratch memory for `SHAPE(gemm_gathered)`: `SHAPE(scratch)`'s, or all of op(B) packed.
static size_t SHAPE(gathered_scratch)(const backprop_gemm *p) {
    return p->transpose_a ? SHAPE(scratch)(p) : ((p->n + NR - 1) / NR) * NR * p->k;
}

#undef NR
