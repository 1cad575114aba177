// Every derivative rule of Backprop, in one table.
//
// Each rule receives the upstream gradient g = ∂J/∂output, the inputs' values x, the output's value y and any
// saved tensors, and returns one gradient ∂J/∂input per input (nil: no gradient flows there). Rules compute with
// untracked tensors. Summing a broadcast input's gradient back to its shape, and accumulating the gradients of a
// value used more than once, happen once in the backward walk (Backward.swift), never here.
extension Op {
    /// The vector–Jacobian products `gᵀ · ∂output/∂inputᵢ` of this operation, one per input.
    ///
    /// `needed[i]` is false when input `i` is not tracked; rules whose products are expensive skip those.
    func vectorJacobianProducts<S>(
        upstream g: Tensor<S>, inputs x: [Tensor<S>], output y: Tensor<S>, saved: [Tensor<S>], needed: [Bool]
    ) -> [Tensor<S>?] {
        /// Computes an expensive gradient only for a tracked input.
        func ifNeeded(_ i: Int, _ gradient: () -> Tensor<S>) -> Tensor<S>? { needed[i] ? gradient() : nil }
        switch self {
        case .leaf: return []

        case .negate: return [-g]
        case .exp: return [g * y]                                        // (eˣ)′ = eˣ
        case .log: return [g / x[0]]
        case .sqrt: return [g / (2 * y)]
        case .abs: return [g * x[0].applying(.sign)]
        case .square: return [g * 2 * x[0]]
        case .reciprocal: return [-g * y * y]                            // (1/x)′ = −1/x²
        case .power(let p): return [g * S(p) * x[0].applying(.power(p - 1))]
        case .tanh, .sigmoid, .relu, .softplus, .gelu, .leakyReLU, .elu:    // g ⊙ f′, one pass (table below)
            let rule = activationFunction!.gradientRule!
            return [Tensor.combining(rule.kernel, g, rule.fromOutput ? y : x[0], into: g.shape)]
        case .clamp(let lower, let upper): return [g * x[0].applying(.insideMask(lower: lower, upper: upper))]

        case .add: return [g, g]
        case .subtract: return [g, -g]
        case .multiply: return [g * x[1], g * x[0]]
        case .divide: return [g / x[1], -g * y / x[1]]                   // ∂(a/b)/∂b = −(a/b)/b
        case .select: return [g * saved[0], g * (1 - saved[0])]

        // C = op(A)·op(B): ∂J/∂op(A) = G·op(B)ᵀ, ∂J/∂op(B) = op(A)ᵀ·G, transposed back where the operand was read
        // transposed. No transpose is materialised.
        case .matmul(false, false): return [ifNeeded(0) { g.matmul(x[1], transposeB: true) },
                                            ifNeeded(1) { x[0].matmul(g, transposeA: true) }]
        case .matmul(true, false): return [ifNeeded(0) { x[1].matmul(g, transposeB: true) },
                                           ifNeeded(1) { x[0].matmul(g) }]
        case .matmul(false, true): return [ifNeeded(0) { g.matmul(x[1]) },
                                           ifNeeded(1) { g.matmul(x[0], transposeA: true) }]
        case .matmul(true, true): return [ifNeeded(0) { x[1].matmul(g, transposeA: true, transposeB: true) },
                                          ifNeeded(1) { g.matmul(x[0], transposeA: true, transposeB: true) }]
        case .batchedMatmul:
            return [ifNeeded(0) { Tensor.batchedProduct(g, x[1], transposeA: false, transposeB: true) },
                    ifNeeded(1) { Tensor.batchedProduct(x[0], g, transposeA: true, transposeB: false) }]

        case .sum(let axes, let kept):
            return [g.restoringAxes(axes, kept: kept).broadcastValues(to: x[0].shape)]
        case .mean(let axes, let kept):
            let n = axes.reduce(1) { $0 * x[0].shape[$1] }
            return [g.restoringAxes(axes, kept: kept).broadcastValues(to: x[0].shape) / S(n)]
        case .max(let axis, let kept):
            let winners = x[0] .== y.restoringAxes([axis], kept: kept)    // ties share the gradient
            let share = winners / winners.reducing(.sum, axis: axis)
            return [g.restoringAxes([axis], kept: kept) * share]

        case .reshape: return [g.reshaped(to: x[0].shape)]
        case .broadcast: return [g]                                      // summed back centrally
        case .transpose(let permutation):
            var inverse = permutation
            for (i, p) in permutation.enumerated() { inverse[p] = i }
            return [g.transposed(permutation: inverse)]
        case .gatherRows(let indices): return [g.scatteringRows(indices, into: x[0].shape)]
        case .sliceRows(let range): return [g.paddingRows(range, to: x[0].shape)]
        case .concatenate(let axis): return g.splitting(sizes: x.map { $0.shape[axis] }, alongAxis: axis)

        case .softmax(let axis):                                         // y ⊙ (g − Σ g⊙y)
            return [y * (g - (g * y).reducing(.sum, axis: axis))]
        case .logSoftmax(let axis):                                      // g − softmax ⊙ Σ g
            return [g - y.applying(.exp) * g.reducing(.sum, axis: axis)]
        case .logSumExp(let axis, let kept):                             // g ⊙ softmax(x)
            return [g.restoringAxes([axis], kept: kept) * (x[0] - y.restoringAxes([axis], kept: kept)).applying(.exp)]
        // Fused training steps use the same rule against class labels: backprop_softmax_cross_entropy (CKernels).
        case .softmaxCrossEntropy(let averaged):                         // (ŷ·Σy − y) / batch; ŷ − y for one-hot y
            let targets = saved[0]
            let p = x[0].softmaxValues(axis: 1)
            let delta = p * targets.reducing(.sum, axis: 1) - targets
            return [averaged ? delta * g / S(Swift.max(x[0].shape[0], 1)) : delta * g]
        case .normalize(let axes, _):                                    // s (g − mean g − x̂ ⊙ mean(g ⊙ x̂)), s = 1/√(σ²+ε)
            let meanOfG = g.mean(alongAxes: axes, keepingDimensions: true)
            let meanOfGY = (g * y).mean(alongAxes: axes, keepingDimensions: true)
            return [saved[0] * (g - meanOfG - y * meanOfGY)]

        // The convolution is the product Y = W̃ X̃ of the weight matrix and the unfolded input (Tensor+Convolution.swift):
        // ∂J/∂W̃ = G X̃ᵀ, ∂J/∂X̃ = W̃ᵀ G folded back onto the image (δ correlated with the flipped kernel), ∂J/∂b = Σ G.
        case .convolution2D(let window):
            return [ifNeeded(0) { Tensor.convolutionInputGradient(g, weight: x[1], inputShape: x[0].shape, window: window) },
                    ifNeeded(1) { Tensor.convolutionWeightGradient(g, input: x[0], weightShape: x[1].shape, window: window) }]
                + (x.count == 3 ? [g.reducing(.sum, axes: [0, 2, 3], keepingDimensions: false)] : [])
        case .maxPool2D(let window): return [Tensor.poolingGradient(.maxPoolGradient, g, input: x[0], window: window)]
        case .averagePool2D(let window): return [Tensor.poolingGradient(.averagePoolGradient, g, input: x[0], window: window)]
        }
    }
}

