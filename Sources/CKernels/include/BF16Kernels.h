#ifndef BACKPROP_BF16_KERNELS_H
#define BACKPROP_BF16_KERNELS_H

// Matrix products on bfloat16 operands with Float32 accumulation, as `vdpbf16ps` (AVX512_BF16) computes them, and a
// portable path that computes exactly the same sums in the same order, so that a product — and a model trained on
// products — is the same bits on machines with and without the instruction.
//
// The arithmetic, per element of C: both operands are rounded from Float32 to bfloat16 (to nearest, ties to even;
// subnormals flushed to zero, NaN kept quiet); k is walked in pairs (2p, 2p + 1), the last padded with zero; each
// pair adds the odd product, then the even one, to a Float32 accumulator starting at zero, each addition rounded to
// nearest once (the product of two bfloat16 values is exact in Float32's precision) with subnormal results flushed
// to zero — the definition of `vdpbf16ps` in Intel's SDM, whose inputs are read as zero when subnormal. The
// accumulator is then written to C, or added to it with one more rounding when accumulating.

#include <stddef.h>
#include <stdint.h>

#include "GEMMKernels.h"

/// Which implementation computes a bfloat16 product.
typedef enum {
    backprop_bf16_automatic = 0,  ///< `vdpbf16ps` when the processor has AVX512_BF16, else the portable path
    backprop_bf16_portable = 1,   ///< the portable path (scalar fused multiply-adds)
    backprop_bf16_instruction = 2 ///< `vdpbf16ps`; only when `backprop_bf16_instruction_available()`
} backprop_bf16_path;

/// Whether the processor has AVX512_BF16 (and AVX-512 F and BW, which the kernel also uses).
int backprop_bf16_instruction_available(void);

/// Rounds `count` Float32 values to bfloat16 as the products do.
void backprop_round_to_bf16(const float *x, uint16_t *y, size_t count);

/// Rounds `count` Float32 values to bfloat16 as the products do, each written as the Float32 of the same value (`y`
/// may be `x`).
void backprop_round_to_bf16_values(const float *x, float *y, size_t count);

/// Dwords of scratch memory `backprop_gemm_bf16` needs for `problem`.
size_t backprop_gemm_bf16_scratch(const backprop_gemm *problem);

/// C = op(A)·op(B) (or C += when `accumulate`) with bfloat16 operands, as described above, on the calling thread;
/// `scratch` holds at least `backprop_gemm_bf16_scratch(problem)` dwords.
void backprop_gemm_bf16(const backprop_gemm *problem, const float *a, const float *b, float *c, uint32_t *scratch,
                        backprop_bf16_path path);

// The same product in two steps, so that threads can share one packed copy of B: pack B's panels (of 32 columns of
// op(B), pairs of k interleaved; any split of the panels over threads), then compute any block of rows of C from it.
// k is walked in blocks whose partial sums are stored in C and reloaded exactly, so no split changes a bit.

/// Panels of 32 columns in packed op(B).
size_t backprop_bf16_panels(const backprop_gemm *problem);

/// Dwords of packed op(B).
size_t backprop_bf16_packed_b_size(const backprop_gemm *problem);

/// Packs panels `first_panel ..< end_panel` of op(B) into `packed` (of `backprop_bf16_packed_b_size` dwords).
void backprop_bf16_pack_b(const backprop_gemm *problem, const float *b, uint32_t *packed, size_t first_panel,
                          size_t end_panel);

/// Dwords of scratch memory `backprop_gemm_bf16_packed` needs for `problem` (A's packed rows).
size_t backprop_gemm_bf16_packed_scratch(const backprop_gemm *problem);

/// C = op(A)·op(B) (or C += when `accumulate`) from B packed whole by `backprop_bf16_pack_b`.
void backprop_gemm_bf16_packed(const backprop_gemm *problem, const float *a, const uint32_t *packed_b, float *c,
                               uint32_t *scratch, backprop_bf16_path path);

/// Dwords of scratch memory `backprop_gemm_bf16_packed_scattered` needs for `problem`.
size_t backprop_gemm_bf16_packed_scattered_scratch(const backprop_gemm *problem);

/// Adds op(A)·op(B) to C gathered by `scatter` from `c` (A dense and not transposed, B packed whole; `ldc` is not read):
/// each row of the product is added to its gathered row, the rows' terms onto each element in the order of (panel of
/// B, row), so that every row is summed and added the same way whichever block of rows a call covers. The fold of a
/// convolution's unfolded-input gradient δ W̃, without δ W̃ written out.
void backprop_gemm_bf16_packed_scattered(const backprop_gemm *problem, const backprop_gathered *scatter,
                                         const float *a, const uint32_t *packed_b, float *c, uint32_t *scratch,
                                         backprop_bf16_path path);

/// `backprop_gemm_bf16_packed` with A gathered by `gathered` from `a` (see `backprop_gathered`; `lda` is not read):
/// the same bits as for a dense copy of A.
void backprop_gemm_bf16_packed_gathered(const backprop_gemm *problem, const backprop_gathered *gathered,
                                        const float *a, const uint32_t *packed_b, float *c, uint32_t *scratch,
                                        backprop_bf16_path path);

#endif
