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
static TARGET void SHAPE(pack_b)(const backprop_gemm *p, const T *b, T *packed, size_t k0, size_t kc,
                                 int only_narrow) {
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

/// Packs columns k0 ..< k0 + kc of rows i0 ..< i0 + height of op(A), ROWS values per k, zero-padded below.
static TARGET void SHAPE(pack_a)(const backprop_gemm *p, const T *a, T *packed, size_t i0, size_t height, size_t k0,
                                size_t kc) {
    if (p->transpose_a) {
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

/// One ROWS × NR tile of C over a k-block of kc; only height × width of it is written.
/// Element (i, kk) of the tile's rows of op(A) is a[i × row_stride + kk × depth_stride]: packed (1, ROWS), or read in
/// place from A (lda, 1) or from a transposed A (1, lda). Row kk of its columns of op(B) starts at b + kk × b_stride:
/// a packed panel (NR) or B in place (ldb).
static inline __attribute__((always_inline)) TARGET void SHAPE(tile)(
    const T *restrict a, size_t row_stride, size_t depth_stride, const T *restrict b, size_t b_stride, size_t kc,
    T *restrict c, size_t ldc, size_t height, size_t width, int accumulate) {
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
        _Pragma("clang loop unroll(full)") for (size_t i = 0; i < ROWS; i++) {
            const T ai = a[i * row_stride + kk * depth_stride];
            _Pragma("clang loop unroll(full)") for (size_t v = 0; v < VECTORS; v++) sums[i][v] += ai * bk[v];
        }
    }
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

/// One row of tiles, rows i0 ..< i0 + height of C over the k-block k0 ..< k0 + kc, with `a` and its strides as in
/// `tile`; whole panels of B in place when `b_in_place`, else (and the last, narrower one) packed.
static inline __attribute__((always_inline)) TARGET void SHAPE(row_of_tiles)(
    const backprop_gemm *p, const T *a, size_t row_stride, size_t depth_stride, const T *b, int b_in_place,
    const T *packed_b, size_t k0, size_t kc, size_t i0, size_t height, T *c, int accumulate) {
    for (size_t j0 = 0; j0 < p->n; j0 += NR) {
        const size_t width = p->n - j0 < NR ? p->n - j0 : NR;
        if (b_in_place && width == NR) {
            SHAPE(tile)(a, row_stride, depth_stride, b + k0 * p->ldb + j0, p->ldb, kc, c + i0 * p->ldc + j0, p->ldc,
                        height, width, accumulate);
        } else {
            SHAPE(tile)(a, row_stride, depth_stride, packed_b + (j0 / NR) * kc * NR, NR, kc, c + i0 * p->ldc + j0,
                        p->ldc, height, width, accumulate);
        }
    }
}

static TARGET void SHAPE(gemm)(const backprop_gemm *p, const T *a, const T *b, T *c, T *scratch) {
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
            if (height < ROWS || (p->transpose_a && p->n > NR && !transposed_a_in_place)) {
                SHAPE(pack_a)(p, a, packed_a, i0, height, k0, kc);
                SHAPE(row_of_tiles)(p, packed_a, 1, ROWS, b, b_in_place, packed_b, k0, kc, i0, height, c, accumulate);
            } else if (p->transpose_a) {
                SHAPE(row_of_tiles)(p, a + k0 * p->lda + i0, 1, p->lda, b, b_in_place, packed_b, k0, kc, i0, height,
                                    c, accumulate);
            } else {
                SHAPE(row_of_tiles)(p, a + i0 * p->lda + k0, p->lda, 1, b, b_in_place, packed_b, k0, kc, i0, height,
                                    c, accumulate);
            }
        }
    }
}

#undef NR
