import ArgumentParser
import BackpropCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `backprop` command-line tool.
@main
struct Backprop: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "backprop",
        abstract: "Train neural networks with backpropagation, natively in Swift.",
        version: "backprop \(version) (kernels: \(KernelBackend.preferred))",
        subcommands: [Train.self, Evaluate.self, Predict.self, Inspect.self, Export.self, Import.self, Explain.self, Gradcheck.self, Gradients.self, Rules.self, Info.self],
        defaultSubcommand: Train.self
    )

    /// Runs the tool: usage mistakes exit with status 2, failures with 1, each with one line on standard error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            terminate(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)  // --help and --version print and exit 0
            }
            let isUsage = code == .validationFailure || error is ValidationError
            if isUsage {
                printErrorLines(fullMessage(for: error))
            } else {
                printError("error: \(error)")
            }
            terminate(isUsage ? 2 : 1)
        }
    }
}

/// `backprop info`: the version, the matrix-product backend and the instruction set of the element-wise kernels.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version and the kernels in use.")

    func run() {
        print("backprop \(Backprop.version)")
        print("kernels: \(KernelBackend.preferred)")
        print("element-wise kernels: \(KernelBackend.elementwiseInstructionSet)")
        print("threads: \(Parallelism.threads) (of \(Parallelism.availableProcessors) processors available; BACKPROP_THREADS or --threads chooses)")
        if let hint = KernelBackend.preferred.performanceHint { print("hint: \(hint)") }
    }
}

private func terminate(_ code: Int32) -> Never { exit(code) }
