#if defined(__linux__)
#define _GNU_SOURCE
#include <sched.h>
#endif
#include "Processor.h"

enum { cache_line_size = 64 };

void backprop_prefetch(const void *address, size_t byte_count) {
    const char *bytes = address;
    for (size_t offset = 0; offset < byte_count; offset += cache_line_size) {
        __builtin_prefetch(bytes + offset, 0, 3);
    }
    if (byte_count > 0) {
        __builtin_prefetch(bytes + byte_count - 1, 0, 3);
    }
}

void backprop_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

int backprop_affinity_processor_count(void) {
#if defined(__linux__)
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
        return CPU_COUNT(&mask);
    }
#endif
    return 0;
}
