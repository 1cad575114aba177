import BackpropCore

// The buffers of ``ConvolutionalNetworkStep``, and the stages they serve.
extension ConvolutionalNetworkStep {
    /// The buffers of one batch size, one entry per stage (unused entries are empty).
    struct Buffers {
        let rows: Int
        /// Each stage's result.
        var output: [Tensor<Scalar>]
        /// z of a convolution or dense stage with a fused activation.
        var preActivation: [Tensor<Scalar>]
        /// δ = ∂J/∂z of a stage with a fused activation.
        var delta: [Tensor<Scalar>]
        /// ∂J/∂(the stage's input).
        var inputGradient: [Tensor<Scalar>]
        /// A convolution's unfolded input, then (in the backward pass) the gradient of the unfolded input; empty
        /// where they are gathered.
        var columns: [Tensor<Scalar>]
        /// A convolution's unfolded input as rows gathered from its input images, where its products read it in place
        /// and its input gradient is folded as the product computes it.
        var gathered: [GatheredRows?]
        /// A convolution's weight as `[out, kh·kw·in]`, and its gradient.
        var weightMatrix: [Tensor<Scalar>], weightMatrixGradient: [Tensor<Scalar>]
        /// The gradient of a convolution's weight as `[kh·kw·in, out]`, as the product gives it.
        var weightGradientColumns: [Tensor<Scalar>]
        /// Batch normalisation's `[mean, variance, 1/√(variance + ε)]`, and `[mean, 1/√(variance + ε), γ, β]` where
        /// the max pooling after it applies it; layer normalisation's `[rows, 2]` (each sample's mean and
        /// 1/√(variance + ε)).
        var statistics: [Tensor<Scalar>], normalization: [Tensor<Scalar>]
        /// Layer normalisation of an image: γ, β, ∂J/∂γ and ∂J/∂β channels-last (the image's values' order).
        var layerNorm: [[Tensor<Scalar>]]
        /// Max pooling's winning pixels, and their x̂ where the pooling applies a batch normalisation.
        var winners: [[Int32]], normalizedWinners: [Tensor<Scalar>]
        /// Dropout's keep flags and mask (channels-last for images).
        var flags: [[UInt8]], mask: [Tensor<Scalar>]
        /// Dropout's mask of an image as the flags are drawn, channel by channel.
        var channelMajorMask: [Tensor<Scalar>]
        /// The input, channels-last.
        var input: Tensor<Scalar>
        /// Each stage's input during a step (emptied after it, so that no buffer is shared into the next step).
        var stageInputs: [Tensor<Scalar>]
        /// The sliding window of each convolution and pooling stage over this batch size.
        var problems: [WindowProblem?]
        /// Zeros to add as the bias of a convolution without one that applies a ReLU in place.
        var zeroBias: [Tensor<Scalar>]
        /// What a first convolution with its normalisation folded in keeps (``FirstConvolution/normalizedAndPooled``).
        var folded: FoldedNormalization?
        /// An empty tensor, the placeholder of unused entries.
        let empty: Tensor<Scalar>
    }

    /// The buffers of a first convolution with its batch normalisation folded in.
    struct FoldedNormalization {
        /// The windows' mean and covariance, `[kh·kw + 1, kh·kw]`.
        var windowMoments: Tensor<Scalar>
        /// The folded convolution's weight (`[kh·kw, filters]`) and bias.
        var weight: Tensor<Scalar>, bias: Tensor<Scalar>
        /// The convolution's weight gradient, `[kh·kw, filters]`.
        var weightGradient: Tensor<Scalar>
    }

