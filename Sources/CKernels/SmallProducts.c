#include "GEMMKernels.h"
#include "Cloning.h"

#include <string.h>

// Register tiles: TILE_OUTER results of the narrower dimension × TILE_INNER of the wider, accumulated over a block of
// rows that stays in the L1 cache, then added to the partial sums. Each result is the sum of its rows in order: the
// rows of a block one by one, the blocks one after another.
enum { TILE_OUTER = 8, TILE_INNER = 16, BLOCK_ROWS = 128 };

#define SMALL_PRODUCT(T, SUFFIX)                                                                                       \
    typedef T SUFFIX##_lanes __attribute__((ext_vector_type(TILE_INNER)));                                            \
                                                                                                                       \
    CLONED void backprop_small_product_##SUFFIX(const T *a, const T *b, size_t rows, size_t m, size_t n, T *partial) { \
        const int wide = n >= m;                                                                                       \
        const size_t outer = wide ? m : n, inner = wide ? n : m;                                                       \
        const T *scalars = wide ? a : b, *vectors = wide ? b : a;                                                      \
        for (size_t i = 0; i < m * n; i++) partial[i] = 0;                                                             \
        for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {                                                             \
            const size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;                                         \
            for (size_t j0 = 0; j0 < inner; j0 += TILE_INNER) {                                                        \
                const size_t width = inner - j0 < TILE_INNER ? inner - j0 : TILE_INNER;                                \
                for (size_t i0 = 0; i0 < outer; i0 += TILE_OUTER) {                                                    \
                    const size_t height = outer - i0 < TILE_OUTER ? outer - i0 : TILE_OUTER;                           \
                    SUFFIX##_lanes sums[TILE_OUTER];                                                                   \
                    for (size_t i = 0; i < TILE_OUTER; i++) sums[i] = (SUFFIX##_lanes)0;                               \
                    for (size_t r = r0; r < r1; r++) {                                                                 \
                        SUFFIX##_lanes v = (SUFFIX##_lanes)0;                                                          \
                        if (width == TILE_INNER) {                                                                     \
                            memcpy(&v, vectors + r * inner + j0, sizeof v);                                            \
                        } else {                                                                                       \
                            for (size_t j = 0; j < width; j++) v[j] = vectors[r * inner + j0 + j];                     \
                        }                                                                                              \
                        const T *s = scalars + r * outer + i0;                                                         \
                        for (size_t i = 0; i < TILE_OUTER; i++) sums[i] += (i < height ? s[i] : (T)0) * v;             \
                    }                                                                                                  \
                    for (size_t i = 0; i < height; i++)                                                                \
                        for (size_t j = 0; j < width; j++) partial[(i0 + i) * inner + j0 + j] += sums[i][j];           \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }

SMALL_PRODUCT(float, float)
SMALL_PRODUCT(double, double)
