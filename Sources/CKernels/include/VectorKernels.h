#ifndef BACKPROP_VECTOR_KERNELS_H
#define BACKPROP_VECTOR_KERNELS_H

// Whole-buffer sums, the byte-to-float conversion of image batches and the element-wise passes of ReLU layers. Like
// the update rules, they are compiled once per instruction set on x86-64 Linux, and every copy returns the same bits:
// a sum always adds the same 64 partial sums in the same order, whatever the vector width.

#include <stddef.h>
#include <stdint.h>

/// Σ xᵢ, or Σ xᵢ² when `squares` is non-zero, over `count` elements.
float backprop_sum_float(const float *x, size_t count, int squares);

/// Σ xᵢ, or Σ xᵢ² when `squares` is non-zero, over `count` elements.
double backprop_sum_double(const double *x, size_t count, int squares);

/// sums[j] = Σ over r of x[r × columns + j], each column added from row 0 to the last.
void backprop_column_sums_float(const float *x, size_t rows, size_t columns, float *sums);

/// target[i] = (float)source[i] · scale.
void backprop_convert_bytes_float(const uint8_t *source, float *target, size_t count, float scale);

/// sums[j] = Σ over r of x[r × columns + j], each column added from row 0 to the last.
void backprop_column_sums_double(const double *x, size_t rows, size_t columns, double *sums);

/// target[i] = (double)source[i] · scale.
void backprop_convert_bytes_double(const uint8_t *source, double *target, size_t count, double scale);

/// z[r][j] += bias[j] for each of `rows` rows of `columns`; then, when `relu` is non-zero, a[r][j] = z > 0 ? z : 0.
void backprop_bias_relu_float(float *z, const float *bias, size_t rows, size_t columns, float *a, int relu);

/// z[r][j] += bias[j] for each of `rows` rows of `columns`; then, when `relu` is non-zero, a[r][j] = z > 0 ? z : 0.
void backprop_bias_relu_double(double *z, const double *bias, size_t rows, size_t columns, double *a, int relu);

/// z[r][j] = max(z[r][j] + bias[j], 0) in place, for each of `rows` rows of `columns`.
void backprop_bias_relu_in_place_float(float *z, const float *bias, size_t rows, size_t columns);

/// z[r][j] = max(z[r][j] + bias[j], 0) in place, for each of `rows` rows of `columns`.
void backprop_bias_relu_in_place_double(double *z, const double *bias, size_t rows, size_t columns);

/// out[i] = x[i] > 0 ? g[i] : 0 (the gradient through a ReLU whose input is x).
void backprop_where_positive_float(const float *g, const float *x, float *out, size_t count);

/// out[i] = x[i] > 0 ? g[i] : 0 (the gradient through a ReLU whose input is x).
void backprop_where_positive_double(const double *g, const double *x, double *out, size_t count);

/// Softmax + cross-entropy of `rows` rows of `classes` logits against `labels` (each in 0 ..< classes), with label
/// smoothing: writes scale · (softmax(z) − y) to `delta` (not `z`), returns the summed loss and sets `correct` to the
/// number of rows whose first largest logit is their label. The float form's exponential is an approximation within
/// 2 ulp (results below 10⁻³⁸ become 0); the double form's is the C library's.
double backprop_softmax_cross_entropy_float(const float *z, const intptr_t *labels, size_t rows, size_t classes,
                                            float smoothing, float scale, float *delta, size_t *correct);

/// See `backprop_softmax_cross_entropy_float`.
double backprop_softmax_cross_entropy_double(const double *z, const intptr_t *labels, size_t rows, size_t classes,
                                             double smoothing, double scale, double *delta, size_t *correct);

/// The instruction set the kernels of this module run on: "AVX-512", "AVX2" or "SSE2" on x86-64 Linux, chosen at load
/// time; "baseline" elsewhere.
const char *backprop_instruction_set(void);

#endif
