import BackpropCore

/// Binary cross-entropy on logits z, one independent yes/no per output: `J = Σₖ softplus(zₖ) − zₖ yₖ` per sample
/// (the stable form of `−y log σ(z) − (1 − y) log(1 − σ(z))`).
///
/// ```
/// ∂J/∂z = σ(z) − y
/// ```
/// On a single output it takes class labels 0 and 1 (two classes, one logit).
public struct BinaryCrossEntropy: RegisteredLoss, ElementwiseLoss, Hashable {
    /// Creates the loss.
    public init() {}

    public static var kind: String { "binary-cross-entropy" }

    public init?(parameter: Double?) {
        guard parameter == nil else { return nil }
    }

    public var name: String { Self.kind }

    public var isClassification: Bool { true }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        softplus(output) - output * targets
    }

    /// The logistic of each logit; one logit gives the two columns 1 − p, p.
    public func probabilities<Scalar>(fromOutput output: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(output.rank == 2, "probabilities: output must be [batch, outputs], got \(output.shape)")
        let p = sigmoid(output)
        return output.shape[1] == 1 ? Tensor.concatenating([1 - p, p], alongAxis: 1) : p
    }
}
