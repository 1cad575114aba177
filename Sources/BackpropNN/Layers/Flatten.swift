import BackpropCore

/// Flattens each sample into one axis: `[batch, d₁, d₂, …]` → `[batch, d₁·d₂·…]` (row-major, so an image's values
/// come channel by channel, row by row, as in PyTorch's `Flatten`). Its gradient is δ reshaped back.
public struct Flatten<Scalar: TensorScalar>: Layer {
    /// Creates the layer.
    public init() {}

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        input.rank == 2 ? input : input.reshaped(to: [input.shape[0], input.shape.dropFirst().reduce(1, *)])
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "Flatten has no parameters") }
    }

    public var specification: (any LayerSpecification)? { FlattenSpecification() }
    public var description: String { "Flatten" }
}

/// A ``Flatten`` layer in a model file: `{"type": "flatten"}`.
public struct FlattenSpecification: LayerSpecification, Equatable {
    public static var kind: String { "flatten" }

    /// Describes a flatten layer.
    public init() {}

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        LayerPlan(outputShape: [try LayerPlan.elementCount(shape, of: "the sample")])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        Flatten()
    }
}
