import BackpropCore

/// One backpropagation step through a network of any layers, one sample, layer by layer — the general form of
/// ``BackpropTrace`` for networks that are not only dense layers (convolutions, pooling, normalisation).
///
/// For layer l with input a⁽ˡ⁻¹⁾ and output a⁽ˡ⁾ it records both, ∂J/∂a⁽ˡ⁾ (for a layer with weights, the δ of its
/// output), ∂J/∂a⁽ˡ⁻¹⁾ (what the layer passes back), and its parameters with their gradients and updated values —
/// all from the engine that trains (tracked tensors and the derivative table). For a convolution of stride 1 it also
/// computes ∂J/∂a⁽ˡ⁻¹⁾ the textbook way, as the full correlation of δ with the kernel rotated by 180°, so that the
/// two can be compared:
/// ```
/// ∂J/∂a[c, i, j] = Σ over o, p, q of δ[o, i + padTop − p, j + padLeft − q] · W[o, c, p, q]
///                = (δ padded by k − 1 − pad) ⋆ rot180(W), with W's input and output channels swapped
/// ```
public struct LayerTrace<Scalar: TensorScalar>: Sendable {
    /// A parameter of a layer in the step.
    public struct Parameter: Sendable {
        /// Its name in the layer (`weight`, `bias`).
        public var name: String
        /// Its value before the update, its gradient, and its value after the update.
        public var value: Tensor<Scalar>, gradient: Tensor<Scalar>, updated: Tensor<Scalar>
    }

    /// One layer of the step.
    public struct Step: Sendable {
        /// 1-based layer number l.
        public var number: Int
        /// The layer, as it describes itself.
        public var layer: String
        /// The layer's kind in model files (`conv2d`, `dense`, `activation`, …), or `layer` when it has none.
        public var kind: String
        /// The function of an activation layer.
        public var activation: Activation?
        /// a⁽ˡ⁻¹⁾ and a⁽ˡ⁾ (shapes of one sample, with a leading batch axis of 1).
        public var input: Tensor<Scalar>, output: Tensor<Scalar>
        /// ∂J/∂a⁽ˡ⁾ and ∂J/∂a⁽ˡ⁻¹⁾.
        public var outputGradient: Tensor<Scalar>, inputGradient: Tensor<Scalar>
        /// The layer's parameters.
        public var parameters: [Parameter]
        /// For a convolution of stride 1: ∂J/∂a⁽ˡ⁻¹⁾ as the full correlation of δ with the flipped kernel.
        public var flippedKernelInputGradient: Tensor<Scalar>?
    }

    /// The layers, first to last.
    public var steps: [Step]
    /// The input x = a⁽⁰⁾ and the target.
    public var input: Tensor<Scalar>, target: Tensor<Scalar>
    /// The loss J before the update.
    public var loss: Double
    /// The loss function.
    public var lossFunction: any Loss
    /// η.
    public var learningRate: Double
    /// The model after one gradient-descent step.
    public var updatedModel: Sequential<Scalar>

    /// Runs one forward pass, backward pass and gradient-descent step of `model` on one sample (`input` is
    /// `[1, inputs]` or `[1] + the model's input shape`, `target` `[1, outputs]`), in inference mode (dropout off,
    /// batch normalisation on its running statistics).
    public init(model: Sequential<Scalar>, input: Tensor<Scalar>, target: Tensor<Scalar>, loss: any Loss, learningRate: Double) {
        self.input = input
        self.target = target
        lossFunction = loss
        self.learningRate = learningRate
        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        let x = (model.inputShape.map { input.detached.reshaped(to: [1] + $0) } ?? input.detached).requiringGradient()
        var context = ForwardContext.inference
        let outputs = tracked.outputsOfEveryLayer(x, context: &context)
        let lossValue = loss(outputs.last ?? x, .values(target), reduction: .sum)
        self.loss = Double(lossValue.scalar)
        let gradients = lossValue.gradients(withRespectTo: leaves + [x] + outputs)
        let parameterGradients = Array(gradients[..<leaves.count])
        let inputGradient = gradients[leaves.count]
        let outputGradients = Array(gradients[(leaves.count + 1)...])

        updatedModel = model.steppedDown(along: parameterGradients, learningRate: learningRate)
        let updated = updatedModel.parameters

        var steps: [Step] = []
        var parameterIndex = 0
        for (index, layer) in model.layers.enumerated() {
            let count = layer.parameterNames.count
            let parameters = (0..<count).map { i in
                Parameter(name: layer.parameterNames[i], value: layer.parameters[i],
                          gradient: parameterGradients[parameterIndex + i], updated: updated[parameterIndex + i])
            }
            parameterIndex += count
            let layerInput = index == 0 ? x.detached : outputs[index - 1].detached
            let passedBack = index == 0 ? inputGradient : outputGradients[index - 1]
            var flipped: Tensor<Scalar>?
            if let conv = layer as? Conv2D<Scalar>, conv.window.strideHeight == 1, conv.window.strideWidth == 1 {
                flipped = Self.fullCorrelationWithFlippedKernel(outputGradients[index], weight: conv.weight, window: conv.window)
            }
            steps.append(Step(
                number: index + 1, layer: "\(layer)", kind: layer.specification.map { type(of: $0).kind } ?? "layer",
                activation: (layer as? ActivationLayer<Scalar>)?.activation,
                input: layerInput, output: outputs[index].detached, outputGradient: outputGradients[index],
                inputGradient: passedBack, parameters: parameters, flippedKernelInputGradient: flipped))
        }
        self.steps = steps
    }

    /// δ (`[1, out, H′, W′]`) correlated, fully, with the kernel rotated by 180° and its channels swapped: the
    /// gradient of a stride-1 convolution's input, computed as the textbooks write it.
    static func fullCorrelationWithFlippedKernel(_ delta: Tensor<Scalar>, weight: Tensor<Scalar>, window: SlidingWindow) -> Tensor<Scalar> {
        let (outChannels, inChannels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        var flipped = Tensor<Scalar>.zeros(shape: [inChannels, outChannels, kh, kw])
        for o in 0..<outChannels { for c in 0..<inChannels { for p in 0..<kh { for q in 0..<kw {
            flipped[c, o, kh - 1 - p, kw - 1 - q] = weight[o, c, p, q]
        } } } }
        let full = SlidingWindow(kernelHeight: kh, kernelWidth: kw, padTop: kh - 1 - window.padTop,
                                 padBottom: kh - 1 - window.padBottom, padLeft: kw - 1 - window.padLeft,
                                 padRight: kw - 1 - window.padRight)
        return conv2D(delta.detached, weight: flipped, window: full)
    }
}
