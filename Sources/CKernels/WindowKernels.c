#include "WindowKernels.h"
#include "Cloning.h"

#include <string.h>

// The input row (or column) that output position `o` reads with kernel offset `k`, or -1 when it is padding.
static inline ptrdiff_t source_index(size_t o, size_t stride, size_t k, size_t pad, size_t size) {
    ptrdiff_t i = (ptrdiff_t)(o * stride + k) - (ptrdiff_t)pad;
    return (i >= 0 && i < (ptrdiff_t)size) ? i : -1;
}

#define WINDOW_KERNELS(T, SUFFIX)                                                                                      \
    CLONED void backprop_im2col_##SUFFIX(const backprop_window *w, const T *x, T *col) {                              \
        const size_t plane = w->height * w->width, outputs = w->output_height * w->output_width;                      \
        const size_t columns = w->batch * outputs;                                                                     \
        size_t row = 0;                                                                                                \
        for (size_t c = 0; c < w->channels; c++)                                                                       \
            for (size_t ki = 0; ki < w->kernel_height; ki++)                                                           \
                for (size_t kj = 0; kj < w->kernel_width; kj++, row++) {                                               \
                    T *out = col + row * columns;                                                                      \
                    for (size_t n = 0; n < w->batch; n++) {                                                            \
                        const T *image = x + (n * w->channels + c) * plane;                                            \
                        for (size_t oy = 0; oy < w->output_height; oy++) {                                             \
                            ptrdiff_t iy = source_index(oy, w->stride_height, ki, w->pad_top, w->height);              \
                            if (iy < 0) {                                                                              \
                                memset(out, 0, w->output_width * sizeof(T));                                           \
                            } else {                                                                                   \
                                const T *line = image + (size_t)iy * w->width;                                         \
                                for (size_t ox = 0; ox < w->output_width; ox++) {                                      \
                                    ptrdiff_t ix = source_index(ox, w->stride_width, kj, w->pad_left, w->width);       \
                                    out[ox] = ix < 0 ? (T)0 : line[ix];                                                \
                                }                                                                                      \
                            }                                                                                          \
                            out += w->output_width;                                                                    \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_col2im_##SUFFIX(const backprop_window *w, const T *col, T *x) {                              \
        const size_t plane = w->height * w->width, outputs = w->output_height * w->output_width;                      \
        const size_t columns = w->batch * outputs;                                                                     \
        memset(x, 0, w->batch * w->channels * plane * sizeof(T));                                                      \
        size_t row = 0;                                                                                                \
        for (size_t c = 0; c < w->channels; c++)                                                                       \
            for (size_t ki = 0; ki < w->kernel_height; ki++)                                                           \
                for (size_t kj = 0; kj < w->kernel_width; kj++, row++) {                                               \
                    const T *in = col + row * columns;                                                                 \
                    for (size_t n = 0; n < w->batch; n++) {                                                            \
                        T *image = x + (n * w->channels + c) * plane;                                                  \
                        for (size_t oy = 0; oy < w->output_height; oy++, in += w->output_width) {                      \
                            ptrdiff_t iy = source_index(oy, w->stride_height, ki, w->pad_top, w->height);              \
                            if (iy < 0) continue;                                                                      \
                            T *line = image + (size_t)iy * w->width;                                                   \
                            for (size_t ox = 0; ox < w->output_width; ox++) {                                          \
                                ptrdiff_t ix = source_index(ox, w->stride_width, kj, w->pad_left, w->width);           \
                                if (ix >= 0) line[ix] += in[ox];                                                       \
                            }                                                                                          \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    /* The offset inside `image` of the window's first largest input, or -1 for a window of padding only. */           \
    static inline ptrdiff_t window_argmax_##SUFFIX(const backprop_window *w, const T *image, size_t oy, size_t ox) {   \
        ptrdiff_t best = -1;                                                                                           \
        for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                             \
            ptrdiff_t iy = source_index(oy, w->stride_height, ki, w->pad_top, w->height);                              \
            if (iy < 0) continue;                                                                                      \
            for (size_t kj = 0; kj < w->kernel_width; kj++) {                                                          \
                ptrdiff_t ix = source_index(ox, w->stride_width, kj, w->pad_left, w->width);                           \
                if (ix < 0) continue;                                                                                  \
                ptrdiff_t at = iy * (ptrdiff_t)w->width + ix;                                                          \
                if (best < 0 || image[at] > image[best]) best = at;                                                    \
            }                                                                                                          \
        }                                                                                                              \
        return best;                                                                                                   \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_##SUFFIX(const backprop_window *w, const T *x, T *y) {                              \
        const size_t plane = w->height * w->width;                                                                     \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            const T *image = x + p * plane;                                                                            \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++) {                                                      \
                    ptrdiff_t at = window_argmax_##SUFFIX(w, image, oy, ox);                                           \
                    *y++ = at < 0 ? (T)0 : image[at];                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_backward_##SUFFIX(const backprop_window *w, const T *x, const T *g, T *dx) {        \
        const size_t plane = w->height * w->width;                                                                     \
        memset(dx, 0, w->batch * w->channels * plane * sizeof(T));                                                     \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            const T *image = x + p * plane;                                                                            \
            T *gradient = dx + p * plane;                                                                              \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, g++) {                                                 \
                    ptrdiff_t at = window_argmax_##SUFFIX(w, image, oy, ox);                                           \
                    if (at >= 0) gradient[at] += *g;                                                                   \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_average_pool_##SUFFIX(const backprop_window *w, const T *x, T *y) {                          \
        const size_t plane = w->height * w->width;                                                                     \
        const T scale = (T)1 / (T)(w->kernel_height * w->kernel_width);                                                \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            const T *image = x + p * plane;                                                                            \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++) {                                                      \
                    T sum = 0;                                                                                         \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = source_index(oy, w->stride_height, ki, w->pad_top, w->height);                  \
                        if (iy < 0) continue;                                                                          \
                        for (size_t kj = 0; kj < w->kernel_width; kj++) {                                              \
                            ptrdiff_t ix = source_index(ox, w->stride_width, kj, w->pad_left, w->width);               \
                            if (ix >= 0) sum += image[iy * (ptrdiff_t)w->width + ix];                                  \
                        }                                                                                              \
                    }                                                                                                  \
                    *y++ = sum * scale;                                                                                \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_average_pool_backward_##SUFFIX(const backprop_window *w, const T *g, T *dx) {                \
        const size_t plane = w->height * w->width;                                                                     \
        const T scale = (T)1 / (T)(w->kernel_height * w->kernel_width);                                                \
        memset(dx, 0, w->batch * w->channels * plane * sizeof(T));                                                     \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            T *gradient = dx + p * plane;                                                                              \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, g++) {                                                 \
                    const T share = *g * scale;                                                                        \
                    for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                 \
                        ptrdiff_t iy = source_index(oy, w->stride_height, ki, w->pad_top, w->height);                  \
                        if (iy < 0) continue;                                                                          \
                        for (size_t kj = 0; kj < w->kernel_width; kj++) {                                              \
                            ptrdiff_t ix = source_index(ox, w->stride_width, kj, w->pad_left, w->width);               \
                            if (ix >= 0) gradient[iy * (ptrdiff_t)w->width + ix] += share;                             \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }

WINDOW_KERNELS(float, float)
WINDOW_KERNELS(double, double)
