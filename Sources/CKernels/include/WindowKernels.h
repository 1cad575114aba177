#ifndef BACKPROP_WINDOW_KERNELS_H
#define BACKPROP_WINDOW_KERNELS_H

// Kernels of operations that slide a window over images: the unfolding of a convolution's input into columns
// (im2col) and its adjoint, and pooling. Images are NCHW (batch, channels, height, width), row-major. Every kernel
// visits elements in one fixed order, so that its sums repeat bit for bit.

#include <stddef.h>

/// The geometry of a window sliding over a batch of images.
typedef struct backprop_window {
    /// The input: batch, channels, height, width.
    size_t batch, channels, height, width;
    /// The window, its step and the zero rows and columns added above and to the left.
    size_t kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left;
    /// The output's height and width (the caller computes them, padding below and to the right included).
    size_t output_height, output_width;
} backprop_window;

/// Unfolds the input into columns: `col` is `[channels × kernel_height × kernel_width, batch × output_height ×
/// output_width]`; row (c, i, j), column (n, y, x) holds input (n, c, y·stride + i − pad, x·stride + j − pad), or 0
/// outside the image.
void backprop_im2col_float(const backprop_window *w, const float *x, float *col);
/// See `backprop_im2col_float`.
void backprop_im2col_double(const backprop_window *w, const double *x, double *col);

/// The adjoint of `backprop_im2col_float`: overwrites `x` with the sum, at each input position, of the column entries
/// that copied it (each position's entries added in row order).
void backprop_col2im_float(const backprop_window *w, const float *col, float *x);
/// See `backprop_col2im_float`.
void backprop_col2im_double(const backprop_window *w, const double *col, double *x);

/// Max pooling: y (n, c, oy, ox) is the largest input in the window, positions outside the image ignored.
void backprop_max_pool_float(const backprop_window *w, const float *x, float *y);
/// See `backprop_max_pool_float`.
void backprop_max_pool_double(const backprop_window *w, const double *x, double *y);

/// The gradient of max pooling: overwrites `dx` with each window's upstream gradient `g` added at the window's first
/// largest input (row-major order inside the window), zeros elsewhere.
void backprop_max_pool_backward_float(const backprop_window *w, const float *x, const float *g, float *dx);
/// See `backprop_max_pool_backward_float`.
void backprop_max_pool_backward_double(const backprop_window *w, const double *x, const double *g, double *dx);

/// Average pooling: y (n, c, oy, ox) is the mean of the window's kernel_height × kernel_width inputs (positions
/// outside the image count as zeros).
void backprop_average_pool_float(const backprop_window *w, const float *x, float *y);
/// See `backprop_average_pool_float`.
void backprop_average_pool_double(const backprop_window *w, const double *x, double *y);

/// The gradient of average pooling: overwrites `dx` with the sum over the windows containing each input of the
/// window's gradient divided by the window's size.
void backprop_average_pool_backward_float(const backprop_window *w, const float *g, float *dx);
/// See `backprop_average_pool_backward_float`.
void backprop_average_pool_backward_double(const backprop_window *w, const double *g, double *dx);

#endif
