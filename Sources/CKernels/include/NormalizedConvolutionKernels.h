#ifndef BACKPROP_NORMALIZED_CONVOLUTION_KERNELS_H
#define BACKPROP_NORMALIZED_CONVOLUTION_KERNELS_H

// A one-channel convolution followed by batch normalisation, in closed form. Over the batch's windows x_p (K values
// each, K = kernel_height × kernel_width, zeros where a window leaves the image) with mean m and covariance C, filter
// f's z_p = W_fᵀ x_p + b_f has mean W_fᵀ m + b_f and variance W_fᵀ C W_f, and the normalisation of z is itself a
// convolution (weight W_f γ_f s_f, bias β_f + γ_f s_f (b_f − μ_f), s_f = 1/√(σ_f² + ε)). Its gradients follow from
// the same m and C: nothing of z, whose batch is many times the images', is ever stored or read.

#include <stddef.h>
#include "WindowKernels.h"

/// The lanes in which the window sums are kept: each sum over output columns splits by column mod this count, the
/// lanes added in order at the end, on every instruction set.
enum { backprop_window_lanes = 16 };

/// The size of `backprop_window_moments_float`'s scratch: a sample's windows (K rows of the output's pixels), and the
/// lanes of K·K sums.
size_t backprop_window_moments_scratch_size(const backprop_window *conv);

/// Sums over the windows of samples `first ..< first + count` of the one-channel images `x` (`[batch, height·width]`),
/// sample by sample, each sample's output pixels p in `backprop_window_lanes` lanes by p mod the lane count: without
/// `center`, Σ x_p into `sums[0 ..< K]`; with it, Σ (x_p − center)(x_p − center)ᵀ into `sums[0 ..< K·K]` (row-major,
/// symmetric).
void backprop_window_moments_float(const backprop_window *conv, const float *x, const float *center, size_t first,
                                   size_t count, float *scratch, float *sums);
/// See `backprop_window_moments_float`.
void backprop_window_moments_double(const backprop_window *conv, const double *x, const double *center, size_t first,
                                    size_t count, double *scratch, double *sums);

/// Filter f's batch mean μ_f = Σ_k W[k, f] m_k + b_f and variance σ_f² = Σ_j Σ_k W[j, f] C[j, k] W[k, f] from the
/// windows' mean `m` (K) and covariance `cov` (K·K), `weight` `[K, F]`, `bias` (F, or null), into `mean` and `variance`.
void backprop_convolution_moments_float(size_t K, size_t F, const float *m, const float *cov, const float *weight,
                                        const float *bias, float *mean, float *variance);
/// See `backprop_convolution_moments_float`.
void backprop_convolution_moments_double(size_t K, size_t F, const double *m, const double *cov, const double *weight,
                                         const double *bias, double *mean, double *variance);

/// The convolution that batch normalisation of the convolution computes: `folded_weight[k, f] = weight[k, f] · γ_f s_f`,
/// `folded_bias[f] = β_f + γ_f s_f (b_f − μ_f)` (b_f = 0 without a bias), from `mean` μ and `inverse_deviation` s.
void backprop_fold_normalization_float(size_t K, size_t F, const float *weight, const float *bias, const float *mean,
                                       const float *inverse_deviation, const float *gamma, const float *beta,
                                       float *folded_weight, float *folded_bias);
/// See `backprop_fold_normalization_float`.
void backprop_fold_normalization_double(size_t K, size_t F, const double *weight, const double *bias,
                                        const double *mean, const double *inverse_deviation, const double *gamma,
                                        const double *beta, double *folded_weight, double *folded_bias);

/// The gradients of the normalised convolution from A[k, f] = Σ gz_p x_{p,k} and dβ_f = Σ gz_p (gz the gradient
/// reaching the normalisation's output, summed over the pixels where it is nonzero): with N windows,
/// dγ_f = s_f Σ_k W[k, f] (A[k, f] − m_k dβ_f) (= Σ gz x̂), and since ∂J/∂z_p = γ s (gz_p − (dβ + x̂_p dγ)/N),
/// ∂J/∂W[k, f] = γ_f s_f (A[k, f] − m_k dβ_f − dγ_f s_f (C W_f)_k) and ∂J/∂b_f = 0 (the normalisation removes any
/// shift). Overwrites `weight_gradient` `[K, F]`, `scale_gradient` and `offset_gradient` (dβ, copied).
void backprop_normalized_convolution_gradients_float(size_t K, size_t F, const float *m, const float *cov,
                                                     const float *weight, const float *inverse_deviation,
                                                     const float *gamma, const float *a, const float *dbeta,
                                                     float *weight_gradient, float *scale_gradient,
                                                     float *offset_gradient);
/// See `backprop_normalized_convolution_gradients_float`.
void backprop_normalized_convolution_gradients_double(size_t K, size_t F, const double *m, const double *cov,
                                                      const double *weight, const double *inverse_deviation,
                                                      const double *gamma, const double *a, const double *dbeta,
                                                      double *weight_gradient, double *scale_gradient,
                                                      double *offset_gradient);

#endif
