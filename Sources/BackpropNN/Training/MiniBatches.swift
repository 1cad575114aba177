import BackpropCore

/// A dataset's samples in mini-batches, in a shuffled or the stored order: what a training loop of your own iterates.
///
/// ```swift
/// for batch in data.batches(size: 32, seed: UInt64(epoch)) {
///     print(batch.inputs.shape, batch.targets.count)
/// }
/// ```
public struct MiniBatches<Data: TrainingData>: Sequence {
    /// The dataset.
    public let data: Data
    /// Samples per batch (the last batch may be smaller).
    public let size: Int
    /// The order of the samples.
    public let order: [Int]

    /// Batches of `size` over `data` in `order`.
    public init(_ data: Data, size: Int, order: [Int]) {
        precondition(size > 0, "MiniBatches: the batch size must be positive, got \(size)")
        self.data = data
        self.size = size
        self.order = order
    }

    /// Draws the next batch.
    public struct Iterator: IteratorProtocol {
        let batches: MiniBatches
        var start = 0

        public mutating func next() -> TrainingBatch<Data.Scalar>? {
            guard start < batches.order.count else { return nil }
            var batch = TrainingBatch<Data.Scalar>()
            let end = Swift.min(start + batches.size, batches.order.count)
            batches.data.fill(&batch, at: batches.order[start..<end])
            start = end
            return batch
        }
    }

    public func makeIterator() -> Iterator { Iterator(batches: self) }
}

extension TrainingData {
    /// The samples in mini-batches of `size`, shuffled by a generator seeded with `seed` (as the trainer shuffles
    /// an epoch), or in the stored order when `seed` is `nil`.
    public func batches(size: Int, seed: UInt64? = nil) -> MiniBatches<Self> {
        guard let seed else { return MiniBatches(self, size: size, order: Array(0..<count)) }
        var generator = SeededGenerator(seed: seed)
        return MiniBatches(self, size: size, order: generator.permutation(of: count))
    }
}
