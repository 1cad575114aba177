#ifndef BACKPROP_GEMM_KERNELS_H
#define BACKPROP_GEMM_KERNELS_H

// The portable matrix product: packed panels, a register-blocked micro-kernel written with Clang's vector types, and
// blocking over k. On x86-64 it is compiled three times — AVX-512 (8 × 32 tiles of floats), AVX2 with FMA (6 × 16)
// and baseline SSE2 (4 × 8) — and each call runs the widest the processor has; elsewhere (Arm) once, for the target.
// The environment variable BACKPROP_GEMM_INSTRUCTION_SET=AVX2 or SSE2, read once, selects a narrower variant (for
// testing every variant on one machine).

#include <stddef.h>

/// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`, on row-major matrices: op(A) is m × k, op(B) is k × n,
/// C is m × n; a transposed operand is stored k × m (A) or n × k (B). `lda`, `ldb`, `ldc` are the stored row
/// strides.
typedef struct backprop_gemm {
    size_t m, n, k;
    size_t lda, ldb, ldc;
    int transpose_a, transpose_b, accumulate;
} backprop_gemm;

/// A matrix read in place from rows of a larger buffer `base`, never written out: element (r, c) is
/// base[row_offsets[r] + segment_offsets[j / segment_length] + j % segment_length] with j = c + first_column. Row r
/// of a convolution's unfolded input is the window of output pixel r: one segment per kernel row (its kernel_width ×
/// channels inputs lie side by side in a channels-last image), at that row's offset from the window's corner.
/// `first_row` is the index in the whole matrix of the row at row_offsets[0], for a call that covers a block of rows.
typedef struct backprop_gathered {
    const size_t *row_offsets;
    const size_t *segment_offsets;
    size_t segment_length, first_column, first_row;
} backprop_gathered;

/// The number of elements of scratch memory `backprop_gemm_float` needs for `problem` (packed panels).
size_t backprop_gemm_scratch_float(const backprop_gemm *problem);

/// The number of elements of scratch memory `backprop_gemm_double` needs for `problem` (packed panels).
size_t backprop_gemm_scratch_double(const backprop_gemm *problem);

/// Computes the product; `scratch` holds at least `backprop_gemm_scratch_float(problem)` elements.
void backprop_gemm_float(const backprop_gemm *problem, const float *a, const float *b, float *c, float *scratch);

/// Computes the product; `scratch` holds at least `backprop_gemm_scratch_double(problem)` elements.
void backprop_gemm_double(const backprop_gemm *problem, const double *a, const double *b, double *c,
                          double *scratch);

/// The number of elements of scratch memory `backprop_gemm_gathered_float` (and `backprop_gemm_scattered_float`, for
/// a problem with A not transposed) needs for `problem` (packed panels).
size_t backprop_gemm_gathered_scratch_float(const backprop_gemm *problem);

/// The number of elements of scratch memory `backprop_gemm_gathered_double` needs for `problem` (packed panels).
size_t backprop_gemm_gathered_scratch_double(const backprop_gemm *problem);

/// Computes the product with A gathered by `gathered` from `a` (A is the gathered matrix as stored: `m × k`, or
/// `k × m` when `transpose_a`; `lda` is not read). Each element of C is the sum `backprop_gemm_float` computes for a
/// dense copy of A, in the same order, so the two give the same bits.
void backprop_gemm_gathered_float(const backprop_gemm *problem, const backprop_gathered *gathered, const float *a,
                                  const float *b, float *c, float *scratch);

/// See `backprop_gemm_gathered_float`.
void backprop_gemm_gathered_double(const backprop_gemm *problem, const backprop_gathered *gathered, const double *a,
                                   const double *b, double *c, double *scratch);

/// Adds A·op(B) to C gathered by `gathered` from `c` (A dense, not transposed; `ldc` is not read): each row of the
/// product is added to its gathered row, in the same order whichever block of rows (`gathered->first_row`) a call
/// covers. The fold of a convolution's unfolded-input gradient δ W̃ into its input's gradient, without δ W̃ written
/// out; calls whose rows add to the same elements must not run at the same time.
void backprop_gemm_scattered_float(const backprop_gemm *problem, const backprop_gathered *gathered, const float *a,
                                   const float *b, float *c, float *scratch);

/// See `backprop_gemm_scattered_float`.
void backprop_gemm_scattered_double(const backprop_gemm *problem, const backprop_gathered *gathered, const double *a,
                                    const double *b, double *c, double *scratch);

/// A product Aᵀ·B with a small result and a long inner dimension (a convolution's weight gradient over every pixel
/// of a batch), over rows `rows` of A (`rows × m`) and B (`rows × n`), both dense: overwrites `partial` with
/// Σ over those rows of A[r]ᵀ B[r], as an `m × n` matrix when n ≥ m, else transposed (`n × m`), adding the rows in
/// order. The caller adds the partial sums of row blocks, in a fixed order.
void backprop_small_product_float(const float *a, const float *b, size_t rows, size_t m, size_t n, float *partial);

/// See `backprop_small_product_float`.
void backprop_small_product_double(const double *a, const double *b, size_t rows, size_t m, size_t n, double *partial);

/// The instruction set the product runs on: "AVX-512", "AVX2" (with FMA) or "SSE2" on x86-64, "baseline" elsewhere.
const char *backprop_gemm_instruction_set(void);

#endif
