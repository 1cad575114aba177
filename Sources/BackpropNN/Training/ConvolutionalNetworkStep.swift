import BackpropCore

/// The training step of a convolutional classifier under softmax + cross-entropy, fused into kernels on buffers that
/// are reused from step to step, like ``DenseNetworkStep`` for perceptrons.
///
/// Images are kept channels-last, each batch as a `[batch·height·width, channels]` matrix, so that a convolution is
/// an unfolding of each output pixel's window into one row (a run of contiguous channels per pixel) and one matrix
/// product with the weights, and bias, activation, batch normalisation and pooling work along contiguous channels:
/// ```
/// forward    X̃ = unfold(a)          z = X̃ W̃ᵀ + b          a′ = σ(z)      (W̃: the OIHW weight as [out, kh·kw·in])
/// backward   δ = ∂J/∂a′ ⊙ σ′(z)     ∂J/∂W̃ = δᵀ X̃          ∂J/∂b = Σ δ     ∂J/∂a = fold(δ W̃)
/// ```
/// The rules are those of `Autodiff/Derivatives.swift`; only the layout differs, so sums run in another order than
/// the graph's and the results agree with it to rounding (the tests hold them to it). `Flatten` turns the
/// channels-last image back into PyTorch's channel-major order, so dense weights mean the same on both paths.
///
/// The trainer uses it for a ``Sequential`` with an image input shape built from ``Conv2D``, ``BatchNorm``,
/// ``LayerNorm``, element-wise ``ActivationLayer``s, ``MaxPool2D``, ``AveragePool2D``, ``GlobalAveragePool``,
/// ``Flatten``, ``Dropout`` and ``Dense`` layers, ending in a dense layer without activation, under ``Loss/softmaxCrossEntropy(labelSmoothing:)`` on class labels;
/// any other model takes the graph (or ``DenseNetworkStep``).
struct ConvolutionalNetworkStep<Scalar: TensorScalar> {
    typealias Image = ConvolutionalImage
    typealias Stage = ConvolutionalStage

    /// How a first convolution runs. Over one-channel images its products would be only kh·kw deep (9 for 3 × 3),
    /// so it runs direct: no unfolding, each output's window summed in registers.
    enum FirstConvolution {
        /// Unfolded and multiplied by the weight, as every later convolution.
        case unfolded
        /// Direct (`Tensor.assignConvolved`), its output stored for what follows it; its weight gradient from δ
        /// (`Tensor.convolutionWeightGradient`).
        case direct
        /// Direct, with its bias, ReLU and the max pooling after it in one pass (`Tensor.assignConvolvedAndPooled`),
        /// its output never stored; its gradients from the pooled output's.
        case directAndPooled
        /// Direct, followed by batch normalisation with a ReLU and a max pooling whose windows tile: the
        /// normalisation's statistics in closed form from the windows' moments, the normalisation folded into the
        /// convolution (`Tensor+NormalizedConvolution.swift`), then convolution, ReLU and pooling in one pass as for
        /// ``directAndPooled``. Neither the convolution's output nor the normalisation's is ever stored or read.
        case normalizedAndPooled
    }

    let stages: [Stage]
    let inputImage: Image
    let labelSmoothing: Double
    /// Each batch-normalisation layer's momentum, by stage.
    let momentum: [Int: Double]
    let epsilon: [Int: Double]
    /// Whether a stage's fused ReLU has its gradient applied by the max pooling after it (which routes each window's
    /// gradient to one input, and only where that input is positive), so that the stage itself skips it.
    let reluGradientFolded: [Bool]
    /// Whether a stage is a batch normalisation with a ReLU whose max pooling after it applies both, in its one pass
    /// (`Tensor.assignMaxPoolOfBatchNormalization`): the normalisation computes only its statistics, and its
    /// output is never stored.
    let normalizedByPool: [Bool]
    /// Whether such a normalisation's gradients come straight from the pooled output's (its windows tile the
    /// image), the pooling's gradient never stored.
    let normalizationGradientFromPool: [Bool]
    /// Whether a direct first convolution without activation takes the batch statistics of the normalisation after
    /// it (one the max pooling applies) as it writes z (`Tensor.assignConvolved(_:weight:bias:convolution:batchStatistics:epsilon:)`),
    /// so that the normalisation does not read z for them.
    let statisticsFromConvolution: Bool
    /// How the first stage's convolution runs. With bfloat16 products a direct one's operands are rounded to
    /// bfloat16 as the products' are (its sums stay Float32, in its own order).
    let firstConvolution: FirstConvolution
    /// The precision of the step's matrix products (the convolutions', after unfolding, and the dense layers').
    let precision: MatrixPrecision
    /// Whether unpadded convolutions read their unfolded input in place from their input images (``GatheredRows``)
    /// instead of unfolding it: bfloat16 products, and Float32 ones where large ones run on the portable kernel, which
    /// gathers.
    let gathersUnfoldedInput: Bool
    /// Buffers for the most recent batch size and the one before (a full batch and an epoch's last, smaller one).
    var current: Buffers?
    var previous: Buffers?

