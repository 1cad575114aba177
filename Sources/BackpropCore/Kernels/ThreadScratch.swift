#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scratch memory owned by the calling thread, kept between calls and grown when a call needs more, so that a kernel
/// run on any thread (the caller's or a ``WorkerPool`` helper's) needs no allocation once warmed up. Freed when the thread
/// exits.
///
/// Not re-entrant within a slot: a kernel holds a slot's buffer for the duration of `body` and must not call another
/// user of the same slot.
enum ThreadScratch {
    /// Which of a thread's buffers.
    enum Slot {
        /// A kernel's own working memory (packed panels).
        case kernel
        /// An operand the calling thread prepares once and its helpers read while they run their kernels (a packed
        /// copy of B shared by the parts of a product).
        case sharedOperand
    }

    /// Cache-line alignment of the buffer; its first line holds the capacity in bytes.
    private static let alignment = 64

    private static func makeKey() -> pthread_key_t {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { free($0) }
        precondition(status == 0, "ThreadScratch: pthread_key_create failed (\(status))")
        return key
    }

    private static let kernelKey = makeKey()
    private static let sharedOperandKey = makeKey()

    /// Calls `body` with this thread's scratch memory of `slot`, at least `count` elements of `S`, uninitialised.
    static func withBuffer<S, R>(of _: S.Type, count: Int, slot: Slot = .kernel,
                                 _ body: (UnsafeMutablePointer<S>) -> R) -> R {
        let key = slot == .kernel ? kernelKey : sharedOperandKey
        let bytes = Swift.max(count, 1) * MemoryLayout<S>.stride
        var block = pthread_getspecific(key)
        if block == nil || block!.load(as: Int.self) < bytes {
            free(block)
            var fresh: UnsafeMutableRawPointer?
            let status = posix_memalign(&fresh, alignment, alignment + bytes)
            precondition(status == 0 && fresh != nil, "ThreadScratch: cannot allocate \(bytes) bytes")
            fresh!.storeBytes(of: bytes, as: Int.self)
            pthread_setspecific(key, fresh)
            block = fresh
        }
        return body((block! + alignment).bindMemory(to: S.self, capacity: count))
    }
}