    /// The buffers for `rows`-sample batches, moved out of storage (so that they are uniquely referenced) or made.
    mutating func buffers(rows n: Int, parameters: [Tensor<Scalar>]) -> Buffers {
        if current?.rows != n { swap(&current, &previous) }
        if let buffers = current.take(), buffers.rows == n { return buffers }
        func zeros(_ shape: [Int]) -> Tensor<Scalar> { Tensor.zeros(shape: shape) }
        let none = zeros([0])
        var b = Buffers(rows: n, output: [], preActivation: [], delta: [], inputGradient: [], columns: [], gathered: [], weightMatrix: [],
                        weightMatrixGradient: [], weightGradientColumns: [], statistics: [], normalization: [], layerNorm: [], winners: [], normalizedWinners: [], flags: [], mask: [],
                        channelMajorMask: [], input: zeros([n * inputImage.pixels, inputImage.channels]),
                        stageInputs: Array(repeating: none, count: stages.count), problems: [], zeroBias: [], folded: nil, empty: none)
        var inputShape = [n * inputImage.pixels, inputImage.channels]
        for (l, stage) in stages.enumerated() {
            var outputShape = inputShape
            var (pre, delta, columns, weight, stats, normalization, winners, flags, mask) = (none, none, none, none, none, none, [Int32](), [UInt8](), none)
            var (channelMajorMask, normalizedWinners) = (none, none)
            var layerNorm: [Tensor<Scalar>] = []
            // A direct first convolution's weight and its gradient are both `[kh·kw, filters]`.
            let direct = l == 0 && firstConvolution == .direct
            var problem: WindowProblem?
            var gathered: GatheredRows?
            var zeroBias = none
            switch stage {
            case .convolution(let w, _, let window, let image, let output, let activation):
                outputShape = [n * output.pixels, output.channels]
                problem = window.problem(batch: n, channels: image.channels, height: image.height, width: image.width)
                if l == 0 && (firstConvolution == .directAndPooled || firstConvolution == .normalizedAndPooled) {
                    // Neither its unfolded input nor its output is stored; its weight is `[kh·kw, filters]`, its
                    // bias gradient (or the sums of the gradient reaching the normalisation) goes to `delta`.
                    let weight = zeros([window.kernelHeight * window.kernelWidth, output.channels])
                    if firstConvolution == .normalizedAndPooled {
                        let k = window.kernelHeight * window.kernelWidth
                        b.folded = FoldedNormalization(windowMoments: zeros([k + 1, k]), weight: zeros(weight.shape),
                                                       bias: zeros([output.channels]), weightGradient: zeros(weight.shape))
                    }
                    (delta, zeroBias) = (zeros([output.channels]), zeros([output.channels]))
                    b.append(output: none, preActivation: none, delta: delta, inputGradient: none, columns: none,
                             weightMatrix: weight, weightMatrixGradient: none, weightGradientColumns: zeros(weight.shape),
                             problem: problem, zeroBias: zeroBias)
                    inputShape = outputShape
                    continue
                }
                if direct {
                    // Not unfolded.
                    weight = zeros([window.kernelHeight * window.kernelWidth, output.channels])
                } else {
                    gathered = gathersUnfoldedInput ? problem?.unfoldedRows : nil
                    if gathered == nil {
                        columns = zeros([n * output.pixels, window.kernelHeight * window.kernelWidth * image.channels])
                    }
                    weight = zeros([parameters[w].shape[0], window.kernelHeight * window.kernelWidth * image.channels])
                }
                if activation == .relu {
                    zeroBias = zeros([output.channels])
                    if !reluGradientFolded[l] { delta = zeros(outputShape) }
                } else if activation != nil {
                    (pre, delta) = (zeros(outputShape), zeros(outputShape))
                }
            case .batchNorm(_, _, _, let channels, _):
                stats = zeros([3, channels])
                if normalizedByPool[l] && !(l == 1 && firstConvolution == .normalizedAndPooled) {
                    // Applied by the max pooling after it: its output is never stored.
                    normalization = zeros([4, channels])
                }
            case .maxPool(let window, let image, let output):
                problem = window.problem(batch: n, channels: image.channels, height: image.height, width: image.width)
                outputShape = [n * output.pixels, output.channels]
                winners = [Int32](repeating: 0, count: outputShape[0] * outputShape[1])
                if l > 0 && normalizedByPool[l - 1] && !(l == 2 && firstConvolution == .normalizedAndPooled) {
                    normalizedWinners = zeros(outputShape)
                }
            case .averagePool(let window, let image, let output):
                problem = window.problem(batch: n, channels: image.channels, height: image.height, width: image.width)
                outputShape = [n * output.pixels, output.channels]
            case .flatten(let image):
                outputShape = [n, image.count]
            case .layerNorm(_, _, let image):
                stats = zeros([n, 2])
                if let image { layerNorm = (0..<4).map { _ in zeros([image.count]) } }
            case .dropout(_, let image):
                (flags, mask) = ([UInt8](repeating: 0, count: inputShape[0] * inputShape[1]), zeros(inputShape))
                if image != nil { channelMajorMask = zeros(inputShape) }
            case .dense(_, _, let outputs, let activation):
                outputShape = [n, outputs]
                if activation != nil { pre = zeros(outputShape) }
                delta = zeros(outputShape)
            case .activation:
                break
            }
            // The pooling after a direct first convolution, or after a normalisation whose gradient comes from the
            // pooled output's, passes the gradient of its output on untouched.
            let needsInputGradient = !(l == 0 && !stage.needsInputGradientAtStart) && !(l == 1 && firstConvolution == .directAndPooled)
                && !(l > 0 && normalizationGradientFromPool[l - 1])
            b.append(output: normalizedByPool[l] ? none : zeros(outputShape), preActivation: pre, delta: delta,
                     inputGradient: needsInputGradient ? zeros(inputShape) : none, columns: columns, weightMatrix: weight,
                     weightMatrixGradient: weight.count == 0 || direct ? none : zeros(weight.shape),
                     weightGradientColumns: weight.count == 0 ? none : zeros(direct ? weight.shape : weight.shape.reversed()),
                     statistics: stats, normalization: normalization, layerNorm: layerNorm, winners: winners,
                     normalizedWinners: normalizedWinners, flags: flags, mask: mask,
                     channelMajorMask: channelMajorMask, problem: problem, gathered: gathered, zeroBias: zeroBias)
            inputShape = outputShape
        }
        return b
    }
}

