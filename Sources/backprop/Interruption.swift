import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C (SIGINT) and SIGTERM.
///
/// Before training starts, the first signal ends the process at once: nothing has been computed that a checkpoint
/// could keep. During training, the first asks training to stop after the current batch (the trainer then writes a
/// checkpoint, and the tool exits with 128 + the signal: 130 for SIGINT, 143 for SIGTERM); a second exits at once,
/// without touching any file.
enum Interruption {
    private static let count = Atomic<Int>(0)
    private static let signalNumber = Atomic<Int32>(0)
    private static let training = Atomic<Bool>(false)

    /// Installs the handlers.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            // Only async-signal-safe work here: atomic operations, and _exit.
            Interruption.signalNumber.store(signal, ordering: .relaxed)
            let first = Interruption.count.add(1, ordering: .relaxed).newValue == 1
            if !first || !Interruption.training.load(ordering: .relaxed) { _exit(128 + signal) }
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

    /// From now on the first signal asks training to stop instead of ending the process.
    static func trainingStarted() {
        training.store(true, ordering: .relaxed)
    }

    /// Whether a stop was requested.
    static var requested: Bool { count.load(ordering: .relaxed) > 0 }

    /// The exit status for a requested stop: 128 + the signal's number.
    static var exitStatus: Int32 { 128 + signalNumber.load(ordering: .relaxed) }
}
