import BackpropCore
import BackpropData
import BackpropNN
import Testing

/// Data-parallel training over a communicator, with "processes" as threads (`ThreadGroup`); the same code runs over
/// MPI in `.ci/mpi_check.py`.
@Suite("Data-parallel training")
struct DataParallelTests {
    static func data() -> InMemoryDataset<Float> { BuiltinDataset.spirals.make(count: 200, seed: 3) }

    static func model(_ description: String = "dense 16 relu, dense 8 relu, dense 2") -> Sequential<Float> {
        try! ModelDescription(parsing: description).build(inputShape: [2], seed: 5)
    }

    static func trainer(batchSize: Int, epochs: Int = 3, communicator: (any Communicator)? = nil) -> Trainer {
        Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: batchSize, epochs: epochs,
                seed: 11, communicator: communicator)
    }

    /// Every rank ends with the same weights, bit for bit, and those are the weights of one process training on the
    /// global batch, to rounding (the gradient sums are added in another order).
    @Test(arguments: [2, 3])
    func ranksAgreeAndMatchOneProcessOnTheGlobalBatch(ranks: Int) throws {
        let results = try runRanks(ranks) { member in
            try Self.trainer(batchSize: 12, communicator: member).fit(Self.model(), on: Self.data())
        }
        for result in results.dropFirst() {
            #expect(result.model.parameters == results[0].model.parameters)
            #expect(result.history.map(\.trainingLoss) == results[0].history.map(\.trainingLoss))
        }
        let single = try Self.trainer(batchSize: 12 * ranks).fit(Self.model(), on: Self.data())
        for (a, b) in zip(results[0].model.parameters, single.model.parameters) {
            let difference = Double((a - b).norm) / Double(b.norm)
            #expect(difference < 1e-5, "relative difference \(difference)")
        }
        for (a, b) in zip(results[0].history, single.history) {
            #expect(Swift.abs(a.trainingLoss - b.trainingLoss) < 1e-5 * b.trainingLoss)
        }
    }

    /// A world of one process is no world at all: the same bits as training without a communicator.
    @Test func aWorldOfOneIsTheSingleProcessPath() throws {
        let alone = try Self.trainer(batchSize: 16).fit(Self.model("dense 16 relu, dropout 0.2, dense 2"), on: Self.data())
        let one = try runRanks(1) { member in
            try Self.trainer(batchSize: 16, communicator: member).fit(Self.model("dense 16 relu, dropout 0.2, dense 2"), on: Self.data())
        }[0]
        #expect(one.model.parameters == alone.model.parameters)
    }

    /// Dropout masks and batch-norm statistics differ by rank, yet the ranks stay identical: the running statistics
    /// are averaged with the gradients. A run interrupted mid-epoch and resumed from rank 0's checkpoint on every rank
    /// ends with the uninterrupted run's weights.
    @Test func convolutionalRanksWithBatchNormAndDropoutResumeExactly() throws {
        var g = SeededGenerator(seed: 2)
        let images = Tensor<Float>.uniform(shape: [60, 36], in: 0...1, using: &g)
        let data = try InMemoryDataset(features: images, labels: (0..<60).map { $0 % 3 }, classCount: 3)
        let model: Sequential<Float> = try ModelDescription(parsing: "conv 4 3x3 relu, batchnorm, maxpool 2, flatten, dropout 0.25, dense 3")
            .build(inputShape: [1, 6, 6], seed: 2)
        let full = try runRanks(2) { member in
            try Self.trainer(batchSize: 8, communicator: member).fit(model, on: data)
        }
        #expect(full[0].model.parameters == full[1].model.parameters && full[0].model.state == full[1].model.state)
        let interrupted = try runRanks(2) { member in
            var steps = 0
            return try Self.trainer(batchSize: 8, communicator: member).fit(model, on: data, onEvent: { event in
                if case .batchEnded = event { steps += 1 }
            }, shouldStop: { member.rank == 1 && steps >= 5 })
        }
        guard case .interrupted(let epoch, let batch) = interrupted[0].stopReason else {
            Issue.record("expected an interruption, got \(interrupted[0].stopReason)")
            return
        }
        #expect(interrupted[1].stopReason == .interrupted(epoch: epoch, batch: batch), "the ranks stopped at different batches")
        let checkpoint = interrupted[0].checkpoint
        let resumed = try runRanks(2) { member in
            try Self.trainer(batchSize: 8, communicator: member).fit(model, on: data, resumingFrom: checkpoint)
        }
        #expect(resumed[0].model.parameters == full[0].model.parameters && resumed[1].model.parameters == full[0].model.parameters)
        #expect(resumed[0].model.state == full[0].model.state)
    }

    /// The last global batch can leave a rank with no samples: it contributes nothing, and the mean is over the others.
    @Test func aRankWithoutSamplesInTheLastBatch() throws {
        // 200 samples in global batches of 3 × 24 = 72: the last has 56, so rank 2 gets 8 and a batch of 30 leaves rank 2 none.
        let results = try runRanks(3) { member in
            try Self.trainer(batchSize: 30, epochs: 2, communicator: member).fit(Self.model(), on: Self.data())
        }
        #expect(results[0].model.parameters == results[2].model.parameters)
        let single = try Self.trainer(batchSize: 90, epochs: 2).fit(Self.model(), on: Self.data())
        for (a, b) in zip(results[0].model.parameters, single.model.parameters) {
            #expect(Double((a - b).norm) / Double(b.norm) < 1e-5)
        }
    }
}
