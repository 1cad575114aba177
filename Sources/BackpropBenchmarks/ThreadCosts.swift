import BackpropCore
import Foundation

/// Copies a buffer in equal parts: memory bandwidth with one part per thread.
private struct CopyParts: ParallelWork {
    let source: UnsafeRawPointer
    let target: UnsafeMutableRawPointer
    let count: Int
    let parts: Int
    func run(part: Int) {
        let bytes = range(of: part, in: count, granularity: 64)
        (target + bytes.lowerBound).copyMemory(from: source + bytes.lowerBound, byteCount: bytes.count)
    }
}

/// Work whose parts do nothing: what remains is the hand-off.
private struct EmptyParts: ParallelWork {
    let parts: Int
    func run(part: Int) {}
}

/// The fixed costs of the worker pool: a hand-off of empty parts to every thread, and the CPU time an idle process
/// spends after a computation (helpers spin for ``WorkerPool/idleSpin``, then sleep).
func runThreadCosts() {
    let available = Parallelism.availableProcessors
    var fields: [String] = []
    for threads in Set([2, available]).sorted() {
        Parallelism.use(threads: threads)
        let pool = Parallelism.pool
        let work = EmptyParts(parts: threads)
        for _ in 0..<10_000 { pool.run(work) }
        var samples: [Double] = []
        for _ in 0..<21 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<10_000 { pool.run(work) }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 10_000)
        }
        let median = samples.sorted()[samples.count / 2]
        print("hand-off to \(threads) threads: median \(String(format: "%.0f", median)) ns")
        fields.append("\"handoff_ns_\(threads)_threads\": \(String(format: "%.1f", median))")
    }
    // Memory bandwidth: a 256 MiB copy (read + write) on 1 thread and on every thread.
    let bytes = 1 << 28
    let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
    target.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    for threads in Set([1, available]).sorted() {
        Parallelism.use(threads: threads)
        let work = CopyParts(source: source, target: target, count: bytes, parts: threads)
        Parallelism.pool.run(work)
        var samples: [Double] = []
        for _ in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            Parallelism.pool.run(work)
            samples.append(Double(2 * bytes) / Double(DispatchTime.now().uptimeNanoseconds - start))
        }
        let median = samples.sorted()[samples.count / 2]
        print("copy bandwidth on \(threads) thread\(threads == 1 ? "" : "s"): median \(String(format: "%.1f", median)) GB/s (read + write)")
        fields.append("\"copy_gbps_\(threads)_threads\": \(String(format: "%.2f", median))")
    }
    source.deallocate()
    target.deallocate()

    // Idle: a burst of hand-offs, then a second of nothing; the process's CPU time over that second.
    let pool = Parallelism.pool
    for _ in 0..<10_000 { pool.run(EmptyParts(parts: pool.threads)) }
    let before = cpuSeconds()
    Thread.sleep(forTimeInterval: 1)
    let idle = cpuSeconds() - before
    print("CPU time over 1 s idle after a computation (\(pool.threads) threads): \(String(format: "%.3f", idle * 1000)) ms")
    fields.append("\"idle_cpu_ms_per_s\": \(String(format: "%.3f", idle * 1000))")
    print("RESULT {\(fields.joined(separator: ", "))}")
}

/// User + system CPU time of the whole process.
#if canImport(Glibc)
private let ownProcess = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let ownProcess = RUSAGE_SELF
#endif

private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(ownProcess, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