extension ConvolutionalNetworkStep.Buffers {
    /// Adds one stage's buffers.
    mutating func append(output: Tensor<Scalar>, preActivation: Tensor<Scalar>, delta: Tensor<Scalar>,
                         inputGradient: Tensor<Scalar>, columns: Tensor<Scalar>, weightMatrix: Tensor<Scalar>,
                         weightMatrixGradient: Tensor<Scalar>, weightGradientColumns: Tensor<Scalar>,
                         statistics: Tensor<Scalar>? = nil, normalization: Tensor<Scalar>? = nil, layerNorm: [Tensor<Scalar>] = [], winners: [Int32] = [],
                         normalizedWinners: Tensor<Scalar>? = nil,
                         flags: [UInt8] = [], mask: Tensor<Scalar>? = nil, channelMajorMask: Tensor<Scalar>? = nil,
                         problem: WindowProblem?, gathered: GatheredRows? = nil, zeroBias: Tensor<Scalar>) {
        self.output.append(output)
        self.preActivation.append(preActivation)
        self.delta.append(delta)
        self.inputGradient.append(inputGradient)
        self.columns.append(columns)
        self.weightMatrix.append(weightMatrix)
        self.weightMatrixGradient.append(weightMatrixGradient)
        self.weightGradientColumns.append(weightGradientColumns)
        self.statistics.append(statistics ?? empty)
        self.normalization.append(normalization ?? empty)
        self.layerNorm.append(layerNorm)
        self.winners.append(winners)
        self.normalizedWinners.append(normalizedWinners ?? empty)
        self.flags.append(flags)
        self.mask.append(mask ?? empty)
        self.channelMajorMask.append(channelMajorMask ?? empty)
        self.problems.append(problem)
        self.gathered.append(gathered)
        self.zeroBias.append(zeroBias)
    }
}

/// Channels, height and width of an image.
struct ConvolutionalImage: Equatable {
    var channels: Int, height: Int, width: Int
    var pixels: Int { height * width }
    var count: Int { channels * height * width }
}

/// One stage of a ``ConvolutionalNetworkStep`` (outside the generic type, so that the unspecialised generic code
/// iterating over stages needs no boxes): a layer, with the element-wise activation after it when it can be fused.
enum ConvolutionalStage {
    case convolution(weight: Int, bias: Int?, window: SlidingWindow, input: ConvolutionalImage, output: ConvolutionalImage, activation: UnaryFunction?)
    case batchNorm(parameter: Int, state: Int, layer: Int, channels: Int, relu: Bool)
    case activation(UnaryFunction)
    case maxPool(window: SlidingWindow, input: ConvolutionalImage, output: ConvolutionalImage)
    /// Average pooling; global average pooling too, as one window over the whole image.
    case averagePool(window: SlidingWindow, input: ConvolutionalImage, output: ConvolutionalImage)
    case flatten(ConvolutionalImage)
    /// Dropout on features, or on an image (channels-last).
    case dropout(rate: Double, image: ConvolutionalImage?)
    /// Layer normalisation of each sample's values: an image's (γ and β channel-major, as the model keeps them), or
    /// features.
    case layerNorm(parameter: Int, epsilon: Double, image: ConvolutionalImage?)
    case dense(weight: Int, inputs: Int, outputs: Int, activation: UnaryFunction?)

    /// The output's columns: channels of an image, or features.
    var outputColumns: Int? {
        switch self {
        case .convolution(_, _, _, _, let output, _), .maxPool(_, _, let output), .averagePool(_, _, let output): output.channels
        case .batchNorm(_, _, _, let channels, _): channels
        case .flatten(let image): image.count
        case .dense(_, _, let outputs, _): outputs
        case .activation, .dropout, .layerNorm: nil
        }
    }
}


extension ConvolutionalStage {
    /// Whether the first stage needs an input-gradient buffer anyway (batch normalisation computes it with its
    /// parameters' gradients).
    var needsInputGradientAtStart: Bool {
        if case .batchNorm = self { return true }
        if case .layerNorm = self { return true }
        return false
    }
}
