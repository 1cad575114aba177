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

    /// The targets as a `[batch, width]` tensor: one-hot rows for class indices, or, for a single output
    /// (binary classification on one logit), the labels 0 and 1 as a column.
    public func dense(classCount width: Int) -> Tensor<Scalar> {
        switch self {
        case .classes(let labels) where width == 1:
            precondition(labels.allSatisfy { $0 == 0 || $0 == 1 }, "dense: a single output takes the labels 0 and 1")
            return Tensor(shape: [labels.count, 1], elements: labels.map { Scalar($0) })
        case .classes(let labels): return Tensor.oneHot(labels: labels, classCount: width)
        case .values(let tensor): return tensor
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
