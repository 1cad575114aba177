#include "GEMMKernels.h"

#include <stdlib.h>
#include <string.h>

// Products may round differently from one variant to the next (fused multiply-adds where the processor has them);
// a given machine always runs the same variant, so its results repeat bit for bit.
#pragma clang fp contract(fast)

/// The depth of one k-block: a packed B panel (depth × NR) stays in the first-level cache while a row of tiles uses
/// it.
enum { depth_block = 256 };

#if defined(__x86_64__)

#define TARGET __attribute__((target("avx512f")))
#define T float
#define W 16
#define MR 8
#define NAME(x) x##_float_avx512
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#define T double
#define W 8
#define MR 8
#define NAME(x) x##_double_avx512
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#undef TARGET

#define TARGET __attribute__((target("avx2,fma")))
#define T float
#define W 8
#define MR 6
#define NAME(x) x##_float_avx2
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#define T double
#define W 4
#define MR 6
#define NAME(x) x##_double_avx2
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#undef TARGET

#endif

#define TARGET
#define T float
#define W 4
#define MR 4
#define NAME(x) x##_float_baseline
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#define T double
#define W 2
#define MR 4
#define NAME(x) x##_double_baseline
#include "GEMMKernel.h"
#undef T
#undef W
#undef MR
#undef NAME
#undef TARGET

typedef enum { variant_baseline, variant_avx2, variant_avx512 } variant;

static variant widest_supported(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return variant_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return variant_avx2;
#endif
    return variant_baseline;
}

/// The widest variant the processor supports, or a narrower one named by BACKPROP_GEMM_INSTRUCTION_SET ("AVX2",
/// "SSE2"), so that the tests can check every variant on a machine that has the widest. Read once.
static variant best_variant(void) {
    static _Atomic int chosen = -1;
    int value = chosen;
    if (value < 0) {
        variant best = widest_supported();
        const char *requested = getenv("BACKPROP_GEMM_INSTRUCTION_SET");
        if (requested != NULL && strcmp(requested, "AVX2") == 0 && best >= variant_avx2) best = variant_avx2;
        if (requested != NULL && strcmp(requested, "SSE2") == 0) best = variant_baseline;
        value = (int)best;
        chosen = value;  // every thread computes the same value
    }
    return (variant)value;
}

const char *backprop_gemm_instruction_set(void) {
    switch (best_variant()) {
    case variant_avx512: return "AVX-512";
    case variant_avx2: return "AVX2";
    default:
#if defined(__x86_64__)
        return "SSE2";
#else
        return "baseline";
#endif
    }
}

#if defined(__x86_64__)
#define DISPATCH(T, call)                                                                                             \
    switch (best_variant()) {                                                                                         \
    case variant_avx512: return call##_##T##_avx512;                                                                  \
    case variant_avx2: return call##_##T##_avx2;                                                                      \
    default: return call##_##T##_baseline;                                                                            \
    }
#else
#define DISPATCH(T, call) return call##_##T##_baseline;
#endif

typedef size_t (*scratch_float_fn)(const backprop_gemm *);
typedef void (*gemm_float_fn)(const backprop_gemm *, const float *, const float *, float *, float *);
typedef size_t (*scratch_double_fn)(const backprop_gemm *);
typedef void (*gemm_double_fn)(const backprop_gemm *, const double *, const double *, double *, double *);

typedef void (*gemm_gathered_float_fn)(const backprop_gemm *, const backprop_gathered *, const float *, const float *,
                                       float *, float *);
typedef void (*gemm_gathered_double_fn)(const backprop_gemm *, const backprop_gathered *, const double *,
                                        const double *, double *, double *);

static scratch_float_fn scratch_float(void) { DISPATCH(float, scratch) }
static gemm_float_fn gemm_float(void) { DISPATCH(float, gemm) }
static scratch_double_fn scratch_double(void) { DISPATCH(double, scratch) }
static gemm_double_fn gemm_double(void) { DISPATCH(double, gemm) }
static scratch_float_fn gathered_scratch_float(void) { DISPATCH(float, gathered_scratch) }
static gemm_gathered_float_fn gemm_gathered_float(void) { DISPATCH(float, gemm_gathered) }
static scratch_double_fn gathered_scratch_double(void) { DISPATCH(double, gathered_scratch) }
static gemm_gathered_float_fn gemm_scattered_float(void) { DISPATCH(float, gemm_scattered) }
static gemm_gathered_double_fn gemm_scattered_double(void) { DISPATCH(double, gemm_scattered) }
static gemm_gathered_double_fn gemm_gathered_double(void) { DISPATCH(double, gemm_gathered) }

size_t backprop_gemm_scratch_float(const backprop_gemm *problem) { return scratch_float()(problem); }
size_t backprop_gemm_scratch_double(const backprop_gemm *problem) { return scratch_double()(problem); }

void backprop_gemm_float(const backprop_gemm *problem, const float *a, const float *b, float *c, float *scratch) {
    gemm_float()(problem, a, b, c, scratch);
}

void backprop_gemm_double(const backprop_gemm *problem, const double *a, const double *b, double *c,
                          double *scratch) {
    gemm_double()(problem, a, b, c, scratch);
}

size_t backprop_gemm_gathered_scratch_float(const backprop_gemm *problem) { return gathered_scratch_float()(problem); }
size_t backprop_gemm_gathered_scratch_double(const backprop_gemm *problem) {
    return gathered_scratch_double()(problem);
}

void backprop_gemm_gathered_float(const backprop_gemm *problem, const backprop_gathered *gathered, const float *a,
                                  const float *b, float *c, float *scratch) {
    gemm_gathered_float()(problem, gathered, a, b, c, scratch);
}

void backprop_gemm_gathered_double(const backprop_gemm *problem, const backprop_gathered *gathered, const double *a,
                                   const double *b, double *c, double *scratch) {
    gemm_gathered_double()(problem, gathered, a, b, c, scratch);
}

void backprop_gemm_scattered_float(const backprop_gemm *problem, const backprop_gathered *gathered, const float *a,
                                   const float *b, float *c, float *scratch) {
    gemm_scattered_float()(problem, gathered, a, b, c, scratch);
}

void backprop_gemm_scattered_double(const backprop_gemm *problem, const backprop_gathered *gathered, const double *a,
                                    const double *b, double *c, double *scratch) {
    gemm_scattered_double()(problem, gathered, a, b, c, scratch);
}
