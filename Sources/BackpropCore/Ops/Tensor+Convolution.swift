// Convolution and pooling over NCHW images. Derivative rules: Autodiff/Derivatives.swift.

/// The 2-D convolution of a batch of images with a bank of filters, plus a bias per output channel.
///
/// Cross-correlation, as in every framework: with input `x` `[batch, inChannels, H, W]`, `weight`
/// `[outChannels, inChannels, kH, kW]` (OIHW, PyTorch's and ONNX's layout) and `bias` `[outChannels]`,
/// ```
/// y[n, o, i, j] = b[o] + Σ over c, p, q of w[o, c, p, q] · x[n, c, i·sh + p − padTop, j·sw + q − padLeft]
/// ```
/// computed as one matrix product: the input unfolded into columns (im2col) `X̃` `[inChannels·kH·kW, batch·outH·outW]`
/// and `Y = W̃ X̃` with `W̃` the weight as an `[outChannels, inChannels·kH·kW]` matrix.
///
/// - Precondition: the shapes agree, and `window`'s kernel size is the weight's.
public func conv2D<Scalar>(_ input: Tensor<Scalar>, weight: Tensor<Scalar>, bias: Tensor<Scalar>? = nil,
                           window: SlidingWindow) -> Tensor<Scalar> {
    precondition(input.rank == 4 && weight.rank == 4 && input.shape[1] == weight.shape[1],
                 "conv2D: input \(input.shape) must be [batch, channels, height, width] and weight \(weight.shape) [out, \(input.shape.count == 4 ? input.shape[1] : 0), kh, kw]")
    precondition(weight.shape[2] == window.kernelHeight && weight.shape[3] == window.kernelWidth,
                 "conv2D: the window \(window) does not match the kernel of weight \(weight.shape)")
    precondition(bias.map { $0.shape == [weight.shape[0]] } ?? true,
                 "conv2D: bias \(bias?.shape ?? []) must be [\(weight.shape[0])]")
    let value = Tensor.convolution(input, weight, bias, window: window)
    return Tensor.recorded(.convolution2D(window), inputs: [input, weight] + (bias.map { [$0] } ?? []), value: value)
}

/// Max pooling: each output is the largest input in its window (the first largest takes the gradient).
///
/// - Precondition: `input` is `[batch, channels, height, width]` and the window fits it.
public func maxPool2D<Scalar>(_ input: Tensor<Scalar>, window: SlidingWindow) -> Tensor<Scalar> {
    let value = Tensor.pooling(.maxPool, input, window: window)
    return Tensor.recorded(.maxPool2D(window), inputs: [input], value: value)
}

/// Average pooling: each output is the mean of the kernel's inputs in its window (padding counts as zeros).
///
/// - Precondition: `input` is `[batch, channels, height, width]` and the window fits it.
public func averagePool2D<Scalar>(_ input: Tensor<Scalar>, window: SlidingWindow) -> Tensor<Scalar> {
    let value = Tensor.pooling(.averagePool, input, window: window)
    return Tensor.recorded(.averagePool2D(window), inputs: [input], value: value)
}

// Untracked building blocks shared by the operations above and their derivative rules.
extension Tensor {
    /// The input unfolded into columns: `[channels·kH·kW, batch·outH·outW]`.
    static func unfolded(_ x: Tensor, window: SlidingWindow) -> Tensor {
        let problem = window.problem(input: x.shape)
        let columns = Tensor(uninitializedShape: [problem.columnRows, problem.columnCount])
        Scalar.applyWindowKernel(.unfold, problem, x.storage.pointer, nil, columns.storage.pointer)
        return columns
    }

    /// The convolution's value (see ``conv2D(_:weight:bias:window:)``).
    static func convolution(_ x: Tensor, _ w: Tensor, _ b: Tensor?, window: SlidingWindow) -> Tensor {
        let problem = window.problem(input: x.shape)
        let outChannels = w.shape[0]
        let columns = unfolded(x, window: window)
        let product = w.detached.reshaped(to: [outChannels, problem.columnRows]).matmul(columns)
        var y = product.reshaped(to: [outChannels, problem.window.batch, problem.outputPlane]).transposed(permutation: [1, 0, 2])
        if let b { y = combining(.add, y, b.detached.reshaped(to: [1, outChannels, 1]), into: y.shape) }
        return Tensor(storage: y.storage, shape: problem.outputShape(channels: outChannels))
    }

