#ifndef BACKPROP_CHANNELS_LAST_KERNELS_H
#define BACKPROP_CHANNELS_LAST_KERNELS_H

// Kernels of the fused convolutional training step, which keeps images channels-last (NHWC: batch, height, width,
// channels) so that a window's pixels are runs of contiguous channels. The window geometry is `backprop_window`
// (WindowKernels.h), read as an NHWC input. Every kernel works on samples `first ..< first + count`, so that two
// threads can take one half of a batch each, and visits elements in one fixed order.

#include <stddef.h>
#include <stdint.h>
#include "WindowKernels.h"

/// Unfolds samples into rows: `col` is `[batch × output_height × output_width, kernel_height × kernel_width ×
/// channels]`; row (n, y, x) holds the window at output (y, x) of sample n, pixel by pixel, each pixel's channels
/// together, zeros where the window leaves the image.
void backprop_unfold_nhwc_float(const backprop_window *w, const float *x, float *col, size_t first, size_t count);
/// See `backprop_unfold_nhwc_float`.
void backprop_unfold_nhwc_double(const backprop_window *w, const double *x, double *col, size_t first, size_t count);

/// The adjoint of `backprop_unfold_nhwc_float`: overwrites the samples of `x` with the sums of the row entries that
/// copied each of their values (rows in order).
void backprop_fold_nhwc_float(const backprop_window *w, const float *col, float *x, size_t first, size_t count);
/// See `backprop_fold_nhwc_float`.
void backprop_fold_nhwc_double(const backprop_window *w, const double *col, double *x, size_t first, size_t count);

/// Max pooling: y (n, oy, ox, c) is the largest input of the window (the first one in row-major window order when
/// several are equal), and `where` its pixel index (y · width + x) inside the image.
void backprop_max_pool_nhwc_float(const backprop_window *w, const float *x, float *y, int32_t *where, size_t first,
                                  size_t count);
/// See `backprop_max_pool_nhwc_float`.
void backprop_max_pool_nhwc_double(const backprop_window *w, const double *x, double *y, int32_t *where, size_t first,
                                   size_t count);

/// The gradient of max pooling: overwrites the samples of `dx` with each output's gradient `g` at the pixel `where`
/// chose, zeros elsewhere. With the pooled output `y` (of a ReLU's output, or of a fused bias and ReLU), only where
/// `y` is positive: the ReLU's gradient folded in.
void backprop_max_pool_nhwc_backward_float(const backprop_window *w, const float *g, const int32_t *where,
                                           const float *y, float *dx, size_t first, size_t count);
/// See `backprop_max_pool_nhwc_backward_float`.
void backprop_max_pool_nhwc_backward_double(const backprop_window *w, const double *g, const int32_t *where,
                                            const double *y, double *dx, size_t first, size_t count);

/// Max pooling of max(z + bias, 0), the bias and ReLU of the layer before fused in: y (n, oy, ox, c) is the ReLU of
/// the largest z + bias of the window, `where` the pixel of the first largest. The same values as adding the bias,
/// applying the ReLU and pooling in three passes; where the ReLU ties a window at 0 the winner may differ, and its
/// gradient is 0 either way.
void backprop_max_pool_nhwc_bias_relu_float(const backprop_window *w, const float *z, const float *bias, float *y,
                                            int32_t *where, size_t first, size_t count);
/// See `backprop_max_pool_nhwc_bias_relu_float`.
void backprop_max_pool_nhwc_bias_relu_double(const backprop_window *w, const double *z, const double *bias, double *y,
                                             int32_t *where, size_t first, size_t count);

/// Max pooling of max(γ (z − mean) s + β, 0), the batch normalisation and ReLU of the layer before fused in: `norm`
/// holds mean, s = 1/√(variance + ε), γ and β, one vector of `channels` each. Each value is the one
/// `backprop_batch_norm_apply_float` writes (the same expression); y is the ReLU of the window's largest, `where` the
/// pixel of the first largest (where the ReLU ties a window at 0 the winner may differ from pooling the ReLU's output,
/// and its gradient is 0 either way), `normalized` the winner's x̂ = (z − mean) s (what the gradient sums need).
void backprop_max_pool_nhwc_batch_norm_relu_float(const backprop_window *w, const float *z, const float *norm, float *y,
                                                  int32_t *where, float *normalized, size_t first, size_t count);
