#include "NormalizedConvolutionKernels.h"
#include "Cloning.h"

#include <string.h>

size_t backprop_window_moments_scratch_size(const backprop_window *conv) {
    const size_t K = conv->kernel_height * conv->kernel_width;
    return K * conv->output_height * conv->output_width + K * K * backprop_window_lanes;
}

#define NORMALIZED_CONVOLUTION_KERNELS(T, SUFFIX)                                                                      \
    /* Sample `image`'s windows, less `center` (if any), one row per window position k over the P output pixels:    */ \
    /* rows[k·P + p] = x_{p,k} − c_k. An output row whose inputs are one run of an image row (stride 1, inside the */  \
    /* image) is copied as a run.                                                                                    */\
    static inline __attribute__((always_inline)) void window_rows_##SUFFIX(const backprop_window *conv, const T *image,\
                                                                          const T *center, T *rows) {                  \
        const size_t OW = conv->output_width, P = conv->output_height * OW;                                            \
        for (size_t ki = 0; ki < conv->kernel_height; ki++)                                                            \
            for (size_t kj = 0; kj < conv->kernel_width; kj++) {                                                       \
                const size_t k = ki * conv->kernel_width + kj;                                                         \
                const T c = center ? center[k] : (T)0;                                                                 \
                const ptrdiff_t x0 = (ptrdiff_t)kj - (ptrdiff_t)conv->pad_left;                                        \
                const int run = conv->stride_width == 1 && x0 >= 0 && x0 + (ptrdiff_t)OW <= (ptrdiff_t)conv->width;    \
                for (size_t oy = 0; oy < conv->output_height; oy++) {                                                  \
                    const ptrdiff_t iy = (ptrdiff_t)(oy * conv->stride_height + ki) - (ptrdiff_t)conv->pad_top;        \
                    T *row = rows + k * P + oy * OW;                                                                   \
                    if (iy < 0 || iy >= (ptrdiff_t)conv->height) {                                                     \
                        VECTORISE for (size_t ox = 0; ox < OW; ox++) row[ox] = (T)0 - c;                               \
                        continue;                                                                                      \
                    }                                                                                                  \
                    const T *line = image + (size_t)iy * conv->width;                                                  \
                    if (run) {                                                                                         \
                        const T *source = line + x0;                                                                   \
                        VECTORISE for (size_t ox = 0; ox < OW; ox++) row[ox] = source[ox] - c;                         \
                        continue;                                                                                      \
                    }                                                                                                  \
                    for (size_t ox = 0; ox < OW; ox++) {                                                               \
                        const ptrdiff_t ix = (ptrdiff_t)(ox * conv->stride_width) + x0;                                \
                        row[ox] = (ix >= 0 && ix < (ptrdiff_t)conv->width ? line[ix] : (T)0) - c;                      \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
    }                                                                                                                  \
                                                                                                                       \
    /* Σ u[p] v[p] (or Σ u[p] with `v` null) over p < P, in lanes by p mod L, added to `lanes`. The lanes are one    */\
    /* vector of the compiler's vector extension: lane-wise operations on any instruction set.                      */ \
    typedef T window_lanes_##SUFFIX __attribute__((vector_size(backprop_window_lanes * sizeof(T))));                   \
    static inline __attribute__((always_inline)) void lane_sums_##SUFFIX(const T *u, const T *v, size_t P, T *lanes) { \
        enum { L = backprop_window_lanes };                                                                            \
        window_lanes_##SUFFIX sums = {0}, a, b;                                                                        \
        size_t o = 0;                                                                                                  \
        for (; o + L <= P; o += L) {                                                                                   \
            memcpy(&a, u + o, sizeof a);                                                                               \
            if (v) {                                                                                                   \
                memcpy(&b, v + o, sizeof b);                                                                           \
                sums += a * b;                                                                                         \
            } else {                                                                                                   \
                sums += a;                                                                                             \
            }                                                                                                          \
        }                                                                                                              \
        for (size_t i = 0; o + i < P; i++) sums[i] += v ? u[o + i] * v[o + i] : u[o + i];                              \
        for (size_t i = 0; i < L; i++) lanes[i] += sums[i];                                                            \
    }                                                                                                                  \
                                                                                                                       \
    /* A sum's lanes added in order. */                                                                                \
    static inline __attribute__((always_inline)) T lane_total_##SUFFIX(const T *lanes) {                               \
        T total = 0;                                                                                                   \
        for (size_t i = 0; i < backprop_window_lanes; i++) total += lanes[i];                                          \
        return total;                                                                                                  \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_window_moments_##SUFFIX(const backprop_window *conv, const T *x, const T *center,             \
                                                 size_t first, size_t count, T *scratch, T *sums) {                    \
        enum { L = backprop_window_lanes };                                                                            \
        const size_t K = conv->kernel_height * conv->kernel_width, P = conv->output_height * conv->output_width;       \
        T *rows = scratch, *lanes = scratch + K * P;                                                                   \
        memset(lanes, 0, (center ? K * K : K) * L * sizeof(T));                                                        \
        for (size_t n = first; n < first + count; n++) {                                                               \
            window_rows_##SUFFIX(conv, x + n * conv->height * conv->width, center, rows);                              \
            for (size_t j = 0; j < K; j++) {                                                                           \
                if (!center) {                                                                                         \
                    lane_sums_##SUFFIX(rows + j * P, NULL, P, lanes + j * L);                                          \
                    continue;                                                                                          \
                }                                                                                                      \
                /* The upper triangle (k ≥ j), mirrored below. */                                                      \
                for (size_t k = j; k < K; k++)                                                                         \
                    lane_sums_##SUFFIX(rows + j * P, rows + k * P, P, lanes + (j * K + k) * L);                        \
            }                                                                                                          \
        }                                                                                                              \
        if (!center) {                                                                                                 \
            for (size_t k = 0; k < K; k++) sums[k] = lane_total_##SUFFIX(lanes + k * L);                               \
            return;                                                                                                    \
        }                                                                                                              \
        for (size_t j = 0; j < K; j++)                                                                                 \
            for (size_t k = j; k < K; k++)                                                                             \
                sums[j * K + k] = sums[k * K + j] = lane_total_##SUFFIX(lanes + (j * K + k) * L);                      \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_convolution_moments_##SUFFIX(size_t K, size_t F, const T *m, const T *cov, const T *weight,   \
                                                      const T *bias, T *mean, T *variance) {                           \
        for (size_t f = 0; f < F; f++) {                                                                               \
            T mu = 0, v = 0;                                                                                           \
            for (size_t k = 0; k < K; k++) mu += weight[k * F + f] * m[k];                                             \
            for (size_t j = 0; j < K; j++) {                                                                           \
                T row = 0;                                                                                             \
                for (size_t k = 0; k < K; k++) row += cov[j * K + k] * weight[k * F + f];                              \
                v += weight[j * F + f] * row;                                                                          \
            }                                                                                                          \
            mean[f] = bias ? mu + bias[f] : mu;                                                                        \
            /* A quadratic form of a covariance: never negative but for rounding. */                                   \
            variance[f] = v > 0 ? v : (T)0;                                                                            \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_fold_normalization_##SUFFIX(size_t K, size_t F, const T *weight, const T *bias,               \
                                                     const T *mean, const T *inverse_deviation, const T *gamma,        \
                                                     const T *beta, T *folded_weight, T *folded_bias) {                \
        for (size_t f = 0; f < F; f++) {                                                                               \
            const T scale = gamma[f] * inverse_deviation[f];                                                           \
            for (size_t k = 0; k < K; k++) folded_weight[k * F + f] = weight[k * F + f] * scale;                       \
            folded_bias[f] = beta[f] + scale * ((bias ? bias[f] : (T)0) - mean[f]);                                    \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_normalized_convolution_gradients_##SUFFIX(                                                    \
        size_t K, size_t F, const T *m, const T *cov, const T *weight, const T *inverse_deviation, const T *gamma,     \
        const T *a, const T *dbeta, T *weight_gradient, T *scale_gradient, T *offset_gradient) {                       \
        for (size_t f = 0; f < F; f++) {                                                                               \
            const T s = inverse_deviation[f], db = dbeta[f];                                                           \
            T dg = 0;                                                                                                  \
            for (size_t k = 0; k < K; k++) dg += weight[k * F + f] * (a[k * F + f] - m[k] * db);                       \
            dg *= s;                                                                                                   \
            for (size_t k = 0; k < K; k++) {                                                                           \
                T cw = 0;                                                                                              \
                for (size_t j = 0; j < K; j++) cw += cov[k * K + j] * weight[j * F + f];                               \
                weight_gradient[k * F + f] = gamma[f] * s * (a[k * F + f] - m[k] * db - dg * s * cw);                  \
            }                                                                                                          \
            scale_gradient[f] = dg;                                                                                    \
            offset_gradient[f] = db;                                                                                   \
        }                                                                                                              \
    }

NORMALIZED_CONVOLUTION_KERNELS(float, float)
NORMALIZED_CONVOLUTION_KERNELS(double, double)
