import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C (SIGINT) and SIGTERM during training: the first asks training to stop after the current batch (the
/// trainer then writes a checkpoint); a second exits at once with status 130 without touching any file.
enum Interruption {
    private static let count = Atomic<Int>(0)

    /// Installs the handlers.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            // Only async-signal-safe work here: an atomic increment, and _exit on the second signal.
            if Interruption.count.add(1, ordering: .relaxed).newValue >= 2 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have started us with these signals blocked (the mask is inherited across exec).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Whether a stop was requested.
    static var requested: Bool { count.load(ordering: .relaxed) > 0 }
}
