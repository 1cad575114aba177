import BackpropCore

/// A fully connected layer: `z = W a + b` for each sample.
///
/// Layout (the textbook's and PyTorch's): `weight` is `[outputSize, inputSize]`, so row `j` holds the weights into
/// unit `j`, and `bias` is `[outputSize]`. A batch `A` of shape `[batch, inputSize]` maps to
/// ```
/// Z = A Wᵀ + b                              [batch, outputSize]
/// ```
/// and backpropagation gives, with δ = ∂J/∂Z,
/// ```
/// ∂J/∂W = δᵀ A   (Σ over the batch of δ aᵀ)     ∂J/∂b = Σ over the batch of δ     ∂J/∂A = δ W
/// ```
public struct Dense<Scalar: TensorScalar>: Layer {
    /// `[outputSize, inputSize]`.
    public var weight: Tensor<Scalar>
    /// `[outputSize]`.
    public var bias: Tensor<Scalar>

    /// Creates a layer with explicit weights and biases.
    ///
    /// - Precondition: `weight` is a matrix and `bias` a vector of its row count.
    public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>) {
        precondition(weight.rank == 2 && bias.shape == [weight.shape[0]],
                     "Dense: weight \(weight.shape) must be [out, in] and bias \(bias.shape) must be [out]")
        self.weight = weight
        self.bias = bias
    }

    /// Creates a layer with initialised weights and zero biases.
    public init(inputSize: Int, outputSize: Int, initializer: Initializer = .glorotUniform,
                generator: inout SeededGenerator) {
        weight = initializer.make(shape: [outputSize, inputSize], fanIn: inputSize, fanOut: outputSize, generator: &generator)
        bias = Tensor.zeros(shape: [outputSize])
    }

    /// Inputs per sample.
    public var inputSize: Int { weight.shape[1] }
    /// Outputs per sample.
    public var outputSize: Int { weight.shape[0] }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        precondition(input.rank == 2 && input.shape[1] == inputSize,
                     "Dense(\(inputSize) → \(outputSize)): input has shape \(input.shape), expected [batch, \(inputSize)]")
        return input.matmul(weight, transposeB: true) + bias
    }

    public var specification: (any LayerSpecification)? { DenseSpecification(inputs: inputSize, outputs: outputSize) }

    public var parameterNames: [String] { ["weight", "bias"] }

    public var parameters: [Tensor<Scalar>] {
        get { [weight, bias] }
        set {
            precondition(newValue.count == 2, "Dense.parameters: expected [weight, bias]")
            weight = newValue[0]
            bias = newValue[1]
        }
    }

    public var description: String { "Dense(\(inputSize) → \(outputSize))" }
}

/// A ``Dense`` layer in a model file: `{"type": "dense", "inputs": 784, "outputs": 10}`; tensors `weight`
/// `[outputs, inputs]` and `bias` `[outputs]`.
public struct DenseSpecification: LayerSpecification, Equatable {
    public static var kind: String { "dense" }
    /// Inputs per sample.
    public var inputs: Int
    /// Outputs per sample.
    public var outputs: Int

    /// Describes a dense layer.
    public init(inputs: Int, outputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
    }

    public var fixedInputShape: [Int]? { [inputs] }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        _ = try LayerPlan.elementCount([outputs, inputs], of: "a dense layer's weight")
        guard shape == [inputs] else {
            let hint = shape.count > 1 ? " (add a flatten layer before it)" : ""
            throw LayerShapeError("a dense layer of \(inputs) inputs cannot take samples of shape \(shape)\(hint)")
        }
        return LayerPlan(outputShape: [outputs], parameters: [TensorSlot("weight", [outputs, inputs]), TensorSlot("bias", [outputs])])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        Dense(weight: parameters[0], bias: parameters[1])
    }
}