/// See `backprop_max_pool_nhwc_batch_norm_relu_float`.
void backprop_max_pool_nhwc_batch_norm_relu_double(const backprop_window *w, const double *z, const double *norm,
                                                   double *y, int32_t *where, double *normalized, size_t first,
                                                   size_t count);

/// Average pooling: y (n, oy, ox, c) is the sum of the window's inputs inside the image (window rows, then columns)
/// times 1 / (kernel_height × kernel_width), the graph's `backprop_average_pool_float` in the same order.
void backprop_average_pool_nhwc_float(const backprop_window *w, const float *x, float *y, size_t first, size_t count);
/// See `backprop_average_pool_nhwc_float`.
void backprop_average_pool_nhwc_double(const backprop_window *w, const double *x, double *y, size_t first,
                                       size_t count);

/// The gradient of average pooling: overwrites the samples of `dx` with the sum, over the windows holding each input
/// (outputs in order), of the output's gradient `g` times 1 / (kernel_height × kernel_width).
void backprop_average_pool_nhwc_backward_float(const backprop_window *w, const float *g, float *dx, size_t first,
                                               size_t count);
/// See `backprop_average_pool_nhwc_backward_float`.
void backprop_average_pool_nhwc_backward_double(const backprop_window *w, const double *g, double *dx, size_t first,
                                                size_t count);

/// A convolution of a one-channel image, then a bias, a ReLU and max pooling, in one pass that never stores the
/// convolution's output: `conv` is the convolution's window over the input (channels 1), `pool` the pooling's over
/// the convolution's output (channels F, the filters). `weight` is `[kernel_height × kernel_width, F]` (each window
/// position's row of filters); each output of the convolution is the sum over the window's positions inside the
/// image (rows, then columns) of value × weight, plus `bias`. y and `where` as `backprop_max_pool_nhwc_bias_relu_float`
/// writes them (`where` indexes the convolution's output pixels).
void backprop_convolve_pool_nhwc_float(const backprop_window *conv, const backprop_window *pool, const float *x,
                                       const float *weight, const float *bias, float *y, int32_t *where, size_t first,
                                       size_t count);
/// See `backprop_convolve_pool_nhwc_float`.
void backprop_convolve_pool_nhwc_double(const backprop_window *conv, const backprop_window *pool, const double *x,
                                        const double *weight, const double *bias, double *y, int32_t *where,
                                        size_t first, size_t count);

/// Elements of the `share` scratch of `backprop_convolve_pool_nhwc_backward_float`: one block of filters for every
/// pixel of the convolution's output.
size_t backprop_convolve_pool_share_size(const backprop_window *pool);

/// The weight and bias gradients of `backprop_convolve_pool_nhwc_float` for samples `first ..< first + count`, from
/// the pooled output's gradient `g`, its values `y` and winners `where`: overwrites `weight_gradient` (`[kernel_height ×
/// kernel_width, F]`) and `bias_gradient` (F) with the sums, sample by sample, over the pixels of the convolution's
/// output (window by window when the pooling's windows tile its input, else in order) of the gradient reaching the
/// pixel (from the pooled outputs it won where y > 0), times each window value.
/// `share` is scratch of `backprop_convolve_pool_share_size` elements. With `round_products` (Float32 only), each
/// pixel's gradient is rounded to bfloat16 before it multiplies the window's values (which the caller rounded): the
/// weight gradient's products then take bfloat16 operands, as `--precision bf16` asks; the bias gradient's sums do not.
void backprop_convolve_pool_nhwc_backward_float(const backprop_window *conv, const backprop_window *pool,
                                                const float *x, const float *g, const float *y, const int32_t *where,
                                                float *weight_gradient, float *bias_gradient, float *share,
                                                int round_products, size_t first, size_t count);
/// See `backprop_convolve_pool_nhwc_backward_float` (`round_products` must be 0).
void backprop_convolve_pool_nhwc_backward_double(const backprop_window *conv, const backprop_window *pool,
                                                 const double *x, const double *g, const double *y,
                                                 const int32_t *where, double *weight_gradient, double *bias_gradient,
                                                 double *share, int round_products, size_t first, size_t count);

