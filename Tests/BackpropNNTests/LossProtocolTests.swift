import BackpropCore
import BackpropNN
import BackpropTestSupport
import Testing

/// A loss of a user's own, written as the ``Loss`` documentation shows: log cosh(a − T) per unit, summed per sample.
struct LogCosh: Loss {
    var name: String { "log-cosh" }

    func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
        let r = output - targets.dense(classCount: output.shape[1])
        // log cosh r = softplus(2r) − r − log 2, stable for large |r|.
        return (softplus(2 * r) - r - Scalar(0.6931471805599453)).sum(alongAxis: 1)
    }
}

@Suite("Losses as a protocol")
struct LossProtocolTests {
    static let builtIns: [any Loss] = [
        .halfSquaredError, .meanSquaredError, .meanAbsoluteError, .huber(delta: 0.5), .crossEntropy,
        .crossEntropy(labelSmoothing: 0.1), .softmaxCrossEntropy, .softmaxCrossEntropy(labelSmoothing: 0.2),
        .binaryCrossEntropy, LogCosh(),
    ]

    /// The batch loss is the mean of the per-sample losses; weights of 1 give the mean, and weights scale each
    /// sample's share.
    @Test(arguments: builtIns.indices)
    func batchLossIsTheMeanOfThePerSampleLosses(_ index: Int) {
        let loss = Self.builtIns[index]
        let output = TestData.uniform(shape: [5, 3], in: 0.05...0.95, seed: 3)
        let targets = Targets<Double>.classes([0, 2, 1, 1, 0])
        let perSample = loss.perSampleLoss(output, targets)
        #expect(perSample.shape == [5])
        let mean = loss(output, targets).scalar
        #expect(Swift.abs(perSample.sum().scalar / 5 - mean) <= 1e-14 * Swift.max(1, Swift.abs(mean)), "\(loss)")
        #expect(Swift.abs(loss(output, targets, reduction: .sum).scalar - 5 * mean) <= 1e-13 * Swift.max(1, Swift.abs(mean)))
        let ones = loss(output, targets, reduction: .weightedMean([1, 1, 1, 1, 1])).scalar
        #expect(Swift.abs(ones - mean) <= 1e-14 * Swift.max(1, Swift.abs(mean)), "\(loss)")
        let weights = [0.5, 2, 0, 1, 3]
        let weighted = loss(output, targets, reduction: .weightedMean(weights)).scalar
        let expected = zip(perSample.scalars, weights).map { $0 * $1 }.reduce(0, +) / 5
        #expect(Swift.abs(weighted - expected) <= 1e-14 * Swift.max(1, Swift.abs(expected)), "\(loss)")
    }

    /// Every built-in kind is registered, and its name (with parameters) parses back to the same kind.
    @Test func everyBuiltInKindIsRegistered() {
        for loss in Self.builtIns.dropLast() {
            let parsed = LossKinds.loss(named: loss.name)
            #expect(parsed.map { type(of: $0) == type(of: loss) && $0.name == loss.name } == true, "\(loss.name)")
        }
        #expect(LossKinds.loss(named: "half-squared-error") is HalfSquaredError)
        #expect(LossKinds.loss(named: "log-cosh") == nil)
        #expect(LossKinds.loss(named: "log-cosh", custom: [LogCosh()]) is LogCosh)
    }

    /// A loss of one's own trains a network through the trainer (the graph path) and the loss falls.
    @Test func aCustomLossTrains() throws {
        let x = Tensor<Float>(shape: [64, 1], elements: (0..<64).map { Float($0) / 32 - 1 })
        let y = x * 2 + 0.5
        let data = try InMemoryDataset(features: x, values: y)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [1, 8, 1], activation: .tanh, seed: 2)
        let trainer = Trainer(loss: LogCosh(), optimizer: Adam(learningRate: 0.05), batchSize: 16, epochs: 40, seed: 1)
        let result = try trainer.fit(model, on: data)
        let first = try #require(result.history.first?.trainingLoss), last = try #require(result.history.last?.trainingLoss)
        #expect(last < first / 20, "log-cosh loss went from \(first) to \(last)")
    }
}
