import BackpropCore

/// Max pooling over NCHW images: each channel's largest value in each window.
///
/// Backpropagation routes each window's δ to its largest input only (the first one in row-major order when several
/// are equal, as PyTorch does), so the result does not depend on how ties are broken elsewhere.
public struct MaxPool2D<Scalar: TensorScalar>: Layer {
    /// The window's size and stride.
    public let window: SlidingWindow

    /// Pools over `size × size` windows, stepping `stride` (by default the size: windows do not overlap).
    public init(size: Int, stride: Int? = nil) {
        self.init(window: SlidingWindow(size: size, stride: stride))
    }

    /// Pools over an explicit window.
    public init(window: SlidingWindow) {
        self.window = window
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        maxPool2D(input, window: window)
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "MaxPool2D has no parameters") }
    }

    public var specification: (any LayerSpecification)? { MaxPool2DSpecification(window: window) }
    public var description: String { "MaxPool2D(\(window))" }
}

/// A ``MaxPool2D`` layer in a model file: `{"type": "maxpool2d", "window": {…}}`.
public struct MaxPool2DSpecification: LayerSpecification, Equatable {
    public static var kind: String { "maxpool2d" }
    /// The window's size, stride and padding (padding is never chosen as a maximum).
    public var window: SlidingWindow

    /// Describes max pooling.
    public init(window: SlidingWindow) {
        self.window = window
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        let (channels, height, width) = try imageShape(shape, layer: "max pooling")
        let output = try outputSize(window, height: height, width: width, layer: "max pooling")
        return LayerPlan(outputShape: [channels, output.height, output.width])
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        MaxPool2D(window: window)
    }
}
