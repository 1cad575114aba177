import BackpropCore
import Synchronization

/// Rows of another dataset, selected by index: a validation split, a fold, a sample of a large dataset.
///
/// Batches come from the base's own ``TrainingData/fill(_:at:)`` and ``TrainingData/prefetch(at:)``, through index
/// arrays kept from batch to batch, so a subset trains as fast as its base and, after the first batch, allocates
/// nothing per step.
public struct DatasetSubset<Scalar: TensorScalar>: TrainingData {
    /// The dataset the rows come from.
    public let base: AnyTrainingData<Scalar>
    /// The base's row of each of this subset's rows.
    public let indices: [Int]
    private let scratch = IndexScratch()

    /// The rows `indices` of `base`, in that order.
    ///
    /// - Precondition: every index is a row of `base`.
    public init(_ base: some TrainingData<Scalar>, indices: [Int]) {
        for index in indices {
            precondition(index >= 0 && index < base.count, "DatasetSubset: row \(index) outside 0..<\(base.count)")
        }
        self.base = base as? AnyTrainingData<Scalar> ?? AnyTrainingData(base)
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var featureCount: Int { base.featureCount }
    public var classCount: Int? { base.classCount }

    public func batch(at rows: [Int]) -> (inputs: Tensor<Scalar>, targets: Targets<Scalar>) {
        base.batch(at: rows.map { indices[$0] })
    }

    public func fill(_ batch: inout TrainingBatch<Scalar>, at rows: ArraySlice<Int>) {
        scratch.arrays.withLock { arrays in
            Self.map(rows, through: indices, into: &arrays.fill)
            base.fill(&batch, at: arrays.fill[...])
        }
    }

    public func prefetch(at rows: ArraySlice<Int>) {
        scratch.arrays.withLock { arrays in
            Self.map(rows, through: indices, into: &arrays.prefetch)
            base.prefetch(at: arrays.prefetch[...])
        }
    }

    private static func map(_ rows: ArraySlice<Int>, through indices: [Int], into result: inout [Int]) {
        result.removeAll(keepingCapacity: true)
        for row in rows { result.append(indices[row]) }
    }
}

/// The base's rows of the batch a ``DatasetSubset`` is filling and of the one it is prefetching (a class, so that
/// copies of the subset share it; a lock, so that they may run on any thread).
private final class IndexScratch: Sendable {
    let arrays = Mutex((fill: [Int](), prefetch: [Int]()))
}
