import BackpropCore

/// A 2-D convolutional layer over NCHW images: `outputChannels` filters of `kernelHeight × kernelWidth` over all
/// input channels, plus an optional bias per filter.
///
/// Layout (PyTorch's and ONNX's): `weight` is `[outputChannels, inputChannels, kernelHeight, kernelWidth]` (OIHW),
/// `bias` `[outputChannels]`; a batch `[batch, inputChannels, H, W]` maps to `[batch, outputChannels, H′, W′]` with
/// ```
/// z[n, o, i, j] = b[o] + Σ over c, p, q of W[o, c, p, q] · a[n, c, i·s + p − pad, j·s + q − pad]
/// ```
/// and backpropagation gives, with δ = ∂J/∂z,
/// ```
/// ∂J/∂W[o, c, p, q] = Σ over n, i, j of δ[n, o, i, j] · a[n, c, i·s + p − pad, j·s + q − pad]
/// ∂J/∂b[o] = Σ over n, i, j of δ[n, o, i, j]
/// ∂J/∂a = δ correlated with the kernel flipped in both directions (a "full" convolution for stride 1)
/// ```
/// computed by the graph op ``init(weight:bias:window:)`` as matrix products of the unfolded input.
public struct Conv2D<Scalar: TensorScalar>: Layer {
    /// `[outputChannels, inputChannels, kernelHeight, kernelWidth]`.
    public var weight: Tensor<Scalar>
    /// `[outputChannels]`, or `nil` for a convolution without bias (before batch normalisation).
    public var bias: Tensor<Scalar>?
    /// The kernel's size, stride and padding.
    public let window: SlidingWindow

    /// How much zero padding surrounds the input.
    public enum Padding: Sendable, Hashable {
        /// None: the output shrinks by the kernel size minus one.
        case valid
        /// `kernel − 1` rows and columns in total, the extra one below and to the right when odd: with stride 1 the
        /// output has the input's size, with stride s it has ⌈size / s⌉.
        case same
        /// Explicit rows above and below, columns left and right.
        case explicit(top: Int, bottom: Int, left: Int, right: Int)
    }

    /// Creates a layer with explicit tensors.
    ///
    /// - Precondition: `weight` is OIHW with the window's kernel size, and `bias` (if any) has one value per filter.
    public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?, window: SlidingWindow) {
        precondition(weight.rank == 4 && weight.shape[2] == window.kernelHeight && weight.shape[3] == window.kernelWidth,
                     "Conv2D: weight \(weight.shape) must be [out, in, \(window.kernelHeight), \(window.kernelWidth)]")
        precondition(bias.map { $0.shape == [weight.shape[0]] } ?? true, "Conv2D: bias must be [\(weight.shape[0])]")
        self.weight = weight
        self.bias = bias
        self.window = window
    }

    /// Creates a layer with initialised weights (fan-in `inputChannels·kh·kw`, fan-out `outputChannels·kh·kw`) and
    /// zero biases.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: (height: Int, width: Int), stride: Int = 1,
                padding: Padding = .valid, useBias: Bool = true, initializer: Initializer = .heUniform,
                generator: inout SeededGenerator) {
        let (kh, kw) = kernelSize
        let window: SlidingWindow
        switch padding {
        case .valid: window = SlidingWindow(kernelHeight: kh, kernelWidth: kw, strideHeight: stride, strideWidth: stride)
        case .same:
            window = SlidingWindow(kernelHeight: kh, kernelWidth: kw, strideHeight: stride, strideWidth: stride,
                                   padTop: (kh - 1) / 2, padBottom: kh / 2, padLeft: (kw - 1) / 2, padRight: kw / 2)
        case .explicit(let top, let bottom, let left, let right):
            window = SlidingWindow(kernelHeight: kh, kernelWidth: kw, strideHeight: stride, strideWidth: stride,
                                   padTop: top, padBottom: bottom, padLeft: left, padRight: right)
        }
        let weight: Tensor<Scalar> = initializer.make(shape: [outputChannels, inputChannels, kh, kw],
                                                      fanIn: inputChannels * kh * kw, fanOut: outputChannels * kh * kw,
                                                      generator: &generator)
        self.init(weight: weight, bias: useBias ? Tensor.zeros(shape: [outputChannels]) : nil, window: window)
    }

    /// Filters (output channels).
    public var outputChannels: Int { weight.shape[0] }
    /// Input channels.
    public var inputChannels: Int { weight.shape[1] }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        conv2D(input, weight: weight, bias: bias, window: window)
    }

    public var parameterNames: [String] { bias == nil ? ["weight"] : ["weight", "bias"] }

    public var parameters: [Tensor<Scalar>] {
        get { [weight] + (bias.map { [$0] } ?? []) }
        set {
            precondition(newValue.count == parameterNames.count, "Conv2D.parameters: expected \(parameterNames)")
            weight = newValue[0]
            if bias != nil { bias = newValue[1] }
        }
    }

    public var specification: (any LayerSpecification)? {
        Conv2DSpecification(inputs: inputChannels, outputs: outputChannels, window: window, bias: bias != nil)
    }

    public var description: String {
        "Conv2D(\(inputChannels) → \(outputChannels), \(window)\(bias == nil ? ", no bias" : ""))"
    }
}

