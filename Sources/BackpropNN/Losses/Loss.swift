import BackpropCore

/// A loss function J comparing a batch of model outputs with its targets.
///
/// A loss says what it costs for one sample (``perSampleLoss(_:_:)``); the batch's loss is the mean of those costs (or
/// their sum, or a weighted mean with class weights), which the protocol's default ``callAsFunction(_:_:reduction:)``
/// computes. The built-in kinds:
/// ```
/// HalfSquaredError        ½ Σₖ (Tₖ − aₖ)²                ∂J/∂a = a − T   (the convention of the derivation)
/// MeanSquaredError        (1/K) Σₖ (Tₖ − aₖ)²           (its mean over a batch is PyTorch's MSELoss)
/// MeanAbsoluteError       Σₖ |Tₖ − aₖ|
/// Huber(delta: δ)         Σₖ ½r² if |r| ≤ δ else δ(|r| − ½δ), r = a − T
/// CrossEntropy            −Σₖ yₖ log pₖ   on probabilities p (e.g. after a softmax layer)
/// SoftmaxCrossEntropy     −Σₖ yₖ log softmax(z)ₖ on logits z; ∂J/∂z = ŷ − y (fused, stable)
/// BinaryCrossEntropy      Σₖ softplus(zₖ) − zₖ yₖ on logits z; ∂J/∂z = σ(z) − y
/// ```
/// Each is reachable as `.softmaxCrossEntropy`, `.huber(delta: 0.5)`, … wherever a loss is expected.
///
/// A loss of your own is a type with a ``name`` and a per-sample formula made of differentiable tensor operations;
/// its gradient comes from the same derivative rules as everything else:
/// ```swift
/// struct LogCosh: Loss {
///     var name: String { "log-cosh" }
///     func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
///         let r = output - targets.dense(classCount: output.shape[1])
///         return (softplus(2 * r) - r - Scalar(0.6931471805599453)).sum(alongAxis: 1)
///     }
/// }
/// ```
/// Model files record a loss by its ``name``: the built-in kinds are read back by ``LossKinds``; a model trained with
/// a loss of your own is read back when you pass an instance of it to the reader.
public protocol Loss: Sendable, CustomStringConvertible {
    /// The name model files store and `--loss` parses, with any parameter after a colon (`huber:0.5`).
    var name: String { get }

    /// Whether the loss compares class targets (so accuracy is meaningful, and predictions are classes).
    var isClassification: Bool { get }

    /// The loss of each sample of `output` (a `[batch, outputs]` matrix) against `targets`: a `[batch]` vector.
    func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar>

    /// The loss of the batch: the per-sample losses combined by `reduction`.
    ///
    /// The default reduces ``perSampleLoss(_:_:)``; a kind overrides it where one fused operation is faster and
    /// more accurate (softmax + cross-entropy).
    func callAsFunction<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>, reduction: LossReduction) -> Tensor<Scalar>

    /// The class probabilities a classification model's `output` stands for (softmax of logits, logistic of one
    /// logit, …); by default the output itself.
    func probabilities<Scalar>(fromOutput output: Tensor<Scalar>) -> Tensor<Scalar>
}

extension Loss {
    public var isClassification: Bool { false }

    public var description: String { name }

    public func callAsFunction<Scalar>(
        _ output: Tensor<Scalar>, _ targets: Targets<Scalar>, reduction: LossReduction
    ) -> Tensor<Scalar> {
        precondition(output.rank == 2, "\(self): output must be [batch, outputs], got \(output.shape)")
        precondition(targets.count == output.shape[0], "\(self): \(targets.count) targets for \(output.shape[0]) outputs")
        let losses = perSampleLoss(output, targets)
        switch reduction {
        case .mean: return losses.sum() / Scalar(Swift.max(output.shape[0], 1))
        case .sum: return losses.sum()
        case .weightedMean(let weights):
            precondition(weights.count == output.shape[0], "\(self): \(weights.count) sample weights for \(output.shape[0]) samples")
            let w = Tensor<Scalar>(shape: [weights.count], elements: weights.map { Scalar($0) })
            return (losses * w).sum() / Scalar(Swift.max(output.shape[0], 1))
        }
    }

    /// The mean loss of the batch.
    public func callAsFunction<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
        self(output, targets, reduction: .mean)
    }

    public func probabilities<Scalar>(fromOutput output: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(output.rank == 2, "probabilities: output must be [batch, outputs], got \(output.shape)")
        return output
    }

    /// Whether `other` is the same loss: the same ``name`` (kind and parameters).
    public func isSame(as other: any Loss) -> Bool { name == other.name }
}