    /// The fused step for `model` under `loss` with products in `precision`, or `nil` when the model or loss is not
    /// one it handles.
    init?(_ model: some Layer<Scalar>, loss: any Loss, precision: MatrixPrecision = .float32) {
        guard let smoothing = (loss as? SoftmaxCrossEntropy)?.labelSmoothing, let sequential = model as? Sequential<Scalar>,
              let inputShape = sequential.inputShape, inputShape.count == 3,
              sequential.layers.contains(where: { $0 is Conv2D<Scalar> }) else { return nil }
        var stages: [Stage] = []
        var momentum: [Int: Double] = [:], epsilon: [Int: Double] = [:]
        var image: Image? = Image(channels: inputShape[0], height: inputShape[1], width: inputShape[2])
        var features: Int?
        var parameter = 0, state = 0
        for (index, layer) in sequential.layers.enumerated() {
            defer {
                parameter += layer.parameterNames.count
                state += layer.stateNames.count
            }
            switch layer {
            case let conv as Conv2D<Scalar>:
                guard let input = image, input.channels == conv.inputChannels,
                      let size = conv.window.outputSize(height: input.height, width: input.width) else { return nil }
                let output = Image(channels: conv.outputChannels, height: size.height, width: size.width)
                stages.append(.convolution(weight: parameter, bias: conv.bias == nil ? nil : parameter + 1, window: conv.window,
                                           input: input, output: output, activation: nil))
                image = output
            case let norm as BatchNorm<Scalar>:
                guard (image?.channels ?? features) == norm.features else { return nil }
                momentum[stages.count] = norm.momentum
                epsilon[stages.count] = norm.epsilon
                stages.append(.batchNorm(parameter: parameter, state: state, layer: index, channels: norm.features, relu: false))
            case let activationLayer as ActivationLayer<Scalar>:
                if activationLayer.activation == .identity { continue }
                guard let function = activationLayer.activation.elementwiseFunction, function.gradientRule != nil else { return nil }
                switch stages.last {
                case .convolution(let w, let b, let window, let input, let output, nil)?:
                    stages[stages.count - 1] = .convolution(weight: w, bias: b, window: window, input: input, output: output,
                                                            activation: function)
                case .dense(let w, let inputs, let outputs, nil)?:
                    stages[stages.count - 1] = .dense(weight: w, inputs: inputs, outputs: outputs, activation: function)
                case .batchNorm(let p, let s, let l, let channels, false)? where function == .relu:
                    stages[stages.count - 1] = .batchNorm(parameter: p, state: s, layer: l, channels: channels, relu: true)
                default:
                    stages.append(.activation(function))
                }
            case let pool as MaxPool2D<Scalar>:
                guard let input = image, let size = pool.window.outputSize(height: input.height, width: input.width) else { return nil }
                let output = Image(channels: input.channels, height: size.height, width: size.width)
                stages.append(.maxPool(window: pool.window, input: input, output: output))
                image = output
            case let pool as AveragePool2D<Scalar>:
                guard let input = image, let size = pool.window.outputSize(height: input.height, width: input.width) else { return nil }
                let output = Image(channels: input.channels, height: size.height, width: size.width)
                stages.append(.averagePool(window: pool.window, input: input, output: output))
                image = output
            case is GlobalAveragePool<Scalar>:
                // One window over the whole image: its channels-last output, `[batch, channels]`, is the features.
                guard let input = image else { return nil }
                let window = SlidingWindow(kernelHeight: input.height, kernelWidth: input.width)
                stages.append(.averagePool(window: window, input: input,
                                           output: Image(channels: input.channels, height: 1, width: 1)))
                features = input.channels
                image = nil
            case is Flatten<Scalar>:
                if let input = image {
                    stages.append(.flatten(input))
                    features = input.count
                    image = nil
                }
            case let dropout as Dropout<Scalar>:
                stages.append(.dropout(rate: dropout.rate, image: image))
            case let norm as LayerNorm<Scalar>:
                guard norm.scale.shape == (image.map { [$0.channels, $0.height, $0.width] } ?? features.map { [$0] }) else { return nil }
                stages.append(.layerNorm(parameter: parameter, epsilon: norm.epsilon, image: image))
            case let dense as Dense<Scalar>:
                guard image == nil, features == dense.inputSize else { return nil }
                stages.append(.dense(weight: parameter, inputs: dense.inputSize, outputs: dense.outputSize, activation: nil))
                features = dense.outputSize
            default:
                return nil
            }
        }
        guard case .dense(_, _, _, nil)? = stages.last else { return nil }
        self.stages = stages
        inputImage = Image(channels: inputShape[0], height: inputShape[1], width: inputShape[2])
        labelSmoothing = smoothing
        self.precision = precision
        self.momentum = momentum
        self.epsilon = epsilon
        let reluGradientFolded = stages.indices.map { l in
            guard l + 1 < stages.count, case .maxPool = stages[l + 1] else { return false }
            switch stages[l] {
            case .convolution(_, _, _, _, _, .relu?), .batchNorm(_, _, _, _, true): return true
            default: return false
            }
        }
        self.reluGradientFolded = reluGradientFolded
        normalizedByPool = stages.indices.map { l in
            guard case .batchNorm(_, _, _, _, true) = stages[l] else { return false }
            return reluGradientFolded[l]
        }
        normalizationGradientFromPool = stages.indices.map { [normalizedByPool] l in
            guard normalizedByPool[l], case .maxPool(let window, _, _) = stages[l + 1] else { return false }
            return window.strideHeight == window.kernelHeight && window.strideWidth == window.kernelWidth && !window.isPadded
        }
        if case .convolution(_, _, _, let input, _, let activation)? = stages.first, input.channels == 1,
           precision == .float32 || Scalar.self == Float.self {
            if activation == .relu && reluGradientFolded[0] {
                firstConvolution = .directAndPooled
            } else if activation == nil && precision == .float32 && stages.count > 2 && normalizationGradientFromPool[1] {
                firstConvolution = .normalizedAndPooled
            } else {
                firstConvolution = .direct
            }
        } else {
            firstConvolution = .unfolded
        }
        if firstConvolution == .direct, case .convolution(_, _, _, _, _, nil) = stages[0], stages.count > 1, normalizedByPool[1] {
            statisticsFromConvolution = true
        } else {
            statisticsFromConvolution = false
        }
        gathersUnfoldedInput = precision != .float32 || KernelBackend.preferred == .portable
            || KernelBackend.largeProductsOnPortableKernel
    }

