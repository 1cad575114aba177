import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

/// Stops after a given epoch, saying why.
private struct StopAfter: Callback {
    var epoch: Int
    var events: [String] = []

    mutating func trainingBegan<Scalar>(_ training: inout TrainingControl<Scalar>) throws { events.append("begin") }
    mutating func epochBegan<Scalar>(_ epoch: Int, _ training: inout TrainingControl<Scalar>) throws { events.append("epoch \(epoch)") }
    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        if report.epoch == epoch { training.stop(.callback(epoch: report.epoch, reason: "enough")) }
    }
}

private struct Failing: Callback, Error, Equatable {
    mutating func batchEnded<Scalar>(_ report: BatchReport, _ training: inout TrainingControl<Scalar>) throws {
        if report.batch == 2 { throw self }
    }
}

@Suite("Callbacks")
struct CallbackTests {
    static let data: InMemoryDataset<Float> = BuiltinDataset.moons.make(count: 64, seed: 2)

    static func model() -> Sequential<Float> {
        Sequential<Float>.multilayerPerceptron(sizes: [2, 8, 2], activation: .relu, seed: 1)
    }

    @Test func aCallbackStopsTrainingAndSaysWhy() throws {
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(), batchSize: 16, epochs: 10, seed: 1)
        let result = try trainer.fit(Self.model(), on: Self.data, callbacks: [StopAfter(epoch: 3)])
        #expect(result.stopReason == .callback(epoch: 3, reason: "enough"))
        #expect(result.history.count == 3)
        #expect("\(result.stopReason)" == "stopped after epoch 3: enough")
    }

    @Test func anErrorACallbackThrowsEndsTraining() {
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(), batchSize: 16, epochs: 3, seed: 1)
        #expect(throws: Failing()) { try trainer.fit(Self.model(), on: Self.data, callbacks: [Failing()]) }
    }

    /// A network without parameters has a loss that never improves: reduce-on-plateau cuts the rate every
    /// `patience` epochs, down to its floor.
    @Test func reduceOnPlateauCutsTheRateAfterPatienceEpochs() throws {
        let frozen = Sequential<Float>([ActivationLayer(.identity)], inputShape: [2])
        // In a fixed order, so that every epoch's mean loss is the same sum, to the last bit.
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 1), batchSize: 16, epochs: 9,
                              shuffles: false, seed: 1)
        let result = try trainer.fit(frozen, on: Self.data,
                                     callbacks: [ReduceLearningRateOnPlateau(factor: 0.1, patience: 2, minimum: 0.005)])
        let rates = result.history.map(\.learningRate)
        let expected = [1, 1, 1, 0.1, 0.1, 0.01, 0.01, 0.005, 0.005]
        #expect(zip(rates, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 * $1 }, "\(rates)")
    }

    @Test func aSchedulerCallbackSetsEachEpochsRate() throws {
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01, schedule: .exponential(decay: 0.5)),
                              batchSize: 16, epochs: 4, seed: 1)
        let result = try trainer.fit(Self.model(), on: Self.data,
                                     callbacks: [LearningRateScheduler { epoch, scheduled in epoch == 2 ? 0.003 : scheduled }])
        #expect(result.history.map(\.learningRate) == [0.01, 0.003, 0.0025, 0.00125])
    }

    @Test func csvLoggerWritesARowPerEpoch() throws {
        let path = CommandRunner.temporaryDirectory("csv-logger") + "/metrics.csv"
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(), batchSize: 16, epochs: 3, seed: 1)
        let result = try trainer.fit(Self.model(), on: Self.data, validation: Self.data, callbacks: [CSVLogger(path: path)])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.first.map(String.init) == CSVLogger.header && lines.count == 4)
        #expect(lines.last!.hasPrefix("3,") && lines.last!.contains("\(result.history[2].trainingLoss)"))
    }

    /// Checkpoints written by the callback resume to the same weights as the uninterrupted run.
    @Test func modelCheckpointResumesExactly() throws {
        let path = CommandRunner.temporaryDirectory("model-checkpoint") + "/run.safetensors"
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(), batchSize: 16, epochs: 4, seed: 3)
        let model = Self.model()
        let info = ModelInfo(task: .classification, classNames: ["a", "b"], featureNames: nil, preprocessing: .none,
                             loss: .softmaxCrossEntropy, labelColumn: nil,
                             training: TrainingRecord(data: "moons", optimizer: "adam", learningRate: 0.001, batchSize: 16,
                                                      seed: 3, stopReason: "", history: []))
        let full = try trainer.fit(model, on: Self.data, callbacks: [ModelCheckpoint(path: path, every: 2, model: model, info: info)])
        let file = try CheckpointFile<Float>.read(from: path)
        #expect(file.checkpoint.completedEpochs == 4 && file.saved.info.training?.history.count == 4)
        var shorter = trainer
        shorter.epochs = 2
        _ = try shorter.fit(model, on: Self.data, callbacks: [ModelCheckpoint(path: path, every: 2, model: model, info: info)])
        let resumed = try trainer.fit(model, on: Self.data, resumingFrom: try CheckpointFile<Float>.read(from: path).checkpoint)
        #expect(resumed.model.parameters == full.model.parameters)
    }
}
