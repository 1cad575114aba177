import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

/// `backprop gradcheck`: the finite-difference check on a real model and its loss.
struct Gradcheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Check a saved model's gradients against central finite differences in Float64.")

    @OptionGroup var options: ModelAndDataOptions

    @Option(parsing: .unconditional, help: "How many samples of the data the loss is computed on.")
    var samples = 8

    @Option(parsing: .unconditional, help: "How many elements of each parameter to check (a seeded random sample).")
    var elements = 20

    @Option(parsing: .unconditional, help: "The largest relative error that passes.")
    var tolerance = 1e-6

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive, got \(samples)") }
        guard elements > 0 else { throw ValidationError("--elements must be positive, got \(elements)") }
        guard tolerance > 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a positive number, got \(tolerance)") }
    }

    func run() throws {
        let (saved, prepared) = try options.load(Double.self, targetsFor: "check gradients against")
        let n = Swift.min(samples, prepared.data.count)
        let (x, targets) = prepared.data.batch(at: Array(0..<n))
        let loss = saved.info.loss
        let results = ModelGradients.check(saved.model, loss: loss, inputs: x, targets: targets, elementsPerParameter: elements)
        print("gradient check of \(options.model) on \(n) samples of \(options.data) (\(loss), Float64, tolerance \(tolerance))")
        var failed = false
        for (name, report) in results {
            let pass = report.maxRelativeError < tolerance
            failed = failed || !pass
            print("  \(name): \(report.checkedElements) elements, max relative error \(report.maxRelativeError)  \(pass ? "PASS" : "FAIL")")
        }
        print(failed ? "FAIL" : "PASS")
        if failed { throw ExitCode.failure }
    }
}

/// `backprop gradients`: ∂J/∂θ of the mean loss, written as safetensors for comparison with other frameworks.
struct Gradients: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write ∂J/∂θ of the mean loss over the data for every parameter (safetensors, named like the weights).")

    @OptionGroup var options: ModelAndDataOptions

    @Option(help: "The file to write.")
    var output: String

    @Flag(help: "Overwrite --output even if it is a Backprop model or checkpoint.")
    var force = false

    func run() throws {
        try checkOutput(output, for: "--output", writes: .other("gradients"), force: force)
        let (saved, prepared) = try options.load(Double.self, targetsFor: "differentiate the loss against")
        let loss = saved.info.loss
        let gradients = ModelGradients.meanLossGradients(of: saved.model, loss: loss, on: prepared.data)
        let tensors = zip(saved.model.parameterNames, gradients).map { (name: $0, entry: Safetensors.Entry($1)) }
        try AtomicFile.write(try Safetensors.encode(tensors, metadata: ["loss": "\(loss)", "samples": "\(prepared.data.count)"]), to: output)
        print("wrote ∂J/∂θ of the mean \(loss) over \(prepared.data.count) samples to \(output)")
    }
}
