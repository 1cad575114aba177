import BackpropCore

/// Softmax followed by cross-entropy, on logits z: `J = −Σₖ yₖ log softmax(z)ₖ` per sample.
///
/// ```
/// ∂J/∂z = ŷ − y        ŷ = softmax(z)   (the derivation's output error; divided by the batch for the mean)
/// ```
/// Computed by one fused, numerically stable operation (BackpropCore's `softmaxCrossEntropy(logits:targets:averaged:)`),
/// which the trainer's fused steps also compute. Label smoothing ε replaces one-hot targets y by
/// `(1 − ε) y + ε / classes`.
public struct SoftmaxCrossEntropy: RegisteredLoss, Hashable {
    /// ε, the label smoothing (0: none).
    public var labelSmoothing: Double

    /// Creates the loss with label smoothing `labelSmoothing` (in [0, 1)).
    public init(labelSmoothing: Double = 0) {
        precondition((0..<1).contains(labelSmoothing), "SoftmaxCrossEntropy: label smoothing must be in [0, 1), got \(labelSmoothing)")
        self.labelSmoothing = labelSmoothing
    }

    public static var kind: String { "softmax-cross-entropy" }

    public init?(parameter: Double?) {
        guard (0..<1).contains(parameter ?? 0) else { return nil }
        self.init(labelSmoothing: parameter ?? 0)
    }

    public var name: String { labelSmoothing == 0 ? Self.kind : "\(Self.kind):\(labelSmoothing)" }

    public var isClassification: Bool { true }

    public var description: String { labelSmoothing > 0 ? "softmax-cross-entropy(smoothing \(labelSmoothing))" : Self.kind }

    public func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
        -(smoothedTargets(targets, width: output.shape[1]) * output.logSoftmax(alongAxis: 1)).sum(alongAxis: 1)
    }

    public func callAsFunction<Scalar>(
        _ output: Tensor<Scalar>, _ targets: Targets<Scalar>, reduction: LossReduction
    ) -> Tensor<Scalar> {
        precondition(output.rank == 2, "\(self): output must be [batch, outputs], got \(output.shape)")
        let y = smoothedTargets(targets, width: output.shape[1])
        precondition(y.shape == output.shape, "\(self): targets \(y.shape) do not match output \(output.shape)")
        switch reduction {
        case .mean: return BackpropCore.softmaxCrossEntropy(logits: output, targets: y, averaged: true)
        case .sum: return BackpropCore.softmaxCrossEntropy(logits: output, targets: y, averaged: false)
        case .weightedMean(let weights):
            precondition(weights.count == output.shape[0], "\(self): \(weights.count) sample weights for \(output.shape[0]) samples")
            let w = Tensor<Scalar>(shape: [weights.count], elements: weights.map { Scalar($0) })
            return (perSampleLoss(output, targets) * w).sum() / Scalar(Swift.max(output.shape[0], 1))
        }
    }

    public func probabilities<Scalar>(fromOutput output: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(output.rank == 2, "probabilities: output must be [batch, outputs], got \(output.shape)")
        return output.softmax(alongAxis: 1)
    }

    private func smoothedTargets<Scalar>(_ targets: Targets<Scalar>, width: Int) -> Tensor<Scalar> {
        let y = targets.dense(classCount: width)
        return labelSmoothing > 0 ? Scalar(1 - labelSmoothing) * y + Scalar(labelSmoothing) / Scalar(width) : y
    }
}
