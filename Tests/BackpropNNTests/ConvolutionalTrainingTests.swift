import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

@Suite("Convolutional networks in training")
struct ConvolutionalTrainingTests {
    /// 8×8 images of a horizontal (class 0) or vertical (class 1) bar at a random position, with noise.
    static func bars(count: Int, seed: UInt64) -> InMemoryDataset<Float> {
        var generator = SeededGenerator(seed: seed)
        var pixels: [Float] = []
        var labels: [Int] = []
        for _ in 0..<count {
            let label = Int(generator.next() % 2), position = Int(generator.next() % 8)
            for row in 0..<8 {
                for column in 0..<8 {
                    let onBar = label == 0 ? row == position : column == position
                    pixels.append((onBar ? 1 : 0) + Float(generator.nextUnitInterval() * 0.3))
                }
            }
            labels.append(label)
        }
        return try! InMemoryDataset(features: Tensor(shape: [count, 64], elements: pixels), labels: labels, classCount: 2)
    }

    static func model(seed: UInt64) -> Sequential<Float> {
        var g = SeededGenerator(seed: seed)
        return Sequential<Float>(inputShape: [1, 8, 8]) {
            Conv2D(inputChannels: 1, outputChannels: 4, kernelSize: (3, 3), padding: .same, useBias: false, generator: &g)
            BatchNorm(features: 4)
            ActivationLayer(.relu)
            MaxPool2D(size: 2)
            Flatten()
            Dropout(rate: 0.25)
            Dense(inputSize: 64, outputSize: 2, generator: &g)
        }
    }

    static let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 16,
                                 epochs: 4, stoppingCriteria: [.earlyStopping(patience: 10, restoreBestWeights: false)], seed: 5)

    @Test func batchNormUpdatesItsRunningStatisticsInTraining() {
        var layer = BatchNorm<Double>(features: 2, momentum: 0.1)
        let x = TestData.uniform(shape: [3, 2, 2, 2], in: -1...3, seed: 1)
        var context = ForwardContext.training(generator: SeededGenerator(seed: 0))
        _ = layer.applyUpdatingState(x, context: &context)
        for channel in 0..<2 {
            var values: [Double] = []
            for n in 0..<3 { for i in 0..<2 { for j in 0..<2 { values.append(x[n, channel, i, j]) } } }
            let mean = values.reduce(0, +) / 12
            let unbiased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 11
            #expect(Swift.abs(layer.runningMean[channel] - 0.1 * mean) < 1e-15)
            #expect(Swift.abs(layer.runningVariance[channel] - (0.9 + 0.1 * unbiased)) < 1e-15)
        }
        // Inference leaves the state alone and uses it.
        var inference = ForwardContext.inference
        let before = layer.state
        let y = layer.applyUpdatingState(x, context: &inference)
        #expect(layer.state == before)
        let expected = (x[0, 1, 0, 0] - layer.runningMean[1]) / Foundation.sqrt(layer.runningVariance[1] + 1e-5)
        #expect(Swift.abs(y[0, 1, 0, 0] - expected) < 1e-12)
    }

    @Test func aSmallConvolutionalNetworkLearns() throws {
        let data = Self.bars(count: 256, seed: 1), test = Self.bars(count: 128, seed: 2)
        let result = try Self.trainer.fit(Self.model(seed: 3), on: data, test: test)
        let accuracy = try #require(result.history.last?.testAccuracy)
        #expect(accuracy > 0.95, "test accuracy \(accuracy)")
        // The running statistics moved away from their initial values and travel with the model.
        let trained = result.model.layers[1] as! BatchNorm<Float>
        #expect(trained.runningMean != Tensor<Float>.zeros(shape: [4]))
        #expect(result.checkpoint.state == result.model.state)
    }

    /// A run with batch normalisation interrupted mid-epoch, saved to a checkpoint file, read back and resumed,
    /// equals the uninterrupted run bit for bit: parameters, running statistics, optimizer state, history.
    @Test func resumingThroughACheckpointFileIsBitIdentical() throws {
        let data = Self.bars(count: 100, seed: 4)
        let model = Self.model(seed: 6)
        let full = try Self.trainer.fit(model, on: data, validation: data)
        var batches = 0, epochs = 0
        let first = try Self.trainer.fit(model, on: data, validation: data, onEvent: { event in
            switch event {
            case .batchEnded: batches += 1
            case .epochEnded: epochs += 1; batches = 0
            }
        }, shouldStop: { epochs == 1 && batches == 3 })
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("conv-resume-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let info = ModelInfo(task: .classification, classNames: ["horizontal", "vertical"], featureNames: nil,
                             preprocessing: .none, loss: .softmaxCrossEntropy, labelColumn: nil, training: nil)
        try CheckpointFile(saved: SavedModel(model: first.model, info: info), checkpoint: first.checkpoint).write(to: path)
        let read = try CheckpointFile<Float>.read(from: path)
        #expect(read.checkpoint.state == first.checkpoint.state && !read.checkpoint.state.isEmpty)
        #expect(read.checkpoint.best?.state == first.checkpoint.best?.state)
        let resumed = try Self.trainer.fit(read.saved.model, on: data, validation: data, resumingFrom: read.checkpoint)
        #expect(resumed.model.parameters == full.model.parameters)
        #expect(resumed.model.state == full.model.state)
        #expect(resumed.checkpoint.optimizerStates == full.checkpoint.optimizerStates)
        #expect(resumed.history.map(\.trainingLoss) == full.history.map(\.trainingLoss))
    }

    @Test func earlyStoppingRestoresTheBestRunningStatistics() throws {
        let data = Self.bars(count: 64, seed: 7)
        var trainer = Self.trainer
        trainer.epochs = 30
        trainer.optimizer.learningRate = 0.5  // diverges after a few epochs, so an earlier epoch stays the best
        trainer.stoppingCriteria = [.earlyStopping(patience: 2, restoreBestWeights: true)]
        let result = try trainer.fit(Self.model(seed: 8), on: data, validation: data)
        guard case .earlyStopping(_, let bestEpoch, _, true, _) = result.stopReason else {
            Issue.record("expected early stopping with restored weights, got \(result.stopReason)")
            return
        }
        let best = try #require(result.checkpoint.best)
        #expect(best.epoch == bestEpoch)
        #expect(result.model.state == best.state && result.model.parameters == best.parameters)
    }
}
