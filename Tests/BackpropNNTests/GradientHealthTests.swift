import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Testing

@Suite("Gradient health and model gradients")
struct GradientHealthTests {
    static func warnings(activation: Activation) throws -> [GradientHealthMonitor.Warning] {
        let data: InMemoryDataset<Float> = BuiltinDataset.spirals.make(count: 200, seed: 1)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2] + Array(repeating: 32, count: 9) + [2], activation: activation, seed: 2)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32, epochs: 5, seed: 3)
        var monitor = GradientHealthMonitor()
        var warnings: [GradientHealthMonitor.Warning] = []
        _ = try trainer.fit(model, on: data) { event in
            if case .epochEnded(let report) = event { warnings += monitor.observe(report) }
        }
        return warnings
    }

    /// The built-in demonstration: a deep sigmoid network's first layers get vanishing gradients; the same depth
    /// with ReLU does not.
    @Test func deepSigmoidVanishesWhereReLUDoesNot() throws {
        let sigmoid = try Self.warnings(activation: .sigmoid)
        #expect(sigmoid.contains { $0.kind == .vanishing && $0.parameter == "0.weight" }, "\(sigmoid)")
        #expect(sigmoid.first?.description.contains("ReLU-family activations") == true)
        #expect(try Self.warnings(activation: .relu).isEmpty)
    }

    @Test func explodingGradientsAreReported() {
        var monitor = GradientHealthMonitor()
        func report(_ epoch: Int, _ norm: Double) -> EpochReport {
            EpochReport(epoch: epoch, trainingLoss: 1, trainingAccuracy: nil, validationLoss: nil, validationAccuracy: nil,
                        testLoss: nil, testAccuracy: nil, learningRate: 0.1, seconds: 0,
                        parameterHealth: [ParameterHealth(name: "0.weight", gradientNorm: norm, weightNorm: 1, updateRatio: 0.1)])
        }
        #expect(monitor.observe(report(1, 0.5)).isEmpty)
        let warnings = monitor.observe(report(2, 500))
        #expect(warnings.map(\.kind) == [.exploding])
        #expect(warnings[0].description.contains("gradient clipping"))
    }

    @Test func meanLossGradientsMatchFiniteDifferences() throws {
        let data: InMemoryDataset<Double> = BuiltinDataset.blobs.make(count: 30, seed: 1)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 5, 3], activation: .tanh, seed: 4)
        // Batches of 7 must give the same mean gradient as one batch.
        let gradients = ModelGradients.meanLossGradients(of: model, loss: .softmaxCrossEntropy, on: data, batchSize: 7)
        let check = GradientCheck.run(at: model.parameters) { parameters in
            var copy = model
            copy.parameters = parameters
            return SoftmaxCrossEntropy()(copy(data.features), data.targets)
        }
        let engine = ModelGradients.meanLossGradients(of: model, loss: .softmaxCrossEntropy, on: data, batchSize: 30)
        #expect(check.passed(tolerance: 1e-6))
        for (a, b) in zip(gradients, engine) { #expect(TestData.maxDifference(a, b) < 1e-14) }
        let sampled = ModelGradients.check(model, loss: .softmaxCrossEntropy, inputs: data.features, targets: data.targets, elementsPerParameter: 4)
        #expect(sampled.map(\.name) == model.parameterNames)
        #expect(sampled.allSatisfy { $0.report.maxRelativeError < 1e-6 && $0.report.checkedElements <= 4 })
    }

    @Test func deadUnitsAreCounted() {
        let dense = Dense<Double>(weight: Tensor([[1, 0], [-1, 0], [0, 0]]), bias: Tensor([0, 0, 0]))
        let model = Sequential<Double>([dense, ActivationLayer<Double>(.relu)])
        let fractions = model.deadUnitFractions(on: Tensor([[1, 2], [2, 1]]))
        // Unit 1 (−x) and unit 2 (0) never fire on positive inputs.
        #expect(fractions.count == 1 && Swift.abs(fractions[0].fraction - 2.0 / 3) < 1e-15)
    }
}
