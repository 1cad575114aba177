#ifndef BACKPROP_ALLOCATION_COUNTER_H
#define BACKPROP_ALLOCATION_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/// Whether this build counts heap allocations (Linux with glibc, where malloc can be interposed by the executable).
bool backprop_allocation_counting_available(void);

/// Starts counting the calling thread's allocations (malloc, calloc, realloc, aligned allocations) from zero.
void backprop_allocation_counting_start(void);

/// Stops counting and returns how many allocations the calling thread made since the start.
int64_t backprop_allocation_counting_stop(void);

#endif