/// z (`[batch·output_height·output_width, filters]`) of the one-channel convolution `conv` of images `x`
/// (`[batch, height·width]`) with `weight` (`[kernel_height × kernel_width, filters]`), plus `bias` unless it is null,
/// for samples `first ..< first + count`: each output the sum over the window's positions inside the image (rows, then
/// columns) of value × weight, as `backprop_convolve_pool_nhwc_float` computes it. Unless `moments` is null, each
/// sample n's moments go to `moments[2n·filters ..< (2n + 2)·filters]`: the sums of its z (pixels in order), then the
/// sums of the squares of z less its mean (that sum over the pixel count), per filter.
void backprop_convolve_nhwc_float(const backprop_window *conv, size_t filters, const float *x, const float *weight,
                                  const float *bias, float *z, float *moments, size_t first, size_t count);
/// See `backprop_convolve_nhwc_float`.
void backprop_convolve_nhwc_double(const backprop_window *conv, size_t filters, const double *x, const double *weight,
                                   const double *bias, double *z, double *moments, size_t first, size_t count);

/// The mean and (biased) variance per channel of `batch` samples of `pixels` values each from their moments as
/// `backprop_convolve_nhwc_float` writes them, merged in sample order: mean = Σ sums / count, variance =
/// Σ (squares + pixels · (sample mean − mean)²) / count.
void backprop_merge_moments_float(const float *moments, size_t batch, size_t pixels, size_t channels, float *mean,
                                  float *variance);
/// See `backprop_merge_moments_float`.
void backprop_merge_moments_double(const double *moments, size_t batch, size_t pixels, size_t channels, double *mean,
                                   double *variance);

/// The weight gradient of `backprop_convolve_nhwc_float` for samples `first ..< first + count` from z's gradient
/// `delta`: overwrites `weight_gradient` (`[kernel_height × kernel_width, filters]`) with the sums, sample by sample and
/// pixel by pixel of the output, of δ times each window value. With `round_products` (Float32 only), δ is rounded to
/// bfloat16 before it multiplies (the caller rounded the images), as `--precision bf16` asks of products. Unless
/// `bias_gradient` is null, it gets the bias's gradient: the sums of δ (unrounded), sample by sample, pixel by pixel.
void backprop_convolve_nhwc_weight_gradient_float(const backprop_window *conv, size_t filters, const float *x,
                                                  const float *delta, float *weight_gradient, float *bias_gradient,
                                                  int round_products, size_t first, size_t count);
/// See `backprop_convolve_nhwc_weight_gradient_float` (`round_products` must be 0).
void backprop_convolve_nhwc_weight_gradient_double(const backprop_window *conv, size_t filters, const double *x,
                                                   const double *delta, double *weight_gradient, double *bias_gradient,
                                                   int round_products, size_t first, size_t count);

/// y[b][c][r] = x[b][r][c] for `batch` matrices of `rows` × `columns`.
void backprop_transpose_float(const float *x, size_t batch, size_t rows, size_t columns, float *y);
/// See `backprop_transpose_float`.
void backprop_transpose_double(const double *x, size_t batch, size_t rows, size_t columns, double *y);

/// Per-column sums over `rows` rows of a `[rows, channels]` matrix, rows in order: Σ x, or Σ (x − center)² when
/// `center` is given. Batch normalisation's statistics, block by block.
void backprop_column_moments_float(const float *x, size_t rows, size_t channels, const float *center, float *sums);
/// See `backprop_column_moments_float`.
void backprop_column_moments_double(const double *x, size_t rows, size_t channels, const double *center, double *sums);

/// Batch normalisation of `rows` rows with the batch's statistics: x̂ = (x − mean) · s with s = 1/√(variance + ε)
/// (`inverse_deviation`), y = γ x̂ + β, then y = max(y, 0) when `relu` is non-zero. Writes y; the gradients recompute
/// x̂ from x with the same expression (the same bits), so that it is never stored.
void backprop_batch_norm_apply_float(const float *x, size_t rows, size_t channels, const float *mean,
                                     const float *inverse_deviation, const float *gamma, const float *beta, int relu,
                                     float *y);
