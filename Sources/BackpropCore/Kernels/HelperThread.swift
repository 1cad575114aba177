import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A second thread that runs one half of a memory-bound kernel while the calling thread runs the other, with one
/// allocation per call (`DispatchQueue.concurrentPerform` makes three).
///
/// Worth it only for work of a few hundred microseconds or more: waking the helper takes microseconds.
final class HelperThread: @unchecked Sendable {
    // Sendable: `work` is written by the caller holding `callers` before `start` is signalled and cleared only after
    // `done` is waited for, so the two threads never touch it at the same time.

    /// The helper, or `nil` on a single-processor machine.
    static let shared: HelperThread? = {
        let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return processors > 1 ? HelperThread() : nil
    }()

    private let start = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let callers = Mutex(())
    private var work: ((Int) -> Void)?

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

    /// Calls `body(0)` on the calling thread and `body(1)` on the helper, returning when both have returned.
    func run(_ body: (Int) -> Void) {
        // One allocation per call remains: `withoutActuallyEscaping` boxes the closure's context.
        withoutActuallyEscaping(body) { body in
            callers.withLock { _ in
                work = body
                start.signal()
                body(0)
                done.wait()
                work = nil
            }
        }
    }

    private func serve() -> Never {
        while true {
            start.wait()
            work?(1)
            done.signal()
        }
    }
}