    /// Runs the forward and backward pass on one batch (rows of channel-major images), overwriting `gradients` and
    /// `gradientNorms` (one per parameter), and — when the loss is finite — moving batch normalisation's running
    /// statistics in `state`. Returns the summed loss and the number of correctly classified rows.
    mutating func run(
        inputs x: Tensor<Scalar>, labels: [Int], parameters: [Tensor<Scalar>], state: inout [Tensor<Scalar>],
        generator: inout SeededGenerator, gradients: inout [Tensor<Scalar>], gradientNorms: inout [Double]
    ) -> (loss: Double, correct: Int) {
        let n = x.shape[0]
        var b = buffers(rows: n, parameters: parameters)
        defer { current = b }
        defer {
            for l in b.stageInputs.indices { b.stageInputs[l] = b.empty }
        }
        forward(x, buffers: &b, parameters: parameters, runningStatistics: nil, generator: &generator)
        let last = stages.count - 1
        let result = b.delta[last].assignSoftmaxCrossEntropyGradient(
            logits: b.output[last], labels: labels, labelSmoothing: labelSmoothing, scale: 1 / Scalar(n))
        guard result.loss.isFinite else { return result }
        updateRunningStatistics(&state, buffers: b, rows: n)
        backward(buffers: &b, rows: n, parameters: parameters, gradients: &gradients, gradientNorms: &gradientNorms)
        return result
    }

    /// The summed loss and the number of correctly classified rows of a batch for inference: dropout off, batch
    /// normalisation on its running statistics in `state` — what ``Trainer/evaluate(_:on:)`` computes with the
    /// graph, on this step's buffers.
    mutating func evaluate(inputs x: Tensor<Scalar>, labels: [Int], parameters: [Tensor<Scalar>],
                           state: [Tensor<Scalar>]) -> (loss: Double, correct: Int) {
        let n = x.shape[0]
        var b = buffers(rows: n, parameters: parameters)
        defer { current = b }
        defer {
            for l in b.stageInputs.indices { b.stageInputs[l] = b.empty }
        }
        var unused = SeededGenerator(seed: 0)
        forward(x, buffers: &b, parameters: parameters, runningStatistics: state, generator: &unused)
        let last = stages.count - 1
        return b.delta[last].assignSoftmaxCrossEntropyGradient(
            logits: b.output[last], labels: labels, labelSmoothing: labelSmoothing, scale: 1)
    }

