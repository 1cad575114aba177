import CProcessor
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A kernel divided into parts that may run at the same time, for ``WorkerPool/run(_:)``.
///
/// The number of parts is chosen from the work's size, not from the number of threads (but see ``parts``), and parts
/// write disjoint memory; partial results (sums) are combined by the caller in part order. A kernel therefore computes
/// the same bits on any number of threads: the threads only decide which parts run where.
///
/// Conforming types hold what the kernel needs (pointers, sizes) and nothing that needs releasing. Parts run on a
/// helper thread are called through the protocol, where a generic conforming type is not specialised: keep
/// `run(part:)` to a few index computations and a call to a `TensorScalar` kernel requirement, whose `Float` and
/// `Double` witnesses are.
public protocol ParallelWork {
    /// How many parts (1 or more): a function of the work, not of the threads (element-wise work may follow the
    /// threads, since its split changes no bit). It must not change while the work runs: a count that depends on
    /// the pool is stored when the work is made, so that every thread sees the same split.
    var parts: Int { get }

    /// The most threads worth running the parts on (1 for work too small to hand off); the parts are the same
    /// whatever it is.
    var maximumThreads: Int { get }

    /// Runs part `part`, from 0 to `parts − 1`.
    func run(part: Int)
}

extension ParallelWork {
    /// No limit: the parts run on as many threads as the pool has.
    public var maximumThreads: Int { .max }

    /// The elements of `0..<count` that part `part` of `parts` covers: consecutive ranges of nearly equal size,
    /// each boundary rounded down to a multiple of `granularity` (with the element count of a cache line, two parts
    /// never write the same line).
    public func range(of part: Int, in count: Int, granularity: Int = 1) -> Range<Int> {
        let start = Self.boundary(part, of: parts, in: count, granularity: granularity)
        return start..<Self.boundary(part + 1, of: parts, in: count, granularity: granularity)
    }

    /// Where part `part` of `parts` starts in `0..<count` (`count` for `part == parts`).
    public static func boundary(_ part: Int, of parts: Int, in count: Int, granularity: Int = 1) -> Int {
        part >= parts ? count : count * part / parts / granularity * granularity
    }
}

/// Threads that run the parts of a kernel together with the calling thread: the caller runs parts 0, T, 2T, …
/// and helper `h` parts `h`, `h + T`, … for `T` threads (or fewer, when the work has fewer parts).
///
/// A hand-off allocates nothing and makes no system call while the helpers are awake: the caller publishes the work
/// and bumps a counter each needed helper spins on, then spins on each one's completion counter. A helper that has
/// had no work for ``idleSpin`` sleeps on a semaphore, so an idle process keeps no core busy; the first hand-off
/// after that pays one wake-up (tens of microseconds). Helpers a kernel does not need are not woken.
///
/// Backprop runs OpenBLAS on one thread and splits products over these threads instead (see ``GEMM``), so the
/// process never has more busy threads than the pool's.
public final class WorkerPool: @unchecked Sendable {
    // Sendable: `work` is written by the caller holding `callers` before any helper's `posted` is incremented
    // (sequentially consistent) and cleared only after every posted helper has caught up, so no two threads touch it
    // at the same time.

    /// The number of threads, the caller's included.
    public let threads: Int

    /// How long a helper keeps spinning for the next hand-off before it goes to sleep.
    public static let idleSpin: Duration = .microseconds(200)

    private let helpers: [Helper]
    /// One caller at a time; a caller that finds it taken (another thread, or a nested call from inside a part) runs
    /// every part itself.
    private let callers = Mutex(())
    private var work: (type: any ParallelWork.Type, value: UnsafeRawPointer, threads: Int)?
    /// Set by ``shutDown()``, under `callers`: the helpers are gone, so callers run every part themselves.
    private var stopped = false
    private let handOffCount = Atomic<Int>(0)

    /// How many times work has been handed to helpers since the pool started (for measuring what a step costs).
    public var handOffs: Int { handOffCount.load(ordering: .relaxed) }

    /// A pool of `threads` threads: the caller and `threads − 1` helpers, started now.
    public init(threads: Int) {
        precondition(threads >= 1, "WorkerPool: needs at least one thread, got \(threads)")
        self.threads = threads
        helpers = (1..<threads).map { Helper(index: $0) }
        for helper in helpers { helper.start(in: self) }
    }

