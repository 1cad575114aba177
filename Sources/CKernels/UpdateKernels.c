#include "UpdateKernels.h"

#include <float.h>
#include <math.h>

#include "Cloning.h"

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
