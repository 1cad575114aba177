#include "VectorKernels.h"

#include "Cloning.h"

#include <math.h>

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

/// eˣ for x ≤ 0 (and NaN), within 2 ulp, in arithmetic alone so that a loop of it vectorises: x = n·ln 2 + r with
/// |r| ≤ ln 2 / 2 (ln 2 in two parts, so that n·ln 2 is exact enough), eʳ by its Taylor polynomial of degree 7 (the
/// remainder is below 10⁻⁸ of it), 2ⁿ assembled in the exponent bits. Below −87.3 the result is 0: eˣ would be
/// subnormal, and in softmax such a probability is 0 to float precision anyway.
static inline float exp_nonpositive_float(float x) {
    const float clamped = x > -88.0f ? x : -88.0f;  // keeps n a small integer, also for NaN
    const float n = __builtin_rintf(clamped * 1.44269504088896341f);
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.98412698412698413e-4f;
    p = p * r + 1.38888888888888889e-3f;
    p = p * r + 8.33333333333333333e-3f;
    p = p * r + 4.16666666666666667e-2f;
    p = p * r + 1.66666666666666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { uint32_t bits; float value; } scale = {.bits = (uint32_t)((int32_t)n + 127) << 23};
    return x < -87.3f ? 0.0f : p * scale.value;
}

#define T float
#define NAME(x) x##_float
#define EXP(x) exp_nonpositive_float(x)
#define EXP_LOOP VECTORISE
#define LOG(x) logf(x)
#include "VectorRules.h"
#undef T
#undef NAME
#undef EXP
#undef EXP_LOOP
#undef LOG

#define T double
#define NAME(x) x##_double
#define EXP(x) exp(x)
#define EXP_LOOP
#define LOG(x) log(x)
#include "VectorRules.h"
