import BackpropCore
import CProcessor

/// A source of labelled samples that the ``Trainer`` draws mini-batches from.
///
/// Implementations decide how samples are stored (a float tensor, bytes scaled per batch, …); the trainer only asks
/// for the rows at given indices.
public protocol TrainingData<Scalar>: Sendable {
    /// The element type of the batches.
    associatedtype Scalar: TensorScalar

    /// The number of samples.
    var count: Int { get }
    /// The number of input features per sample.
    var featureCount: Int { get }
    /// The number of classes for classification data; `nil` for regression targets.
    var classCount: Int? { get }

    /// The samples at `indices`, in that order: inputs `[indices.count, featureCount]` and their targets.
    func batch(at indices: [Int]) -> (inputs: Tensor<Scalar>, targets: Targets<Scalar>)

    /// Overwrites `batch` with the samples at `indices`, in that order, reusing its buffers when it already holds a
    /// batch of that size. The trainer calls this once per step; the default implementation calls ``batch(at:)``.
    func fill(_ batch: inout TrainingBatch<Scalar>, at indices: ArraySlice<Int>)

    /// A hint that the samples at `indices` will be filled next: the trainer calls it with the next batch's indices
    /// after the current batch's forward and backward pass, so that a source can start loading them while the
    /// weights are updated. It must return quickly and change nothing observable; the default implementation does
    /// nothing.
    func prefetch(at indices: ArraySlice<Int>)
}

extension TrainingData {
    public func fill(_ batch: inout TrainingBatch<Scalar>, at indices: ArraySlice<Int>) {
        (batch.inputs, batch.targets) = self.batch(at: Array(indices))
    }

    public func prefetch(at indices: ArraySlice<Int>) {}
}

/// A mini-batch that ``TrainingData/fill(_:at:)`` overwrites step after step, so that drawing a batch of a size seen
/// before allocates nothing.
public struct TrainingBatch<Scalar: TensorScalar>: Sendable {
    /// `[samples, featureCount]`.
    public var inputs: Tensor<Scalar>
    /// One target per sample.
    public var targets: Targets<Scalar>

    /// An empty batch.
    public init() {
        inputs = Tensor.zeros(shape: [0, 0])
        targets = .classes([])
    }

    /// Makes ``inputs`` a `[rows, features]` matrix for the caller to overwrite, keeping its storage when it already
    /// has that shape (its elements are then stale).
    public mutating func reshapeInputs(rows: Int, features: Int) {
        if inputs.shape != [rows, features] { inputs = Tensor.zeros(shape: [rows, features]) }
    }

    /// Sets class targets to `labels[i]` for each `i` in `indices`, reusing the current label array's storage.
    public mutating func setClasses(_ labels: [Int], at indices: ArraySlice<Int>) {
        var classes: [Int] = []
        if case .classes(let current) = targets { classes = current }
        targets = .classes([])  // leaves `classes` the only reference, so it is reused, not copied
        classes.removeAll(keepingCapacity: true)
        for i in indices { classes.append(labels[i]) }
        targets = .classes(classes)
    }

    /// Starts loading `labels[i]` for each `i` in `indices` into the processor's caches, for a later
    /// ``setClasses(_:at:)`` with the same indices; call it from ``TrainingData/prefetch(at:)``. Labels drawn at
    /// random from a large array otherwise come from main memory one by one. Indices outside `labels` are skipped.
    public static func prefetchClasses(_ labels: [Int], at indices: ArraySlice<Int>) {
        labels.withUnsafeBufferPointer { labels in
            guard let base = labels.baseAddress else { return }
            for i in indices where i >= 0 && i < labels.count {
                backprop_prefetch(base + i, MemoryLayout<Int>.size)
            }
        }
    }
}

/// Samples held in memory as a feature matrix and targets.
public struct InMemoryDataset<Scalar: TensorScalar>: TrainingData {
    /// `[count, featureCount]`.
    public var features: Tensor<Scalar>
    /// One target per row.
    public var targets: Targets<Scalar>
    /// The number of classes (classification), or `nil` (regression).
    public let classCount: Int?

    /// Creates a classification dataset.
    ///
    /// - Throws: ``DatasetError`` when the features are not a matrix, the counts differ or a label is out of range.
    public init(features: Tensor<Scalar>, labels: [Int], classCount: Int) throws {
        guard features.rank == 2 else { throw DatasetError.notAMatrix(features.shape) }
        guard features.shape[0] == labels.count else {
            throw DatasetError.countMismatch(features: features.shape[0], targets: labels.count)
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw DatasetError.labelOutOfRange(row: bad, label: labels[bad], classCount: classCount)
        }
        self.features = features
        targets = .classes(labels)
        self.classCount = classCount
    }

