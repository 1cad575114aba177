// Layer normalisation in the fused convolutional step, over rows of `width` values (one sample each: its features,
// or a channels-last image's values, the scale and offset laid out the same way).
#ifndef BACKPROP_LAYER_NORM_KERNELS_H
#define BACKPROP_LAYER_NORM_KERNELS_H

#include <stddef.h>

/// Per row: μ = Σx / width, σ² = Σ(x − μ)² / width, s = 1/√(σ² + ε), y = (x − μ) s γ + β. Writes y and each row's μ and
/// s to `statistics` (two per row).
void backprop_layer_norm_float(const float *x, size_t rows, size_t width, const float *gamma, const float *beta,
                               float epsilon, float *y, float *statistics);
/// See `backprop_layer_norm_float`.
void backprop_layer_norm_double(const double *x, size_t rows, size_t width, const double *gamma, const double *beta,
                                double epsilon, double *y, double *statistics);

/// Per row, from the upstream gradient g: with gŷ = g γ and x̂ = (x − μ) s, ∂J/∂x = s (gŷ − mean gŷ − x̂ mean(gŷ x̂)),
/// the rule of `Op.normalize` (Autodiff/Derivatives.swift) after the scale.
void backprop_layer_norm_input_gradient_float(const float *g, const float *x, size_t rows, size_t width,
                                              const float *gamma, const float *statistics, float *dx);
/// See `backprop_layer_norm_input_gradient_float`.
void backprop_layer_norm_input_gradient_double(const double *g, const double *x, size_t rows, size_t width,
                                               const double *gamma, const double *statistics, double *dx);

/// ∂J/∂γ = Σ over rows of g x̂ and ∂J/∂β = Σ over rows of g, each element added from the first row to the last.
void backprop_layer_norm_parameter_gradients_float(const float *g, const float *x, size_t rows, size_t width,
                                                   const float *statistics, float *dgamma, float *dbeta);
/// See `backprop_layer_norm_parameter_gradients_float`.
void backprop_layer_norm_parameter_gradients_double(const double *g, const double *x, size_t rows, size_t width,
                                                    const double *statistics, double *dgamma, double *dbeta);

#endif
