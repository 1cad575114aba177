import BackpropKit
import BackpropTestSupport
import Foundation
import Testing

// Every Swift example of the README, the DocC articles and the doc comments, compiled and run here. The last test
// checks that each example's lines appear here in order, so an example that stops compiling fails the build, and
// one that changes without this file fails the test. (The README's library program is ReadmeProgram.swift.)

/// The documentation's loss of one's own (also used by ModelTests).
struct LogCosh: Loss {
    var name: String { "log-cosh" }
    func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
        let r = output - targets.dense(classCount: output.shape[1])
        return (softplus(2 * r) - r - Scalar(0.6931471805599453)).sum(alongAxis: 1)
    }
}

private struct StopAtAccuracy: Callback {
    var target: Double
    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {
        if let accuracy = report.validationAccuracy, accuracy >= target {
            training.stop(.callback(epoch: report.epoch, reason: "validation accuracy reached \(target)"))
        }
    }
}

@Suite("Documentation examples")
struct DocumentationExamples {
    static let spirals: InMemoryDataset<Float> = BuiltinDataset.spirals.make(count: 200, seed: 7)

    @Test func gradientsOfAnExpression() {
        let w = Tensor<Double>([[0.15, 0.20], [0.25, 0.30]]).requiringGradient()
        let x = Tensor<Double>([[0.05, 0.10]])
        let z = x.matmul(w, transposeB: true)                      // z = W x
        let loss = (0.5 * square(sigmoid(z) - Tensor([[0.01, 0.99]]))).sum()
        let grads = loss.gradients(withRespectTo: [w, z])          // [∂J/∂W, δ = ∂J/∂z]

        let report = GradientCheck.run(at: [w.detached]) { p in (0.5 * square(sigmoid(x.matmul(p[0], transposeB: true)))).sum() }
        print(report.passed(tolerance: 1e-6))
        #expect(grads.count == 2 && report.passed(tolerance: 1e-6) && loss.scalar > 0)
    }

    @Test func tensorsAndTheirGradients() {
        let w = Tensor<Double>([[0.15, 0.20], [0.25, 0.30]]).requiringGradient()
        let x = Tensor<Double>([[0.05, 0.10]])
        let loss = sigmoid(x.matmul(w, transposeB: true)).sum()
        let dW = loss.gradients(withRespectTo: [w])[0]
        #expect(dW.shape == [2, 2])
    }

    @Test func gradientCheck() {
        let report = GradientCheck.run(at: [Tensor<Double>([[0.5, -1.2]])]) { x in sigmoid(x[0]).sum() }
        print(report)            // max relative error per input, worst element
        precondition(report.passed(tolerance: 1e-6))
    }

    @Test func sequentialByHand() {
        var generator = SeededGenerator(seed: 1)
        let model = Sequential<Float> {
            Dense(inputSize: 2, outputSize: 16, initializer: .heUniform, generator: &generator)
            ActivationLayer(.relu)
            Dense(inputSize: 16, outputSize: 3, generator: &generator)
        }
        #expect(model.parameterCount == 2 * 16 + 16 + 16 * 3 + 3)
    }

    @Test func layerDescriptions() throws {
        let layers: [LayerDescription] = [
            .convolution(32, kernel: 3, activation: .relu), .maxPool(2),
            .convolution(64, kernel: 3, activation: .relu), .maxPool(2),
            .flatten, .dropout(0.5), .dense(10),
        ]
        let network: Sequential<Float> = try ModelDescription(layers).build(inputShape: [1, 28, 28], seed: 1)
        #expect(network.producedOutputSize == 10)
    }

