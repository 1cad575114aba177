import BackpropCore

/// Cross-entropy on probabilities p (the output of a softmax layer): `J = −Σₖ yₖ log pₖ` per sample.
///
/// Probabilities are floored at the smallest normal number, so that a confident wrong answer gives a large but
/// finite loss. Label smoothing ε replaces one-hot targets y by `(1 − ε) y + ε / classes`.
public struct CrossEntropy: RegisteredLoss, ElementwiseLoss, Hashable {
    /// ε, the label smoothing (0: none).
    public var labelSmoothing: Double

    /// Creates the loss with label smoothing `labelSmoothing` (in [0, 1)).
    public init(labelSmoothing: Double = 0) {
        precondition((0..<1).contains(labelSmoothing), "CrossEntropy: label smoothing must be in [0, 1), got \(labelSmoothing)")
        self.labelSmoothing = labelSmoothing
    }

    public static var kind: String { "cross-entropy" }

    public init?(parameter: Double?) {
        guard (0..<1).contains(parameter ?? 0) else { return nil }
        self.init(labelSmoothing: parameter ?? 0)
    }

    public var name: String { labelSmoothing == 0 ? Self.kind : "\(Self.kind):\(labelSmoothing)" }

    public var isClassification: Bool { true }

    public var description: String { labelSmoothing > 0 ? "cross-entropy(smoothing \(labelSmoothing))" : Self.kind }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        let width = Scalar(output.shape[1])
        let y = labelSmoothing > 0 ? Scalar(1 - labelSmoothing) * targets + Scalar(labelSmoothing) / width : targets
        let p = clamp(output, lower: Scalar.leastNormalMagnitude, upper: Scalar.infinity)
        return -(y * log(p))
    }
}
