import CAllocationCounter
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock seconds of `body`.
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The median (the upper one of an even count).
func median(_ values: some Collection<Double>) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// The process's peak resident memory in MiB.
func peakResidentMiB() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // KiB
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_048_576  // bytes
    #endif
}

/// Counts the heap allocations the calling thread makes between ``start()`` and ``stop()`` (Linux only).
enum AllocationCounter {
    static var isAvailable: Bool { backprop_allocation_counting_available() }
    static func start() { backprop_allocation_counting_start() }
    static func stop() -> Int { Int(backprop_allocation_counting_stop()) }
}

/// `value` with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

import Foundation
