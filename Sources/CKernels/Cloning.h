// What every kernel file of this target shares: one compiled copy of each kernel per instruction set, and the same
// rounding in every copy.
#ifndef BACKPROP_CLONING_H
#define BACKPROP_CLONING_H

// Each kernel computes exactly the expression written, in every clone: contracting a·b + c into a fused multiply-add
// (which AVX2 and AVX-512 offer, SSE2 does not) would round differently on different processors.
#pragma clang fp contract(off)

// One copy per instruction set, chosen at load time (an ELF ifunc); plain builds elsewhere (macOS, Arm). Swift code
// is compiled for baseline x86-64 (SSE2) only, which is why these loops are in C.
#if defined(__x86_64__) && defined(__ELF__)
#define CLONED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONED
#endif

// The loop's iterations are independent (or, for an update in place, each element is read before it is written).
#define VECTORISE _Pragma("clang loop vectorize(assume_safety)")

#endif
