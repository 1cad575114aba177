import BackpropCore

/// ½ Σₖ (Tₖ − aₖ)² per sample: the squared error of the backpropagation derivation, whose derivative is the plain
/// difference.
///
/// ```
/// ∂J/∂a = a − T
/// ```
/// Its command-line name is `mse`, as the seed texts call it.
public struct HalfSquaredError: RegisteredLoss, ElementwiseLoss, Hashable {
    /// Creates the loss.
    public init() {}

    public static var kind: String { "mse" }
    public static var aliases: [String] { ["half-squared-error"] }

    public init?(parameter: Double?) {
        guard parameter == nil else { return nil }
    }

    public var name: String { Self.kind }

    public var description: String { "half-squared-error" }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        0.5 * square(output - targets)
    }
}

/// (1/K) Σₖ (Tₖ − aₖ)² per sample, K outputs: its mean over a batch is PyTorch's `MSELoss` and Keras's `mse`.
public struct MeanSquaredError: RegisteredLoss, ElementwiseLoss, Hashable {
    /// Creates the loss.
    public init() {}

    public static var kind: String { "mean-squared-error" }

    public init?(parameter: Double?) {
        guard parameter == nil else { return nil }
    }

    public var name: String { Self.kind }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        square(output - targets) / Scalar(output.shape[1])
    }
}

/// Σₖ |Tₖ − aₖ| per sample.
public struct MeanAbsoluteError: RegisteredLoss, ElementwiseLoss, Hashable {
    /// Creates the loss.
    public init() {}

    public static var kind: String { "mae" }

    public init?(parameter: Double?) {
        guard parameter == nil else { return nil }
    }

    public var name: String { Self.kind }

    public var description: String { "mean-absolute-error" }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        abs(output - targets)
    }
}

/// The Huber loss: quadratic near the target, linear beyond δ, so that outliers pull less than under squared error.
///
/// ```
/// Σₖ ½r² if |r| ≤ δ else δ(|r| − ½δ),   r = a − T
/// ```
public struct Huber: RegisteredLoss, ElementwiseLoss, Hashable {
    /// δ, where the loss turns from quadratic to linear.
    public var delta: Double

    /// Creates the loss with threshold `delta` (positive; default 1).
    public init(delta: Double = 1) {
        precondition(delta > 0 && delta.isFinite, "Huber: delta must be positive, got \(delta)")
        self.delta = delta
    }

    public static var kind: String { "huber" }

    public init?(parameter: Double?) {
        guard (parameter ?? 1) > 0 else { return nil }
        self.init(delta: parameter ?? 1)
    }

    public var name: String { delta == 1 ? Self.kind : "\(Self.kind):\(delta)" }

    public var description: String { "huber(\(delta))" }

    public func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar> {
        let r = output - targets
        let d = Scalar(delta)
        let quadratic = 0.5 * square(r)
        let linear = d * (abs(r) - 0.5 * d)
        return select(abs(r.detached) .<= Tensor(d), quadratic, linear)
    }
}
