// One variant of the portable matrix product, included by GEMM.c once per element type and instruction set with these
// macros defined:
//   T          the element type
//   W          lanes per vector (the vector is W × T: 64 bytes for AVX-512, 32 for AVX2, 16 for SSE2 and NEON)
//   MR         rows of C per tile (accumulators: MR × 2 vectors, which must fit in the register file)
//   TARGET     the function attribute that compiles for the instruction set (empty for the baseline)
//   NAME(x)    this variant's name for x
// It has two tile shapes, included from GEMMTile.h: MR × 2W, and 2MR × W for products at most W columns wide (the
// output layer's ten classes), which the wide tile would pad to 2W.

// Under-aligned, so that a vector loads from any element's address.
typedef T NAME(vector) __attribute__((ext_vector_type(W), aligned(sizeof(T))));

typedef T NAME(quad) __attribute__((ext_vector_type(4), aligned(sizeof(T))));

/// Writes the `rows` × `depth` block at `source` (row stride `stride`) transposed into `target` (row stride `width`):
/// target[kk × width + r] = source[r × stride + kk]. Four-by-four blocks go through registers (four loads, eight
/// shuffles, four stores); one element at a time, the loads of `rows` rows side by side were a third of a product.
static inline __attribute__((always_inline)) TARGET void NAME(transpose)(const T *source, size_t stride, size_t rows,
                                                                         size_t depth, T *target, size_t width) {
    typedef NAME(quad) Q;
    size_t kk = 0;
    for (; kk + 4 <= depth; kk += 4) {
        size_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const T *s = source + r * stride + kk;
            const Q r0 = *(const Q *)s, r1 = *(const Q *)(s + stride), r2 = *(const Q *)(s + 2 * stride),
                    r3 = *(const Q *)(s + 3 * stride);
            const Q t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
            const Q t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
            T *t = target + kk * width + r;
            *(Q *)t = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
            *(Q *)(t + width) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
            *(Q *)(t + 2 * width) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
            *(Q *)(t + 3 * width) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
        }
        for (; r < rows; r++) {
            for (size_t k = kk; k < kk + 4; k++) target[k * width + r] = source[r * stride + k];
        }
    }
    for (; kk < depth; kk++) {
        for (size_t r = 0; r < rows; r++) target[kk * width + r] = source[r * stride + kk];
    }
}

#define VECTORS 2
#define ROWS MR
#define SHAPE(x) NAME(x##_wide)
#include "GEMMTile.h"
#undef VECTORS
#undef ROWS
#undef SHAPE

#define VECTORS 1
#define ROWS (2 * MR)
#define SHAPE(x) NAME(x##_narrow)
#include "GEMMTile.h"
#undef VECTORS
#undef ROWS
#undef SHAPE

static size_t NAME(scratch)(const backprop_gemm *p) {
    return p->n <= W ? NAME(scratch_narrow)(p) : NAME(scratch_wide)(p);
}

static TARGET void NAME(gemm)(const backprop_gemm *p, const T *a, const T *b, T *c, T *scratch) {
    if (p->n <= W) {
        NAME(gemm_narrow)(p, NULL, a, b, c, scratch);
    } else {
        NAME(gemm_wide)(p, NULL, a, b, c, scratch);
    }
}

static size_t NAME(gathered_scratch)(const backprop_gemm *p) {
    return p->n <= W ? NAME(gathered_scratch_narrow)(p) : NAME(gathered_scratch_wide)(p);
}

static TARGET void NAME(gemm_gathered)(const backprop_gemm *p, const backprop_gathered *g, const T *a, const T *b, T *c,
                                       T *scratch) {
    if (p->n <= W) {
        NAME(gemm_gathered_narrow)(p, g, a, b, c, scratch);
    } else {
        NAME(gemm_gathered_wide)(p, g, a, b, c, scratch);
    }
}

static TARGET void NAME(gemm_scattered)(const backprop_gemm *p, const backprop_gathered *g, const T *a, const T *b,
                                        T *c, T *scratch) {
    if (p->n <= W) {
        NAME(gemm_scattered_narrow)(p, g, a, b, c, scratch);
    } else {
        NAME(gemm_scattered_wide)(p, g, a, b, c, scratch);
    }
}
