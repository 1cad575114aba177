#include "UpdateKernels.h"

#include <float.h>
#include <math.h>

// Each rule computes exactly the expression written, in every clone: contracting a·b + c into a fused multiply-add
// (which AVX2 and AVX-512 offer, SSE2 does not) would round differently on different processors.
#pragma clang fp contract(off)

// One copy per instruction set, chosen at load time (an ELF ifunc); plain builds elsewhere (macOS, Arm).
#if defined(__x86_64__) && defined(__ELF__)
#define CLONED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONED
#endif

const char *backprop_update_instruction_set(void) {
#if defined(__x86_64__) && defined(__ELF__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "AVX-512";
    if (__builtin_cpu_supports("avx2")) return "AVX2";
    return "SSE2";
#else
    return "baseline";
#endif
}

#define VECTORISE _Pragma("clang loop vectorize(assume_safety)")

// The correctly rounded square root, without the C library's errno (which keeps `sqrtf` from vectorising).
#if __has_builtin(__builtin_elementwise_sqrt)
#define SQRT_FLOAT(x) __builtin_elementwise_sqrt(x)
#define SQRT_DOUBLE(x) __builtin_elementwise_sqrt(x)
#else
#define SQRT_FLOAT(x) sqrtf(x)
#define SQRT_DOUBLE(x) sqrt(x)
#endif

#define T float
#define T_MIN FLT_MIN
#define T_SQRT SQRT_FLOAT
#define NAME(x) x##_float
#include "UpdateRules.h"
#undef T
#undef T_MIN
#undef T_SQRT
#undef NAME

#define T double
#define T_MIN DBL_MIN
#define T_SQRT SQRT_DOUBLE
#define NAME(x) x##_double
#include "UpdateRules.h"
