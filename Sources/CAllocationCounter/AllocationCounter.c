// Counts heap allocations by defining malloc and its relatives in the executable that links this target: the dynamic
// linker then resolves every library's malloc (the Swift runtime's included) to these, which forward to glibc's own
// entry points. Counting is per thread, so allocations of other threads (other tests, BLAS workers) are not mixed in.
#include "AllocationCounter.h"

#if defined(__linux__) && defined(__GLIBC__)
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread bool counting __attribute__((tls_model("initial-exec")));
static __thread int64_t allocations __attribute__((tls_model("initial-exec")));

static inline void count_one(void) {
    if (counting) allocations += 1;
}

void *malloc(size_t size) {
    count_one();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    count_one();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    count_one();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    count_one();
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12;  // ENOMEM
    *result = pointer;
    return 0;
}

bool backprop_allocation_counting_available(void) { return true; }

void backprop_allocation_counting_start(void) {
    allocations = 0;
    counting = true;
}

int64_t backprop_allocation_counting_stop(void) {
    counting = false;
    return allocations;
}

#else

bool backprop_allocation_counting_available(void) { return false; }
void backprop_allocation_counting_start(void) {}
int64_t backprop_allocation_counting_stop(void) { return -1; }

#endif
