#ifndef BACKPROP_PROCESSOR_H
#define BACKPROP_PROCESSOR_H

// Processor instructions that Swift does not expose.

#include <stddef.h>

/// Asks the processor to start loading `byte_count` bytes from `address` into its caches, without waiting for them.
/// A hint only: it never faults, whatever the address.
void backprop_prefetch(const void *address, size_t byte_count);

/// Tells the processor the calling thread is spinning on a shared variable (x86 `pause`, Arm `yield`), so that it
/// spends less power and leaves more of the core to a sibling hardware thread.
void backprop_spin_pause(void);

/// Eight `float`s; Swift sees this type as `SIMD8<Float>`.
typedef float backprop_float8 __attribute__((ext_vector_type(8)));
/// Eight `double`s; Swift sees this type as `SIMD8<Double>`.
typedef double backprop_double8 __attribute__((ext_vector_type(8)));

/// The correctly rounded square root of each lane, in vector instructions.
///
/// Swift's `SIMD8<Float>.squareRoot()` compiles to eight scalar square roots, each behind a branch to the C library
/// for negative operands (it sets `errno`); this compiles to two `sqrtps` on baseline x86-64 and is inlined into the
/// Swift caller. Negative lanes give NaN, as in Swift.
static inline __attribute__((always_inline)) backprop_float8 backprop_sqrt_float8(backprop_float8 x) {
    return __builtin_elementwise_sqrt(x);
}

/// The correctly rounded square root of each lane, in vector instructions (see `backprop_sqrt_float8`).
static inline __attribute__((always_inline)) backprop_double8 backprop_sqrt_double8(backprop_double8 x) {
    return __builtin_elementwise_sqrt(x);
}

#endif