extension Op {
    /// The element-wise activation this operation applies, if it is one.
    var activationFunction: UnaryFunction? {
        switch self {
        case .tanh: .tanh
        case .sigmoid: .sigmoid
        case .relu: .relu
        case .softplus: .softplus
        case .gelu: .gelu
        case .leakyReLU(let slope): .leakyReLU(slope: slope)
        case .elu(let alpha): .elu(alpha: alpha)
        default: nil
        }
    }
}

extension UnaryFunction {
    /// The backward pass of an element-wise activation f as one binary kernel: `∂J/∂x = kernel(g, x)`, or
    /// `kernel(g, y)` with y = f(x) when `fromOutput`. `nil` for functions that are not activations.
    ///
    /// The graph's rules above and fused dense layers (``Tensor/assign(_:timesDerivativeOf:input:output:)``)
    /// both take the derivative from here.
    public var gradientRule: (kernel: BinaryFunction, fromOutput: Bool)? {
        switch self {
        case .tanh: (.tanhGradient, true)                           // g (1 − y²): tanh′ = 1 − tanh²
        case .sigmoid: (.sigmoidGradient, true)                     // g y (1 − y): σ′ = σ(1 − σ)
        case .relu: (.whereRightPositive, false)                    // g where x > 0, else 0
        case .softplus: (.softplusGradient, false)                  // g σ(x)
        case .gelu: (.geluGradient, false)                          // g (Φ(x) + x φ(x))
        case .leakyReLU(let slope): (.leakyReLUGradient(slope: slope), false)  // g, or slope·g where x ≤ 0
        case .elu(let alpha): (.eluGradient(alpha: alpha), false)   // g, or g α eˣ where x ≤ 0
        default: nil
        }
    }
}

