import BackpropCore
import BackpropData
import BackpropNN
import Testing

@Suite("Interrupting and resuming training")
struct ResumeTests {
    static func setup() -> (Sequential<Float>, InMemoryDataset<Float>, Trainer) {
        let data: InMemoryDataset<Float> = BuiltinDataset.moons.make(count: 100, seed: 3)
        var g = SeededGenerator(seed: 4)
        let model = Sequential<Float> {
            Dense(inputSize: 2, outputSize: 12, initializer: .heNormal, generator: &g)
            ActivationLayer(.relu)
            Dropout(rate: 0.1)
            Dense(inputSize: 12, outputSize: 2, generator: &g)
        }
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.02), batchSize: 16, epochs: 6, stoppingCriteria: [.earlyStopping(patience: 10, restoreBestWeights: true)], seed: 9)
        return (model, data, trainer)
    }

    /// Reduce-on-plateau keeps its memory in the checkpoint.
    static func callbacks() -> [any Callback] { [ReduceLearningRateOnPlateau(factor: 0.5, patience: 1, minimum: 1e-4)] }

    static func summary(_ history: [EpochReport]) -> [[Double?]] {
        history.map { [$0.trainingLoss, $0.trainingAccuracy, $0.validationLoss, $0.learningRate] }
    }

    @Test(arguments: [(2, 3), (3, 0), (1, 6)])
    func resumedRunIsBitIdentical(interruptEpoch: Int, afterBatch: Int) throws {
        let (model, data, trainer) = Self.setup()
        let full = try trainer.fit(model, on: data, validation: data, callbacks: Self.callbacks())
        var batches = 0
        var epochsEnded = 0
        let first = try trainer.fit(model, on: data, validation: data, callbacks: Self.callbacks(), onEvent: { event in
            switch event {
            case .batchEnded: batches += 1
            case .epochEnded: epochsEnded += 1; batches = 0
            }
        }, shouldStop: {
            afterBatch == 0 ? epochsEnded == interruptEpoch : (epochsEnded == interruptEpoch - 1 && batches == afterBatch)
        })
        guard case .interrupted = first.stopReason else {
            Issue.record("expected an interruption, got \(first.stopReason)")
            return
        }
        let resumed = try trainer.fit(model, on: data, validation: data, resumingFrom: first.checkpoint, callbacks: Self.callbacks())
        #expect(resumed.stopReason == full.stopReason)
        #expect(resumed.model.parameters == full.model.parameters)
        #expect(resumed.checkpoint.optimizerStates == full.checkpoint.optimizerStates)
        #expect(Self.summary(resumed.history) == Self.summary(full.history))
        #expect(resumed.checkpoint.dropoutGenerator == full.checkpoint.dropoutGenerator)
    }
}