    /// Creates a regression dataset with a target row per sample.
    ///
    /// - Throws: ``DatasetError`` when either is not a matrix or the counts differ.
    public init(features: Tensor<Scalar>, values: Tensor<Scalar>) throws {
        guard features.rank == 2 else { throw DatasetError.notAMatrix(features.shape) }
        guard values.rank == 2 else { throw DatasetError.notAMatrix(values.shape) }
        guard features.shape[0] == values.shape[0] else {
            throw DatasetError.countMismatch(features: features.shape[0], targets: values.shape[0])
        }
        self.features = features
        targets = .values(values)
        classCount = nil
    }

    public var count: Int { features.shape[0] }
    public var featureCount: Int { features.shape[1] }

    public func batch(at indices: [Int]) -> (inputs: Tensor<Scalar>, targets: Targets<Scalar>) {
        switch targets {
        case .classes(let labels): (features.gatheringRows(indices), .classes(indices.map { labels[$0] }))
        case .values(let values): (features.gatheringRows(indices), .values(values.gatheringRows(indices)))
        }
    }

    public func fill(_ batch: inout TrainingBatch<Scalar>, at indices: ArraySlice<Int>) {
        batch.reshapeInputs(rows: indices.count, features: featureCount)
        batch.inputs.assignRows(of: features, at: indices)
        switch targets {
        case .classes(let labels): batch.setClasses(labels, at: indices)
        case .values(let values): batch.targets = .values(values.gatheringRows(Array(indices)))
        }
    }

    public func prefetch(at indices: ArraySlice<Int>) {
        features.prefetchRows(indices)
        if case .classes(let labels) = targets { TrainingBatch<Scalar>.prefetchClasses(labels, at: indices) }
    }

    /// Splits off a validation set: a seeded random `fraction` of the rows, the rest for training.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (training: InMemoryDataset, validation: InMemoryDataset) {
        precondition(fraction > 0 && fraction < 1, "split: fraction \(fraction) must be in (0, 1)")
        var generator = SeededGenerator(seed: seed)
        let order = generator.permutation(of: count)
        let validationCount = Swift.max(1, Int((Double(count) * fraction).rounded()))
        func subset(_ rows: [Int]) -> InMemoryDataset {
            var copy = self
            let (x, y) = batch(at: rows)
            copy.features = x
            copy.targets = y
            return copy
        }
        return (subset(Array(order[validationCount...])), subset(Array(order[..<validationCount])))
    }
}

/// A dataset that cannot be used as given.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The features are not a `[samples, features]` matrix (their shape).
    case notAMatrix([Int])
    /// Features and targets have different numbers of samples.
    case countMismatch(features: Int, targets: Int)
    /// A class label is not in `0..<classCount`.
    case labelOutOfRange(row: Int, label: Int, classCount: Int)

    public var description: String {
        switch self {
        case .notAMatrix(let shape): "expected a [samples, features] matrix, got shape \(shape)"
        case .countMismatch(let f, let t): "\(f) feature rows but \(t) targets"
        case .labelOutOfRange(let row, let label, let classes): "row \(row): label \(label) outside 0..<\(classes)"
        }
    }
}

/// Any ``TrainingData`` behind one concrete type, so that sources chosen at run time (a file, a generator) can be
/// passed to ``Trainer/fit(_:on:validation:test:resumingFrom:callbacks:onEvent:shouldStop:)`` together.
public struct AnyTrainingData<Scalar: TensorScalar>: TrainingData {
    /// The wrapped source.
    public let base: any TrainingData<Scalar>

    /// Wraps a source.
    public init(_ base: any TrainingData<Scalar>) {
        self.base = base
    }

    public var count: Int { base.count }
    public var featureCount: Int { base.featureCount }
    public var classCount: Int? { base.classCount }

    public func batch(at indices: [Int]) -> (inputs: Tensor<Scalar>, targets: Targets<Scalar>) {
        base.batch(at: indices)
    }

    public func fill(_ batch: inout TrainingBatch<Scalar>, at indices: ArraySlice<Int>) {
        base.fill(&batch, at: indices)
    }

    public func prefetch(at indices: ArraySlice<Int>) {
        base.prefetch(at: indices)
    }
}
