import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

/// `backprop explain`: one backpropagation step on one sample, printed in the textbook's notation.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one forward pass, backward pass and update, layer by layer, with every number.",
        discussion: """
            Without --model, uses the 2-2-2 sigmoid network of the classic worked example with the ½-squared-error \
            loss. Every number comes from the engine that trains. The JSON form (--format json) is stable: see \
            the README's "Watch backprop work" section.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown, json }

    @Option(help: "A model file from `backprop train --output` (default: the built-in 2-2-2 example).")
    var model: String?

    @Option(parsing: .unconditional, help: "The input sample, comma-separated (default: the example's 0.05,0.10).")
    var input: String?

    @Option(parsing: .unconditional, help: "The target: comma-separated values, or a class name for a classification model.")
    var target: String?

    @Option(help: "With --model: take the input and target from this dataset (builtin:NAME, fashion-mnist, IDX directory or CSV) instead of --input/--target.")
    var data: String?

    @Option(parsing: .unconditional, help: "With --data: the 0-based row to explain.")
    var row = 0

    @Option(parsing: .unconditional, help: "Learning rate η of the gradient-descent update.")
    var learningRate = 0.5

    @Option(parsing: .unconditional, help: "Repeat the step this many times and show the loss falling.")
    var steps = 1

    @Option(help: "Output format: text, markdown or json.")
    var format: Format = .text

    @Flag(help: "Print every value of wide layers instead of a summary.")
    var full = false

    @Option(help: "Also write the computation graph of the step (Graphviz DOT) to this file.")
    var graph: String?

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
    }

    func run() throws {
        if let graph { try checkOutput(graph, for: "--graph", writes: .other("a DOT graph"), force: false) }
        let (model, x, y, loss) = try setup()
        // A network of dense layers is shown in the textbook's notation (z, a, δ per dense layer); any other layer by
        // layer. Dense layers are numbered without the activations between them, as that text numbers them.
        let dense = model.layers.allSatisfy { $0 is Dense<Double> || $0 is ActivationLayer<Double> || $0 is Dropout<Double> }
        let output: (text: (Bool) -> String, json: String)
        let symbol: (Int, String) -> String
        if dense {
            let (first, losses) = descend(from: model) { BackpropTrace(model: $0, input: x, target: y, loss: loss, learningRate: learningRate) }
            let renderer = ExplainRenderer(trace: first, losses: losses, full: full)
            output = (renderer.text(markdown:), renderer.json)
            symbol = { layer, name in (name == "weight" ? "W" : "b") + superscript(model.layers[...layer].filter { $0 is Dense<Double> }.count) }
        } else {
            let (first, losses) = descend(from: model) { LayerTrace(model: $0, input: x, target: y, loss: loss, learningRate: learningRate) }
            let renderer = LayerTraceRenderer(trace: first, losses: losses, full: full)
            output = (renderer.text(markdown:), renderer.json)
            symbol = { layer, name in (name == "weight" ? "W" : name == "bias" ? "b" : name) + superscript(layer + 1) }
        }
        switch format {
        case .text: print(output.text(false), terminator: "")
        case .markdown: print(output.text(true), terminator: "")
        case .json: print(output.json)
        }
        if let graph { try writeGraph(of: model, input: x, target: y, loss: loss, to: graph, name: symbol) }
    }

    /// `--steps` gradient-descent steps from `model`, each traced by `trace`: the first trace, and every step's loss.
    private func descend<Trace: ExplainedStep>(from model: Sequential<Double>, _ trace: (Sequential<Double>) -> Trace) -> (Trace, [Double]) {
        let first = trace(model)
        var losses = [first.loss]
        var network = first.updatedModel
        for _ in 1..<steps {
            let next = trace(network)
            losses.append(next.loss)
            network = next.updatedModel
        }
        return (first, losses)
    }

    /// Writes the computation graph of `model`'s loss on one sample, its parameters named by `name(layer, parameter)`.
    private func writeGraph(of model: Sequential<Double>, input: Tensor<Double>, target: Tensor<Double>, loss: any Loss,
                            to path: String, name: (Int, String) -> String) throws {
        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        let value = loss(tracked(input), .values(target), reduction: .sum)
        var names: [ObjectIdentifier: String] = [:]
        for (leaf, (layer, parameter)) in zip(leaves, zip(model.parameterLayerIndices, model.parameterNames)) {
            names[ObjectIdentifier(leaf.graphNode!)] = name(layer, String(parameter.split(separator: ".").last ?? ""))
        }
        try AtomicFileWriter.write(GraphExport.dot(loss: value, names: names), to: path)
    }

    private func setup() throws -> (Sequential<Double>, Tensor<Double>, Tensor<Double>, Loss) {
        guard let model else {
            let example = Sequential<Double>.workedExample
            let x = try input.map { try parse($0, "--input", count: 2) } ?? example.input
            let y = try target.map { try parse($0, "--target", count: 2) } ?? example.target
            return (example.model, x, y, .halfSquaredError)
        }
        let saved = try SavedModel<Double>.read(from: model)
        let inputs = saved.model.requiredInputSize ?? 0
        let outputs = saved.model.producedOutputSize ?? 0
        if let data {
            let prepared: PreparedData<Double> = try DataSource(parsing: data).prepare(for: saved.info, split: .test, seed: 42)
            guard prepared.hasTargets else {
                throw DataError.mismatch("\(data) has no label column '\(saved.info.labelColumn ?? "")', so there is no target to explain against")
            }
            guard row >= 0, row < prepared.data.count else {
                throw ValidationError("--row \(row) is outside the \(prepared.data.count) rows of \(data)")
            }
            guard prepared.data.featureCount == inputs else {
                throw DataError.mismatch("\(data) has \(prepared.data.featureCount) features per sample, the model takes \(inputs)")
            }
            let (x, targets) = prepared.data.batch(at: [row])
            let y: Tensor<Double> = switch targets {
            case .classes(let labels): outputs == 1 ? Tensor([[Double(labels[0])]]) : Tensor.oneHot(labels: labels, classCount: outputs)
            case .values(let values): values
            }
            return (saved.model, x, y, saved.info.loss)
        }
        guard let input else { throw ValidationError("--input is required with --model (\(inputs) comma-separated values)") }
        guard let target else { throw ValidationError("--target is required with --model") }
        let raw = try parse(input, "--input", count: inputs)
        let x = try saved.info.preprocessing.apply(to: raw)
        let y: Tensor<Double>
        if let classes = saved.info.classNames {
            guard let label = classes.firstIndex(of: target) else {
                throw ValidationError("--target '\(target)' is not one of the model's classes (\(classes.joined(separator: ", ")))")
            }
            y = outputs == 1 ? Tensor([[Double(label)]]) : Tensor.oneHot(labels: [label], classCount: outputs)
        } else {
            // A regression model is trained on the standardised target: explain the step it would take.
            let scaling = saved.info.targetScaling ?? TargetScaling(mean: 0, standardDeviation: 1)
            let raw = try parse(target, "--target", count: outputs)
            y = Tensor(shape: raw.shape, elements: raw.scalars.map(scaling.standardized))
        }
        return (saved.model, x, y, saved.info.loss)
    }

    private func parse(_ text: String, _ flag: String, count: Int) throws -> Tensor<Double> {
        let values = text.split(separator: ",").map { Double($0.filter { $0 != " " }) }
        guard values.count == count, values.allSatisfy({ $0?.isFinite == true }) else {
            throw ValidationError("\(flag) needs \(count) comma-separated numbers, got '\(text)'")
        }
        return Tensor(shape: [1, count], elements: values.map { $0! })
    }
}

/// ℓ as a superscript in parentheses: ⁽¹⁾.
func superscript(_ n: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return "⁽" + String(String(n).map { digits[Int(String($0))!] }) + "⁾"
}

/// One traced gradient-descent step, as `explain` repeats it.
protocol ExplainedStep {
    var loss: Double { get }
    var updatedModel: Sequential<Double> { get }
}

extension BackpropTrace<Double>: ExplainedStep {}
extension LayerTrace<Double>: ExplainedStep {}
