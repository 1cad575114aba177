import CProcessor
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many threads Backprop computes on, and the ``WorkerPool`` that runs them.
///
/// By default, every processor the process may use: the CPUs of its affinity mask (`taskset`, a container's
/// `cpuset`), fewer when a cgroup CPU quota (`docker --cpus`, Kubernetes limits) allows less. The environment variable
/// `BACKPROP_THREADS` chooses another number, read once when the pool is first needed; ``use(threads:)`` (the
/// command line's `--threads`) replaces it between computations.
///
/// Results do not depend on the number of threads: every kernel splits its work by the work's size, and adds
/// partial sums in a fixed order (see ``ParallelWork``), so 1, 2 or 64 threads train the same model, bit for bit.
public enum Parallelism {
    private static let current = Mutex<WorkerPool?>(nil)

    /// The pool kernels run on: created on first use with ``defaultThreads``.
    public static var pool: WorkerPool {
        current.withLock { pool in
            if let pool { return pool }
            let fresh = WorkerPool(threads: defaultThreads)
            pool = fresh
            return fresh
        }
    }

    /// The number of threads kernels run on.
    public static var threads: Int { pool.threads }

    /// Runs kernels on `threads` threads from now on (the previous pool's helpers exit). Call it between
    /// computations, not while one runs on another thread.
    public static func use(threads: Int) {
        precondition(threads >= 1, "Parallelism.use(threads:): needs at least one thread, got \(threads)")
        let previous: WorkerPool? = current.withLock { pool in
            guard pool?.threads != threads else { return nil }
            defer { pool = WorkerPool(threads: threads) }
            return pool
        }
        previous?.shutDown()
    }

    /// `BACKPROP_THREADS` when it is a whole number from 1 to 1024, else ``availableProcessors``.
    public static var defaultThreads: Int {
        if let text = Environment.value(of: "BACKPROP_THREADS"), let requested = Int(text), (1...1024).contains(requested) {
            return requested
        }
        return availableProcessors
    }

    /// The processors this process may run on: its affinity mask's CPUs, limited by a cgroup (v2) CPU quota rounded
    /// up; the online processors where neither can be read.
    public static var availableProcessors: Int {
        var count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #if os(Linux)
        let inMask = Int(backprop_affinity_processor_count())
        if inMask > 0 { count = inMask }
        if let quota = cgroupQuota() { count = Swift.min(count, quota) }
        #endif
        return Swift.max(count, 1)
    }

    #if os(Linux)
    /// The CPUs a cgroup v2 quota (`/sys/fs/cgroup/cpu.max`: "quota period", or "max period") allows, rounded up.
    private static func cgroupQuota() -> Int? {
        guard let file = fopen("/sys/fs/cgroup/cpu.max", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }
    #endif
}
