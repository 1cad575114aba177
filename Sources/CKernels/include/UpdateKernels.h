#ifndef BACKPROP_UPDATE_KERNELS_H
#define BACKPROP_UPDATE_KERNELS_H

// The optimizer update rules. On x86-64 Linux they are compiled once per instruction set (AVX-512, AVX2, baseline SSE2)
// and the best one for the processor is chosen when the library loads; elsewhere (macOS, Arm) once, for the target.
// Swift compiles for baseline x86-64 only, and these rules are bound by the square root and division units, which
// process 4 lanes at a time on SSE and 16 on AVX-512.
//
// The formulas are documented on Swift's `ParameterUpdate`, which builds the `backprop_update` passed here.

#include <stddef.h>

/// Which update rule a `backprop_update` describes.
typedef enum backprop_update_rule {
    /// θ ← θ − η (g + λθ)
    backprop_rule_sgd,
    /// v ← μv + (g + λθ); θ ← θ − ηv
    backprop_rule_momentum,
    /// v ← μv + (g + λθ); θ ← θ − η ((g + λθ) + μv)
    backprop_rule_nesterov,
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g² with g ← g + λθ; θ ← θ − ηₐθ − η₁ m / (√(v c₂) + ε)
    backprop_rule_adam,
    /// s ← ρs + (1−ρ)g² with g ← g + λθ; θ ← θ − η g / (√s + ε)
    backprop_rule_rmsprop,
    /// s ← s + g² with g ← g + λθ; θ ← θ − η g / (√s + ε)
    backprop_rule_adagrad,
} backprop_update_rule;

/// One optimizer step's rule and hyper-parameters. Fields a rule does not use are ignored.
typedef struct backprop_update {
    backprop_update_rule rule;
    /// η; for Adam, η₁ = η / (1 − β₁ᵗ).
    double rate;
    /// λ, added to the gradient as λθ (L2).
    double decay;
    /// μ (momentum), β₁ (Adam) or ρ (RMSProp).
    double beta1;
    /// β₂ (Adam).
    double beta2;
    /// ε (Adam, RMSProp, Adagrad).
    double epsilon;
    /// c₂ = 1 / (1 − β₂ᵗ) (Adam).
    double correction2;
    /// ηₐ = η λ_decoupled (AdamW's decoupled decay).
    double shrink;
} backprop_update;

/// Applies `update` to `count` parameters: writes the updated values of `parameter` to `result`, which is either
/// `parameter` itself (an update in place) or a buffer that does not overlap it. `gradient` holds the gradients, and
/// the rule's state is updated in place (`state0`: momentum's v, Adam's m, RMSProp's and Adagrad's s; `state1`: Adam's
/// v; NULL when unused). State values whose magnitude falls below the smallest normal number are stored as zero (see
/// `ParameterUpdate`).
void backprop_update_float(const backprop_update *update, const float *parameter, float *result, const float *gradient,
                           float *state0, float *state1, size_t count);

/// The `double` form of `backprop_update_float`.
void backprop_update_double(const backprop_update *update, const double *parameter, double *result,
                            const double *gradient, double *state0, double *state1, size_t count);

/// The instruction set of the update kernels this process runs: "AVX-512", "AVX2" or "SSE2" on x86-64 Linux (the same
/// choice, in the same order, as the loader's), "baseline" elsewhere.
#endif