    /// The forward pass into the buffers: in training (`runningStatistics` nil) with batch statistics and dropout
    /// masks from `generator`; for inference with the running statistics and no dropout.
    private func forward(_ x: Tensor<Scalar>, buffers b: inout Buffers, parameters: [Tensor<Scalar>],
                         runningStatistics: [Tensor<Scalar>]?, generator: inout SeededGenerator) {
        let n = x.shape[0]
        // The input as channels-last rows (for one channel, a copy).
        b.input.assignTransposed(x, batch: n, rows: inputImage.channels, columns: inputImage.pixels)
        if firstConvolution != .unfolded && precision != .float32 { roundToBFloat16(&b.input) }
        var input = b.input
        for (l, stage) in stages.enumerated() {
            b.stageInputs[l] = input
            switch stage {
            case .convolution(let w, let bias, let window, let image, _, let activation):
                let problem = b.problems[l]!
                if l == 0 && firstConvolution != .unfolded {
                    // Its weight as `[kh·kw, filters]`.
                    b.weightMatrix[l].assignTransposed(parameters[w], batch: 1, rows: parameters[w].shape[0],
                                                       columns: window.kernelHeight * window.kernelWidth)
                    if precision != .float32 { roundToBFloat16(&b.weightMatrix[l]) }
                    if firstConvolution == .normalizedAndPooled && runningStatistics == nil {
                        Tensor.assignWindowMoments(of: input, convolution: problem, into: &b.folded!.windowMoments)
                    }
                    // Computed with the pooling after it.
                    if firstConvolution == .directAndPooled || firstConvolution == .normalizedAndPooled { break }
                } else {
                    b.weightMatrix[l].assignTransposed(parameters[w], batch: parameters[w].shape[0], rows: image.channels,
                                                       columns: window.kernelHeight * window.kernelWidth)
                    if b.gathered[l] == nil { b.columns[l].assignUnfolded(input, problem) }
                }
                if reluGradientFolded[l] && activation == .relu {
                    // The bias and ReLU are applied by the max pooling after it, in its one pass.
                    convolve(stage: l, input, columns: b.columns[l], gathered: b.gathered[l], weight: b.weightMatrix[l], problem, into: &b.output[l])
                } else if activation == .relu {
                    // The ReLU in place: its gradient is read from its output.
                    convolve(stage: l, input, columns: b.columns[l], gathered: b.gathered[l], weight: b.weightMatrix[l], problem, into: &b.output[l])
                    b.output[l].addBiasApplyingReLU(bias.map { parameters[$0] } ?? b.zeroBias[l])
                } else if activation == nil && l == 0 && firstConvolution == .direct {
                    // The bias added, and the statistics of a batch normalisation after it taken, as z is written.
                    let bias = bias.map { parameters[$0] }
                    if statisticsFromConvolution && runningStatistics == nil {
                        b.output[l].assignConvolved(input, weight: b.weightMatrix[l], bias: bias, convolution: problem,
                                                    batchStatistics: &b.statistics[l + 1], epsilon: epsilon[l + 1]!)
                    } else {
                        b.output[l].assignConvolved(input, weight: b.weightMatrix[l], bias: bias, convolution: problem)
                    }
                } else if activation == nil {
                    convolve(stage: l, input, columns: b.columns[l], gathered: b.gathered[l], weight: b.weightMatrix[l], problem, into: &b.output[l])
                    if let bias { b.output[l].addBias(parameters[bias]) }
                } else {
                    convolve(stage: l, input, columns: b.columns[l], gathered: b.gathered[l], weight: b.weightMatrix[l], problem,
                             into: &b.preActivation[l])
                    if let bias {
                        b.preActivation[l].addBias(parameters[bias], applying: activation, into: &b.output[l])
                    } else {
                        b.output[l].assignApplying(activation!, to: b.preActivation[l])
                    }
                }
            case .batchNorm(let p, let s, _, _, let relu):
                if l == 1 && firstConvolution == .normalizedAndPooled, case .convolution(_, let bias, _, _, _, _) = stages[0] {
                    // Folded into the convolution, which the pooling after it computes.
                    let bias = bias.map { parameters[$0] }
                    if let running = runningStatistics {
                        Tensor.assignRunningStatistics(mean: running[s], variance: running[s + 1], epsilon: epsilon[l]!,
                                                       into: &b.statistics[l])
                    } else {
                        Tensor.assignConvolutionStatistics(windowMoments: b.folded!.windowMoments, weight: b.weightMatrix[0],
                                                           bias: bias, epsilon: epsilon[l]!, into: &b.statistics[l])
                    }
                    // Moved out while both of its tensors are written.
                    var folded = b.folded.take()!
                    Tensor.foldNormalization(weight: b.weightMatrix[0], bias: bias, statistics: b.statistics[l],
                                             scale: parameters[p], offset: parameters[p + 1],
                                             foldedWeight: &folded.weight, foldedBias: &folded.bias)
                    b.folded = folded
                } else if normalizedByPool[l] {
                    // Normalised by the max pooling after it, in its one pass: here only the statistics.
                    if let running = runningStatistics {
                        Tensor.assignRunningStatistics(mean: running[s], variance: running[s + 1], epsilon: epsilon[l]!,
                                                       into: &b.statistics[l])
                    } else if !(l == 1 && statisticsFromConvolution) {
                        Tensor.assignBatchStatistics(of: input, epsilon: epsilon[l]!, into: &b.statistics[l])
                    }
                    b.normalization[l].assignNormalization(statistics: b.statistics[l], scale: parameters[p],
                                                           offset: parameters[p + 1])
                } else if let running = runningStatistics {
                    b.output[l].assignBatchNormalization(input, scale: parameters[p], offset: parameters[p + 1],
                                                         runningMean: running[s], runningVariance: running[s + 1],
                                                         epsilon: epsilon[l]!, relu: relu, statistics: &b.statistics[l])
                } else {
                    b.output[l].assignBatchNormalization(input, scale: parameters[p], offset: parameters[p + 1],
                                                         epsilon: epsilon[l]!, relu: relu, statistics: &b.statistics[l])
                }
            case .activation(let function):
                b.output[l].assignApplying(function, to: input)
            case .maxPool:
                if l == 1 && firstConvolution == .directAndPooled, case .convolution(_, let bias, _, _, _, _) = stages[0] {
                    b.output[l].assignConvolvedAndPooled(b.input, weight: b.weightMatrix[0],
                                                         bias: bias.map { parameters[$0] } ?? b.zeroBias[0],
                                                         convolution: b.problems[0]!, pooling: b.problems[l]!,
                                                         winners: &b.winners[l])
                    break
                }
                if l == 2 && firstConvolution == .normalizedAndPooled {
                    b.output[l].assignConvolvedAndPooled(b.input, weight: b.folded!.weight, bias: b.folded!.bias,
                                                         convolution: b.problems[0]!, pooling: b.problems[l]!,
                                                         winners: &b.winners[l])
                    break
                }
                if l > 0 && normalizedByPool[l - 1] {
                    b.output[l].assignMaxPoolOfBatchNormalization(b.stageInputs[l - 1], b.problems[l]!,
                                                                  normalization: b.normalization[l - 1], winners: &b.winners[l],
                                                                  normalizedWinners: &b.normalizedWinners[l])
                    break
                }
                b.output[l].assignMaxPool(input, b.problems[l]!, winners: &b.winners[l],
                                          bias: biasFused(intoPoolAt: l, parameters: parameters, buffers: b))
            case .averagePool:
                b.output[l].assignAveragePool(input, b.problems[l]!)
            case .flatten(let image):
                b.output[l].assignTransposed(input, batch: n, rows: image.pixels, columns: image.channels)
            case .layerNorm(let p, let epsilon, let image):
                var (scale, offset) = (parameters[p], parameters[p + 1])
                if let image {
                    // γ and β are channel-major, as the model keeps an image; the values here are channels-last.
                    b.layerNorm[l][0].assignTransposed(scale, batch: 1, rows: image.channels, columns: image.pixels)
                    b.layerNorm[l][1].assignTransposed(offset, batch: 1, rows: image.channels, columns: image.pixels)
                    (scale, offset) = (b.layerNorm[l][0], b.layerNorm[l][1])
                }
                b.output[l].assignLayerNormalization(input, rows: n, scale: scale, offset: offset, epsilon: epsilon,
                                                     statistics: &b.statistics[l])
            case .dropout(let rate, let image):
                guard rate > 0, runningStatistics == nil else {
                    // Nothing to drop: the input goes on (the buffer is not written, so it is never shared).
                    continue
                }
                generator.fillFlags(&b.flags[l], probability: 1 - rate)
                if let image {
                    // The graph draws an image's flags channel by channel: the mask is made in that order, then
                    // turned channels-last.
                    b.channelMajorMask[l].assignMask(b.flags[l], scale: Scalar(1 / (1 - rate)))
                    b.mask[l].assignTransposed(b.channelMajorMask[l], batch: n, rows: image.channels, columns: image.pixels)
                } else {
                    b.mask[l].assignMask(b.flags[l], scale: Scalar(1 / (1 - rate)))
                }
                b.output[l].assignProduct(elementwise: input, b.mask[l])
            case .dense(let w, _, _, let activation):
                if activation == nil {
                    b.output[l].assignProduct(input, parameters[w], transposeB: true, precision: precision)
                    b.output[l].addBias(parameters[w + 1])
                } else {
                    b.preActivation[l].assignProduct(input, parameters[w], transposeB: true, precision: precision)
                    b.preActivation[l].addBias(parameters[w + 1], applying: activation, into: &b.output[l])
                }
            }
            input = b.output[l]
        }
    }

