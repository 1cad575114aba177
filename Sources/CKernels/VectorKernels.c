#include "VectorKernels.h"

#include "Cloning.h"

const char *backprop_instruction_set(void) {
#if defined(__x86_64__) && defined(__ELF__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "AVX-512";
    if (__builtin_cpu_supports("avx2")) return "AVX2";
    return "SSE2";
#else
    return "baseline";
#endif
}

#define T float
#define NAME(x) x##_float
#include "VectorRules.h"
#undef T
#undef NAME

#define T double
#define NAME(x) x##_double
#include "VectorRules.h"