/// How per-sample losses are combined over a batch.
public enum LossReduction: Sendable, Hashable {
    /// The mean over the samples of the batch (the default).
    case mean
    /// The sum over the samples.
    case sum
    /// Σᵢ wᵢ Jᵢ / batch: each sample's loss scaled by its weight (class weights), then averaged over the batch as
    /// Keras does (so weights that are all 1 give the mean).
    case weightedMean([Double])
}

/// A built-in loss kind that ``LossKinds`` can read back from its name.
public protocol RegisteredLoss: Loss {
    /// The kind's name without parameters (`huber`), as ``Loss/name`` starts.
    static var kind: String { get }
    /// Other names `--loss` accepts for the kind.
    static var aliases: [String] { get }
    /// The loss with the parameter that follows the colon in its name (`nil` for none), or `nil` when the kind takes
    /// no such parameter.
    init?(parameter: Double?)
}

extension RegisteredLoss {
    public static var aliases: [String] { [] }
}

/// The loss kinds model files and `--loss` name: one line per kind.
public enum LossKinds {
    /// Every registered kind. A new built-in loss adds its type here (see "Adding a loss" in the README).
    public static let all: [any RegisteredLoss.Type] = [
        SoftmaxCrossEntropy.self,
        CrossEntropy.self,
        BinaryCrossEntropy.self,
        HalfSquaredError.self,
        MeanSquaredError.self,
        MeanAbsoluteError.self,
        Huber.self,
    ]

    /// The command-line names of the kinds, for help texts and suggestions.
    public static var names: [String] { all.map { $0.kind } }

    /// Parses a name as ``Loss/name`` writes it (`softmax-cross-entropy`, `huber:0.5`, `softmax-cross-entropy:0.1`
    /// for label smoothing 0.1), trying `custom` losses (matched by their whole name) before the built-in kinds.
    public static func loss(named text: String, custom: [any Loss] = []) -> (any Loss)? {
        if let match = custom.first(where: { $0.name == text }) { return match }
        let parts = text.lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        var parameter: Double?
        if parts.count == 2 {
            guard let value = Double(parts[1]), value.isFinite, value >= 0 else { return nil }
            parameter = value
        }
        let kind = String(parts[0])
        guard let type = all.first(where: { $0.kind == kind || $0.aliases.contains(kind) }) else { return nil }
        return type.init(parameter: parameter)
    }
}

extension Loss where Self == SoftmaxCrossEntropy {
    /// Softmax + cross-entropy on logits (``SoftmaxCrossEntropy``).
    public static var softmaxCrossEntropy: SoftmaxCrossEntropy { SoftmaxCrossEntropy() }
    /// Softmax + cross-entropy on logits with label smoothing ε.
    public static func softmaxCrossEntropy(labelSmoothing: Double) -> SoftmaxCrossEntropy {
        SoftmaxCrossEntropy(labelSmoothing: labelSmoothing)
    }
}

extension Loss where Self == CrossEntropy {
    /// Cross-entropy on probabilities (``CrossEntropy``).
    public static var crossEntropy: CrossEntropy { CrossEntropy() }
    /// Cross-entropy on probabilities with label smoothing ε.
    public static func crossEntropy(labelSmoothing: Double) -> CrossEntropy { CrossEntropy(labelSmoothing: labelSmoothing) }
}

extension Loss where Self == BinaryCrossEntropy {
    /// Binary cross-entropy on logits (``BinaryCrossEntropy``).
    public static var binaryCrossEntropy: BinaryCrossEntropy { BinaryCrossEntropy() }
}

extension Loss where Self == HalfSquaredError {
    /// ½ Σₖ (Tₖ − aₖ)², the derivation's squared error (``HalfSquaredError``).
    public static var halfSquaredError: HalfSquaredError { HalfSquaredError() }
}

extension Loss where Self == MeanSquaredError {
    /// (1/K) Σₖ (Tₖ − aₖ)² (``MeanSquaredError``).
    public static var meanSquaredError: MeanSquaredError { MeanSquaredError() }
}

extension Loss where Self == MeanAbsoluteError {
    /// Σₖ |Tₖ − aₖ| (``MeanAbsoluteError``).
    public static var meanAbsoluteError: MeanAbsoluteError { MeanAbsoluteError() }
}

extension Loss where Self == Huber {
    /// The Huber loss with threshold δ (``Huber``).
    public static func huber(delta: Double) -> Huber { Huber(delta: delta) }
}