extension Tensor {
    /// Re-inserts reduced axes as size-1 dimensions when a reduction dropped them, so the result broadcasts back.
    fileprivate func restoringAxes(_ axes: [Int], kept: Bool) -> Tensor {
        if kept { return detached }
        var restored = shape
        for axis in axes.sorted() { restored.insert(1, at: axis) }
        return Tensor(storage: storage, shape: restored)
    }

    /// Adds each row of `self` into row `indices[i]` of a zero tensor of `shape` (the adjoint of gathering).
    fileprivate func scatteringRows(_ indices: [Int], into shape: [Int]) -> Tensor {
        var result = Tensor.zeros(shape: shape)
        let rowSize = count / Swift.max(indices.count, 1)
        result.withUnsafeMutablePointer { target in
            for (row, index) in indices.enumerated() {
                let source = storage.pointer + row * rowSize
                let destination = target + index * rowSize
                for j in 0..<rowSize { destination[j] += source[j] }
            }
        }
        return result
    }

    /// Places `self` at rows `range` of a zero tensor of `shape` (the adjoint of slicing).
    fileprivate func paddingRows(_ range: Range<Int>, to shape: [Int]) -> Tensor {
        var result = Tensor.zeros(shape: shape)
        let rowSize = count / Swift.max(range.count, 1)
        result.withUnsafeMutablePointer { target in
            (target + range.lowerBound * rowSize).update(from: storage.pointer, count: count)
        }
        return result
    }
}