    /// Stops the helpers once they are idle (they exit; a pool is not used after this).
    public func shutDown() {
        callers.withLock { _ in
            stopped = true
            for helper in helpers { helper.stop() }
        }
    }

    /// The number of parts element-wise work of `count` elements is split into: one per thread, each of at least
    /// `minimum` elements (one part below `2 · minimum`). Only for work whose every element is computed on its own,
    /// so that the split cannot change a bit.
    public func elementwiseParts(count: Int, minimum: Int) -> Int {
        count >= 2 * minimum ? Swift.min(threads, count / minimum) : 1
    }

    /// Runs every part of `work`, spread over the pool's threads, and returns when all have returned.
    public func run<Work: ParallelWork>(_ work: Work) {
        let parts = work.parts
        let active = Swift.min(threads, parts, work.maximumThreads)
        guard active > 1 else {
            for part in 0..<parts { work.run(part: part) }
            return
        }
        let handedOff: Bool? = callers.withLockIfAvailable { _ in
            guard !stopped else { return false }
            handOffCount.add(1, ordering: .relaxed)
            return withUnsafePointer(to: work) { pointer in
                self.work = (Work.self, UnsafeRawPointer(pointer), active)
                for helper in helpers[..<(active - 1)] { helper.post() }
                for part in stride(from: 0, to: parts, by: active) { work.run(part: part) }
                for helper in helpers[..<(active - 1)] { helper.waitUntilDone() }
                self.work = nil
                return true
            }
        }
        if handedOff != true {
            for part in 0..<parts { work.run(part: part) }
        }
    }

    /// Runs helper `index`'s share of the published work.
    fileprivate func runShare(of index: Int) {
        guard let work else { return }
        Self.runParts(of: work.type, at: work.value, from: index, by: work.threads)
    }

    private static func runParts<Work: ParallelWork>(of _: Work.Type, at pointer: UnsafeRawPointer, from first: Int, by step: Int) {
        let work = pointer.assumingMemoryBound(to: Work.self)
        for part in stride(from: first, to: work.pointee.parts, by: step) { work.pointee.run(part: part) }
    }
}

/// One helper thread of a ``WorkerPool``, with its own counters so that a hand-off wakes only the helpers it needs.
private final class Helper: @unchecked Sendable {
    let index: Int
    /// Hand-offs posted to this helper, and completed by it; equal when it is idle.
    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Set while the helper sleeps (or is about to) on `wake`.
    private let sleeping = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    init(index: Int) {
        self.index = index
    }

    func start(in pool: WorkerPool) {
        let context = Unmanaged.passRetained(Context(helper: self, pool: pool)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let status = pthread_create(&thread, nil, { context in
            let context = Unmanaged<Context>.fromOpaque(context!).takeRetainedValue()
            context.helper.serve(context.pool)
            return nil
        }, context)
        precondition(status == 0, "WorkerPool: pthread_create failed (\(status))")
        pthread_detach(thread)
    }

    private final class Context {
        let helper: Helper
        let pool: WorkerPool
        init(helper: Helper, pool: WorkerPool) {
            self.helper = helper
            self.pool = pool
        }
    }

    func post() {
        posted.add(1, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) { wake.signal() }
    }

    func waitUntilDone() {
        let ticket = posted.load(ordering: .relaxed)
        while finished.load(ordering: .acquiring) != ticket { backprop_spin_pause() }
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        post()
    }

    private func serve(_ pool: WorkerPool) {
        var completed = 0
        while true {
            waitForWork(after: completed)
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            pool.runShare(of: index)
            completed += 1
            finished.store(completed, ordering: .releasing)
        }
    }

    /// Returns once `posted` has moved past `completed`: spinning at first, then asleep until a caller signals.
    private func waitForWork(after completed: Int) {
        let clock = ContinuousClock()
        var deadline = clock.now + WorkerPool.idleSpin
        var spins = 0
        while posted.load(ordering: .acquiring) == completed {
            backprop_spin_pause()
            spins += 1
            guard spins % 64 == 0, clock.now >= deadline else { continue }
            // A caller that bumps `posted` after our store to `sleeping` sees it and signals; one that bumped it
            // before is seen by the load below. A signal that finds us awake only makes a later wait return early.
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if posted.load(ordering: .sequentiallyConsistent) == completed { wake.wait() }
            sleeping.store(false, ordering: .sequentiallyConsistent)
            deadline = clock.now + WorkerPool.idleSpin
        }
    }
}
