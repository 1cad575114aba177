import BackpropCore

/// Average pooling over NCHW images: each channel's mean in each window. Backpropagation spreads each window's δ
/// evenly over its inputs.
public struct AveragePool2D<Scalar: TensorScalar>: Layer {
    /// The window's size and stride.
    public let window: SlidingWindow

    /// Pools over `size × size` windows, stepping `stride` (by default the size: windows do not overlap).
    public init(size: Int, stride: Int? = nil) {
        self.init(window: SlidingWindow(size: size, stride: stride))
    }

    /// Pools over an explicit window (without padding).
    public init(window: SlidingWindow) {
        self.window = window
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        averagePool2D(input, window: window)
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "AveragePool2D has no parameters") }
    }

    public var specification: (any LayerSpecification)? { AveragePool2DSpecification(window: window) }
    public var description: String { "AveragePool2D(\(window))" }
}

/// An ``AveragePool2D`` layer in a model file: `{"type": "avgpool2d", "window": {…}}`.
public struct AveragePool2DSpecification: LayerSpecification, Equatable {
    public static var kind: String { "avgpool2d" }
    /// The window's size and stride; no padding (frameworks disagree on whether padding counts in the mean).
    public var window: SlidingWindow

    /// Describes average pooling.
    public init(window: SlidingWindow) {
        self.window = window
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        guard !window.isPadded else { throw LayerShapeError("average pooling takes no padding") }
        let (channels, height, width) = try imageShape(shape, layer: "average pooling")
        let output = try outputSize(window, height: height, width: width, layer: "average pooling")
        return LayerPlan(outputShape: [channels, output.height, output.width])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        AveragePool2D(window: window)
    }
}
