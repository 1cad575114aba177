#ifndef BACKPROP_PROCESSOR_H
#define BACKPROP_PROCESSOR_H

// Processor instructions and facts that Swift does not expose.

#include <stddef.h>

/// Asks the processor to start loading `byte_count` bytes from `address` into its caches, without waiting for them.
/// A hint only: it never faults, whatever the address.
void backprop_prefetch(const void *address, size_t byte_count);

/// Tells the processor the calling thread is spinning on a shared variable (x86 `pause`, Arm `yield`), so that it
/// spends less power and leaves more of the core to a sibling hardware thread.
void backprop_spin_pause(void);

/// The number of processors in the calling thread's CPU affinity mask (Linux `sched_getaffinity`), or 0 where it
/// cannot be read.
int backprop_affinity_processor_count(void);

#endif
