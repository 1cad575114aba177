import CKernels

/// The kernels of the fused convolutional step, over channels-last (NHWC) batches
/// (`Sources/CKernels/ChannelsLastKernels.c`).
public enum ChannelsLastKernel: Sendable {
    /// Unfolds the input into one row per output pixel: `[batch·outH·outW, kH·kW·channels]`.
    case unfold
    /// Folds rows back onto the input, adding overlaps (the adjoint of ``unfold``).
    case fold
    /// Max pooling, recording each output's winning pixel in the indices.
    case maxPool
    /// Max pooling of max(input + bias, 0), the auxiliary operand the bias: the bias and ReLU of the layer before
    /// fused in.
    case maxPoolOfBiasAndReLU
    /// Max pooling of max(γ (input − mean) s + β, 0), the auxiliary operand `[mean, s, γ, β]` (four vectors of the
    /// channels): the batch normalisation and ReLU of the layer before fused in; each winner's x̂ goes to a second
    /// output.
    case maxPoolOfBatchNormalizationAndReLU
    /// The gradient of max pooling: the input is the upstream gradient, the indices those ``maxPool`` recorded; with
    /// the pooled output as auxiliary operand, only where it is positive (a ReLU's gradient folded in).
    case maxPoolGradient
    /// Average pooling, in the graph's order (the same bits as ``WindowKernel/averagePool``).
    case averagePool
    /// The gradient of average pooling: the input is the upstream gradient.
    case averagePoolGradient
}

/// The per-channel values batch normalisation applies: the batch's statistics and the layer's scale and offset.
public struct BatchStatistics<Scalar: TensorScalar> {
    /// The batch's mean per channel.
    public let mean: UnsafePointer<Scalar>
    /// 1/√(variance + ε) per channel.
    public let inverseDeviation: UnsafePointer<Scalar>
    /// γ.
    public let scale: UnsafePointer<Scalar>
    /// β.
    public let offset: UnsafePointer<Scalar>

    /// Points at the four vectors.
    public init(mean: UnsafePointer<Scalar>, inverseDeviation: UnsafePointer<Scalar>, scale: UnsafePointer<Scalar>,
                offset: UnsafePointer<Scalar>) {
        self.mean = mean
        self.inverseDeviation = inverseDeviation
        self.scale = scale
        self.offset = offset
    }
}

extension SlidingWindow {
    /// The kernels' description of this window over a batch of `height × width` images of `channels` channels.
    ///
    /// - Precondition: the window fits the image.
    public func problem(batch: Int, channels: Int, height: Int, width: Int) -> WindowProblem {
        problem(input: [batch, channels, height, width])
    }
}
