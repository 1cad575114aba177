import BackpropCore

/// Layer normalisation: each sample shifted and scaled to mean 0 and variance 1 over all its values, then by a
/// learned scale γ and offset β of the sample's shape.
///
/// ```
/// x̂ = (x − μ) / √(σ² + ε)      μ, σ² the sample's mean and (biased) variance
/// y = γ ⊙ x̂ + β
/// ```
/// as PyTorch's `LayerNorm(sampleShape)` and ONNX's `LayerNormalization` (axis 1). It behaves the same in training
/// and inference, and keeps no state. Parameters `weight` (γ) and `bias` (β).
public struct LayerNorm<Scalar: TensorScalar>: Layer {
    /// γ, of the sample's shape.
    public var scale: Tensor<Scalar>
    /// β, of the sample's shape.
    public var offset: Tensor<Scalar>
    /// ε, added to the variance.
    public let epsilon: Double

    /// Creates a layer for samples of `shape`: γ = 1, β = 0.
    public init(shape: [Int], epsilon: Double = 1e-5) {
        self.init(scale: Tensor(shape: shape, repeating: 1), offset: .zeros(shape: shape), epsilon: epsilon)
    }

    /// Creates a layer from its tensors.
    ///
    /// - Precondition: both have the same shape, and `epsilon` is positive.
    public init(scale: Tensor<Scalar>, offset: Tensor<Scalar>, epsilon: Double = 1e-5) {
        precondition(scale.shape == offset.shape && epsilon > 0, "LayerNorm: scale and offset must have one shape")
        self.scale = scale
        self.offset = offset
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        precondition(Array(input.shape.dropFirst()) == scale.shape,
                     "LayerNorm(\(scale.shape)): input \(input.shape) must be [batch] + \(scale.shape)")
        let (normalized, _, _) = input.normalized(alongAxes: Array(1..<input.rank), epsilon: epsilon)
        return normalized * scale + offset
    }

    public var parameterNames: [String] { ["weight", "bias"] }

    public var parameters: [Tensor<Scalar>] {
        get { [scale, offset] }
        set {
            precondition(newValue.count == 2, "LayerNorm.parameters: expected [weight, bias]")
            scale = newValue[0]
            offset = newValue[1]
        }
    }

    public var specification: (any LayerSpecification)? { LayerNormSpecification(shape: scale.shape, epsilon: epsilon) }
    public var description: String { "LayerNorm(\(scale.shape))" }
}

/// A ``LayerNorm`` layer in a model file: `{"type": "layernorm", "shape": [64], "epsilon": 1e-05}`; parameters
/// `weight` and `bias` of that shape.
public struct LayerNormSpecification: LayerSpecification, Equatable {
    public static var kind: String { "layernorm" }
    /// The sample's shape.
    public var shape: [Int]
    /// ε.
    public var epsilon: Double

    /// Describes layer normalisation.
    public init(shape: [Int], epsilon: Double) {
        self.shape = shape
        self.epsilon = epsilon
    }

    public func plan(forInput input: [Int]) throws(LayerShapeError) -> LayerPlan {
        guard epsilon > 0, epsilon.isFinite else { throw LayerShapeError("layer normalisation needs a positive epsilon") }
        _ = try LayerPlan.elementCount(shape, of: "layer normalisation's shape")
        guard input == shape else {
            throw LayerShapeError("layer normalisation of samples \(shape) cannot take samples of shape \(input)")
        }
        return LayerPlan(outputShape: input, parameters: [TensorSlot("weight", shape), TensorSlot("bias", shape)])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        LayerNorm(scale: parameters[0], offset: parameters[1], epsilon: epsilon)
    }
}