extension Op {
    /// The derivative rule of this op as a formula, printed by `backprop rules`. Kept beside the rules above so
    /// the two are reviewed together; the switch is exhaustive, so a new op cannot be added without its formula.
    public var derivativeFormula: String {
        switch self {
        case .leaf: "a graph input: its gradient is the result"
        case .negate: "∂(−x)/∂x = −1"
        case .exp: "exp′(x) = exp(x)  (reuses the output)"
        case .log: "log′(x) = 1/x"
        case .sqrt: "√′(x) = 1/(2√x)  (reuses the output)"
        case .abs: "|x|′ = sign(x)"
        case .square: "(x²)′ = 2x"
        case .reciprocal: "(1/x)′ = −1/x²"
        case .power: "(xᵖ)′ = p·xᵖ⁻¹"
        case .tanh: "tanh′(x) = 1 − tanh²(x)  (reuses the output)"
        case .sigmoid: "σ′(x) = σ(x)(1 − σ(x))  (reuses the output)"
        case .relu: "ReLU′(x) = 1[x > 0]"
        case .softplus: "softplus′(x) = σ(x)"
        case .gelu: "GELU′(x) = Φ(x) + x·φ(x)"
        case .leakyReLU: "leakyReLU′(x) = 1 if x > 0 else slope"
        case .elu: "ELU′(x) = 1 if x > 0 else α·eˣ"
        case .clamp: "clamp′(x) = 1[lower < x < upper]"
        case .add: "∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1  (broadcast gradients summed back)"
        case .subtract: "∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1"
        case .multiply: "∂(a⊙b)/∂a = b, ∂(a⊙b)/∂b = a"
        case .divide: "∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²"
        case .select: "select(m, a, b): g·m to a, g·(1 − m) to b"
        case .matmul: "C = AB: ∂J/∂A = G·Bᵀ, ∂J/∂B = Aᵀ·G  (so ∂J/∂W = δ·aᵀ for z = W·a)"
        case .batchedMatmul: "per batch entry: ∂J/∂A = G·Bᵀ, ∂J/∂B = Aᵀ·G"
        case .sum: "∂(Σx)/∂x = 1, the gradient broadcast back over the summed axes"
        case .mean: "∂(mean x)/∂x = 1/n, broadcast back"
        case .max: "∂(max x)/∂x = 1 at the maximum (shared equally by ties), 0 elsewhere"
        case .reshape: "the gradient reshaped back"
        case .broadcast: "the gradient summed over the broadcast dimensions"
        case .transpose: "the gradient transposed back (inverse permutation)"
        case .gatherRows: "the gradient rows added back at the gathered indices"
        case .sliceRows: "the gradient placed back in the sliced rows, zeros elsewhere"
        case .concatenate: "the gradient split back into the pieces"
        case .softmax: "∂J/∂x = y ⊙ (g − Σ g⊙y)  with y = softmax(x)"
        case .logSoftmax: "∂J/∂x = g − softmax(x)·Σg"
        case .logSumExp: "∂ logΣexp(x)/∂x = softmax(x)"
        case .softmaxCrossEntropy: "softmax + cross-entropy on logits z: ∂J/∂z = ŷ − y  (÷ batch when averaged)"
        case .normalize: "x̂ = (x − μ)/√(σ²+ε): ∂J/∂x = (g − mean g − x̂·mean(g⊙x̂)) / √(σ²+ε)"
        case .convolution2D:
            "Y = W̃·X̃ (X̃ the unfolded input): ∂J/∂W̃ = G·X̃ᵀ, ∂J/∂x = fold(W̃ᵀ·G) (δ correlated with the flipped kernel), ∂J/∂b = Σ G"
        case .maxPool2D: "∂J/∂x = g at each window's first largest input, 0 elsewhere"
        case .averagePool2D: "∂J/∂x = Σ over the windows holding x of g / window size"
        }
    }

    /// One representative of every op, in table order (for printing the rules).
    public static var catalog: [Op] {
        [.leaf, .negate, .exp, .log, .sqrt, .abs, .square, .reciprocal, .power(exponent: 2), .tanh, .sigmoid, .relu,
         .softplus, .gelu, .leakyReLU(slope: 0.01), .elu(alpha: 1), .clamp(lower: 0, upper: 1), .add, .subtract,
         .multiply, .divide, .select, .matmul(transposeA: false, transposeB: false), .batchedMatmul,
         .sum(axes: [0], keepingDimensions: false), .mean(axes: [0], keepingDimensions: false),
         .max(axis: 0, keepingDimensions: false), .reshape, .broadcast, .transpose(permutation: [1, 0]),
         .gatherRows(indices: []), .sliceRows(0..<1), .concatenate(axis: 0), .softmax(axis: -1), .logSoftmax(axis: -1),
         .logSumExp(axis: -1, keepingDimensions: false), .softmaxCrossEntropy(averaged: true),
         .normalize(axes: [0], epsilon: 1e-5), .convolution2D(SlidingWindow(kernelHeight: 3, kernelWidth: 3)),
         .maxPool2D(SlidingWindow(kernelHeight: 2, kernelWidth: 2)), .averagePool2D(SlidingWindow(kernelHeight: 2, kernelWidth: 2))]
    }
}
