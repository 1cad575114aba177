import BackpropCore

/// The training step of a multilayer perceptron under softmax + cross-entropy, fused into kernels on buffers that are
/// reused from step to step.
///
/// It computes exactly what the graph computes for the same model — the forward pass keeps every layer's z and a, the
/// loss and its error δ = (ŷ − y)/batch come from one pass over the logits, and the backward recursion
/// ```
/// ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾ᵀ a⁽ˡ⁻¹⁾      ∂J/∂b⁽ˡ⁾ = Σ over the batch of δ⁽ˡ⁾      δ⁽ˡ⁻¹⁾ = (δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ σ′(z⁽ˡ⁻¹⁾)
/// ```
/// writes the gradients straight into the trainer's gradient buffers — with the derivative rules of
/// `Autodiff/Derivatives.swift` (``UnaryFunction/gradientRule``, the softmax + cross-entropy kernel), but without
/// recording a graph. After the first batch of each size it allocates nothing.
///
/// The trainer uses it whenever the model is a ``Sequential`` of ``Dense`` layers, each optionally followed by an
/// element-wise ``ActivationLayer``, the last one without, and the loss is ``Loss/softmaxCrossEntropy(labelSmoothing:)``
/// on class labels; any other model takes the graph.
struct DenseNetworkStep<Scalar: TensorScalar> {
    typealias Stage = DenseStage

    /// The per-layer buffers for one batch size.
    struct Buffers {
        let rows: Int
        /// z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾, `[rows, outputs]`.
        var z: [Tensor<Scalar>]
        /// a⁽ˡ⁾ = σ(z⁽ˡ⁾) for stages with an activation (unused otherwise).
        var a: [Tensor<Scalar>]
        /// ∂J/∂a⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ for stages with an activation, below the last (unused otherwise).
        var gradientOfA: [Tensor<Scalar>]
        /// δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾.
        var delta: [Tensor<Scalar>]
    }

    let stages: [Stage]
    let labelSmoothing: Double
    /// Buffers for the most recent batch size and the one before (a full batch and an epoch's last, smaller one).
    private var current: Buffers?
    private var previous: Buffers?

    /// The fused step for `model` under `loss`, or `nil` when the model or the loss is not one it handles.
    /// The precision of the step's matrix products.
    let precision: MatrixPrecision

    init?(_ model: some Layer<Scalar>, loss: any Loss, precision: MatrixPrecision = .float32) {
        guard let smoothing = (loss as? SoftmaxCrossEntropy)?.labelSmoothing, let sequential = model as? Sequential<Scalar> else {
            return nil
        }
        var stages: [Stage] = []
        var parameterIndex = 0
        for layer in sequential.layers {
            if layer is Dense<Scalar> {
                stages.append(Stage(weight: parameterIndex, activation: nil))
            } else if let activation = (layer as? ActivationLayer<Scalar>)?.activation, let last = stages.last,
                      last.activation == nil {
                switch activation {
                case .identity: continue
                case .softmax: return nil
                default:
                    guard let function = activation.elementwiseFunction else { return nil }
                    stages[stages.count - 1] = Stage(weight: last.weight, activation: function)
                }
            } else {
                return nil
            }
            parameterIndex += layer.parameters.count
        }
        guard let last = stages.last, last.activation == nil else { return nil }
        self.stages = stages
        labelSmoothing = smoothing
        self.precision = precision
    }

    /// Runs the forward and backward pass on one batch, overwriting `gradients` (one buffer per parameter, each of
    /// its parameter's shape) and `gradientNorms` (each gradient's ``Tensor/norm``, one per parameter), and returns
    /// the summed loss and the number of correctly classified rows.
    mutating func run(
        inputs x: Tensor<Scalar>, labels: [Int], parameters: [Tensor<Scalar>], gradients: inout [Tensor<Scalar>],
        gradientNorms: inout [Double]
    ) -> (loss: Double, correct: Int) {
        var b = buffers(rows: x.shape[0], parameters: parameters)
        defer { current = b }
        // Forward: z = a Wᵀ, then z += b and a = σ(z) in one pass.
        var input = x
        for l in stages.indices {
            let stage = stages[l]
            b.z[l].assignProduct(input, parameters[stage.weight], transposeB: true, precision: precision)
            b.z[l].addBias(parameters[stage.weight + 1], applying: stage.activation, into: &b.a[l])
            input = stage.activation == nil ? b.z[l] : b.a[l]
        }
        // Loss and δ of the output layer.
        let last = stages.count - 1
        let logits = b.z[last]
        let result = b.delta[last].assignSoftmaxCrossEntropyGradient(
            logits: logits, labels: labels, labelSmoothing: labelSmoothing, scale: 1 / Scalar(b.rows))
        // Backward: gradients of each layer, then δ of the layer below.
        for l in stride(from: last, through: 0, by: -1) {
            let stage = stages[l]
            let delta = b.delta[l]
            let below = l == 0 ? x : (stages[l - 1].activation == nil ? b.z[l - 1] : b.a[l - 1])
            gradientNorms[stage.weight] = Double(gradients[stage.weight].assignProductReturningNorm(delta, below,
                                                                                                    transposeA: true,
                                                                                                    precision: precision))
            gradients[stage.weight + 1].assignColumnSums(of: delta)
            gradientNorms[stage.weight + 1] = Double(gradients[stage.weight + 1].norm)
            guard l > 0 else { break }
            if let activation = stages[l - 1].activation {
                // ∂J/∂a⁽ˡ⁻¹⁾ = δ⁽ˡ⁾ W⁽ˡ⁾, then δ⁽ˡ⁻¹⁾ = ∂J/∂a⁽ˡ⁻¹⁾ ⊙ σ′(z⁽ˡ⁻¹⁾), each into its own buffer.
                b.gradientOfA[l - 1].assignProduct(delta, parameters[stage.weight], precision: precision)
                b.delta[l - 1].assign(b.gradientOfA[l - 1], timesDerivativeOf: activation, input: b.z[l - 1],
                                      output: b.a[l - 1])
            } else {
                b.delta[l - 1].assignProduct(delta, parameters[stage.weight], precision: precision)
            }
        }
        return result
    }

    /// The buffers for `rows`-row batches, moved out of storage (so that they are uniquely referenced) or made.
    private mutating func buffers(rows: Int, parameters: [Tensor<Scalar>]) -> Buffers {
        if current?.rows != rows { swap(&current, &previous) }
        if let buffers = current.take(), buffers.rows == rows { return buffers }
        let widths = stages.map { parameters[$0.weight].shape[0] }
        let matrices = { widths.map { Tensor<Scalar>.zeros(shape: [rows, $0]) } }
        let stages = self.stages
        let activated = {
            stages.indices.map { stages[$0].activation == nil ? Tensor<Scalar>.zeros(shape: [0]) : .zeros(shape: [rows, widths[$0]]) }
        }
        return Buffers(rows: rows, z: matrices(), a: activated(), gradientOfA: activated(), delta: matrices())
    }
}

/// A dense layer of a ``DenseNetworkStep`` and the activation after it (outside the generic type, so that the
/// unspecialised generic code iterating over stages needs no boxes).
struct DenseStage {
    /// The index of the layer's weight among the model's parameters; its bias follows.
    let weight: Int
    let activation: UnaryFunction?
}
