#include "WindowKernels.h"
#include "Cloning.h"

#include <string.h>

// The input row (or column) that output position `o` reads with kernel offset `k`, or -1 when it is padding.
static inline ptrdiff_t source_index(size_t o, size_t stride, size_t k, size_t pad, size_t size) {
    ptrdiff_t i = (ptrdiff_t)(o * stride + k) - (ptrdiff_t)pad;
    return (i >= 0 && i < (ptrdiff_t)size) ? i : -1;
}

// The output columns [lo, hi) whose input column for kernel column `k` lies inside the image.
static inline void valid_outputs(size_t outputs, size_t stride, size_t k, size_t pad, size_t size, size_t *lo, size_t *hi) {
    size_t first = 0;
    while (first < outputs && (first * stride + k < pad)) first++;
    size_t last = first;
    while (last < outputs && first * 0 + last * stride + k - pad < size) last++;
    *lo = first;
    *hi = last;
}

// Whether every window lies inside the image (no padding reached), so that no position needs a bounds check.
static inline int windows_inside(const backprop_window *w) {
    return w->pad_top == 0 && w->pad_left == 0 && w->output_height > 0 && w->output_width > 0
        && (w->output_height - 1) * w->stride_height + w->kernel_height <= w->height
        && (w->output_width - 1) * w->stride_width + w->kernel_width <= w->width;
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
                                size_t lo, hi;                                                                         \
                                valid_outputs(w->output_width, w->stride_width, kj, w->pad_left, w->width, &lo, &hi);  \
                                for (size_t ox = 0; ox < lo; ox++) out[ox] = 0;                                        \
                                const T *source = line + lo * w->stride_width + kj - w->pad_left;                      \
                                if (w->stride_width == 1) {                                                            \
                                    VECTORISE for (size_t ox = lo; ox < hi; ox++) out[ox] = source[ox - lo];           \
                                } else {                                                                               \
                                    for (size_t ox = lo; ox < hi; ox++) out[ox] = source[(ox - lo) * w->stride_width]; \
                                }                                                                                      \
                                for (size_t ox = hi; ox < w->output_width; ox++) out[ox] = 0;                          \
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
                            size_t lo, hi;                                                                             \
                            valid_outputs(w->output_width, w->stride_width, kj, w->pad_left, w->width, &lo, &hi);      \
                            T *target = line + lo * w->stride_width + kj - w->pad_left;                                \
                            if (w->stride_width == 1) {                                                                \
                                VECTORISE for (size_t ox = lo; ox < hi; ox++) target[ox - lo] += in[ox];               \
                            } else {                                                                                   \
                                for (size_t ox = lo; ox < hi; ox++) target[(ox - lo) * w->stride_width] += in[ox];     \
                            }                                                                                          \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    /* The offset inside `image` of the window's first largest input, or -1 for a window of padding only. */           \
    static inline __attribute__((always_inline)) ptrdiff_t window_argmax_##SUFFIX(                                  \
        const backprop_window *w, const T *image, size_t oy, size_t ox, int inside) {                                  \
        if (inside) {                                                                                                  \
            const ptrdiff_t origin = (ptrdiff_t)(oy * w->stride_height * w->width + ox * w->stride_width);             \
            ptrdiff_t best = origin;                                                                                   \
            T largest = image[origin];                                                                                 \
            for (size_t ki = 0; ki < w->kernel_height; ki++) {                                                         \
                const ptrdiff_t line = origin + (ptrdiff_t)(ki * w->width);                                            \
                for (size_t kj = 0; kj < w->kernel_width; kj++) {                                                      \
                    const T v = image[line + (ptrdiff_t)kj];                                                           \
                    const int larger = v > largest;                                                                    \
                    best = larger ? line + (ptrdiff_t)kj : best;                                                       \
                    largest = larger ? v : largest;                                                                    \
                }                                                                                                      \
            }                                                                                                          \
            return best;                                                                                               \
        }                                                                                                              \
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
        const int inside = windows_inside(w);                                                                          \
        if (inside) {                                                                                                  \
            const size_t sw = w->stride_width, width = w->output_width;                                                \
            for (size_t p = 0; p < w->batch * w->channels; p++) {                                                      \
                const T *image = x + p * plane;                                                                        \
                for (size_t oy = 0; oy < w->output_height; oy++, y += width) {                                         \
                    const T *top = image + oy * w->stride_height * w->width;                                           \
                    for (size_t ox = 0; ox < width; ox++) y[ox] = top[ox * sw];                                        \
                    for (size_t ki = 0; ki < w->kernel_height; ki++)                                                   \
                        for (size_t kj = (ki == 0); kj < w->kernel_width; kj++) {                                      \
                            const T *line = top + ki * w->width + kj;                                                  \
                            VECTORISE for (size_t ox = 0; ox < width; ox++) {                                          \
                                const T v = line[ox * sw];                                                             \
                                y[ox] = v > y[ox] ? v : y[ox];                                                         \
                            }                                                                                          \
                        }                                                                                              \
                }                                                                                                      \
            }                                                                                                          \
            return;                                                                                                    \
        }                                                                                                              \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            const T *image = x + p * plane;                                                                            \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++) {                                                      \
                    ptrdiff_t at = window_argmax_##SUFFIX(w, image, oy, ox, inside);                                           \
                    *y++ = at < 0 ? (T)0 : image[at];                                                                  \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    CLONED void backprop_max_pool_backward_##SUFFIX(const backprop_window *w, const T *x, const T *g, T *dx) {        \
        const size_t plane = w->height * w->width;                                                                     \
        const int inside = windows_inside(w);                                                                          \
        memset(dx, 0, w->batch * w->channels * plane * sizeof(T));                                                     \
        for (size_t p = 0; p < w->batch * w->channels; p++) {                                                          \
            const T *image = x + p * plane;                                                                            \
            T *gradient = dx + p * plane;                                                                              \
            for (size_t oy = 0; oy < w->output_height; oy++)                                                           \
                for (size_t ox = 0; ox < w->output_width; ox++, g++) {                                                 \
                    ptrdiff_t at = window_argmax_##SUFFIX(w, image, oy, ox, inside);                                           \
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
