import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Testing

@Suite("Training")
struct TrainingTests {
    @Test func xorIsLearnedByA241SigmoidNetwork() throws {
        let x = Tensor<Double>([[0, 0], [0, 1], [1, 0], [1, 1]])
        let y = Tensor<Double>(shape: [4, 1], elements: [0, 1, 1, 0])
        let data = try InMemoryDataset(features: x, values: y)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 4, 1], activation: .sigmoid, outputActivation: .sigmoid, seed: 3)
        let trainer = Trainer(loss: .halfSquaredError, optimizer: SGD(learningRate: 0.5, momentum: 0.9),
                              batchSize: 4, epochs: 3000, seed: 1)
        let result = try trainer.fit(model, on: data)
        let predictions = result.model(x).scalars
        #expect(predictions[0] < 0.1 && predictions[3] < 0.1, "\(predictions)")
        #expect(predictions[1] > 0.9 && predictions[2] > 0.9, "\(predictions)")
    }

    @Test func spiralsAreLearnedToNinetyNinePercent() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.spirals.make(seed: 7)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 64, 64, 2], activation: .relu, seed: 11)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32,
                              epochs: 300, stoppingCriteria: [.lossChange(below: 1e-5, patience: 5)], seed: 5)
        let result = try trainer.fit(model, on: data)
        let accuracy = trainer.evaluate(result.model, on: data).accuracy!
        #expect(accuracy >= 0.99, "training accuracy \(accuracy) after \(result.history.count) epochs: \(result.stopReason)")
    }

    @Test func sineIsFittedToASmallError() throws {
        let data: InMemoryDataset<Double> = BuiltinDataset.sine.make(seed: 2)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [1, 32, 32, 1], activation: .tanh, seed: 4)
        let trainer = Trainer(loss: .meanSquaredError, optimizer: Adam(learningRate: 0.01), batchSize: 32,
                              epochs: 200, seed: 3)
        let fitted = try trainer.fit(model, on: data).model
        guard case .values(let targets) = data.targets else { Issue.record("sine must be regression"); return }
        let metrics = RegressionMetrics(predictions: fitted(data.features).scalars, targets: targets.scalars)
        // The noise has σ = 0.05, so an RMSE near it is the best possible.
        #expect(metrics.rootMeanSquaredError < 0.08, "RMSE \(metrics.rootMeanSquaredError)")
        #expect(metrics.rSquared > 0.98)
    }

    /// Two classes on one logit: binary cross-entropy with class labels 0 and 1.
    @Test func moonsAreLearnedWithBinaryCrossEntropyOnOneOutput() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.moons.make(seed: 3)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 32, 1], activation: .relu, seed: 2)
        let trainer = Trainer(loss: .binaryCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32, epochs: 60, seed: 1)
        let result = try trainer.fit(model, on: data)
        let accuracy = trainer.evaluate(result.model, on: data).accuracy!
        #expect(accuracy >= 0.95, "accuracy \(accuracy)")
    }

    /// Evaluation and training use one definition of the mean squared error, also with several outputs.
    @Test func meanSquaredErrorEvaluatesAsItTrains() {
        let features = TestData.uniform(shape: [10, 2], seed: 5)
        let values = TestData.uniform(shape: [10, 3], seed: 6)
        let data = try! InMemoryDataset(features: features, values: values)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 4, 3], activation: .tanh, seed: 1)
        let trainer = Trainer(loss: .meanSquaredError, optimizer: SGD(learningRate: 0.1), batchSize: 4, epochs: 1, seed: 1)
        let whole = MeanSquaredError()(model(features), .values(values)).scalar
        #expect(Swift.abs(trainer.evaluate(model, on: data).loss - whole) < 1e-14)
    }

    static func trainBlobs(seed: UInt64, dropout: Bool = true) throws -> Sequential<Float> {
        let data: InMemoryDataset<Float> = BuiltinDataset.blobs.make(count: 120, seed: 1)
        var g = SeededGenerator(seed: 9)
        let model = Sequential<Float> {
            Dense(inputSize: 2, outputSize: 8, initializer: .heNormal, generator: &g)
            ActivationLayer(.relu)
            if dropout { Dropout(rate: 0.2) }
            Dense(inputSize: 8, outputSize: 3, generator: &g)
        }
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 16, epochs: 3, seed: seed)
        return try trainer.fit(model, on: data).model
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let a = try Self.trainBlobs(seed: 42).parameters
        let b = try Self.trainBlobs(seed: 42).parameters
        let c = try Self.trainBlobs(seed: 43).parameters
        #expect(a == b)
        #expect(a != c)
    }

    @Test func lossChangeCriterionStopsAndSaysWhy() throws {
        let data: InMemoryDataset<Double> = BuiltinDataset.blobs.make(count: 90, seed: 1)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 3], activation: .identity, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 0.05), batchSize: 90, epochs: 10_000,
                              stoppingCriteria: [.lossChange(below: 1e-4, patience: 3)], seed: 1)
        let result = try trainer.fit(model, on: data)
        guard case .lossConverged(let epoch, let change, _, _) = result.stopReason else {
            Issue.record("expected convergence, got \(result.stopReason)")
            return
        }
        #expect(epoch < 10_000 && change < 1e-4)
        let losses = result.history.suffix(4).map(\.trainingLoss)
        #expect(zip(losses.dropFirst(), losses).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
        #expect(result.stopReason.description.contains("converged after epoch \(epoch)"))
    }

    @Test func earlyStoppingRestoresTheBestWeights() throws {
        // A validation set with flipped labels: its loss rises as training improves the fit to the training set.
        let training: InMemoryDataset<Double> = BuiltinDataset.moons.make(count: 100, seed: 1)
        guard case .classes(let labels) = training.targets else { return }
        let flipped = try InMemoryDataset(features: training.features, labels: labels.map { 1 - $0 }, classCount: 2)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 8, 2], activation: .tanh, seed: 2)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.05), batchSize: 20, epochs: 50,
                              stoppingCriteria: [.earlyStopping(patience: 3, restoreBestWeights: true)], seed: 1)
        var lastEpoch = 0
        let result = try trainer.fit(model, on: training, validation: flipped) { event in
            if case .epochEnded(let report) = event { lastEpoch = report.epoch }
        }
        guard case .earlyStopping(let epoch, let best, let bestLoss, true, .validation) = result.stopReason else {
            Issue.record("expected early stopping, got \(result.stopReason)")
            return
        }
        #expect(epoch == lastEpoch && epoch - best == 3)
        // The returned model is the best epoch's: its validation loss is the best one recorded.
        #expect(Swift.abs(trainer.evaluate(result.model, on: flipped).loss - bestLoss) < 1e-12)
    }

    /// Without validation data, early stopping watches the training loss and says so.
    @Test func earlyStoppingNamesTheLossItWatches() throws {
        let data: InMemoryDataset<Double> = BuiltinDataset.moons.make(count: 40, seed: 1)
        let model = Sequential<Double>.multilayerPerceptron(sizes: [2, 4, 2], activation: .tanh, seed: 2)
        // A learning rate of 0 on whole, unshuffled batches: the same loss every epoch, so epoch 1 stays the best.
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 0), batchSize: 40, epochs: 10,
                              stoppingCriteria: [.earlyStopping(patience: 2, restoreBestWeights: false)], shuffles: false, seed: 1)
        let result = try trainer.fit(model, on: data)
        guard case .earlyStopping(3, 1, _, false, .training) = result.stopReason else {
            Issue.record("expected early stopping on the training loss, got \(result.stopReason)")
            return
        }
        #expect(result.stopReason.description.contains("the training loss last improved in epoch 1"))
    }

    @Test func nonFiniteLossStopsAtOnceKeepingFiniteWeights() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.sine.make(count: 64, seed: 1)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [1, 16, 1], activation: .relu, seed: 1)
        let trainer = Trainer(loss: .meanSquaredError, optimizer: SGD(learningRate: 1e6), batchSize: 8, epochs: 5, seed: 1)
        let result = try trainer.fit(model, on: data)
        guard case .nonFinite(let epoch, let batch, _) = result.stopReason else {
            Issue.record("expected a non-finite stop, got \(result.stopReason)")
            return
        }
        #expect(epoch >= 1 && batch >= 1)
        #expect(result.model.parameters.allSatisfy { $0.isFinite })
        #expect(result.stopReason.description.contains("epoch \(epoch), batch \(batch)"))
    }

    @Test func mismatchedDataIsADescriptiveError() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.blobs.make(count: 30, seed: 1)
        let wrongInput = Sequential<Float>.multilayerPerceptron(sizes: [5, 3], activation: .relu, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 0.1), epochs: 1, seed: 1)
        #expect(throws: TrainingError.inputSizeMismatch(model: 5, data: 2)) { try trainer.fit(wrongInput, on: data) }
        let wrongOutput = Sequential<Float>.multilayerPerceptron(sizes: [2, 4], activation: .relu, seed: 1)
        #expect(throws: TrainingError.outputSizeMismatch(model: 4, classes: 3)) { try trainer.fit(wrongOutput, on: data) }
        #expect(throws: DatasetError.countMismatch(features: 2, targets: 3)) {
            try InMemoryDataset(features: Tensor<Float>.zeros(shape: [2, 2]), labels: [0, 1, 1], classCount: 2)
        }
    }

    @Test func epochReportsCarryHealthAndTiming() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.circles.make(count: 64, seed: 1)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 8, 2], activation: .relu, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01, schedule: .step(every: 1, factor: 0.5)),
                              batchSize: 16, epochs: 2, seed: 1)
        var batches = 0
        let result = try trainer.fit(model, on: data, validation: data) { event in
            if case .batchEnded = event { batches += 1 }
        }
        #expect(batches == 8)
        #expect(result.history.map(\.learningRate) == [0.01, 0.005])
        let report = result.history[0]
        #expect(report.parameterHealth.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(report.parameterHealth.allSatisfy { $0.gradientNorm > 0 && $0.weightNorm.isFinite })
        #expect(report.seconds > 0 && report.validationAccuracy != nil && report.trainingAccuracy != nil)
    }

    @Test func modelSummaryAndNamedParameters() throws {
        var model = Sequential<Float>.multilayerPerceptron(sizes: [784, 128, 10], activation: .relu, seed: 1)
        #expect(model.parameterCount == 784 * 128 + 128 + 128 * 10 + 10)
        #expect(model.summary.contains("Dense(784 → 128)"))
        #expect(model.summary.contains("total parameters: 101770"))
        let copy = model
        try model.setParameter(named: "2.bias", to: Tensor.ones(shape: [10]))
        #expect(model.parameter(named: "2.bias")!.scalars.allSatisfy { $0 == 1 })
        #expect(copy.parameter(named: "2.bias")!.scalars.allSatisfy { $0 == 0 })  // value semantics
        #expect(throws: ParameterError.self) { try model.setParameter(named: "2.bias", to: Tensor.ones(shape: [3])) }
        #expect(throws: ParameterError.self) { try model.setParameter(named: "9.weight", to: Tensor.ones(shape: [3])) }
    }

    @Test func metrics() {
        let m = ClassificationMetrics(predictions: [0, 1, 1, 2, 2, 2], labels: [0, 1, 2, 2, 2, 0], classCount: 3)
        #expect(m.confusion == [[1, 0, 1], [0, 1, 0], [0, 1, 2]])
        #expect(Swift.abs(m.accuracy - 4.0 / 6) < 1e-15)
        #expect(m.precision(of: 2) == 2.0 / 3 && m.recall(of: 2) == 2.0 / 3)
        #expect(m.precision(of: 1) == 0.5 && m.recall(of: 1) == 1)
        #expect(Swift.abs(m.f1(of: 1) - 2 * 0.5 / 1.5) < 1e-15)
        let r = RegressionMetrics(predictions: [1, 2, 3], targets: [1, 2, 5])
        #expect(Swift.abs(r.meanAbsoluteError - 2.0 / 3) < 1e-15)
        #expect(Swift.abs(r.rootMeanSquaredError - (4.0 / 3).squareRoot()) < 1e-15)
        // SS_tot = (1−8/3)² + (2−8/3)² + (5−8/3)² = 26/3; SS_res = 4.
        #expect(Swift.abs(r.rSquared - (1 - 4 / (26.0 / 3))) < 1e-12)
    }
}