    /// The backward pass from δ of the logits (in `b.delta` of the last stage) into `gradients` and `gradientNorms`.
    private func backward(buffers b: inout Buffers, rows n: Int, parameters: [Tensor<Scalar>],
                          gradients: inout [Tensor<Scalar>], gradientNorms: inout [Double]) {
        let last = stages.count - 1
        var gradient = b.delta[last]
        for l in stride(from: last, through: 0, by: -1) {
            let stageInput = b.stageInputs[l]
            switch stages[l] {
            case .convolution(let w, let bias, let window, let image, _, let activation):
                let problem = b.problems[l]!
                // Its gradients came with the normalisation's.
                if l == 0 && firstConvolution == .normalizedAndPooled { break }
                if l == 0 && firstConvolution == .directAndPooled {
                    // `gradient` is the pooled output's (the pooling stage passed it on); without a bias, its
                    // gradient goes to a scratch buffer.
                    if let bias {
                        Tensor.convolutionPoolGradients(images: b.input, gradient: gradient, pooled: b.output[1],
                                                        winners: b.winners[1], convolution: problem, pooling: b.problems[1]!,
                                                        weightGradient: &b.weightGradientColumns[l],
                                                        biasGradient: &gradients[bias], roundingProducts: precision != .float32)
                        gradientNorms[bias] = Double(gradients[bias].norm)
                    } else {
                        Tensor.convolutionPoolGradients(images: b.input, gradient: gradient, pooled: b.output[1],
                                                        winners: b.winners[1], convolution: problem, pooling: b.problems[1]!,
                                                        weightGradient: &b.weightGradientColumns[l], biasGradient: &b.delta[l],
                                                        roundingProducts: precision != .float32)
                    }
                    // `[kh·kw, filters]` to OIHW (one input channel).
                    gradients[w].assignTransposed(b.weightGradientColumns[l], batch: 1,
                                                  rows: window.kernelHeight * window.kernelWidth, columns: parameters[w].shape[0])
                    gradientNorms[w] = Double(gradients[w].norm)
                    break
                }
                let delta: Tensor<Scalar>
                if activation == nil || reluGradientFolded[l] {
                    delta = gradient
                } else if activation == .relu {
                    b.delta[l].assign(gradient, timesDerivativeOf: .relu, input: b.output[l], output: b.output[l])
                    delta = b.delta[l]
                } else {
                    b.delta[l].assign(gradient, timesDerivativeOf: activation!, input: b.preActivation[l], output: b.output[l])
                    delta = b.delta[l]
                }
                if l == 0 && firstConvolution == .direct {
                    if let bias {
                        // The bias's gradient (Σ δ) in the same pass.
                        Tensor.convolutionWeightGradient(images: b.input, delta: delta, convolution: problem,
                                                         weightGradient: &b.weightGradientColumns[l], biasGradient: &gradients[bias],
                                                         roundingProducts: precision != .float32)
                        gradientNorms[bias] = Double(gradients[bias].norm)
                    } else {
                        Tensor.convolutionWeightGradient(images: b.input, delta: delta, convolution: problem,
                                                         weightGradient: &b.weightGradientColumns[l],
                                                         roundingProducts: precision != .float32)
                    }
                    // `[kh·kw, filters]` to OIHW (one input channel).
                    gradients[w].assignTransposed(b.weightGradientColumns[l], batch: 1,
                                                  rows: window.kernelHeight * window.kernelWidth, columns: parameters[w].shape[0])
                    gradientNorms[w] = Double(gradients[w].norm)
                    break
                }
                if let bias {
                    gradients[bias].assignColumnSums(of: delta)
                    gradientNorms[bias] = Double(gradients[bias].norm)
                }
                // ∂J/∂W̃ᵀ = X̃ᵀ δ: of the two orders of this product, the faster on the kernels (measured on C1: 149 against
                // 114 GFLOP/s for the second convolution; the first takes the small-product kernel either way).
                if let rows = b.gathered[l] {
                    b.weightGradientColumns[l].assignProduct(gathering: rows, from: stageInput, delta, transposeA: true,
                                                             precision: precision)
                } else {
                    b.weightGradientColumns[l].assignProduct(b.columns[l], delta, transposeA: true, precision: precision)
                }
                b.weightMatrixGradient[l].assignTransposed(b.weightGradientColumns[l], batch: 1,
                                                           rows: b.weightGradientColumns[l].shape[0],
                                                           columns: b.weightGradientColumns[l].shape[1])
                gradients[w].assignTransposed(b.weightMatrixGradient[l], batch: parameters[w].shape[0],
                                              rows: window.kernelHeight * window.kernelWidth, columns: image.channels)
                gradientNorms[w] = Double(gradients[w].norm)
                guard l > 0 else { break }
                if let rows = b.gathered[l] {
                    b.inputGradient[l].assignFoldedProduct(delta, b.weightMatrix[l], problem, rows: rows, precision: precision)
                } else {
                    b.columns[l].assignProduct(delta, b.weightMatrix[l], precision: precision)
                    b.inputGradient[l].assignFolded(b.columns[l], problem)
                }
            case .batchNorm(let p, _, _, _, _) where l == 1 && firstConvolution == .normalizedAndPooled:
                guard case .convolution(let w, let bias, let window, _, _, _) = stages[0] else { break }
                // `gradient` is the pooled output's (the pooling stage passed it on). The folded convolution's sums
                // first: Σ gz x over the windows, and Σ gz (into the bias's gradient, or scratch).
                Tensor.convolutionPoolGradients(images: b.input, gradient: gradient, pooled: b.output[l + 1],
                                                winners: b.winners[l + 1], convolution: b.problems[0]!,
                                                pooling: b.problems[l + 1]!, weightGradient: &b.weightGradientColumns[0],
                                                biasGradient: &b.delta[0])
                gradients.withUnsafeMutableBufferPointer { gradients in
                    Tensor.normalizedConvolutionGradients(
                        windowMoments: b.folded!.windowMoments, weight: b.weightMatrix[0], statistics: b.statistics[l],
                        scale: parameters[p], windowSums: b.weightGradientColumns[0], offsetSums: b.delta[0],
                        weightGradient: &b.folded!.weightGradient, scaleGradient: &gradients[p],
                        offsetGradient: &gradients[p + 1])
                }
                gradientNorms[p] = Double(gradients[p].norm)
                gradientNorms[p + 1] = Double(gradients[p + 1].norm)
                // `[kh·kw, filters]` to OIHW (one input channel).
                gradients[w].assignTransposed(b.folded!.weightGradient, batch: 1,
                                              rows: window.kernelHeight * window.kernelWidth, columns: parameters[w].shape[0])
                gradientNorms[w] = Double(gradients[w].norm)
                if let bias {
                    let count = gradients[bias].count
                    gradients[bias].withUnsafeMutablePointer { $0.update(repeating: 0, count: count) }
                    gradientNorms[bias] = 0
                }
            case .batchNorm(let p, _, _, _, let relu):
                gradients.withUnsafeMutableBufferPointer { gradients in
                    guard !normalizationGradientFromPool[l] else {
                        // `gradient` is the pooled output's (the pooling stage passed it on).
                        b.inputGradient[l].assignBatchNormalizationGradient(
                            throughMaxPool: gradient, pooled: b.output[l + 1], winners: b.winners[l + 1],
                            normalizedWinners: b.normalizedWinners[l + 1], b.problems[l + 1]!,
                            input: stageInput, scale: parameters[p], statistics: b.statistics[l],
                            scaleGradient: &gradients[p], offsetGradient: &gradients[p + 1])
                        return
                    }
                    b.inputGradient[l].assignBatchNormalizationGradient(
                        gradient, output: relu && !reluGradientFolded[l] ? b.output[l] : nil, scale: parameters[p],
                        statistics: b.statistics[l],
                        input: stageInput, scaleGradient: &gradients[p], offsetGradient: &gradients[p + 1])
                }
                gradientNorms[p] = Double(gradients[p].norm)
                gradientNorms[p + 1] = Double(gradients[p + 1].norm)
            case .activation(let function):
                b.inputGradient[l].assign(gradient, timesDerivativeOf: function, input: stageInput, output: b.output[l])
            case .maxPool:
                // The direct first convolution, and a normalisation the pooling applied, take the pooled output's
                // gradient themselves.
                if l == 1 && firstConvolution == .directAndPooled || l > 0 && normalizationGradientFromPool[l - 1] { continue }
                b.inputGradient[l].assignMaxPoolGradient(gradient, b.problems[l]!, winners: b.winners[l],
                                                         pooledReLU: l > 0 && reluGradientFolded[l - 1] ? b.output[l] : nil)
            case .averagePool:
                b.inputGradient[l].assignAveragePoolGradient(gradient, b.problems[l]!)
            case .flatten(let image):
                b.inputGradient[l].assignTransposed(gradient, batch: n, rows: image.channels, columns: image.pixels)
            case .layerNorm(let p, _, let image):
                if let image {
                    // γ, β, ∂J/∂γ, ∂J/∂β channels-last, moved out of the buffers while the gradients are written.
                    var channelsLast: [Tensor<Scalar>] = []
                    swap(&channelsLast, &b.layerNorm[l])
                    channelsLast.withUnsafeMutableBufferPointer { t in
                        b.inputGradient[l].assignLayerNormalizationGradient(
                            gradient, input: stageInput, rows: n, scale: t[0], statistics: b.statistics[l],
                            scaleGradient: &t[2], offsetGradient: &t[3])
                    }
                    gradients[p].assignTransposed(channelsLast[2], batch: 1, rows: image.pixels, columns: image.channels)
                    gradients[p + 1].assignTransposed(channelsLast[3], batch: 1, rows: image.pixels, columns: image.channels)
                    swap(&channelsLast, &b.layerNorm[l])
                } else {
                    gradients.withUnsafeMutableBufferPointer { gradients in
                        b.inputGradient[l].assignLayerNormalizationGradient(
                            gradient, input: stageInput, rows: n, scale: parameters[p], statistics: b.statistics[l],
                            scaleGradient: &gradients[p], offsetGradient: &gradients[p + 1])
                    }
                }
                gradientNorms[p] = Double(gradients[p].norm)
                gradientNorms[p + 1] = Double(gradients[p + 1].norm)
            case .dropout(let rate, _):
                guard rate > 0 else {
                    b.inputGradient[l] = gradient
                    break
                }
                b.inputGradient[l].assignProduct(elementwise: gradient, b.mask[l])
            case .dense(let w, _, _, let activation):
                let delta: Tensor<Scalar>
                if let activation {
                    b.delta[l].assign(gradient, timesDerivativeOf: activation, input: b.preActivation[l], output: b.output[l])
                    delta = b.delta[l]
                } else {
                    delta = gradient
                }
                gradientNorms[w] = Double(gradients[w].assignProductReturningNorm(delta, stageInput, transposeA: true, precision: precision))
                gradients[w + 1].assignColumnSums(of: delta)
                gradientNorms[w + 1] = Double(gradients[w + 1].norm)
                guard l > 0 else { break }
                b.inputGradient[l].assignProduct(delta, parameters[w], precision: precision)
            }
            gradient = b.inputGradient[l]
        }
    }

