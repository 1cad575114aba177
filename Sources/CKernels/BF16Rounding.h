// The rounding of Float32 to bfloat16 that every bfloat16 computation of this target shares: the products'
// operands (BF16Kernels.c) and the direct first convolution's (ChannelsLastKernels.c).
#ifndef BACKPROP_BF16_ROUNDING_H
#define BACKPROP_BF16_ROUNDING_H

#include <stdint.h>
#include <string.h>

/// Float32 (as bits) to bfloat16 (as bits): subnormals to signed zero, NaN to a quiet NaN of the same sign, else to
/// nearest, ties to even. Written without branches, so that loops over it vectorise.
static inline uint32_t backprop_bf16_bits(uint32_t u) {
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet = (u >> 16) | 0x0040u;
    const uint32_t zero = (u >> 16) & 0x8000u;
    const uint32_t finite = (u & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
    return (u & 0x7F800000u) == 0 ? zero : finite;
}

/// `x` rounded to bfloat16, as the Float32 of the same value.
static inline float backprop_bf16_value(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u = backprop_bf16_bits(u) << 16;
    float y;
    memcpy(&y, &u, 4);
    return y;
}

#endif