/// A ``Conv2D`` layer in a model file: `{"type": "conv2d", "inputs": 1, "outputs": 32, "window": {…}, "bias": true}`;
/// tensors `weight` (OIHW) and, with a bias, `bias`.
public struct Conv2DSpecification: LayerSpecification, Equatable {
    public static var kind: String { "conv2d" }
    /// Input channels.
    public var inputs: Int
    /// Output channels (filters).
    public var outputs: Int
    /// Kernel size, stride and padding.
    public var window: SlidingWindow
    /// Whether the layer adds a bias per filter.
    public var bias: Bool

    /// Describes a convolution.
    public init(inputs: Int, outputs: Int, window: SlidingWindow, bias: Bool) {
        self.inputs = inputs
        self.outputs = outputs
        self.window = window
        self.bias = bias
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        let weightShape = [outputs, inputs, window.kernelHeight, window.kernelWidth]
        _ = try LayerPlan.elementCount(weightShape, of: "a convolution's weight")
        let (channels, height, width) = try imageShape(shape, layer: "a convolution")
        guard channels == inputs else {
            throw LayerShapeError("a convolution over \(inputs) channels cannot take images of \(channels) channels")
        }
        let output = try outputSize(window, height: height, width: width, layer: "convolution")
        return LayerPlan(outputShape: [outputs, output.height, output.width],
                         parameters: [TensorSlot("weight", weightShape)] + (bias ? [TensorSlot("bias", [outputs])] : []))
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        Conv2D(weight: parameters[0], bias: bias ? parameters[1] : nil, window: window)
    }
}

/// The channels, height and width of an image sample, or an error naming the layer that needed one.
func imageShape(_ shape: [Int], layer: String) throws(LayerShapeError) -> (channels: Int, height: Int, width: Int) {
    guard shape.count == 3 else {
        throw LayerShapeError("\(layer) takes images [channels, height, width], not samples of shape \(shape)")
    }
    _ = try LayerPlan.elementCount(shape, of: "the image")
    return (shape[0], shape[1], shape[2])
}

/// The output size of `window` over an image, or an error when it does not fit or is not a valid window.
func outputSize(_ window: SlidingWindow, height: Int, width: Int, layer: String) throws(LayerShapeError) -> (height: Int, width: Int) {
    for size in [window.kernelHeight, window.kernelWidth, window.strideHeight, window.strideWidth] {
        guard (1...LayerPlan.maximumDimension).contains(size) else {
            throw LayerShapeError("a \(layer) window of \(window) is not valid: sizes and strides run from 1 to \(LayerPlan.maximumDimension)")
        }
    }
    guard [window.padTop, window.padBottom].allSatisfy({ (0..<window.kernelHeight).contains($0) }),
          [window.padLeft, window.padRight].allSatisfy({ (0..<window.kernelWidth).contains($0) }) else {
        throw LayerShapeError("a \(layer) window of \(window) is not valid: padding must be smaller than the kernel")
    }
    guard let size = window.outputSize(height: height, width: width) else {
        throw LayerShapeError("a \(layer) window of \(window) does not fit an image of \(height)×\(width)")
    }
    return size
}
