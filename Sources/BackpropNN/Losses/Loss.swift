import BackpropCore

/// A loss function J comparing a batch of model outputs with its targets.
///
/// Unless noted, the per-sample loss sums over the output units and ``LossReduction`` combines the samples.
/// ```
/// halfSquaredError        ½ Σₖ (Tₖ − aₖ)²                ∂J/∂a = a − T   (the convention of the derivation)
/// meanSquaredError        (1/K) Σₖ (Tₖ − aₖ)²           (its mean over a batch is PyTorch's MSELoss)
/// meanAbsoluteError       Σₖ |Tₖ − aₖ|
/// huber(δ)                Σₖ ½r² if |r| ≤ δ else δ(|r| − ½δ), r = a − T
/// crossEntropy            −Σₖ yₖ log pₖ   on probabilities p (e.g. after a softmax layer)
/// softmaxCrossEntropy     −Σₖ yₖ log softmax(z)ₖ on logits z; ∂J/∂z = ŷ − y (fused, stable)
/// binaryCrossEntropy      Σₖ softplus(zₖ) − zₖ yₖ on logits z; ∂J/∂z = σ(z) − y
/// ```
/// Label smoothing replaces one-hot targets y by `(1 − ε) y + ε / classes` for the classification losses.
/// Binary cross-entropy on a single output takes class labels 0 and 1 (two classes, one logit).
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
    /// seeds' ½-squared error), `mean-squared-error`, `mae`, `huber`; a parameter follows a colon
    /// (`huber:0.5` for δ = 0.5, `softmax-cross-entropy:0.1` for label smoothing 0.1), as ``name`` writes it.
    public init?(name: String) {
        let parts = name.lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let parameter = parts.count == 2 ? Double(parts[1]) : nil
        if parts.count == 2 {
            guard let parameter, parameter.isFinite, parameter >= 0 else { return nil }
        }
        switch parts[0] {
        case "softmax-cross-entropy" where (parameter ?? 0) < 1: self = .softmaxCrossEntropy(labelSmoothing: parameter ?? 0)
        case "cross-entropy" where (parameter ?? 0) < 1: self = .crossEntropy(labelSmoothing: parameter ?? 0)
        case "huber" where (parameter ?? 1) > 0: self = .huber(delta: parameter ?? 1)
        case "binary-cross-entropy" where parameter == nil: self = .binaryCrossEntropy
        case "mse" where parameter == nil, "half-squared-error" where parameter == nil: self = .halfSquaredError
        case "mean-squared-error" where parameter == nil: self = .meanSquaredError
        case "mae" where parameter == nil: self = .meanAbsoluteError
        default: return nil
        }
    }

    /// The command-line names, for help texts and suggestions.
    public static let names = ["softmax-cross-entropy", "cross-entropy", "binary-cross-entropy", "mse",
                               "mean-squared-error", "mae", "huber"]

    /// The name ``init(name:)`` parses back to this loss, with its parameter when it is not the default.
    public var name: String {
        switch self {
        case .halfSquaredError: "mse"
        case .meanSquaredError: "mean-squared-error"
        case .meanAbsoluteError: "mae"
        case .huber(let delta): delta == 1 ? "huber" : "huber:\(delta)"
        case .crossEntropy(let s): s == 0 ? "cross-entropy" : "cross-entropy:\(s)"
        case .softmaxCrossEntropy(let s): s == 0 ? "softmax-cross-entropy" : "softmax-cross-entropy:\(s)"
        case .binaryCrossEntropy: "binary-cross-entropy"
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
            return reduce(square(output - y) / Scalar(width))
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

    /// The class probabilities a classification model's `output` stands for: a softmax of logits
    /// (softmax + cross-entropy), the output itself (cross-entropy, whose model ends in a softmax), the logistic of
    /// each logit (binary cross-entropy; one logit gives the two columns 1 − p, p). Other losses return the output.
    public func probabilities<Scalar>(fromOutput output: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(output.rank == 2, "probabilities: output must be [batch, outputs], got \(output.shape)")
        switch self {
        case .softmaxCrossEntropy: return output.softmax(alongAxis: 1)
        case .binaryCrossEntropy where output.shape[1] == 1:
            let p = sigmoid(output)
            return Tensor.concatenating([1 - p, p], alongAxis: 1)
        case .binaryCrossEntropy: return sigmoid(output)
        default: return output
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

/// A loss is stored (in model files) as its ``Loss/name``.
extension Loss: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let loss = Loss(name: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown loss '\(text)'"))
        }
        self = loss
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
