#include "ChannelsLastKernels.h"
#include "BF16Rounding.h"
#include "Cloning.h"

#include <stdlib.h>
#include <string.h>

// The kernel columns [lo, hi) whose input columns lie inside the image, for output column `ox`.
static inline void kernel_columns(const backprop_window *w, size_t ox, size_t *lo, size_t *hi) {
    ptrdiff_t start = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;
    ptrdiff_t a = start < 0 ? -start : 0;
    ptrdiff_t b = (ptrdiff_t)w->width - start;
    if (b > (ptrdiff_t)w->kernel_width) b = (ptrdiff_t)w->kernel_width;
    if (b < a) b = a;
    *lo = (size_t)a;
    *hi = (size_t)b;
}

// Whether the windows tile the image: no padding, and each window starts where the one before ends, so that every
// input lies in at most one window.
static inline int tiles(const backprop_window *w) {
    return w->pad_top == 0 && w->pad_left == 0 && w->stride_height == w->kernel_height && w->stride_width == w->kernel_width;
}

/// Filters per block of the direct one-channel convolution: one or two AVX-512 vectors of Float32 sums.
enum { direct_filters = 16, direct_wide = 2 * direct_filters };

// The width of the next block of filters when `remaining` are left: two vectors, one, or what remains.
static inline size_t direct_width(size_t remaining) {
    return remaining >= direct_wide ? direct_wide : remaining >= direct_filters ? direct_filters : remaining;
}

size_t backprop_convolve_pool_share_size(const backprop_window *pool) {
    return pool->height * pool->width * direct_wide;
}

