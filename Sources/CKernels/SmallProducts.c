#include "GEMMKernels.h"
#include "Cloning.h"

// The inner loop runs along the wider of the two result dimensions, so that it is a vector loop over contiguous
// values of one operand's row, multiplied by one value of the other's.
#define SMALL_PRODUCT(T, SUFFIX)                                                                                       \
    CLONED void backprop_small_product_##SUFFIX(const T *a, const T *b, size_t rows, size_t m, size_t n, T *partial) { \
        const int wide = n >= m;                                                                                       \
        const size_t outer = wide ? m : n, inner = wide ? n : m;                                                       \
        for (size_t i = 0; i < m * n; i++) partial[i] = 0;                                                             \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *scalars = (wide ? a + r * m : b + r * n), *vector = (wide ? b + r * n : a + r * m);               \
            for (size_t i = 0; i < outer; i++) {                                                                       \
                const T s = scalars[i];                                                                                \
                T *row = partial + i * inner;                                                                          \
                VECTORISE for (size_t j = 0; j < inner; j++) row[j] += s * vector[j];                                  \
            }                                                                                                          \
        }                                                                                                              \
    }

SMALL_PRODUCT(float, float)
SMALL_PRODUCT(double, double)