    /// The upstream gradient of a convolution's output `[batch, out, outH, outW]` as the product's
    /// `[out, batch·outH·outW]` matrix.
    static func convolutionOutputMatrix(_ g: Tensor) -> Tensor {
        let (batch, channels) = (g.shape[0], g.shape[1])
        let plane = g.count / Swift.max(batch * channels, 1)
        return g.detached.reshaped(to: [batch, channels, plane]).transposed(permutation: [1, 0, 2])
            .reshaped(to: [channels, batch * plane])
    }

    /// ∂J/∂x of a convolution: the columns' gradient `W̃ᵀ G` folded back onto the input.
    static func convolutionInputGradient(_ g: Tensor, weight w: Tensor, inputShape: [Int], window: SlidingWindow) -> Tensor {
        let problem = window.problem(input: inputShape)
        let weightMatrix = w.detached.reshaped(to: [w.shape[0], problem.columnRows])
        let columnGradient = weightMatrix.matmul(convolutionOutputMatrix(g), transposeA: true)
        let result = Tensor(uninitializedShape: inputShape)
        Scalar.applyWindowKernel(.fold, problem, columnGradient.storage.pointer, nil, result.storage.pointer)
        return result
    }

    /// ∂J/∂w of a convolution: `G X̃ᵀ`, reshaped to the weight's shape.
    static func convolutionWeightGradient(_ g: Tensor, input x: Tensor, weightShape: [Int], window: SlidingWindow) -> Tensor {
        convolutionOutputMatrix(g).matmul(unfolded(x, window: window), transposeB: true).detached.reshaped(to: weightShape)
    }

    /// A pooling kernel's value over `[batch, channels, height, width]`.
    static func pooling(_ kernel: WindowKernel, _ x: Tensor, window: SlidingWindow) -> Tensor {
        let problem = window.problem(input: x.shape)
        let result = Tensor(uninitializedShape: problem.outputShape(channels: x.shape[1]))
        Scalar.applyWindowKernel(kernel, problem, x.storage.pointer, nil, result.storage.pointer)
        return result
    }

    /// A pooling gradient: `kernel` run with the input `x` (max pooling reads it) and the upstream gradient `g`.
    static func poolingGradient(_ kernel: WindowKernel, _ g: Tensor, input x: Tensor, window: SlidingWindow) -> Tensor {
        let problem = window.problem(input: x.shape)
        let result = Tensor(uninitializedShape: x.shape)
        let g = g.detached
        if kernel == .maxPoolGradient {
            Scalar.applyWindowKernel(kernel, problem, x.storage.pointer, g.storage.pointer, result.storage.pointer)
        } else {
            Scalar.applyWindowKernel(kernel, problem, g.storage.pointer, nil, result.storage.pointer)
        }
        return result
    }
}

// Normalisation over axes (batch and layer normalisation).
extension Tensor {
    /// Each group of elements along `axes` shifted to mean 0 and scaled to variance 1:
    /// ```
    /// x̂ = (x − μ) / √(σ² + ε)      μ, σ² the mean and (biased) variance over `axes`
    /// ```
    /// Batch normalisation of `[batch, channels, h, w]` normalises over axes `[0, 2, 3]`; layer normalisation over
    /// every axis but the first.
    ///
    /// - Returns: x̂, and the groups' mean and biased variance (shaped with the reduced axes kept, untracked).
    public func normalized(alongAxes axes: [Int], epsilon: Double) -> (normalized: Tensor, mean: Tensor, variance: Tensor) {
        let axes = axes.map { Shape.normalize(axis: $0, rank: rank, op: "normalized") }.sorted()
        let n = Scalar(axes.reduce(1) { $0 * shape[$1] })
        let mean = Tensor.combining(.divide, reducing(.sum, axes: axes, keepingDimensions: true), Tensor(n), op: "normalized")
        let centered = Tensor.combining(.subtract, detached, mean, into: shape)
        let variance = Tensor.combining(.divide, centered.applying(.square).reducing(.sum, axes: axes, keepingDimensions: true),
                                        Tensor(n), op: "normalized")
        let inverseDeviation = (variance + Scalar(epsilon)).applying(.sqrt).applying(.reciprocal)
        let value = Tensor.combining(.multiply, centered, inverseDeviation, into: shape)
        let y = Tensor.recorded(.normalize(axes: axes, epsilon: epsilon), inputs: [self], value: value,
                                saved: [inverseDeviation])
        return (y, mean, variance)
    }
}
