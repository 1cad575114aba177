import BackpropCore

/// Every quantity of one backpropagation step on one sample, in the textbook's notation, computed by the same
/// engine that trains (tracked tensors, the derivative table, the optimizer kernel) — not a second, hand-written
/// path.
///
/// For each dense layer l (z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = σ(z⁽ˡ⁾)):
/// ```
/// forward    z⁽ˡ⁾, a⁽ˡ⁾
/// backward   ∂J/∂a⁽ˡ⁾   (the loss's derivative at the output; (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ below it)
///            σ′(z⁽ˡ⁾)
///            δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾ = ∂J/∂a⁽ˡ⁾ ⊙ σ′(z⁽ˡ⁾)     (ŷ − y for softmax + cross-entropy)
///            ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾(a⁽ˡ⁻¹⁾)ᵀ,  ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾
/// update     W⁽ˡ⁾ ← W⁽ˡ⁾ − η ∂J/∂W⁽ˡ⁾,  b⁽ˡ⁾ ← b⁽ˡ⁾ − η ∂J/∂b⁽ˡ⁾
/// ```
public struct BackpropTrace<Scalar: TensorScalar>: Sendable {
    /// One dense layer and the activation after it.
    public struct LayerStep: Sendable {
        /// 1-based layer number l.
        public var number: Int
        /// The activation σ (identity when the dense layer is not followed by one).
        public var activation: Activation
        /// W⁽ˡ⁾ `[outputs, inputs]` and b⁽ˡ⁾ before the update.
        public var weight: Tensor<Scalar>, bias: Tensor<Scalar>
        /// a⁽ˡ⁻¹⁾, the layer's input.
        public var input: Tensor<Scalar>
        /// z⁽ˡ⁾ and a⁽ˡ⁾.
        public var z: Tensor<Scalar>, a: Tensor<Scalar>
        /// ∂J/∂a⁽ˡ⁾.
        public var gradientOfActivation: Tensor<Scalar>
        /// σ′(z⁽ˡ⁾), element-wise (nil for softmax, whose Jacobian is not diagonal).
        public var activationDerivative: Tensor<Scalar>?
        /// δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾.
        public var delta: Tensor<Scalar>
        /// ∂J/∂W⁽ˡ⁾ and ∂J/∂b⁽ˡ⁾.
        public var weightGradient: Tensor<Scalar>, biasGradient: Tensor<Scalar>
        /// W⁽ˡ⁾ and b⁽ˡ⁾ after the update.
        public var updatedWeight: Tensor<Scalar>, updatedBias: Tensor<Scalar>
    }

    /// The layers, first to last.
    public var layers: [LayerStep]
    /// The input x = a⁽⁰⁾ and the target.
    public var input: Tensor<Scalar>, target: Tensor<Scalar>
    /// The loss J before the update.
    public var loss: Double
    /// The loss function.
    public var lossFunction: any Loss
    /// η.
    public var learningRate: Double
    /// The model after the update.
    public var updatedModel: Sequential<Scalar>