    /// z of the convolution at stage `l` into `z`: directly from the images `input` for a direct first convolution
    /// (`weight` as `[kh·kw, filters]`), else the unfolded input times `weight`, its rows `gathered` from `input` or
    /// unfolded into `columns`.
    private func convolve(stage l: Int, _ input: Tensor<Scalar>, columns: Tensor<Scalar>, gathered: GatheredRows?,
                          weight: Tensor<Scalar>, _ problem: WindowProblem, into z: inout Tensor<Scalar>) {
        if l == 0 && firstConvolution == .direct {
            z.assignConvolved(input, weight: weight, convolution: problem)
        } else if let gathered {
            z.assignProduct(gathering: gathered, from: input, weight, transposeB: true, precision: precision)
        } else {
            z.assignProduct(columns, weight, transposeB: true, precision: precision)
        }
    }

    /// Rounds `tensor`'s values to bfloat16 in place (a bfloat16 step's tensors are Float32: see
    /// ``TrainingStep/supportsPrecision``).
    private func roundToBFloat16(_ tensor: inout Tensor<Scalar>) {
        precondition(Scalar.self == Float.self, "bfloat16 operands are rounded from Float32 tensors")
        let count = tensor.count
        tensor.withUnsafeMutablePointer { values in
            values.withMemoryRebound(to: Float.self, capacity: count) { BFloat16Products.roundInPlace($0, count: count) }
        }
    }

