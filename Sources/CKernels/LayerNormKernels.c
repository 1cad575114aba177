#include "LayerNormKernels.h"
#include "VectorKernels.h"
#include "Cloning.h"

// Each row's sums go through `backprop_sum_*` (a fixed order of partial sums), so a row's statistics are the same bits
// whatever the instruction set; rows are independent, so any split of them over threads gives the same result.
#define LAYER_NORM_KERNELS(T, SUFFIX)                                                                                  \
    CLONED void backprop_layer_norm_##SUFFIX(const T *x, size_t rows, size_t width, const T *gamma, const T *beta,     \
                                             T epsilon, T *y, T *statistics) {                                         \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *row = x + r * width;                                                                              \
            T *out = y + r * width;                                                                                    \
            const T mean = backprop_sum_##SUFFIX(row, width, 0) / (T)width;                                            \
            VECTORISE for (size_t i = 0; i < width; i++) out[i] = row[i] - mean;                                       \
            const T variance = backprop_sum_##SUFFIX(out, width, 1) / (T)width;                                        \
            const T s = (T)1 / sqrt##SUFFIX##_(variance + epsilon);                                                    \
            VECTORISE for (size_t i = 0; i < width; i++) out[i] = out[i] * s * gamma[i] + beta[i];                     \
            statistics[2 * r] = mean;                                                                                  \
            statistics[2 * r + 1] = s;                                                                                 \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_layer_norm_input_gradient_##SUFFIX(const T *g, const T *x, size_t rows, size_t width,         \
                                                            const T *gamma, const T *statistics, T *dx) {              \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *gr = g + r * width, *xr = x + r * width;                                                          \
            T *out = dx + r * width;                                                                                   \
            const T mean = statistics[2 * r], s = statistics[2 * r + 1];                                               \
            VECTORISE for (size_t i = 0; i < width; i++) out[i] = gr[i] * gamma[i] * ((xr[i] - mean) * s);             \
            const T meanOfGY = backprop_sum_##SUFFIX(out, width, 0) / (T)width;                                        \
            VECTORISE for (size_t i = 0; i < width; i++) out[i] = gr[i] * gamma[i];                                    \
            const T meanOfG = backprop_sum_##SUFFIX(out, width, 0) / (T)width;                                         \
            VECTORISE for (size_t i = 0; i < width; i++)                                                               \
                out[i] = s * (out[i] - meanOfG - ((xr[i] - mean) * s) * meanOfGY);                                     \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_layer_norm_parameter_gradients_##SUFFIX(const T *g, const T *x, size_t rows, size_t width,    \
                                                                 const T *statistics, T *dgamma, T *dbeta) {           \
        for (size_t i = 0; i < width; i++) { dgamma[i] = 0; dbeta[i] = 0; }                                           \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *gr = g + r * width, *xr = x + r * width;                                                          \
            const T mean = statistics[2 * r], s = statistics[2 * r + 1];                                               \
            VECTORISE for (size_t i = 0; i < width; i++) {                                                             \
                dbeta[i] += gr[i];                                                                                     \
                dgamma[i] += gr[i] * ((xr[i] - mean) * s);                                                             \
            }                                                                                                          \
        }                                                                                                              \
    }

#include <math.h>
#define sqrtfloat_ sqrtf
#define sqrtdouble_ sqrt

LAYER_NORM_KERNELS(float, float)
LAYER_NORM_KERNELS(double, double)