    /// Runs one forward pass, backward pass and gradient-descent step of `model` on one sample.
    ///
    /// - Precondition: `model` is built from `Dense` layers, each optionally followed by one activation layer;
    ///   `input` is `[1, inputs]` and `target` `[1, outputs]`.
    public init(model: Sequential<Scalar>, input: Tensor<Scalar>, target: Tensor<Scalar>, loss: any Loss, learningRate: Double) {
        self.input = input
        self.target = target
        lossFunction = loss
        self.learningRate = learningRate
        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        var context = ForwardContext.inference
        let outputs = tracked.outputsOfEveryLayer(input, context: &context)
        let output = outputs.last ?? input
        let lossValue = loss(output, .values(target), reduction: .sum)
        self.loss = Double(lossValue.scalar)

        // Pair each dense layer with the activation after it.
        var pairs: [(dense: Int, activation: Int?)] = []
        for (index, layer) in model.layers.enumerated() where layer is Dense<Scalar> {
            let next = index + 1 < model.layers.count && model.layers[index + 1] is ActivationLayer<Scalar> ? index + 1 : nil
            pairs.append((index, next))
        }
        let targets = pairs.flatMap { pair in [outputs[pair.dense]] + (pair.activation.map { [outputs[$0]] } ?? []) }
        let gradients = lossValue.gradients(withRespectTo: leaves + targets)
        let parameterGradients = Array(gradients[..<leaves.count])
        updatedModel = model.steppedDown(along: parameterGradients, learningRate: learningRate)
        let updated = updatedModel.parameters

        var steps: [LayerStep] = []
        var cursor = leaves.count
        var parameterIndex = 0
        var layerInput = input
        for (number, pair) in pairs.enumerated() {
            let dense = model.layers[pair.dense] as! Dense<Scalar>
            let activation = pair.activation.map { (model.layers[$0] as! ActivationLayer<Scalar>).activation } ?? .identity
            let delta = gradients[cursor]
            let dJda = pair.activation != nil ? gradients[cursor + 1] : delta
            let z = outputs[pair.dense].detached
            let a = pair.activation.map { outputs[$0].detached } ?? z
            cursor += pair.activation != nil ? 2 : 1
            steps.append(LayerStep(
                number: number + 1, activation: activation, weight: dense.weight, bias: dense.bias, input: layerInput,
                z: z, a: a, gradientOfActivation: dJda,
                activationDerivative: activation == .softmax ? nil : Self.derivative(of: activation, at: z),
                delta: delta, weightGradient: parameterGradients[parameterIndex], biasGradient: parameterGradients[parameterIndex + 1],
                updatedWeight: updated[parameterIndex], updatedBias: updated[parameterIndex + 1]))
            parameterIndex += 2
            layerInput = a
        }
        layers = steps
    }

    /// σ′(z) from the engine's own derivative rule: the gradient of Σσ(z) with respect to z.
    static func derivative(of activation: Activation, at z: Tensor<Scalar>) -> Tensor<Scalar> {
        let tracked = z.requiringGradient()
        return activation.apply(tracked).sum().gradients(withRespectTo: [tracked])[0]
    }

    /// Whether the output error was computed by the fused softmax + cross-entropy rule (δ = ŷ − y).
    public var usesFusedSoftmaxCrossEntropy: Bool {
        if lossFunction is SoftmaxCrossEntropy { return true }
        return false
    }
}

extension Sequential {
    /// The model after one plain gradient-descent step, θ ← θ − η ∂J/∂θ, taken by the optimizer kernel that trains.
    func steppedDown(along gradients: [Tensor<Scalar>], learningRate: Double) -> Sequential {
        var updated = parameters
        let rule = SGD()
        for i in updated.indices {
            var state = rule.makeState(for: updated[i])
            rule.update(&updated[i], gradient: gradients[i], state: &state, learningRate: learningRate)
        }
        var next = self
        next.parameters = updated
        return next
    }

    /// The 2-2-2 sigmoid network of the classic worked example (W¹ = [[0.15, 0.20], [0.25, 0.30]], b¹ = 0.35;
    /// W² = [[0.40, 0.45], [0.50, 0.55]], b² = 0.60), with input (0.05, 0.10) and target (0.01, 0.99).
    public static var workedExample: (model: Sequential, input: Tensor<Scalar>, target: Tensor<Scalar>) {
        let model = Sequential {
            Dense(weight: Tensor([[0.15, 0.20], [0.25, 0.30]]), bias: Tensor([0.35, 0.35]))
            ActivationLayer(.sigmoid)
            Dense(weight: Tensor([[0.40, 0.45], [0.50, 0.55]]), bias: Tensor([0.60, 0.60]))
            ActivationLayer(.sigmoid)
        }
        return (model, Tensor([[0.05, 0.10]]), Tensor([[0.01, 0.99]]))
    }
}
