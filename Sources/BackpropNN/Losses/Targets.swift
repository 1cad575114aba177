import BackpropCore

/// What a batch should produce: class indices (classification) or a target tensor (regression, one-hot or soft
/// targets).
public enum Targets<Scalar: TensorScalar>: Sendable {
    /// One class index per sample.
    case classes([Int])
    /// A target row per sample, with the model output's shape.
    case values(Tensor<Scalar>)

    /// The number of samples.
    public var count: Int {
        switch self {
        case .classes(let labels): labels.count
        case .values(let tensor): tensor.shape.first ?? 0
        }
    }

    /// The targets as a `[batch, classCount]` tensor (one-hot rows for class indices).
    public func dense(classCount: Int) -> Tensor<Scalar> {
        switch self {
        case .classes(let labels): Tensor.oneHot(labels: labels, classCount: classCount)
        case .values(let tensor): tensor
        }
    }

    /// The class indices: the labels themselves, or each target row's argmax.
    public var classIndices: [Int] {
        switch self {
        case .classes(let labels): labels
        case .values(let tensor): tensor.rank == 2 ? tensor.argmax(alongAxis: 1) : []
        }
    }
}

/// How per-sample losses are combined over a batch.
public enum LossReduction: Sendable, Hashable {
    /// The mean over the samples of the batch (the default).
    case mean
    /// The sum over the samples.
    case sum
}