#define CHANNELS_LAST_KERNELS(T, SUFFIX)                                                                               \
    CLONED void backprop_unfold_nhwc_##SUFFIX(const backprop_window *w, const T *x, T *col, size_t first,              \
                                              size_t count) {                                                          \
        const size_t C = w->channels, K = w->kernel_height * w->kernel_width * C, rowWidth = w->kernel_width * C;      \
        T *out = col + first * w->output_height * w->output_width * K;                                                 \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * w->height * w->width * C;                                                         \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, out += K) {                                            \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(w, ox, &lo, &hi);                                                                   \
                    const ptrdiff_t x0 = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;                   \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        T *line = out + ki * rowWidth;                                                                 \
                        ptrdiff_t iy = (ptrdiff_t)(oy * w->stride_height + ki) - (ptrdiff_t)w->pad_top;                \
                        if (iy < 0 || iy >= (ptrdiff_t)w->height || lo >= hi) {                                        \
                            memset(line, 0, rowWidth * sizeof(T));                                                     \
                            continue;                                                                                  \
                        }                                                                                              \
                        /* Loops rather than memcpy: a row is often a few values (one channel, three pixels). */       \
                        for (size_t i = 0; i < lo * C; i++) line[i] = 0;                                               \
                        const T *source = image + ((size_t)iy * w->width + (size_t)(x0 + (ptrdiff_t)lo)) * C;          \
                        const size_t length = (hi - lo) * C;                                                           \
                        VECTORISE for (size_t i = 0; i < length; i++) line[lo * C + i] = source[i];                    \
                        for (size_t i = hi * C; i < rowWidth; i++) line[i] = 0;                                        \
                    }                                                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_fold_nhwc_##SUFFIX(const backprop_window *w, const T *col, T *x, size_t first,                \
                                            size_t count) {                                                            \
        const size_t C = w->channels, K = w->kernel_height * w->kernel_width * C, rowWidth = w->kernel_width * C;      \
        const size_t plane = w->height * w->width * C;                                                                 \
        memset(x + first * plane, 0, count * plane * sizeof(T));                                                       \
        const T *in = col + first * w->output_height * w->output_width * K;                                            \
        for (size_t n = first; n < first + count; n++) {                                                               \
            T *image = x + n * plane;                                                                                  \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, in += K) {                                             \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(w, ox, &lo, &hi);                                                                   \
                    if (lo >= hi) continue;                                                                            \
                    const ptrdiff_t x0 = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;                   \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = (ptrdiff_t)(oy * w->stride_height + ki) - (ptrdiff_t)w->pad_top;                \
                        if (iy < 0 || iy >= (ptrdiff_t)w->height) continue;                                            \
                        const T *source = in + ki * rowWidth + lo * C;                                                 \
                        T *target = image + ((size_t)iy * w->width + (size_t)(x0 + (ptrdiff_t)lo)) * C;                \
                        const size_t length = (hi - lo) * C;                                                           \
                        VECTORISE for (size_t i = 0; i < length; i++) target[i] += source[i];                          \
                    }                                                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Max pooling of z, of max(z + bias, 0) with a bias, or of max(γ (z − mean) s + β, 0) with `norm` (mean, s, γ,  */\
    /* β: batch normalisation with `backprop_batch_norm_apply_float`'s expression, and its ReLU): one pass over the  */\
    /* images either way. With `normalized`, the normalisation's x̂ of each window's winner goes there too.          */\
    /* Inlined into each clone of its callers, so that it is compiled for their instruction sets.                    */\
    static inline __attribute__((always_inline)) void max_pool_nhwc_##SUFFIX(                                          \
        const backprop_window *w, const T *z, const T *bias, const T *norm, T *y, int32_t *where, T *normalized,       \
        size_t first, size_t count) {                                                                                  \
        const size_t C = w->channels, outputs = w->output_height * w->output_width;                                    \
        const T *mean = norm, *inverse_deviation = norm + C, *gamma = norm + 2 * C, *beta = norm + 3 * C;              \
        y += first * outputs * C;                                                                                      \
        where += first * outputs * C;                                                                                  \
        if (normalized) normalized += first * outputs * C;                                                             \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = z + n * w->height * w->width * C;                                                         \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, y += C, where += C) {                                  \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(w, ox, &lo, &hi);                                                                   \
                    const ptrdiff_t x0 = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;                   \
                    int started = 0;                                                                                   \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = (ptrdiff_t)(oy * w->stride_height + ki) - (ptrdiff_t)w->pad_top;                \
                        if (iy < 0 || iy >= (ptrdiff_t)w->height) continue;                                            \
                        for (size_t kj = lo; kj < hi; kj++) {                                                          \
                            const int32_t pixel = (int32_t)((size_t)iy * w->width + (size_t)(x0 + (ptrdiff_t)kj));     \
                            const T *source = image + (size_t)pixel * C;                                               \
                            if (!started) {                                                                            \
                                if (normalized) {                                                                      \
                                    VECTORISE for (size_t c = 0; c < C; c++) {                                         \
                                        const T xhat = (source[c] - mean[c]) * inverse_deviation[c];                   \
                                        y[c] = xhat * gamma[c] + beta[c];                                              \
                                        where[c] = pixel;                                                              \
                                        normalized[c] = xhat;                                                          \
                                    }                                                                                  \
                                } else {                                                                               \
                                    VECTORISE for (size_t c = 0; c < C; c++) {                                         \
                                        y[c] = norm ? (source[c] - mean[c]) * inverse_deviation[c] * gamma[c] + beta[c]\
                                             : bias ? source[c] + bias[c] : source[c];                                 \
                                        where[c] = pixel;                                                              \
                                    }                                                                                  \
                                }                                                                                      \
                                started = 1;                                                                           \
                                continue;                                                                              \
                            }                                                                                          \
                            if (normalized) {                                                                          \
                                VECTORISE for (size_t c = 0; c < C; c++) {                                             \
                                    const T xhat = (source[c] - mean[c]) * inverse_deviation[c];                       \
                                    const T v = xhat * gamma[c] + beta[c];                                             \
                                    const int larger = v > y[c];                                                       \
                                    y[c] = larger ? v : y[c];                                                          \
                                    where[c] = larger ? pixel : where[c];                                              \
                                    normalized[c] = larger ? xhat : normalized[c];                                     \
                                }                                                                                      \
                                continue;                                                                              \
                            }                                                                                          \
                            VECTORISE for (size_t c = 0; c < C; c++) {                                                 \
                                const T v = norm ? (source[c] - mean[c]) * inverse_deviation[c] * gamma[c] + beta[c]   \
                                          : bias ? source[c] + bias[c] : source[c];                                    \
                                const int larger = v > y[c];                                                           \
                                y[c] = larger ? v : y[c];                                                              \
                                where[c] = larger ? pixel : where[c];                                                  \
                            }                                                                                          \
                        }                                                                                              \
                    }                                                                                                  \
                    if (bias || norm) {                                                                                \
                        VECTORISE for (size_t c = 0; c < C; c++) y[c] = y[c] > 0 ? y[c] : (T)0;                        \
                    }                                                                                                  \
                    if (normalized) normalized += C;                                                                   \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_nhwc_##SUFFIX(const backprop_window *w, const T *x, T *y, int32_t *where,            \
                                                size_t first, size_t count) {                                          \
        max_pool_nhwc_##SUFFIX(w, x, NULL, NULL, y, where, NULL, first, count);                                        \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_nhwc_backward_##SUFFIX(const backprop_window *w, const T *g, const int32_t *where,   \
                                                         const T *y, T *dx, size_t first, size_t count) {              \
        const size_t C = w->channels, outputs = w->output_height * w->output_width, plane = w->height * w->width * C;  \
        g += first * outputs * C;                                                                                      \
        where += first * outputs * C;                                                                                  \
        if (y) y += first * outputs * C;                                                                               \
        if (tiles(w)) {                                                                                                \
            /* Each input lies in at most one window: every gradient is written once, in order, without a scatter. */  \
            const size_t kh = w->kernel_height, kw = w->kernel_width;                                                  \
            for (size_t n = first; n < first + count; n++) {                                                           \
                T *image = dx + n * plane;                                                                             \
                for (size_t iy = 0; iy < w->height; iy++) {                                                            \
                    const size_t oy = iy / kh;                                                                         \
                    T *line = image + iy * w->width * C;                                                               \
                    if (oy >= w->output_height) {                                                                      \
                        memset(line, 0, w->width * C * sizeof(T));                                                     \
                        continue;                                                                                      \
                    }                                                                                                  \
                    for (size_t ix = 0; ix < w->width; ix++) {                                                         \
                        const size_t ox = ix / kw;                                                                     \
                        T *target = line + ix * C;                                                                     \
                        if (ox >= w->output_width) {                                                                   \
                            for (size_t c = 0; c < C; c++) target[c] = 0;                                              \
                            continue;                                                                                  \
                        }                                                                                              \
                        const size_t o = (oy * w->output_width + ox) * C;                                              \
                        const int32_t pixel = (int32_t)(iy * w->width + ix);                                           \
                        const int32_t *winner = where + o;                                                             \
                        const T *gradient = g + o;                                                                     \
                        if (y) {                                                                                       \
                            const T *pooled = y + o;                                                                   \
                            VECTORISE for (size_t c = 0; c < C; c++)                                                   \
                                target[c] = (winner[c] == pixel && pooled[c] > 0) ? gradient[c] : (T)0;                \
                        } else {                                                                                       \
                            VECTORISE for (size_t c = 0; c < C; c++)                                                   \
                                target[c] = winner[c] == pixel ? gradient[c] : (T)0;                                   \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
                g += outputs * C;                                                                                      \
                where += outputs * C;                                                                                  \
                if (y) y += outputs * C;                                                                               \
            }                                                                                                          \
            return;                                                                                                    \
        }                                                                                                              \
        memset(dx + first * plane, 0, count * plane * sizeof(T));                                                      \
        for (size_t n = first; n < first + count; n++) {                                                               \
            T *image = dx + n * plane;                                                                                 \
            for (size_t o = 0; o < outputs; o++, g += C, where += C) {                                                 \
                for (size_t c = 0; c < C; c++)                                                                         \
                    if (where[c] >= 0 && (y == NULL || y[c] > 0)) image[(size_t)where[c] * C + c] += g[c];             \
                if (y) y += C;                                                                                         \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_nhwc_bias_relu_##SUFFIX(const backprop_window *w, const T *z, const T *bias, T *y,   \
                                                          int32_t *where, size_t first, size_t count) {                \
        max_pool_nhwc_##SUFFIX(w, z, bias, NULL, y, where, NULL, first, count);                                        \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_nhwc_batch_norm_relu_##SUFFIX(const backprop_window *w, const T *z,                  \
                                                                const T *norm, T *y, int32_t *where, T *normalized,    \
                                                                size_t first, size_t count) {                          \
        max_pool_nhwc_##SUFFIX(w, z, NULL, norm, y, where, normalized, first, count);                                  \
    }                                                                                                                  \
                                                                                                                       \
    /* Average pooling in the graph's order (WindowKernels.c): each output the sum of its window's inputs inside   */  \
    /* the image, window rows then columns, times 1/(kernel height × width), so the values are the same bits.      */  \
    CLONED void backprop_average_pool_nhwc_##SUFFIX(const backprop_window *w, const T *x, T *y, size_t first,          \
                                                    size_t count) {                                                    \
        const size_t C = w->channels, outputs = w->output_height * w->output_width;                                    \
        const T scale = (T)1 / (T)(w->kernel_height * w->kernel_width);                                                \
        y += first * outputs * C;                                                                                      \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * w->height * w->width * C;                                                         \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, y += C) {                                              \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(w, ox, &lo, &hi);                                                                   \
                    const ptrdiff_t x0 = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;                   \
                    for (size_t c = 0; c < C; c++) y[c] = 0;                                                           \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = (ptrdiff_t)(oy * w->stride_height + ki) - (ptrdiff_t)w->pad_top;                \
                        if (iy < 0 || iy >= (ptrdiff_t)w->height) continue;                                            \
                        for (size_t kj = lo; kj < hi; kj++) {                                                          \
                            const T *source = image + ((size_t)iy * w->width + (size_t)(x0 + (ptrdiff_t)kj)) * C;      \
                            VECTORISE for (size_t c = 0; c < C; c++) y[c] += source[c];                                \
                        }                                                                                              \
                    }                                                                                                  \
                    VECTORISE for (size_t c = 0; c < C; c++) y[c] *= scale;                                            \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Its gradient, in the graph's order too: each output's g × 1/(kernel height × width) added to the inputs of */   \
    /* its window, outputs in order.                                                                               */  \
    CLONED void backprop_average_pool_nhwc_backward_##SUFFIX(const backprop_window *w, const T *g, T *dx,              \
                                                             size_t first, size_t count) {                             \
        const size_t C = w->channels, outputs = w->output_height * w->output_width, plane = w->height * w->width * C;  \
        const T scale = (T)1 / (T)(w->kernel_height * w->kernel_width);                                                \
        memset(dx + first * plane, 0, count * plane * sizeof(T));                                                      \
        g += first * outputs * C;                                                                                      \
        for (size_t n = first; n < first + count; n++) {                                                               \
            T *image = dx + n * plane;                                                                                 \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, g += C) {                                              \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(w, ox, &lo, &hi);                                                                   \
                    const ptrdiff_t x0 = (ptrdiff_t)(ox * w->stride_width) - (ptrdiff_t)w->pad_left;                   \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = (ptrdiff_t)(oy * w->stride_height + ki) - (ptrdiff_t)w->pad_top;                \
                        if (iy < 0 || iy >= (ptrdiff_t)w->height) continue;                                            \
                        for (size_t kj = lo; kj < hi; kj++) {                                                          \
                            T *target = image + ((size_t)iy * w->width + (size_t)(x0 + (ptrdiff_t)kj)) * C;            \
                            VECTORISE for (size_t c = 0; c < C; c++) target[c] += g[c] * scale;                        \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* z (`width` filters, rows of the weight F apart) of the one-channel convolution at output pixel (oy, ox) of    */\
    /* `image`: the window's values inside the image, window rows then columns, each times its row of the weight.    */\
    /* Called with a constant `width` (a whole block), the sums stay in registers.                                   */\
    static inline __attribute__((always_inline)) void direct_pixel_##SUFFIX(                                           \
        const backprop_window *conv, const T *image, const T *weight, size_t F, size_t width, size_t oy, size_t ox,    \
        T *z) {                                                                                                        \
        const ptrdiff_t y0 = (ptrdiff_t)(oy * conv->stride_height) - (ptrdiff_t)conv->pad_top;                         \
        const ptrdiff_t x0 = (ptrdiff_t)(ox * conv->stride_width) - (ptrdiff_t)conv->pad_left;                         \
        T sums[direct_wide] = {0};                                                                                     \
        for (size_t ki = 0; ki < conv->kernel_height; ki++) {                                                          \
            const ptrdiff_t iy = y0 + (ptrdiff_t)ki;                                                                   \
            if (iy < 0 || iy >= (ptrdiff_t)conv->height) continue;                                                     \
            for (size_t kj = 0; kj < conv->kernel_width; kj++) {                                                       \
                const ptrdiff_t ix = x0 + (ptrdiff_t)kj;                                                               \
                if (ix < 0 || ix >= (ptrdiff_t)conv->width) continue;                                                  \
                const T value = image[(size_t)iy * conv->width + (size_t)ix];                                          \
                const T *row = weight + (ki * conv->kernel_width + kj) * F;                                            \
                for (size_t f = 0; f < width; f++) sums[f] += value * row[f];                                          \
            }                                                                                                          \
        }                                                                                                              \
        for (size_t f = 0; f < width; f++) z[f] = sums[f];                                                             \
    }                                                                                                                  \
                                                                                                                       \
    /* z of `group` (at most four) output pixels, each as `direct_pixel` sums it. Four 3 × 3 windows inside the      */\
    /* image are summed together, unrolled and without bounds: four independent chains of multiply-adds, where one   */\
    /* pixel's nine would wait on each other.                                                                        */\
    static inline __attribute__((always_inline)) void direct_pixels_##SUFFIX(                                          \
        const backprop_window *conv, const T *image, const T *weight, size_t F, size_t width, const size_t *oy,        \
        const size_t *ox, size_t group, T z[4][direct_wide]) {                                                         \
        int inside = group == 4 && conv->kernel_height == 3 && conv->kernel_width == 3;                                \
        const T *corner[4];                                                                                            \
        for (size_t i = 0; i < group && inside; i++) {                                                                 \
            const ptrdiff_t y0 = (ptrdiff_t)(oy[i] * conv->stride_height) - (ptrdiff_t)conv->pad_top;                  \
            const ptrdiff_t x0 = (ptrdiff_t)(ox[i] * conv->stride_width) - (ptrdiff_t)conv->pad_left;                  \
            inside = y0 >= 0 && x0 >= 0 && y0 + 3 <= (ptrdiff_t)conv->height && x0 + 3 <= (ptrdiff_t)conv->width;      \
            corner[i] = image + (size_t)y0 * conv->width + (size_t)x0;                                                 \
        }                                                                                                              \
        if (!inside) {                                                                                                 \
            for (size_t i = 0; i < group; i++)                                                                         \
                direct_pixel_##SUFFIX(conv, image, weight, F, width, oy[i], ox[i], z[i]);                              \
            return;                                                                                                    \
        }                                                                                                              \
        T sums[4][direct_wide] = {{0}};                                                                                \
        _Pragma("clang loop unroll(full)") for (size_t kk = 0; kk < 9; kk++) {                                         \
            const T *row = weight + kk * F;                                                                            \
            _Pragma("clang loop unroll(full)") for (size_t i = 0; i < 4; i++) {                                        \
                const T value = corner[i][(kk / 3) * conv->width + kk % 3];                                            \
                for (size_t f = 0; f < width; f++) sums[i][f] += value * row[f];                                       \
            }                                                                                                          \
        }                                                                                                              \
        for (size_t i = 0; i < 4; i++)                                                                                 \
            for (size_t f = 0; f < width; f++) z[i][f] = sums[i][f];                                                   \
    }                                                                                                                  \
                                                                                                                       \
    /* Folds pixels 0 ..< group of z, each plus the bias, into the window's running maximum, in order: the first     */\
    /* starts it, a later one takes it only where strictly larger (a tie stays with the earlier pixel).              */\
    static inline __attribute__((always_inline)) void direct_running_max_##SUFFIX(                                     \
        const backprop_window *pool, T z[4][direct_wide], const size_t *oy, const size_t *ox, size_t group,            \
        const T *bias, size_t width, int *started, T *best, int32_t *won) {                                            \
        for (size_t i = 0; i < group; i++) {                                                                           \
            const int32_t pixel = (int32_t)(oy[i] * pool->width + ox[i]);                                              \
            if (!*started) {                                                                                           \
                VECTORISE for (size_t f = 0; f < width; f++) {                                                         \
                    best[f] = z[i][f] + bias[f];                                                                       \
                    won[f] = pixel;                                                                                    \
                }                                                                                                      \
                *started = 1;                                                                                          \
                continue;                                                                                              \
            }                                                                                                          \
            VECTORISE for (size_t f = 0; f < width; f++) {                                                             \
                const T v = z[i][f] + bias[f];                                                                         \
                const int larger = v > best[f];                                                                        \
                best[f] = larger ? v : best[f];                                                                        \
                won[f] = larger ? pixel : won[f];                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* The pooled outputs and winners of filters f0 ..< f0 + width (see `backprop_convolve_pool_nhwc_float`): each   */\
    /* window's pixels in order, four at a time, their maximum running in order.                                     */\
    static inline __attribute__((always_inline)) void direct_block_##SUFFIX(                                           \
        const backprop_window *conv, const backprop_window *pool, const T *x, const T *weight, const T *bias, T *y,    \
        int32_t *where, size_t f0, size_t width, size_t first, size_t count) {                                         \
        const size_t F = pool->channels, outputs = pool->output_height * pool->output_width;                           \
        T z[4][direct_wide], best[direct_wide];                                                                        \
        int32_t won[direct_wide];                                                                                      \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * conv->height * conv->width;                                                       \
            T *out = y + n * outputs * F + f0;                                                                         \
            int32_t *winner = where + n * outputs * F + f0;                                                            \
            for (size_t py = 0; py < pool->output_height; py++)                                                        \
                for (size_t px = 0; px < pool->output_width; px++, out += F, winner += F) {                            \
                    size_t lo, hi;                                                                                     \
                    kernel_columns(pool, px, &lo, &hi);                                                                \
                    const ptrdiff_t x0 = (ptrdiff_t)(px * pool->stride_width) - (ptrdiff_t)pool->pad_left;             \
                    size_t oys[4], oxs[4], group = 0;                                                                  \
                    int started = 0;                                                                                   \
                    for (size_t ki = 0; ki < pool->kernel_height; ki++) {                                              \
                        const ptrdiff_t oy = (ptrdiff_t)(py * pool->stride_height + ki) - (ptrdiff_t)pool->pad_top;    \
                        if (oy < 0 || oy >= (ptrdiff_t)pool->height) continue;                                         \
                        for (size_t kj = lo; kj < hi; kj++) {                                                          \
                            oys[group] = (size_t)oy;                                                                   \
                            oxs[group] = (size_t)(x0 + (ptrdiff_t)kj);                                                 \
                            if (++group < 4) continue;                                                                 \
                            direct_pixels_##SUFFIX(conv, image, weight + f0, F, width, oys, oxs, group, z);            \
                            direct_running_max_##SUFFIX(pool, z, oys, oxs, group, bias + f0, width, &started, best,    \
                                                        won);                                                          \
                            group = 0;                                                                                 \
                        }                                                                                              \
                    }                                                                                                  \
                    direct_pixels_##SUFFIX(conv, image, weight + f0, F, width, oys, oxs, group, z);                    \
                    direct_running_max_##SUFFIX(pool, z, oys, oxs, group, bias + f0, width, &started, best, won);      \
                    for (size_t f = 0; f < width; f++) {                                                               \
                        out[f] = best[f] > 0 ? best[f] : (T)0;                                                         \
                        winner[f] = won[f];                                                                            \
                    }                                                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_convolve_pool_nhwc_##SUFFIX(const backprop_window *conv, const backprop_window *pool,         \
                                                     const T *x, const T *weight, const T *bias, T *y,                 \
                                                     int32_t *where, size_t first, size_t count) {                     \
        /* Each block's width a constant, so that its sums stay in registers. */                                       \
        for (size_t f0 = 0, width; f0 < pool->channels; f0 += width) {                                                 \
            width = direct_width(pool->channels - f0);                                                                 \
            if (width == direct_wide)                                                                                  \
                direct_block_##SUFFIX(conv, pool, x, weight, bias, y, where, f0, direct_wide, first, count);           \
            else if (width == direct_filters)                                                                          \
                direct_block_##SUFFIX(conv, pool, x, weight, bias, y, where, f0, direct_filters, first, count);        \
            else                                                                                                       \
                direct_block_##SUFFIX(conv, pool, x, weight, bias, y, where, f0, width, first, count);                 \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Adds `factor` (the gradient reaching output pixel (oy, ox) of the 3 × 3 convolution) times each of its        */\
    /* window's values to sums[0 ..< 9], and `share` to sums[9] (the bias's).                                        */\
    static inline __attribute__((always_inline)) void direct_accumulate_3x3_##SUFFIX(                                  \
        const backprop_window *conv, const T *image, size_t oy, size_t ox, const T *share, const T *factor,            \
        size_t width, T sums[10][direct_wide]) {                                                                       \
        const ptrdiff_t y0 = (ptrdiff_t)(oy * conv->stride_height) - (ptrdiff_t)conv->pad_top;                         \
        const ptrdiff_t x0 = (ptrdiff_t)(ox * conv->stride_width) - (ptrdiff_t)conv->pad_left;                         \
        for (size_t f = 0; f < width; f++) sums[9][f] += share[f];                                                     \
        if (y0 >= 0 && x0 >= 0 && y0 + 3 <= (ptrdiff_t)conv->height && x0 + 3 <= (ptrdiff_t)conv->width) {             \
            const T *corner = image + (size_t)y0 * conv->width + (size_t)x0;                                           \
            _Pragma("clang loop unroll(full)") for (size_t kk = 0; kk < 9; kk++) {                                     \
                const T value = corner[(kk / 3) * conv->width + kk % 3];                                               \
                for (size_t f = 0; f < width; f++) sums[kk][f] += factor[f] * value;                                   \
            }                                                                                                          \
            return;                                                                                                    \
        }                                                                                                              \
        _Pragma("clang loop unroll(full)") for (size_t kk = 0; kk < 9; kk++) {                                         \
            const ptrdiff_t iy = y0 + (ptrdiff_t)(kk / 3), ix = x0 + (ptrdiff_t)(kk % 3);                              \
            const int inside = iy >= 0 && iy < (ptrdiff_t)conv->height && ix >= 0 && ix < (ptrdiff_t)conv->width;      \
            const T value = inside ? image[(size_t)iy * conv->width + (size_t)ix] : (T)0;                              \
            for (size_t f = 0; f < width; f++) sums[kk][f] += factor[f] * value;                                       \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Adds `factor` (the gradient reaching output pixel (oy, ox)) times each of its window's values inside the image*/\
    /* to the window position's row of `rows` (rows F apart), in memory: any window.                                 */\
    static inline __attribute__((always_inline)) void direct_accumulate_window_##SUFFIX(                               \
        const backprop_window *conv, const T *image, size_t oy, size_t ox, const T *factor, size_t width, T *rows,     \
        size_t F) {                                                                                                    \
        for (size_t ki = 0; ki < conv->kernel_height; ki++) {                                                          \
            const ptrdiff_t iy = (ptrdiff_t)(oy * conv->stride_height + ki) - (ptrdiff_t)conv->pad_top;                \
            if (iy < 0 || iy >= (ptrdiff_t)conv->height) continue;                                                     \
            for (size_t kj = 0; kj < conv->kernel_width; kj++) {                                                       \
                const ptrdiff_t ix = (ptrdiff_t)(ox * conv->stride_width + kj) - (ptrdiff_t)conv->pad_left;            \
                if (ix < 0 || ix >= (ptrdiff_t)conv->width) continue;                                                  \
                const T value = image[(size_t)iy * conv->width + (size_t)ix];                                          \
                T *row = rows + (ki * conv->kernel_width + kj) * F;                                                    \
                for (size_t f = 0; f < width; f++) row[f] += factor[f] * value;                                        \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* The gradient reaching each pixel of the convolution's output of one sample, for filters f0 ..< f0 + width:    */\
    /* share[pixel × direct_wide + f], from every pooled output whose window it won (where the ReLU passed).         */\
    static inline __attribute__((always_inline)) void direct_shares_##SUFFIX(                                          \
        const backprop_window *pool, const T *g, const T *y, const int32_t *where, size_t f0, size_t width,            \
        T *share) {                                                                                                    \
        const size_t F = pool->channels, outputs = pool->output_height * pool->output_width;                           \
        memset(share, 0, pool->height * pool->width * direct_wide * sizeof(T));                                        \
        for (size_t o = 0; o < outputs; o++) {                                                                         \
            for (size_t f = 0; f < width; f++) {                                                                       \
                const size_t at = o * F + f0 + f;                                                                      \
                if (where[at] >= 0 && y[at] > 0) share[(size_t)where[at] * direct_wide + f] += g[at];                  \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Adds a sample's ten sums (the nine window positions', then the bias's) to the gradients.                      */\
    static inline __attribute__((always_inline)) void direct_add_sums_##SUFFIX(                                        \
        T sums[10][direct_wide], size_t F, size_t f0, size_t width, T *weight_gradient, T *bias_gradient) {            \
        for (size_t kk = 0; kk < 9; kk++)                                                                              \
            for (size_t f = 0; f < width; f++) weight_gradient[kk * F + f0 + f] += sums[kk][f];                        \
        for (size_t f = 0; f < width; f++) bias_gradient[f0 + f] += sums[9][f];                                        \
    }                                                                                                                  \
                                                                                                                       \
    /* `backprop_convolve_pool_nhwc_backward_float`'s sums for filters f0 ..< f0 + width.                            */\
    static inline __attribute__((always_inline)) void direct_block_gradient_##SUFFIX(                                  \
        const backprop_window *conv, const backprop_window *pool, const T *x, const T *g, const T *y,                  \
        const int32_t *where, T *weight_gradient, T *bias_gradient, T *share, int round_products, size_t f0,           \
        size_t width, size_t first, size_t count) {                                                                    \
        const size_t F = pool->channels, outputs = pool->output_height * pool->output_width;                           \
        const size_t pixels = pool->height * pool->width;                                                              \
        const int window3x3 = conv->kernel_height == 3 && conv->kernel_width == 3;                                     \
        T factor[direct_wide], gradient[direct_wide];                                                                  \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * conv->height * conv->width;                                                       \
            const T *gn = g + n * outputs * F + f0, *yn = y + n * outputs * F + f0;                                    \
            const int32_t *wn = where + n * outputs * F + f0;                                                          \
            if (window3x3 && tiles(pool)) {                                                                            \
                /* Each pixel lies in one window at most, so its gradient is that window's where it won: pixel by    */\
                /* pixel of each window, without the shares. The window's gradient (where the ReLU passed) is        */\
                /* rounded once; rounding leaves the zeros of the pixels that lost zero.                             */\
                T sums[10][direct_wide] = {{0}}, passed[direct_wide], operand[direct_wide];                            \
                int32_t won[direct_wide];                                                                              \
                for (size_t o = 0; o < outputs; o++) {                                                                 \
                    const size_t py = o / pool->output_width, px = o % pool->output_width;                             \
                    for (size_t f = 0; f < width; f++) {                                                               \
                        const size_t at = o * F + f;                                                                   \
                        passed[f] = yn[at] > 0 ? gn[at] : (T)0;                                                        \
                        operand[f] = round_products ? (T)backprop_bf16_value((float)passed[f]) : passed[f];            \
                        won[f] = wn[at];                                                                               \
                    }                                                                                                  \
                    for (size_t ki = 0; ki < pool->kernel_height; ki++)                                                \
                        for (size_t kj = 0; kj < pool->kernel_width; kj++) {                                           \
                            const size_t oy = py * pool->kernel_height + ki, ox = px * pool->kernel_width + kj;        \
                            const int32_t pixel = (int32_t)(oy * pool->width + ox);                                    \
                            for (size_t f = 0; f < width; f++) {                                                       \
                                gradient[f] = won[f] == pixel ? passed[f] : (T)0;                                      \
                                factor[f] = won[f] == pixel ? operand[f] : (T)0;                                       \
                            }                                                                                          \
                            direct_accumulate_3x3_##SUFFIX(conv, image, oy, ox, gradient, factor, width, sums);        \
                        }                                                                                              \
                }                                                                                                      \
                direct_add_sums_##SUFFIX(sums, F, f0, width, weight_gradient, bias_gradient);                          \
                continue;                                                                                              \
            }                                                                                                          \
            direct_shares_##SUFFIX(pool, g + n * outputs * F, y + n * outputs * F, where + n * outputs * F, f0,        \
                                   width, share);                                                                      \
            if (window3x3) {                                                                                           \
                T sums[10][direct_wide] = {{0}};                                                                       \
                for (size_t p = 0; p < pixels; p++) {                                                                  \
                    const T *s = share + p * direct_wide;                                                              \
                    for (size_t f = 0; f < width; f++)                                                                 \
                        factor[f] = round_products ? (T)backprop_bf16_value((float)s[f]) : s[f];                       \
                    direct_accumulate_3x3_##SUFFIX(conv, image, p / pool->width, p % pool->width, s, factor, width,    \
                                                   sums);                                                              \
                }                                                                                                      \
                direct_add_sums_##SUFFIX(sums, F, f0, width, weight_gradient, bias_gradient);                          \
                continue;                                                                                              \
            }                                                                                                          \
            for (size_t p = 0; p < pixels; p++) {                                                                      \
                const T *s = share + p * direct_wide;                                                                  \
                for (size_t f = 0; f < width; f++) {                                                                   \
                    bias_gradient[f0 + f] += s[f];                                                                     \
                    factor[f] = round_products ? (T)backprop_bf16_value((float)s[f]) : s[f];                           \
                }                                                                                                      \
                direct_accumulate_window_##SUFFIX(conv, image, p / pool->width, p % pool->width, factor, width,        \
                                                  weight_gradient + f0, F);                                            \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_convolve_pool_nhwc_backward_##SUFFIX(                                                         \
        const backprop_window *conv, const backprop_window *pool, const T *x, const T *g, const T *y,                  \
        const int32_t *where, T *weight_gradient, T *bias_gradient, T *share, int round_products, size_t first,        \
        size_t count) {                                                                                                \
        const size_t F = pool->channels;                                                                               \
        memset(weight_gradient, 0, conv->kernel_height * conv->kernel_width * F * sizeof(T));                          \
        memset(bias_gradient, 0, F * sizeof(T));                                                                       \
        for (size_t f0 = 0, width; f0 < F; f0 += width) {                                                              \
            width = direct_width(F - f0);                                                                              \
            if (width == direct_wide)                                                                                  \
                direct_block_gradient_##SUFFIX(conv, pool, x, g, y, where, weight_gradient, bias_gradient, share,      \
                                               round_products, f0, direct_wide, first, count);                         \
            else if (width == direct_filters)                                                                          \
                direct_block_gradient_##SUFFIX(conv, pool, x, g, y, where, weight_gradient, bias_gradient, share,      \
                                               round_products, f0, direct_filters, first, count);                      \
            else                                                                                                       \
                direct_block_gradient_##SUFFIX(conv, pool, x, g, y, where, weight_gradient, bias_gradient, share,      \
                                               round_products, f0, width, first, count);                               \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* One sample's sums of z and of squares about its mean (the sums over its count of pixels), for filters        */ \
    /* 0 ..< width of rows F apart, into moments[0 ..< width] and moments[F ..< F + width].                          */\
    static inline __attribute__((always_inline)) void direct_moments_##SUFFIX(const T *z, size_t pixels, size_t F,     \
                                                                             size_t width, T *moments) {               \
        T total[direct_wide] = {0}, squares[direct_wide] = {0}, mean[direct_wide];                                     \
        for (size_t p = 0; p < pixels; p++)                                                                            \
            for (size_t f = 0; f < width; f++) total[f] += z[p * F + f];                                               \
        for (size_t f = 0; f < width; f++) mean[f] = total[f] / (T)pixels;                                             \
        for (size_t p = 0; p < pixels; p++)                                                                            \
            for (size_t f = 0; f < width; f++) {                                                                       \
                const T d = z[p * F + f] - mean[f];                                                                    \
                squares[f] += d * d;                                                                                   \
            }                                                                                                          \
        for (size_t f = 0; f < width; f++) {                                                                           \
            moments[f] = total[f];                                                                                     \
            moments[F + f] = squares[f];                                                                               \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* z of filters f0 ..< f0 + width (see `backprop_convolve_nhwc_float`): each output row's pixels four at a time, */\
    /* then each sample's moments from its z while they are still in cache.                                         */ \
    static inline __attribute__((always_inline)) void direct_rows_##SUFFIX(                                            \
        const backprop_window *conv, size_t F, const T *x, const T *weight, const T *bias, T *z, T *moments,           \
        size_t f0, size_t width, size_t first, size_t count) {                                                         \
        const size_t columns = conv->output_width, outputs = conv->output_height * columns;                            \
        T sums[4][direct_wide];                                                                                        \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * conv->height * conv->width;                                                       \
            for (size_t oy = 0; oy < conv->output_height; oy++)                                                        \
                for (size_t ox = 0; ox < columns; ox += 4) {                                                           \
                    const size_t group = columns - ox < 4 ? columns - ox : 4;                                          \
                    const size_t oys[4] = {oy, oy, oy, oy}, oxs[4] = {ox, ox + 1, ox + 2, ox + 3};                     \
                    direct_pixels_##SUFFIX(conv, image, weight + f0, F, width, oys, oxs, group, sums);                 \
                    T *out = z + (n * outputs + oy * columns + ox) * F + f0;                                           \
                    if (bias) {                                                                                        \
                        for (size_t i = 0; i < group; i++)                                                             \
                            for (size_t f = 0; f < width; f++) out[i * F + f] = sums[i][f] + bias[f0 + f];             \
                    } else {                                                                                           \
                        for (size_t i = 0; i < group; i++)                                                             \
                            for (size_t f = 0; f < width; f++) out[i * F + f] = sums[i][f];                            \
                    }                                                                                                  \
                }                                                                                                      \
            if (moments)                                                                                               \
                direct_moments_##SUFFIX(z + n * outputs * F + f0, outputs, F, width, moments + 2 * n * F + f0);        \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_convolve_nhwc_##SUFFIX(const backprop_window *conv, size_t filters, const T *x,               \
                                                const T *weight, const T *bias, T *z, T *moments, size_t first,        \
                                                size_t count) {                                                        \
        for (size_t f0 = 0, width; f0 < filters; f0 += width) {                                                        \
            width = direct_width(filters - f0);                                                                        \
            if (width == direct_wide)                                                                                  \
                direct_rows_##SUFFIX(conv, filters, x, weight, bias, z, moments, f0, direct_wide, first, count);       \
            else if (width == direct_filters)                                                                          \
                direct_rows_##SUFFIX(conv, filters, x, weight, bias, z, moments, f0, direct_filters, first, count);    \
            else                                                                                                       \
                direct_rows_##SUFFIX(conv, filters, x, weight, bias, z, moments, f0, width, first, count);             \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Merges the samples' moments (`backprop_convolve_nhwc_float`) in sample order: the mean from the sums, the     */\
    /* variance from each sample's squares about its own mean plus its mean's squared distance from the batch's      */\
    /* (Chan, Golub and LeVeque's pairwise update), each divided by the count of values.                             */\
    CLONED void backprop_merge_moments_##SUFFIX(const T *moments, size_t batch, size_t pixels, size_t channels,        \
                                                T *mean, T *variance) {                                                \
        const T values = (T)(batch * pixels);                                                                          \
        for (size_t c = 0; c < channels; c++) { mean[c] = 0; variance[c] = 0; }                                        \
        for (size_t n = 0; n < batch; n++)                                                                             \
            for (size_t c = 0; c < channels; c++) mean[c] += moments[2 * n * channels + c];                            \
        for (size_t c = 0; c < channels; c++) mean[c] /= values;                                                       \
        for (size_t n = 0; n < batch; n++)                                                                             \
            for (size_t c = 0; c < channels; c++) {                                                                    \
                const T d = moments[2 * n * channels + c] / (T)pixels - mean[c];                                       \
                variance[c] += moments[(2 * n + 1) * channels + c] + (T)pixels * d * d;                                \
            }                                                                                                          \
        for (size_t c = 0; c < channels; c++) variance[c] /= values;                                                   \
    }                                                                                                                  \
                                                                                                                       \
    /* `backprop_convolve_nhwc_weight_gradient_float`'s sums for filters f0 ..< f0 + width.                          */\
    static inline __attribute__((always_inline)) void direct_block_weight_gradient_##SUFFIX(                           \
        const backprop_window *conv, size_t F, const T *x, const T *delta, T *weight_gradient, T *bias_gradient,       \
        int round_products, size_t f0, size_t width, size_t first, size_t count) {                                     \
        const size_t columns = conv->output_width, outputs = conv->output_height * columns;                            \
        T factor[direct_wide];                                                                                         \
        for (size_t n = first; n < first + count; n++) {                                                               \
            const T *image = x + n * conv->height * conv->width;                                                       \
            const T *dn = delta + n * outputs * F + f0;                                                                \
            if (conv->kernel_height == 3 && conv->kernel_width == 3) {                                                 \
                /* The ten sums in registers (the tenth δ's own, the bias's gradient).                               */\
                T sums[10][direct_wide] = {{0}};                                                                       \
                for (size_t p = 0; p < outputs; p++) {                                                                 \
                    const T *s = dn + p * F;                                                                           \
                    for (size_t f = 0; f < width; f++)                                                                 \
                        factor[f] = round_products ? (T)backprop_bf16_value((float)s[f]) : s[f];                       \
                    direct_accumulate_3x3_##SUFFIX(conv, image, p / columns, p % columns, s, factor, width, sums);     \
                }                                                                                                      \
                for (size_t kk = 0; kk < 9; kk++)                                                                      \
                    for (size_t f = 0; f < width; f++) weight_gradient[kk * F + f0 + f] += sums[kk][f];                \
                if (bias_gradient)                                                                                     \
                    for (size_t f = 0; f < width; f++) bias_gradient[f0 + f] += sums[9][f];                            \
                continue;                                                                                              \
            }                                                                                                          \
            for (size_t p = 0; p < outputs; p++) {                                                                     \
                const T *s = dn + p * F;                                                                               \
                for (size_t f = 0; f < width; f++)                                                                     \
                    factor[f] = round_products ? (T)backprop_bf16_value((float)s[f]) : s[f];                           \
                direct_accumulate_window_##SUFFIX(conv, image, p / columns, p % columns, factor, width,                \
                                                  weight_gradient + f0, F);                                            \
                if (bias_gradient)                                                                                     \
                    for (size_t f = 0; f < width; f++) bias_gradient[f0 + f] += s[f];                                  \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_convolve_nhwc_weight_gradient_##SUFFIX(const backprop_window *conv, size_t filters,           \
                                                                const T *x, const T *delta, T *weight_gradient,        \
                                                                T *bias_gradient, int round_products, size_t first,    \
                                                                size_t count) {                                        \
        memset(weight_gradient, 0, conv->kernel_height * conv->kernel_width * filters * sizeof(T));                    \
        if (bias_gradient) memset(bias_gradient, 0, filters * sizeof(T));                                              \
        for (size_t f0 = 0, width; f0 < filters; f0 += width) {                                                        \
            width = direct_width(filters - f0);                                                                        \
            if (width == direct_wide)                                                                                  \
                direct_block_weight_gradient_##SUFFIX(conv, filters, x, delta, weight_gradient, bias_gradient,         \
                                                      round_products, f0, direct_wide, first, count);                  \
            else if (width == direct_filters)                                                                          \
                direct_block_weight_gradient_##SUFFIX(conv, filters, x, delta, weight_gradient, bias_gradient,         \
                                                      round_products, f0, direct_filters, first, count);               \
            else                                                                                                       \
                direct_block_weight_gradient_##SUFFIX(conv, filters, x, delta, weight_gradient, bias_gradient,         \
                                                      round_products, f0, width, first, count);                        \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_transpose_##SUFFIX(const T *x, size_t batch, size_t rows, size_t columns, T *y) {             \
        enum { block = 16 };                                                                                           \
        for (size_t b = 0; b < batch; b++, x += rows * columns, y += rows * columns)                                   \
            for (size_t r0 = 0; r0 < rows; r0 += block)                                                                \
                for (size_t c0 = 0; c0 < columns; c0 += block) {                                                       \
                    const size_t r1 = r0 + block < rows ? r0 + block : rows;                                           \
                    const size_t c1 = c0 + block < columns ? c0 + block : columns;                                     \
                    for (size_t r = r0; r < r1; r++)                                                                   \
                        for (size_t c = c0; c < c1; c++) y[c * rows + r] = x[r * columns + c];                         \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_column_moments_##SUFFIX(const T *x, size_t rows, size_t channels, const T *center,            \
                                                 T *sums) {                                                            \
        for (size_t c = 0; c < channels; c++) sums[c] = 0;                                                             \
        if (center == NULL) {                                                                                          \
            for (size_t r = 0; r < rows; r++) {                                                                        \
                const T *row = x + r * channels;                                                                       \
                VECTORISE for (size_t c = 0; c < channels; c++) sums[c] += row[c];                                     \
            }                                                                                                          \
            return;                                                                                                    \
        }                                                                                                              \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *row = x + r * channels;                                                                           \
            VECTORISE for (size_t c = 0; c < channels; c++) {                                                          \
                const T d = row[c] - center[c];                                                                        \
                sums[c] += d * d;                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_batch_norm_apply_##SUFFIX(const T *x, size_t rows, size_t channels, const T *mean,            \
                                                   const T *inverse_deviation, const T *gamma, const T *beta,          \
                                                   int relu, T *y) {                                                   \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *row = x + r * channels;                                                                           \
            T *out = y + r * channels;                                                                                 \
            if (relu) {                                                                                                \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    const T v = (row[c] - mean[c]) * inverse_deviation[c];                                             \
                    const T z = v * gamma[c] + beta[c];                                                                \
                    out[c] = z > 0 ? z : 0;                                                                            \
                }                                                                                                      \
            } else {                                                                                                   \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    const T v = (row[c] - mean[c]) * inverse_deviation[c];                                             \
                    out[c] = v * gamma[c] + beta[c];                                                                   \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_batch_norm_gradient_sums_##SUFFIX(const T *g, const T *y, const T *x, size_t rows,            \
                                                           size_t channels, const T *mean,                             \
                                                           const T *inverse_deviation, T *dgamma, T *dbeta) {          \
        for (size_t c = 0; c < channels; c++) { dgamma[c] = 0; dbeta[c] = 0; }                                         \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *gr = g + r * channels, *xr = x + r * channels;                                                    \
            if (y) {                                                                                                   \
                const T *yr = y + r * channels;                                                                        \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    const T gz = yr[c] > 0 ? gr[c] : 0;                                                                \
                    dbeta[c] += gz;                                                                                    \
                    dgamma[c] += gz * ((xr[c] - mean[c]) * inverse_deviation[c]);                                      \
                }                                                                                                      \
            } else {                                                                                                   \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    dbeta[c] += gr[c];                                                                                 \
                    dgamma[c] += gr[c] * ((xr[c] - mean[c]) * inverse_deviation[c]);                                   \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_batch_norm_input_gradient_##SUFFIX(const T *g, const T *y, const T *x, size_t rows,           \
                                                            size_t channels, const T *mean, const T *gamma,            \
                                                            const T *inverse_deviation, const T *dgamma,               \
                                                            const T *dbeta, T count, T *dx) {                          \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *gr = g + r * channels, *xr = x + r * channels;                                                    \
            T *out = dx + r * channels;                                                                                \
            if (y) {                                                                                                   \
                const T *yr = y + r * channels;                                                                        \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    const T gz = yr[c] > 0 ? gr[c] : 0;                                                                \
                    const T xhat = (xr[c] - mean[c]) * inverse_deviation[c];                                           \
                    out[c] = gamma[c] * inverse_deviation[c] * (gz - (dbeta[c] + xhat * dgamma[c]) / count);           \
                }                                                                                                      \
            } else {                                                                                                   \
                VECTORISE for (size_t c = 0; c < channels; c++) {                                                      \
                    const T xhat = (xr[c] - mean[c]) * inverse_deviation[c];                                           \
                    out[c] = gamma[c] * inverse_deviation[c] * (gr[c] - (dbeta[c] + xhat * dgamma[c]) / count);        \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* dγ and dβ of a batch normalisation whose ReLU and max pooling are fused (tiling windows), over pooled rows  */  \
    /* in order: a window's term is its gradient where y is positive (else 0), times its winner's x̂ (which the     */ \
    /* pooling kept). The only nonzero terms of the unfused sums, in their order: reading the window's z again     */  \
    /* (11 MB for C2's first convolution) cost more than all the rest of the pass.                                  */ \
    CLONED void backprop_batch_norm_pooled_gradient_sums_##SUFFIX(const T *g, const T *y, const T *normalized,         \
                                                                  size_t rows, size_t channels, T *dgamma, T *dbeta) { \
        for (size_t c = 0; c < channels; c++) { dgamma[c] = 0; dbeta[c] = 0; }                                         \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const T *gr = g + r * channels, *yr = y + r * channels, *xr = normalized + r * channels;                   \
            VECTORISE for (size_t c = 0; c < channels; c++) {                                                          \
                const T gz = yr[c] > 0 ? gr[c] : 0;                                                                    \
                dbeta[c] += gz;                                                                                        \
                dgamma[c] += gz * xr[c];                                                                               \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* ∂J/∂z of one pixel of the fused normalisation: gz its window's gradient where it won and y is positive, or 0  */\
    /* without a window (`gr` null).                                                                                 */\
    static inline __attribute__((always_inline)) void pooled_input_gradient_##SUFFIX(                                  \
        size_t C, const T *zr, const T *gr, const T *yr, const int32_t *wr, int32_t pixel, const T *mean,              \
        const T *gamma, const T *inverse_deviation, const T *dgamma, const T *dbeta, T rows, T *out) {                 \
        if (gr) {                                                                                                      \
            VECTORISE for (size_t c = 0; c < C; c++) {                                                                 \
                const T gz = wr[c] == pixel && yr[c] > 0 ? gr[c] : 0;                                                  \
                const T xhat = (zr[c] - mean[c]) * inverse_deviation[c];                                               \
                out[c] = gamma[c] * inverse_deviation[c] * (gz - (dbeta[c] + xhat * dgamma[c]) / rows);                \
            }                                                                                                          \
        } else {                                                                                                       \
            VECTORISE for (size_t c = 0; c < C; c++) {                                                                 \
                const T xhat = (zr[c] - mean[c]) * inverse_deviation[c];                                               \
                out[c] = gamma[c] * inverse_deviation[c] * ((T)0 - (dbeta[c] + xhat * dgamma[c]) / rows);              \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* Its input gradient for samples first ..< first + count, row by row of the image, each row's windows in turn   */\
    /* (windows tile, so a pixel lies in one window at most; the pixels past the last window have none).             */\
    CLONED void backprop_batch_norm_pooled_input_gradient_##SUFFIX(                                                    \
        const backprop_window *w, const T *z, const T *g, const T *y, const int32_t *where, const T *mean,             \
        const T *gamma, const T *inverse_deviation, const T *dgamma, const T *dbeta, T rows, T *dx, size_t first,      \
        size_t count) {                                                                                                \
        const size_t C = w->channels, outputs = w->output_height * w->output_width, pixels = w->height * w->width;     \
        const size_t covered = w->output_width * w->kernel_width;                                                      \
        for (size_t n = first; n < first + count; n++)                                                                 \
            for (size_t iy = 0; iy < w->height; iy++) {                                                                \
                const size_t py = iy / w->kernel_height;                                                               \
                const int windowed = py < w->output_height;                                                            \
                for (size_t ix = 0; ix < w->width; ix++) {                                                             \
                    const size_t p = iy * w->width + ix, at = (n * pixels + p) * C;                                    \
                    if (windowed && ix < covered) {                                                                    \
                        const size_t o = (n * outputs + py * w->output_width + ix / w->kernel_width) * C;              \
                        pooled_input_gradient_##SUFFIX(C, z + at, g + o, y + o, where + o, (int32_t)p, mean, gamma,    \
                                                       inverse_deviation, dgamma, dbeta, rows, dx + at);               \
                    } else {                                                                                           \
                        pooled_input_gradient_##SUFFIX(C, z + at, NULL, NULL, NULL, (int32_t)p, mean, gamma,           \
                                                       inverse_deviation, dgamma, dbeta, rows, dx + at);               \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
    }

CHANNELS_LAST_KERNELS(float, float)
CHANNELS_LAST_KERNELS(double, double)
