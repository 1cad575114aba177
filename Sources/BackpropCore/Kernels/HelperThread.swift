import CProcessor
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A kernel divided into two parts that may run at the same time, for ``HelperThread/run(_:)``.
///
/// Conforming types hold what the kernel needs (pointers, sizes) and nothing that needs releasing; the two parts must
/// write to disjoint memory. Part 1 is called through the protocol on the helper thread, where a generic conforming
/// type is not specialised: keep `run(part:)` to a few index computations and a call to a `TensorScalar` kernel
/// requirement, whose `Float` and `Double` witnesses are.
protocol TwoPartWork {
    /// Runs part `part`, 0 or 1.
    func run(part: Int)
}

extension TwoPartWork {
    /// The elements of `0..<count` that part `part` covers: part 0 the first half, rounded down to a multiple of
    /// `granularity` (so that, with the element count of a cache line, the two threads never write the same line),
    /// part 1 the rest.
    func range(of part: Int, in count: Int, granularity: Int = 1) -> Range<Int> {
        let half = Self.halfway(in: count, granularity: granularity)
        return part == 0 ? 0..<half : half..<count
    }

    /// Where part 1 of `0..<count` starts (see ``range(of:in:granularity:)``).
    static func halfway(in count: Int, granularity: Int = 1) -> Int {
        count / 2 / granularity * granularity
    }
}

/// A second thread that runs one half of a kernel while the calling thread runs the other.
///
/// The hand-off allocates nothing and makes no system call while the helper is awake: the caller publishes the work
/// and bumps a counter the helper spins on, then spins on the helper's completion counter. After
/// ``idleSpin`` without work the helper sleeps on a semaphore, so an idle process does not keep a core busy; the
/// first hand-off after that pays one wake-up (tens of microseconds).
///
/// Backprop runs OpenBLAS on one thread and splits large products over this pair instead (see ``GEMM``), so the
/// process never has more busy threads than the two that do the work.
final class HelperThread: @unchecked Sendable {
    // Sendable: `work` is written by the caller holding `callers` before `posted` is incremented (sequentially
    // consistent) and cleared only after `finished` has caught up, so the two threads never touch it at the same time.

    /// The helper, or `nil` on a single-processor machine.
    static let shared: HelperThread? = {
        let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return processors > 1 ? HelperThread() : nil
    }()

    /// How long the helper keeps spinning for the next hand-off before it goes to sleep.
    static let idleSpin: Duration = .microseconds(200)

    /// Hand-offs published by callers, and completed by the helper; equal when the helper is idle.
    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Set while the helper sleeps (or is about to) on `wake`.
    private let sleeping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// One caller at a time; a caller that finds it taken (another thread, or a nested call from inside a part) runs
    /// both parts itself.
    private let callers = Mutex(())
    private var work: (type: any TwoPartWork.Type, value: UnsafeRawPointer)?

    private init() {
        let context = Unmanaged.passRetained(self).toOpaque()  // the helper lives as long as the process
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<HelperThread>.fromOpaque(context!).takeUnretainedValue().serve()
        }, context)
        precondition(status == 0, "HelperThread: pthread_create failed (\(status))")
        pthread_detach(thread)
    }

    /// Runs `work.run(part: 0)` on the calling thread and `work.run(part: 1)` on the helper, returning when both have
    /// returned.
    func run<Work: TwoPartWork>(_ work: Work) {
        let handedOff: Bool? = callers.withLockIfAvailable { _ in
            withUnsafePointer(to: work) { pointer in
                self.work = (Work.self, UnsafeRawPointer(pointer))
                let ticket = posted.add(1, ordering: .sequentiallyConsistent).newValue
                if sleeping.load(ordering: .sequentiallyConsistent) { wake.signal() }
                work.run(part: 0)
                while finished.load(ordering: .acquiring) != ticket { backprop_spin_pause() }
                self.work = nil
            }
            return true
        }
        if handedOff == nil {
            work.run(part: 0)
            work.run(part: 1)
        }
    }

    private func serve() -> Never {
        var completed = 0
        while true {
            waitForWork(after: completed)
            if let work { Self.runSecondPart(of: work.type, at: work.value) }
            completed += 1
            finished.store(completed, ordering: .releasing)
        }
    }

    private static func runSecondPart<Work: TwoPartWork>(of _: Work.Type, at pointer: UnsafeRawPointer) {
        pointer.assumingMemoryBound(to: Work.self).pointee.run(part: 1)
    }

    /// Returns once `posted` has moved past `completed`: spinning at first, then asleep until a caller signals.
    private func waitForWork(after completed: Int) {
        let clock = ContinuousClock()
        var deadline = clock.now + Self.idleSpin
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
            deadline = clock.now + Self.idleSpin
        }
    }
}
