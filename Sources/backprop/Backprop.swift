import ArgumentParser
import BackpropCore

/// The `backprop` command-line tool.
@main
struct Backprop: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "backprop",
        abstract: "Train neural networks with backpropagation, natively in Swift.",
        version: "backprop \(version) (kernels: \(KernelBackend.preferred))",
        subcommands: [Train.self, Info.self],
        defaultSubcommand: Train.self
    )
}

/// `backprop info`: the version and the kernel backend in use.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version and the matrix-product backend.")

    func run() {
        print("backprop \(Backprop.version)")
        print("kernels: \(KernelBackend.preferred)")
    }
}
