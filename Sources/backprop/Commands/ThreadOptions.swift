import ArgumentParser
import BackpropCore

/// `--threads`: how many threads the computing commands use.
struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Threads to compute on (default: BACKPROP_THREADS, else every processor this process may use). Results are the same, bit for bit, for any number.",
        valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be from 1 to 1024, got \(threads)")
        }
    }

    /// Sets the worker pool's size, before any computation.
    func apply() {
        if let threads { Parallelism.use(threads: threads) }
    }
}