    @Test func theModelInItsDocComment() throws {
        let (training, test) = Self.spirals.split(validationFraction: 0.25, seed: 1)
        let file = URL(filePath: CommandRunner.temporaryDirectory("doc-model")).appending(path: "spirals.safetensors")
        var model = try Model<Float>(inputShape: [2], layers: [.dense(64, activation: .relu), .dense(2)], seed: 1)
        model.compile(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01))
        try model.fit(training, epochs: 100)
        print(model.evaluate(on: test))                        // loss 0.04, accuracy 99.5 %
        try model.save(to: file)                             // a file URL
        let restored = try Model<Float>.load(from: file)
        #expect(restored.network.parameters == model.network.parameters)
    }

    @Test func trainerAndCallbacks() throws {
        let (training, test) = Self.spirals.split(validationFraction: 0.25, seed: 1)
        let data = training
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 32, 2], activation: .relu, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 1e-3),
                              batchSize: 128, epochs: 5, seed: 42)
        let result = try trainer.fit(model, on: training, validation: test) { event in
            if case .epochEnded(let report) = event { print(report.epoch, report.trainingLoss) }
        }
        #expect(result.history.count == 5)
        let stopped = try trainer.fit(model, on: data, validation: test, callbacks: [StopAtAccuracy(target: 0.9)])
        #expect(stopped.history.count <= 5)
        let scheduled = try trainer.fit(model, on: data, callbacks: [
            LearningRateScheduler { epoch, rate in epoch <= 5 ? rate : rate * 0.5 },
        ])
        #expect(scheduled.history.allSatisfy { $0.learningRate == 1e-3 })
    }

    /// Outside a launcher there is no MPI world: the trainer trains alone.
    @Test func trainingOnSeveralProcesses() throws {
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 1e-3), batchSize: 64, epochs: 10,
                              seed: 42, communicator: try MPICommunicator.launched())
        #expect(trainer.communicator == nil)
    }

    @Test func aLossOfOnesOwn() throws {
        let x = Tensor<Float>([[0.5], [1.5]])
        #expect(LogCosh()(x, .values(Tensor([[0.5], [1.0]]))).scalar > 0)
    }

    @Test func trainingLoops() throws {
        let data = Self.spirals
        var network: Sequential<Float> = try ModelDescription(parsing: "dense 16 relu, dense 2").build(inputShape: [2], seed: 1)
        var losses: [Double] = []
        var step = TrainingStep(model: network, loss: .softmaxCrossEntropy)
        var optimizer = ModelOptimizer(Adam(learningRate: 1e-3), for: network)
        var generator = SeededGenerator(seed: 42)
        for epoch in 1...10 {
            optimizer.epoch = epoch
            for batch in data.batches(size: 32, seed: UInt64(epoch)) {
                let (loss, gradients) = step.valueWithGradient(at: &network, on: batch, generator: &generator)
                optimizer.update(&network, along: gradients)
                losses.append(loss)
            }
        }
        #expect(losses.last! < losses.first!)

        let x = data.features, labels = data.targets.classIndices
        let (value, grads) = valueWithGradient(at: network) { model in
            SoftmaxCrossEntropy()(model(x), .classes(labels)) + 1e-4 * square(model.parameters[0]).sum()
        }
        optimizer.update(&network, along: grads)
        #expect(value.scalar > 0 && grads["0.weight"]?.shape == [16, 2])

        var model = network
        let (loss, gradients) = valueWithGradient(at: model) { model in
            SoftmaxCrossEntropy()(model(x), .classes(labels))
        }
        #expect(loss.scalar > 0)
        do {
            var optimizer = ModelOptimizer(Adam(learningRate: 1e-3), for: model)
            optimizer.update(&model, along: gradients)
        }
        for epoch in 1...2 {
            for batch in data.batches(size: 32, seed: UInt64(epoch)) {
                print(batch.inputs.shape, batch.targets.count)
            }
        }
    }

    /// Each Swift block of the README, the DocC articles and the doc comments appears above, line by line in order.
    @Test func everyExampleIsCompiledHere() throws {
        let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let here = try String(contentsOf: URL(filePath: #filePath), encoding: .utf8)
        let compiled = Self.codeLines(here)
        var documents = [root.appending(path: "README.md")]
        let enumerator = FileManager.default.enumerator(at: root.appending(path: "Sources"), includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            if ["md", "swift"].contains(url.pathExtension) { documents.append(url) }
        }
        var checked = 0
        for document in documents {
            var text = try String(contentsOf: document, encoding: .utf8)
            if document.pathExtension == "swift" {
                // Doc comments only, their `///` removed; other lines break blocks.
                text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                    let trimmed = line.drop(while: { $0 == " " })
                    guard trimmed.hasPrefix("///") else { return "\u{0}" }
                    let rest = trimmed.dropFirst(3)
                    return String(rest.hasPrefix(" ") ? rest.dropFirst() : rest)
                }.joined(separator: "\n")
            }
            for block in text.components(separatedBy: "```swift\n").dropFirst() {
                guard let body = block.components(separatedBy: "```").first, !body.contains("\u{0}") else { continue }
                let lines = Self.codeLines(body)
                // The README's library program is checked line for line by ReadmeProgramTests.
                if lines.contains("let file = URL(filePath: \"spirals.safetensors\")") { continue }
                let found = compiled.indices.contains { start in
                    start + lines.count <= compiled.count && zip(lines, compiled[start...]).allSatisfy { $1.contains($0) }
                }
                #expect(found, "\(document.lastPathComponent): an example is not in DocumentationExamples.swift:\n\(body)")
                checked += 1
            }
        }
        #expect(checked >= 15, "only \(checked) examples found")
    }

    /// The non-empty lines of `text` without leading and trailing spaces, imports left out.
    static func codeLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }
}
