import BackpropCore

/// Batch normalisation: each feature (dense inputs `[batch, features]`) or channel (images `[batch, channels, H, W]`)
/// shifted and scaled to mean 0 and variance 1 over the batch, then by a learned scale γ and offset β.
///
/// ```
/// training    x̂ = (x − μ_B) / √(σ²_B + ε)      μ_B, σ²_B the batch's mean and (biased) variance
///             running mean ← (1 − m)·running mean + m·μ_B
///             running var  ← (1 − m)·running var  + m·σ²_B·n/(n − 1)     (n values per channel: unbiased)
/// inference   x̂ = (x − running mean) / √(running var + ε)
/// output      y = γ ⊙ x̂ + β
/// ```
/// as in PyTorch (momentum m = 0.1, ε = 10⁻⁵ by default) and ONNX's `BatchNormalization`. The gradient through x̂ in
/// training is the rule of `Op.normalize(axes:epsilon:)` in BackpropCore. Parameters `weight` (γ) and `bias` (β); state
/// `running_mean` and `running_var`, saved in model files and checkpoints.
public struct BatchNorm<Scalar: TensorScalar>: Layer {
    /// γ, one per channel.
    public var scale: Tensor<Scalar>
    /// β, one per channel.
    public var offset: Tensor<Scalar>
    /// The running mean used at inference.
    public var runningMean: Tensor<Scalar>
    /// The running (unbiased) variance used at inference.
    public var runningVariance: Tensor<Scalar>
    /// The weight m of each new batch in the running statistics.
    public let momentum: Double
    /// ε, added to the variance.
    public let epsilon: Double

    /// Creates a layer over `features` channels: γ = 1, β = 0, running mean 0 and variance 1.
    public init(features: Int, momentum: Double = 0.1, epsilon: Double = 1e-5) {
        self.init(scale: Tensor(shape: [features], repeating: 1), offset: .zeros(shape: [features]),
                  runningMean: .zeros(shape: [features]), runningVariance: Tensor(shape: [features], repeating: 1),
                  momentum: momentum, epsilon: epsilon)
    }

    /// Creates a layer from its tensors.
    ///
    /// - Precondition: all four are vectors of one length; `momentum` is in [0, 1] and `epsilon` positive.
    public init(scale: Tensor<Scalar>, offset: Tensor<Scalar>, runningMean: Tensor<Scalar>, runningVariance: Tensor<Scalar>,
                momentum: Double = 0.1, epsilon: Double = 1e-5) {
        precondition(scale.rank == 1 && [offset, runningMean, runningVariance].allSatisfy { $0.shape == scale.shape },
                     "BatchNorm: scale, offset and running statistics must be vectors of one length")
        precondition((0...1).contains(momentum) && epsilon > 0, "BatchNorm: momentum \(momentum) or epsilon \(epsilon) out of range")
        self.scale = scale
        self.offset = offset
        self.runningMean = runningMean
        self.runningVariance = runningVariance
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// Channels (or features).
    public var features: Int { scale.count }

    /// The axes statistics are taken over, and the shape that broadcasts a per-channel vector over the batch.
    private func layout(of input: Tensor<Scalar>) -> (axes: [Int], channelShape: [Int]) {
        precondition((input.rank == 2 || input.rank == 4) && input.shape[1] == features,
                     "BatchNorm(\(features)): input \(input.shape) must be [batch, \(features)] or [batch, \(features), height, width]")
        return input.rank == 2 ? ([0], [1, features]) : ([0, 2, 3], [1, features, 1, 1])
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        normalize(input, context: context).output
    }

    public mutating func applyUpdatingState(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        let (output, moments) = normalize(input, context: context)
        if let (mean, variance) = moments {
            let n = input.count / features
            let m = Scalar(momentum)
            let unbiased = variance.detached.reshaped(to: [features]) * Scalar(Double(n) / Double(Swift.max(n - 1, 1)))
            runningMean = (1 - m) * runningMean + m * mean.detached.reshaped(to: [features])
            runningVariance = (1 - m) * runningVariance + m * unbiased
        }
        return output
    }

    /// The layer's output, and in training the batch's mean and biased variance.
    private func normalize(_ input: Tensor<Scalar>, context: ForwardContext)
        -> (output: Tensor<Scalar>, moments: (mean: Tensor<Scalar>, variance: Tensor<Scalar>)?) {
        let (axes, channelShape) = layout(of: input)
        let gamma = scale.reshaped(to: channelShape), beta = offset.reshaped(to: channelShape)
        if context.isTraining {
            let (normalized, mean, variance) = input.normalized(alongAxes: axes, epsilon: epsilon)
            return (normalized * gamma + beta, (mean, variance))
        }
        let inverseDeviation = reciprocal(sqrt(runningVariance.reshaped(to: channelShape) + Scalar(epsilon)))
        return ((input - runningMean.reshaped(to: channelShape)) * (gamma * inverseDeviation) + beta, nil)
    }

    public var parameterNames: [String] { ["weight", "bias"] }

    public var parameters: [Tensor<Scalar>] {
        get { [scale, offset] }
        set {
            precondition(newValue.count == 2, "BatchNorm.parameters: expected [weight, bias]")
            scale = newValue[0]
            offset = newValue[1]
        }
    }

    public var stateNames: [String] { ["running_mean", "running_var"] }

    public var state: [Tensor<Scalar>] {
        get { [runningMean, runningVariance] }
        set {
            precondition(newValue.count == 2, "BatchNorm.state: expected [running_mean, running_var]")
            runningMean = newValue[0]
            runningVariance = newValue[1]
        }
    }

    public var specification: (any LayerSpecification)? {
        BatchNormSpecification(features: features, momentum: momentum, epsilon: epsilon)
    }

    public var description: String { "BatchNorm(\(features))" }
}

/// A ``BatchNorm`` layer in a model file: `{"type": "batchnorm", "features": 32, "momentum": 0.1, "epsilon": 1e-05}`;
/// parameters `weight`, `bias` and state `running_mean`, `running_var`, each `[features]`.
public struct BatchNormSpecification: LayerSpecification, Equatable {
    public static var kind: String { "batchnorm" }
    /// Channels of images, or features of dense inputs.
    public var features: Int
    /// The weight of each batch in the running statistics.
    public var momentum: Double
    /// ε.
    public var epsilon: Double

    /// Describes batch normalisation.
    public init(features: Int, momentum: Double, epsilon: Double) {
        self.features = features
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        guard (0...1).contains(momentum), epsilon > 0, epsilon.isFinite else {
            throw LayerShapeError("batch normalisation needs a momentum in [0, 1] and a positive epsilon")
        }
        _ = try LayerPlan.elementCount([features], of: "batch normalisation")
        guard (shape.count == 1 || shape.count == 3), shape[0] == features else {
            throw LayerShapeError("batch normalisation of \(features) features or channels cannot take samples of shape \(shape)")
        }
        let vector = [features]
        return LayerPlan(outputShape: shape, parameters: [TensorSlot("weight", vector), TensorSlot("bias", vector)],
                         state: [TensorSlot("running_mean", vector), TensorSlot("running_var", vector)])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        BatchNorm(scale: parameters[0], offset: parameters[1], runningMean: state[0], runningVariance: state[1],
                  momentum: momentum, epsilon: epsilon)
    }
}
