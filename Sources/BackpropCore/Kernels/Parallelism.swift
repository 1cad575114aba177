import CProcessor
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How Backprop computes in this process: how many threads, and which matrix-product kernels. One value, read from
/// the environment once, when the first computation needs it (``fromEnvironment()``), and replaced by the command
/// line's flags or by ``Parallelism/configure(_:)``; kernels read it from ``Parallelism``, which owns the worker pool
/// it describes.
public struct ComputeConfiguration: Sendable, Equatable {
    /// Which kernels run matrix products.
    public enum Kernels: String, Sendable, CaseIterable {
        /// The platform BLAS, with large products on the portable kernel where it is faster (processors with
        /// AVX-512); the default.
        case automatic
        /// Backprop's portable kernel for every product.
        case portable
        /// The platform BLAS for every product.
        case openBLAS = "openblas"
    }

    /// Threads to compute on, the caller's included (1 or more).
    public var threads: Int
    /// Which kernels run matrix products.
    public var kernels: Kernels

    /// A configuration; by default every processor the process may use, and the automatic choice of kernels.
    public init(threads: Int = Parallelism.availableProcessors, kernels: Kernels = .automatic) {
        precondition(threads >= 1, "ComputeConfiguration: needs at least one thread, got \(threads)")
        self.threads = threads
        self.kernels = kernels
    }

    /// The configuration the environment asks for: `BACKPROP_THREADS` (a whole number from 1 to 1024) and
    /// `BACKPROP_KERNELS` (`portable` or `openblas`); anything unset or not understood keeps the default.
    public static func fromEnvironment() -> ComputeConfiguration {
        var configuration = ComputeConfiguration()
        if let text = Environment.value(of: "BACKPROP_THREADS"), let requested = Int(text), (1...1024).contains(requested) {
            configuration.threads = requested
        }
        if let text = Environment.value(of: "BACKPROP_KERNELS"), let kernels = Kernels(rawValue: text.lowercased()) {
            configuration.kernels = kernels
        }
        return configuration
    }
}

/// The process's ``ComputeConfiguration`` and the ``WorkerPool`` that runs it.
///
/// Results do not depend on the number of threads: every kernel splits its work by the work's size, and adds
/// partial sums in a fixed order (see ``ParallelWork``), so 1, 2 or 64 threads train the same model, bit for bit.
public enum Parallelism {
    private static let current = Mutex<(configuration: ComputeConfiguration, pool: WorkerPool)?>(nil)

    private static func withCurrent<R>(_ body: (ComputeConfiguration, WorkerPool) -> R) -> R {
        let (configuration, pool) = current.withLock { current in
            if let current { return current }
            let configuration = ComputeConfiguration.fromEnvironment()
            let fresh = (configuration: configuration, pool: WorkerPool(threads: configuration.threads))
            current = fresh
            return fresh
        }
        return body(configuration, pool)
    }

    /// The configuration in use: the environment's (``ComputeConfiguration/fromEnvironment()``) until replaced.
    public static var configuration: ComputeConfiguration { withCurrent { configuration, _ in configuration } }

    /// The pool kernels run on.
    public static var pool: WorkerPool { withCurrent { _, pool in pool } }

    /// The number of threads kernels run on.
    public static var threads: Int { pool.threads }

    /// Computes with `configuration` from now on (a pool of another size replaces the previous one, whose helpers
    /// exit). Call it between computations: work already running keeps its split, but products started after it use
    /// the new kernels, and kernels can differ in the last bits.
    public static func configure(_ configuration: ComputeConfiguration) {
        let previous: WorkerPool? = current.withLock { current in
            let old = current?.pool
            let pool = old?.threads == configuration.threads ? old! : WorkerPool(threads: configuration.threads)
            current = (configuration, pool)
            return old === pool ? nil : old
        }
        previous?.shutDown()
    }

    /// Computes on `threads` threads from now on, keeping the rest of the configuration.
    public static func use(threads: Int) {
        var changed = configuration
        changed.threads = threads
        configure(changed)
    }

    /// The thread count the environment asks for (`BACKPROP_THREADS`), else ``availableProcessors``.
    public static var defaultThreads: Int { ComputeConfiguration.fromEnvironment().threads }

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