    /// The bias of the convolution before the max pooling at stage `l` when its bias and ReLU are fused into the
    /// pooling (zeros for a convolution without bias), else `nil`.
    private func biasFused(intoPoolAt l: Int, parameters: [Tensor<Scalar>], buffers b: Buffers) -> Tensor<Scalar>? {
        guard l > 0, reluGradientFolded[l - 1], case .convolution(_, let bias, _, _, _, .relu?) = stages[l - 1] else { return nil }
        return bias.map { parameters[$0] } ?? b.zeroBias[l - 1]
    }

    /// running ← (1 − m)·running + m·batch, with the batch's unbiased variance, as ``BatchNorm`` does in the graph.
    private func updateRunningStatistics(_ state: inout [Tensor<Scalar>], buffers b: Buffers, rows n: Int) {
        for (l, stage) in stages.enumerated() {
            guard case .batchNorm(_, let s, _, let channels, _) = stage else { continue }
            let m = Scalar(momentum[l]!)
            // The normalised values per channel: its input's rows (that of a normalisation folded into the first
            // convolution is never stored).
            let values: Int
            if l == 1 && firstConvolution == .normalizedAndPooled, case .convolution(_, _, _, _, let output, _) = stages[0] {
                values = n * output.pixels
            } else {
                values = b.stageInputs[l].count / channels
            }
            let correction = Scalar(Double(values) / Double(Swift.max(values - 1, 1)))
            b.statistics[l].withUnsafePointer { stats in
                state[s].withUnsafeMutablePointer { mean in
                    for c in 0..<channels { mean[c] = (1 - m) * mean[c] + m * stats[c] }
                }
                state[s + 1].withUnsafeMutablePointer { variance in
                    for c in 0..<channels { variance[c] = (1 - m) * variance[c] + m * (stats[channels + c] * correction) }
                }
            }
        }
    }
}