/// See `backprop_batch_norm_apply_float`.
void backprop_batch_norm_apply_double(const double *x, size_t rows, size_t channels, const double *mean,
                                      const double *inverse_deviation, const double *gamma, const double *beta, int relu,
                                      double *y);

/// The parameter gradients of batch normalisation over `rows` rows of its input `x`, in order: dβ = Σ gz,
/// dγ = Σ gz · x̂, with x̂ as `backprop_batch_norm_apply_float` computes it, and gz = g, or g where y > 0 when the
/// output `y` of a fused ReLU is given.
void backprop_batch_norm_gradient_sums_float(const float *g, const float *y, const float *x, size_t rows,
                                             size_t channels, const float *mean, const float *inverse_deviation,
                                             float *dgamma, float *dbeta);
/// See `backprop_batch_norm_gradient_sums_float`.
void backprop_batch_norm_gradient_sums_double(const double *g, const double *y, const double *x, size_t rows,
                                              size_t channels, const double *mean, const double *inverse_deviation,
                                              double *dgamma, double *dbeta);

/// The input gradient of batch normalisation over `rows` rows of its input `x`, of a batch of `count` rows:
/// dx = γ s (gz − (dβ + x̂ dγ) / count), with x̂ and gz as in `backprop_batch_norm_gradient_sums_float` and the whole
/// batch's dγ and dβ.
void backprop_batch_norm_input_gradient_float(const float *g, const float *y, const float *x, size_t rows,
                                              size_t channels, const float *mean, const float *gamma,
                                              const float *inverse_deviation, const float *dgamma, const float *dbeta,
                                              float count, float *dx);
/// See `backprop_batch_norm_input_gradient_float`.
void backprop_batch_norm_input_gradient_double(const double *g, const double *y, const double *x, size_t rows,
                                               size_t channels, const double *mean, const double *gamma,
                                               const double *inverse_deviation, const double *dgamma,
                                               const double *dbeta, double count, double *dx);

/// dγ and dβ of batch normalisation whose ReLU and max pooling (windows that tile the image) run fused
/// (`backprop_max_pool_nhwc_batch_norm_relu_float`), from the pooled output's gradient `g`, its values `y` and its
/// winners' x̂ `normalized` (`rows` pooled rows of `channels`, in order): dβ = Σ gz, dγ = Σ gz · x̂, gz the window's g
/// where y > 0, else 0. The nonzero terms of `backprop_batch_norm_gradient_sums_float` over the unpooled pixels (a
/// pixel that did not win has gz = 0), in their order.
void backprop_batch_norm_pooled_gradient_sums_float(const float *g, const float *y, const float *normalized, size_t rows,
                                                    size_t channels, float *dgamma, float *dbeta);
/// See `backprop_batch_norm_pooled_gradient_sums_float`.
void backprop_batch_norm_pooled_gradient_sums_double(const double *g, const double *y, const double *normalized,
                                                     size_t rows, size_t channels, double *dgamma, double *dbeta);

/// Its input gradient for samples `first ..< first + count` of z (a batch of `rows` pixels): each pixel's
/// `backprop_batch_norm_input_gradient_float` with gz its window's gradient where it won and y > 0, else 0, so that
/// the pooling's gradient is never stored.
void backprop_batch_norm_pooled_input_gradient_float(const backprop_window *w, const float *z, const float *g,
                                                     const float *y, const int32_t *where, const float *mean,
                                                     const float *gamma, const float *inverse_deviation,
                                                     const float *dgamma, const float *dbeta, float rows, float *dx,
                                                     size_t first, size_t count);
/// See `backprop_batch_norm_pooled_input_gradient_float`.
void backprop_batch_norm_pooled_input_gradient_double(const backprop_window *w, const double *z, const double *g,
                                                      const double *y, const int32_t *where, const double *mean,
                                                      const double *gamma, const double *inverse_deviation,
                                                      const double *dgamma, const double *dbeta, double rows,
                                                      double *dx, size_t first, size_t count);

#endif
