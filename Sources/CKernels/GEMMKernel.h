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
        NAME(gemm_narrow)(p, a, b, c, scratch);
    } else {
        NAME(gemm_wide)(p, a, b, c, scratch);
    }
}
