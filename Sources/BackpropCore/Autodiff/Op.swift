/// Every differentiable operation, as recorded in a computation graph.
///
/// The derivative rule of each case is in `Derivatives.swift` (`Op.vectorJacobianProducts(upstream:inputs:output:saved:)`),
/// one `switch` with one line per input. See the "Adding an op" section of the README for the recipe.
public enum Op: Sendable, Hashable {
    /// A tensor made by ``Tensor/requiringGradient()``: the graph's inputs.
    case leaf

    // Element-wise, one input.
    case negate, exp, log, sqrt, abs, square, reciprocal
    case tanh, sigmoid, relu, softplus, gelu
    case leakyReLU(slope: Double)
    case elu(alpha: Double)
    case clamp(lower: Double, upper: Double)
    case power(exponent: Double)

    // Element-wise, two broadcast inputs.
    case add, subtract, multiply, divide
    /// `select(mask, a, b)`: `a` where the saved mask is 1, `b` where it is 0.
    case select

    /// Matrix product of two matrices, either read transposed.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// Matrix product of two `[batch, m, k]` × `[batch, k, n]` stacks.
    case batchedMatmul

    // Reductions.
    case sum(axes: [Int], keepingDimensions: Bool)
    case mean(axes: [Int], keepingDimensions: Bool)
    case max(axis: Int, keepingDimensions: Bool)

    // Shape and indexing.
    case reshape
    case broadcast
    case transpose(permutation: [Int])
    case gatherRows(indices: [Int])
    case sliceRows(Range<Int>)
    case concatenate(axis: Int)

    // Normalisations.
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
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
