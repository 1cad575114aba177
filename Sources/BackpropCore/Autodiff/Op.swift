/// Every differentiable operation, as recorded in a computation graph.
///
/// The derivative rule of each case is in `Derivatives.swift` (`Op.vectorJacobianProducts(upstream:inputs:output:saved:)`),
/// one `switch` with one line per input. See the "Adding an op" section of the README for the recipe.
public enum Op: Sendable, Hashable {
    /// A tensor made by ``Tensor/requiringGradient()``: the graph's inputs.
    case leaf

    // Element-wise, one input.
    /// −x.
    case negate
    /// eˣ (the rule reuses the output).
    case exp
    /// ln x.
    case log
    /// √x.
    case sqrt
    /// |x|.
    case abs
    /// x².
    case square
    /// 1/x.
    case reciprocal
    /// tanh x (the rule reuses the output: 1 − tanh²).
    case tanh
    /// 1/(1 + e⁻ˣ) (the rule reuses the output: σ(1 − σ)).
    case sigmoid
    /// max(x, 0).
    case relu
    /// ln(1 + eˣ).
    case softplus
    /// x Φ(x), Φ the standard normal distribution function.
    case gelu
    /// x for x > 0, else slope · x.
    case leakyReLU(slope: Double)
    /// x for x > 0, else α(eˣ − 1).
    case elu(alpha: Double)
    /// x limited to [lower, upper] (gradient 0 outside).
    case clamp(lower: Double, upper: Double)
    /// xᵖ for a constant p.
    case power(exponent: Double)

    // Element-wise, two broadcast inputs.
    /// a + b.
    case add
    /// a − b.
    case subtract
    /// a · b.
    case multiply
    /// a / b.
    case divide
    /// `select(mask, a, b)`: `a` where the saved mask is 1, `b` where it is 0.
    case select

    /// Matrix product of two matrices, either read transposed.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// Matrix product of two `[batch, m, k]` × `[batch, k, n]` stacks.
    case batchedMatmul

    // Reductions.
    /// Σ over the axes.
    case sum(axes: [Int], keepingDimensions: Bool)
    /// The mean over the axes.
    case mean(axes: [Int], keepingDimensions: Bool)
    /// The largest element along an axis (the gradient goes to the first largest).
    case max(axis: Int, keepingDimensions: Bool)

    // Shape and indexing.
    /// The same elements in another shape.
    case reshape
    /// Copies along new or size-1 axes (the gradient sums them back).
    case broadcast
    /// The axes reordered.
    case transpose(permutation: [Int])
    /// The rows at the indices (repeats allowed).
    case gatherRows(indices: [Int])
    /// A range of rows.
    case sliceRows(Range<Int>)
    /// The inputs joined along an axis.
    case concatenate(axis: Int)

    // Normalisations.
    /// eˣⁱ / Σ eˣʲ along an axis (the rule reuses the output).
    case softmax(axis: Int)
    /// x − log Σ eˣʲ along an axis.
    case logSoftmax(axis: Int)
    /// log Σ eˣʲ along an axis, computed stably.
    case logSumExp(axis: Int, keepingDimensions: Bool)
    /// Softmax followed by cross-entropy against the saved target rows, averaged over the batch or summed.
    case softmaxCrossEntropy(averaged: Bool)
    /// `(x − μ) / √(σ² + ε)` over the given axes; saves `1 / √(σ² + ε)`.
    case normalize(axes: [Int], epsilon: Double)

    // Images (NCHW).
    /// Convolution of `[x, weight]` or `[x, weight, bias]` (OIHW weights).
    case convolution2D(SlidingWindow)
    /// Max pooling; the first largest input of each window takes its gradient.
    case maxPool2D(SlidingWindow)
    /// Average pooling.
    case averagePool2D(SlidingWindow)

    /// A short name for graph dumps and messages.
    public var name: String {
        switch self {
        case .leaf: "leaf"
        case .negate: "negate"
        case .exp: "exp"
        case .log: "log"
        case .sqrt: "sqrt"
        case .abs: "abs"
        case .square: "square"
        case .reciprocal: "reciprocal"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        case .relu: "relu"
        case .softplus: "softplus"
        case .gelu: "gelu"
        case .leakyReLU: "leakyReLU"
        case .elu: "elu"
        case .clamp: "clamp"
        case .power: "power"
        case .add: "add"
        case .subtract: "subtract"
        case .multiply: "multiply"
        case .divide: "divide"
        case .select: "select"
        case .matmul: "matmul"
        case .batchedMatmul: "batchedMatmul"
        case .sum: "sum"
        case .mean: "mean"
        case .max: "max"
        case .reshape: "reshape"
        case .broadcast: "broadcast"
        case .transpose: "transpose"
        case .gatherRows: "gatherRows"
        case .sliceRows: "sliceRows"
        case .concatenate: "concatenate"
        case .softmax: "softmax"
        case .logSoftmax: "logSoftmax"
        case .logSumExp: "logSumExp"
        case .softmaxCrossEntropy: "softmaxCrossEntropy"
        case .normalize: "normalize"
        case .convolution2D: "conv2D"
        case .maxPool2D: "maxPool2D"
        case .averagePool2D: "averagePool2D"
        }
    }
}
