import BackpropCore

/// A loss function J comparing a batch of model outputs with its targets.
///
/// Unless noted, the per-sample loss sums over the output units and ``LossReduction`` combines the samples.
/// ```
/// halfSquaredError        ½ Σₖ (Tₖ − aₖ)²                ∂J/∂a = a − T   (the convention of the derivation)
/// meanSquaredError        mean over all elements of (T − a)²           (the plain mean, as PyTorch's MSELoss)
/// meanAbsoluteError       Σₖ |Tₖ − aₖ|
/// huber(δ)                Σₖ ½r² if |r| ≤ δ else δ(|r| − ½δ), r = a − T
/// crossEntropy            −Σₖ yₖ log pₖ   on probabilities p (e.g. after a softmax layer)
/// softmaxCrossEntropy     −Σₖ yₖ log softmax(z)ₖ on logits z; ∂J/∂z = ŷ − y (fused, stable)
/// binaryCrossEntropy      Σₖ softplus(zₖ) − zₖ yₖ on logits z; ∂J/∂z = σ(z) − y
/// ```
/// Label smoothing replaces one-hot targets y by `(1 − ε) y + ε / classes` for the classification losses.
public enum Loss: Sendable, Hashable, CustomStringConvertible {
    case halfSquaredError
    case meanSquaredError
    case meanAbsoluteError
    case huber(delta: Double)
    case crossEntropy(labelSmoothing: Double)
    case softmaxCrossEntropy(labelSmoothing: Double)
    case binaryCrossEntropy

    /// Softmax + cross-entropy on logits without label smoothing.
    public static var softmaxCrossEntropy: Loss { .softmaxCrossEntropy(labelSmoothing: 0) }
    /// Cross-entropy on probabilities without label smoothing.
    public static var crossEntropy: Loss { .crossEntropy(labelSmoothing: 0) }

    /// Parses a command-line name: `softmax-cross-entropy`, `cross-entropy`, `binary-cross-entropy`, `mse` (the
    /// seeds' ½-squared error), `mean-squared-error`, `mae`, `huber`.
    public init?(name: String) {
        switch name.lowercased() {
        case "softmax-cross-entropy": self = .softmaxCrossEntropy
        case "cross-entropy": self = .crossEntropy
        case "binary-cross-entropy": self = .binaryCrossEntropy
        case "mse", "half-squared-error": self = .halfSquaredError
        case "mean-squared-error": self = .meanSquaredError
        case "mae": self = .meanAbsoluteError
        case "huber": self = .huber(delta: 1)
        default: return nil
        }
    }

    /// Whether the loss compares class targets (so accuracy is meaningful).
    public var isClassification: Bool {
        switch self {
        case .crossEntropy, .softmaxCrossEntropy, .binaryCrossEntropy: true
        default: false
        }
    }

    /// Computes the loss of `output` (a `[batch, outputs]` matrix) against `targets`.
    ///
    /// Class-index targets become one-hot rows of `output`'s width.
    public func callAsFunction<Scalar>(
        _ output: Tensor<Scalar>, _ targets: Targets<Scalar>, reduction: LossReduction = .mean
    ) -> Tensor<Scalar> {
        precondition(output.rank == 2, "\(self): output must be [batch, outputs], got \(output.shape)")
        let width = output.shape[1]
        var y = targets.dense(classCount: width)
        precondition(y.shape == output.shape, "\(self): targets \(y.shape) do not match output \(output.shape)")
        let batch = Scalar(Swift.max(output.shape[0], 1))
        func reduce(_ perElement: Tensor<Scalar>) -> Tensor<Scalar> {
            reduction == .mean ? perElement.sum() / batch : perElement.sum()
        }
        switch self {
        case .halfSquaredError:
            return reduce(0.5 * square(output - y))
        case .meanSquaredError:
            let squares = square(output - y)
            return reduction == .mean ? squares.mean() : squares.sum()
        case .meanAbsoluteError:
            return reduce(abs(output - y))
        case .huber(let delta):
            let r = output - y
            let d = Scalar(delta)
            let quadratic = 0.5 * square(r)
            let linear = d * (abs(r) - 0.5 * d)
            return reduce(select(abs(r.detached) .<= Tensor(d), quadratic, linear))
        case .crossEntropy(let smoothing):
            if smoothing > 0 { y = Loss.smoothed(y, smoothing) }
            // Probabilities are floored so that a confident wrong answer gives a large but finite loss.
            let p = clamp(output, lower: Scalar.leastNormalMagnitude, upper: Scalar.infinity)
            return reduce(-(y * log(p)))
        case .softmaxCrossEntropy(let smoothing):
            if smoothing > 0 { y = Loss.smoothed(y, smoothing) }
            return BackpropCore.softmaxCrossEntropy(logits: output, targets: y, averaged: reduction == .mean)
        case .binaryCrossEntropy:
            return reduce(softplus(output) - output * y)
        }
    }

    static func smoothed<Scalar>(_ y: Tensor<Scalar>, _ epsilon: Double) -> Tensor<Scalar> {
        let classes = Scalar(y.shape[1])
        return Scalar(1 - epsilon) * y + Scalar(epsilon) / classes
    }

    public var description: String {
        switch self {
        case .halfSquaredError: "half-squared-error"
        case .meanSquaredError: "mean-squared-error"
        case .meanAbsoluteError: "mean-absolute-error"
        case .huber(let delta): "huber(\(delta))"
        case .crossEntropy(let s): s > 0 ? "cross-entropy(smoothing \(s))" : "cross-entropy"
        case .softmaxCrossEntropy(let s): s > 0 ? "softmax-cross-entropy(smoothing \(s))" : "softmax-cross-entropy"
        case .binaryCrossEntropy: "binary-cross-entropy"
        }
    }
}
