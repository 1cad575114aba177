import BackpropCore

/// The mean of each channel over the whole image: `[batch, channels, H, W]` → `[batch, channels]`.
///
/// ∂J/∂a[n, c, i, j] = δ[n, c] / (H·W).
public struct GlobalAveragePool<Scalar: TensorScalar>: Layer {
    /// Creates the layer.
    public init() {}

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        precondition(input.rank == 4, "GlobalAveragePool: input \(input.shape) must be [batch, channels, height, width]")
        return input.mean(alongAxes: [2, 3])
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "GlobalAveragePool has no parameters") }
    }

    public var specification: (any LayerSpecification)? { GlobalAveragePoolSpecification() }
    public var description: String { "GlobalAveragePool" }
}

/// A ``GlobalAveragePool`` layer in a model file: `{"type": "global-avgpool"}`.
public struct GlobalAveragePoolSpecification: LayerSpecification, Equatable {
    public static var kind: String { "global-avgpool" }

    /// Describes global average pooling.
    public init() {}

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        let (channels, _, _) = try imageShape(shape, layer: "global average pooling")
        return LayerPlan(outputShape: [channels])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        GlobalAveragePool()
    }
}
