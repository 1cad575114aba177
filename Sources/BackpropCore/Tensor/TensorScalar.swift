import RealModule
import CKernels

/// The element type of a tensor: `Float` (for training speed) or `Double` (for exact checking).
///
/// The protocol's kernel requirements are the only places that touch raw element buffers. Their default
/// implementations are generic, and the `Float` and `Double` conformances in this module are where the compiler
/// specialises them, so a generic tensor operation makes one dynamic call per tensor, never one per element.
/// You do not call the kernel requirements directly; use the operations on ``Tensor``.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Codable, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
    /// The element type's name as stored in files and printed in descriptions (`"F32"`, `"F64"`).
    static var dtype: DType { get }

    /// Applies an element-wise function to `count` contiguous elements.
    static func applyUnary(
        _ function: UnaryFunction, _ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)

    /// Applies an element-wise binary function over a broadcast iteration space.
    static func applyBinary(
        _ function: BinaryFunction, _ lhs: UnsafePointer<Self>, _ rhs: UnsafePointer<Self>,
        _ output: UnsafeMutablePointer<Self>, layout: BroadcastLayout)

    /// Applies an element-wise binary function to two operands of `count` elements each (no broadcasting).
    static func applyBinary(
        _ function: BinaryFunction, _ lhs: UnsafePointer<Self>, _ rhs: UnsafePointer<Self>,
        _ output: UnsafeMutablePointer<Self>, count: Int)

    /// Adds `bias` to each row of the `rows × columns` matrix `z` in place and writes `activation(z)` to `output`;
    /// for a ReLU, `output` may be `z` itself (the pre-activation is then replaced).
    static func applyBiasAndActivation(
        _ z: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, rows: Int, columns: Int, activation: UnaryFunction?,
        output: UnsafeMutablePointer<Self>)

    /// Softmax + cross-entropy of logit rows against class labels, each in `0..<classes` (the caller checks): writes
    /// `scale · (softmax(z) − y)` to `delta` and returns the summed loss and the number of rows whose largest logit is
    /// their label. C kernels (`Sources/CKernels/VectorRules.h`); `Float`'s exponential is a vectorised approximation
    /// within 2 ulp.
    static func applySoftmaxCrossEntropy(
        _ logits: UnsafePointer<Self>, labels: UnsafeBufferPointer<Int>, classes: Int, smoothing: Self, scale: Self,
        delta: UnsafeMutablePointer<Self>) -> (loss: Double, correct: Int)

    /// Reduces the middle axis of a `[outer, length, inner]` view.
    static func applyReduction(
        _ reduction: Reduction, _ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>,
        outer: Int, length: Int, inner: Int)

    /// Applies an optimizer step to `parameter`, writing the result to `result` (`parameter` itself, or memory that
    /// does not overlap it; see ``ParameterUpdate``).
    static func applyUpdate(
        _ update: ParameterUpdate, _ parameter: UnsafePointer<Self>, _ result: UnsafeMutablePointer<Self>,
        _ gradient: UnsafePointer<Self>, _ state0: UnsafeMutablePointer<Self>?, _ state1: UnsafeMutablePointer<Self>?,
        count: Int)

    /// Converts bytes to scaled values: `target[i] = Self(source[i]) · scale`.
    static func convertBytes(_ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<Self>, count: Int, scale: Self)

    /// Scales `count` values: `target[i] = source[i] · factor` (`target` may be `source`).
    static func scale(_ source: UnsafePointer<Self>, by factor: Self, into target: UnsafeMutablePointer<Self>, count: Int)

    /// Runs a kernel that slides a window over a batch of images (see ``WindowKernel`` for what `a` and `b` are).
    static func applyWindowKernel(_ kernel: WindowKernel, _ problem: WindowProblem, _ a: UnsafePointer<Self>,
                                  _ b: UnsafePointer<Self>?, _ output: UnsafeMutablePointer<Self>)

    /// Runs a kernel of the fused convolutional step over samples `samples` of a channels-last batch (see
    /// ``ChannelsLastKernel`` for what the operands are).
    static func applyChannelsLastKernel(_ kernel: ChannelsLastKernel, _ problem: WindowProblem, samples: Range<Int>,
                                        _ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>,
                                        indices: UnsafeMutablePointer<Int32>, auxiliary: UnsafePointer<Self>?,
                                        normalizedWinners: UnsafeMutablePointer<Self>?)

    /// A one-channel convolution with bias, ReLU and max pooling in one pass over samples `samples`
    /// (``Tensor/assignConvolvedAndPooled(_:weight:bias:convolution:pooling:winners:)``).
    static func applyConvolutionPool(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                     _ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>,
                                     _ y: UnsafeMutablePointer<Self>, winners: UnsafeMutablePointer<Int32>)

    /// Its weight and bias gradients over samples `samples`, overwriting `weightGradient` and `biasGradient`; with
    /// `roundingProducts` (Float only), the weight gradient's products on bfloat16 operands.
    static func applyConvolutionPoolGradient(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                             _ x: UnsafePointer<Self>, gradient: UnsafePointer<Self>,
                                             pooled: UnsafePointer<Self>, winners: UnsafePointer<Int32>,
                                             weightGradient: UnsafeMutablePointer<Self>,
                                             biasGradient: UnsafeMutablePointer<Self>, roundingProducts: Bool)

    /// Sums over the windows of a one-channel convolution of samples `samples` into `sums`: Σ x_p without `center`,
    /// Σ (x_p − center)(x_p − center)ᵀ with it (`backprop_window_moments_float`, on the thread's scratch memory).
    static func applyWindowMoments(_ convolution: WindowProblem, samples: Range<Int>, _ x: UnsafePointer<Self>,
                                   center: UnsafePointer<Self>?, _ sums: UnsafeMutablePointer<Self>)

    /// A one-channel convolution's batch mean and variance per filter from its windows' mean and covariance
    /// (`backprop_convolution_moments_float`).
    static func applyConvolutionMoments(windowSize: Int, filters: Int, windowMean: UnsafePointer<Self>,
                                        windowCovariance: UnsafePointer<Self>, weight: UnsafePointer<Self>,
                                        bias: UnsafePointer<Self>?, mean: UnsafeMutablePointer<Self>,
                                        variance: UnsafeMutablePointer<Self>)

    /// The weight and bias of the convolution that batch normalisation of a convolution computes
    /// (`backprop_fold_normalization_float`).
    static func applyNormalizationFold(windowSize: Int, filters: Int, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?,
                                       _ statistics: BatchStatistics<Self>, foldedWeight: UnsafeMutablePointer<Self>,
                                       foldedBias: UnsafeMutablePointer<Self>)

    /// The weight, scale and offset gradients of a normalised one-channel convolution from the sums of the gradient
    /// reaching its output (`backprop_normalized_convolution_gradients_float`).
    static func applyNormalizedConvolutionGradients(windowSize: Int, filters: Int, windowMean: UnsafePointer<Self>,
                                                    windowCovariance: UnsafePointer<Self>, weight: UnsafePointer<Self>,
                                                    _ statistics: BatchStatistics<Self>, windowSums: UnsafePointer<Self>,
                                                    offsetGradient dbeta: UnsafePointer<Self>,
                                                    weightGradient: UnsafeMutablePointer<Self>,
                                                    scaleGradient: UnsafeMutablePointer<Self>,
                                                    offsetGradientOutput: UnsafeMutablePointer<Self>)

    /// A one-channel convolution over samples `samples`, plus `bias` unless it is nil, and each sample's moments unless
    /// `moments` is nil (``Tensor/assignConvolved(_:weight:bias:convolution:)``).
    static func applyConvolution(_ convolution: WindowProblem, filters: Int, samples: Range<Int>, _ x: UnsafePointer<Self>,
                                 weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, _ z: UnsafeMutablePointer<Self>,
                                 moments: UnsafeMutablePointer<Self>?)

    /// The mean and variance per channel of `batch` samples of `pixels` values from the moments
    /// ``applyConvolution(_:filters:samples:_:weight:bias:_:moments:)`` wrote, merged in sample order.
    static func mergeMoments(_ moments: UnsafePointer<Self>, batch: Int, pixels: Int, channels: Int,
                             mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)

    /// Its weight gradient over samples `samples` from z's gradient, overwriting `weightGradient`, and the bias's
    /// `biasGradient` unless it is nil; with `roundingProducts` (Float only), its products on bfloat16 operands.
    static func applyConvolutionWeightGradient(_ convolution: WindowProblem, filters: Int, samples: Range<Int>,
                                               _ x: UnsafePointer<Self>, delta: UnsafePointer<Self>,
                                               weightGradient: UnsafeMutablePointer<Self>,
                                               biasGradient: UnsafeMutablePointer<Self>?, roundingProducts: Bool)

    /// `y[b][c][r] = x[b][r][c]` for `batch` matrices of `rows × columns`.
    static func transpose(_ x: UnsafePointer<Self>, batch: Int, rows: Int, columns: Int, _ y: UnsafeMutablePointer<Self>)

    /// Column sums of a `[rows, channels]` matrix, rows in order: Σ x, or Σ (x − center)² with a center.
    static func applyColumnMoments(_ x: UnsafePointer<Self>, rows: Int, channels: Int, center: UnsafePointer<Self>?,
                                   _ sums: UnsafeMutablePointer<Self>)

    /// Batch normalisation of rows with given statistics, and a ReLU if asked; see ``Tensor/assignBatchNormalization(_:scale:offset:epsilon:relu:statistics:)``.
    static func applyBatchNormalization(_ x: UnsafePointer<Self>, rows: Int, channels: Int, _ statistics: BatchStatistics<Self>,
                                        relu: Bool, output: UnsafeMutablePointer<Self>)

    /// dγ and dβ of batch normalisation over rows of its input `x`, in order (x̂ recomputed from `x` and the
    /// statistics as the forward pass computed it); `output` is the fused ReLU's output (its mask), if any.
    static func applyBatchNormalizationGradientSums(_ g: UnsafePointer<Self>, output: UnsafePointer<Self>?,
                                                    input x: UnsafePointer<Self>, rows: Int, channels: Int,
                                                    _ statistics: BatchStatistics<Self>,
                                                    scaleGradient: UnsafeMutablePointer<Self>,
                                                    offsetGradient: UnsafeMutablePointer<Self>)

    /// ∂J/∂x of batch normalisation over rows of its input `x`, of a batch of `count` rows, from the whole batch's
    /// dγ and dβ.
    static func applyBatchNormalizationInputGradient(_ g: UnsafePointer<Self>, output: UnsafePointer<Self>?,
                                                     input x: UnsafePointer<Self>, rows: Int, channels: Int,
                                                     _ statistics: BatchStatistics<Self>, scaleGradient: UnsafePointer<Self>,
                                                     offsetGradient: UnsafePointer<Self>, count: Int,
                                                     inputGradient: UnsafeMutablePointer<Self>)

    /// dγ and dβ of batch normalisation whose ReLU and max pooling are fused, over `rows` pooled rows, from the
    /// pooled output's gradient `g`, its values and its winners' x̂ (which the pooling kept).
    static func applyPooledBatchNormalizationGradientSums(_ g: UnsafePointer<Self>, pooled: UnsafePointer<Self>,
                                                          normalizedWinners: UnsafePointer<Self>, rows: Int, channels: Int,
                                                          scaleGradient: UnsafeMutablePointer<Self>,
                                                          offsetGradient: UnsafeMutablePointer<Self>)

    /// Its ∂J/∂z over samples `samples`, from the whole batch's dγ and dβ.
    static func applyPooledBatchNormalizationInputGradient(_ pooling: WindowProblem, samples: Range<Int>, _ z: UnsafePointer<Self>,
                                                           gradient: UnsafePointer<Self>, pooled: UnsafePointer<Self>,
                                                           winners: UnsafePointer<Int32>, _ statistics: BatchStatistics<Self>,
                                                           scaleGradient: UnsafePointer<Self>, offsetGradient: UnsafePointer<Self>,
                                                           inputGradient: UnsafeMutablePointer<Self>)

    /// Layer normalisation of `rows` rows of `width` values (``Tensor/assignLayerNormalization(_:rows:scale:offset:epsilon:statistics:)``).
    static func applyLayerNormalization(_ x: UnsafePointer<Self>, rows: Int, width: Int, scale: UnsafePointer<Self>,
                                        offset: UnsafePointer<Self>, epsilon: Self, _ y: UnsafeMutablePointer<Self>,
                                        statistics: UnsafeMutablePointer<Self>)

    /// Its ∂J/∂x over those rows.
    static func applyLayerNormalizationInputGradient(_ g: UnsafePointer<Self>, input x: UnsafePointer<Self>, rows: Int,
                                                     width: Int, scale: UnsafePointer<Self>, statistics: UnsafePointer<Self>,
                                                     _ dx: UnsafeMutablePointer<Self>)

    /// Its ∂J/∂γ and ∂J/∂β, summed over the rows in order.
    static func applyLayerNormalizationParameterGradients(_ g: UnsafePointer<Self>, input x: UnsafePointer<Self>, rows: Int,
                                                          width: Int, statistics: UnsafePointer<Self>,
                                                          scaleGradient: UnsafeMutablePointer<Self>,
                                                          offsetGradient: UnsafeMutablePointer<Self>)

    /// Σ over `rows` rows of `a[r]ᵀ b[r]` for dense `rows × m` and `rows × n` operands, into `partial`: `m × n` when
    /// `n ≥ m`, else transposed (see ``GEMM``'s small products).
    static func applySmallProduct(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, rows: Int, m: Int, n: Int,
                                  _ partial: UnsafeMutablePointer<Self>)

    /// `C = op(A) · op(B)` (or `C += …` when `accumulate`) on row-major matrices; see ``GEMM``.
    static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>,
                     _ c: UnsafeMutablePointer<Self>, backend: KernelBackend)

    /// `C = op(A) · op(B)` on the portable kernel with `A` gathered by `rows` from `a`, starting at row `firstRow` and
    /// column `firstColumn` of the gathered matrix; see ``GEMM/multiply(_:gathering:from:_:_:)``.
    static func gemm(_ problem: GEMMProblem, gathering rows: GatheredRows, firstRow: Int, firstColumn: Int,
                     _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ c: UnsafeMutablePointer<Self>)

    /// `C += A · op(B)` on the portable kernel with `C` gathered by `rows` from `c`, for the product's rows from row
    /// `firstRow` of the gathered matrix on; see ``GEMM/multiply(_:_:_:scatteringOnto:of:groupRows:groupElements:)``.
    static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>,
                     scatteringOnto rows: GatheredRows, firstRow: Int, of c: UnsafeMutablePointer<Self>)
}

/// The storage type of a tensor's elements.
public enum DType: String, Sendable, Hashable, CustomStringConvertible {
    /// 32-bit IEEE 754 floating point (`Float`).
    case float32 = "F32"
    /// 64-bit IEEE 754 floating point (`Double`).
    case float64 = "F64"

    /// The number of bytes one element occupies.
    public var byteCount: Int { self == .float32 ? 4 : 8 }
    public var description: String { rawValue }
}

extension TensorScalar {
    public static func applyUnary(
        _ function: UnaryFunction, _ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int
    ) {
        Elementwise.unary(function, input, output, count: count)
    }

    public static func applyBinary(
        _ function: BinaryFunction, _ lhs: UnsafePointer<Self>, _ rhs: UnsafePointer<Self>,
        _ output: UnsafeMutablePointer<Self>, layout: BroadcastLayout
    ) {
        Elementwise.binary(function, lhs, rhs, output, layout: layout)
    }
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }

    public static func applyUpdate(
        _ update: ParameterUpdate, _ parameter: UnsafePointer<Float>, _ result: UnsafeMutablePointer<Float>,
        _ gradient: UnsafePointer<Float>, _ state0: UnsafeMutablePointer<Float>?, _ state1: UnsafeMutablePointer<Float>?,
        count: Int
    ) {
        withUnsafePointer(to: update.kernelArguments) {
            backprop_update_float($0, parameter, result, gradient, state0, state1, count)
        }
    }

    public static func applyBinary(
        _ function: BinaryFunction, _ lhs: UnsafePointer<Float>, _ rhs: UnsafePointer<Float>,
        _ output: UnsafeMutablePointer<Float>, count: Int
    ) {
        if function == .whereRightPositive {
            backprop_where_positive_float(lhs, rhs, output, count)
        } else {
            Elementwise.binary(function, lhs, rhs, output, count: count)
        }
    }

    public static func applyBiasAndActivation(
        _ z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int, activation: UnaryFunction?,
        output: UnsafeMutablePointer<Float>
    ) {
        switch activation {
        case nil: backprop_bias_relu_float(z, bias, rows, columns, output, 0)
        case .relu where output == z: backprop_bias_relu_in_place_float(z, bias, rows, columns)
        case .relu: backprop_bias_relu_float(z, bias, rows, columns, output, 1)
        default: Elementwise.biasAndActivation(z, bias: bias, rows: rows, columns: columns, activation: activation,
                                               output: output)
        }
    }

    public static func applyReduction(
        _ reduction: Reduction, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        outer: Int, length: Int, inner: Int
    ) {
        Reductions.reduce(reduction, input, output, outer: outer, length: length, inner: inner,
                          wholeBufferSum: backprop_sum_float, columnSums: backprop_column_sums_float)
    }

    public static func applySoftmaxCrossEntropy(
        _ logits: UnsafePointer<Float>, labels: UnsafeBufferPointer<Int>, classes: Int, smoothing: Float, scale: Float,
        delta: UnsafeMutablePointer<Float>
    ) -> (loss: Double, correct: Int) {
        var correct = 0
        let loss = backprop_softmax_cross_entropy_float(logits, labels.baseAddress, labels.count, classes, smoothing, scale,
                                                     delta, &correct)
        return (loss, correct)
    }

    public static func convertBytes(
        _ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<Float>, count: Int, scale: Float
    ) {
        backprop_convert_bytes_float(source, target, count, scale)
    }

    public static func scale(_ source: UnsafePointer<Float>, by factor: Float, into target: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { target[i] = source[i] * factor }
    }

    public static func applyWindowKernel(_ kernel: WindowKernel, _ problem: WindowProblem, _ a: UnsafePointer<Float>,
                                         _ b: UnsafePointer<Float>?, _ output: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: problem.window) { window in
            switch kernel {
            case .unfold: backprop_im2col_float(window, a, output)
            case .fold: backprop_col2im_float(window, a, output)
            case .maxPool: backprop_max_pool_float(window, a, output)
            case .maxPoolGradient: backprop_max_pool_backward_float(window, a, b!, output)
            case .averagePool: backprop_average_pool_float(window, a, output)
            case .averagePoolGradient: backprop_average_pool_backward_float(window, a, output)
            }
        }
    }

    public static func applyChannelsLastKernel(_ kernel: ChannelsLastKernel, _ problem: WindowProblem, samples: Range<Int>,
                                               _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                               indices: UnsafeMutablePointer<Int32>, auxiliary: UnsafePointer<Float>?,
                                               normalizedWinners: UnsafeMutablePointer<Float>?) {
        withUnsafePointer(to: problem.window) { window in
            let (first, count) = (samples.lowerBound, samples.count)
            switch kernel {
            case .unfold: backprop_unfold_nhwc_float(window, input, output, first, count)
            case .fold: backprop_fold_nhwc_float(window, input, output, first, count)
            case .maxPool: backprop_max_pool_nhwc_float(window, input, output, indices, first, count)
            case .maxPoolGradient: backprop_max_pool_nhwc_backward_float(window, input, indices, auxiliary, output, first, count)
            case .maxPoolOfBiasAndReLU:
                backprop_max_pool_nhwc_bias_relu_float(window, input, auxiliary!, output, indices, first, count)
            case .maxPoolOfBatchNormalizationAndReLU:
                backprop_max_pool_nhwc_batch_norm_relu_float(window, input, auxiliary!, output, indices, normalizedWinners!,
                                                              first, count)
            case .averagePool: backprop_average_pool_nhwc_float(window, input, output, first, count)
            case .averagePoolGradient: backprop_average_pool_nhwc_backward_float(window, input, output, first, count)
            }
        }
    }

    public static func applyConvolutionPool(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                            _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                            _ y: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>) {
        withUnsafePointer(to: convolution.window) { conv in
            withUnsafePointer(to: pooling.window) { pool in
                backprop_convolve_pool_nhwc_float(conv, pool, x, weight, bias, y, winners, samples.lowerBound, samples.count)
            }
        }
    }

    public static func applyConvolutionPoolGradient(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                                    _ x: UnsafePointer<Float>, gradient: UnsafePointer<Float>,
                                                    pooled: UnsafePointer<Float>, winners: UnsafePointer<Int32>,
                                                    weightGradient: UnsafeMutablePointer<Float>,
                                                    biasGradient: UnsafeMutablePointer<Float>, roundingProducts: Bool) {

        withUnsafePointer(to: convolution.window) { conv in
            withUnsafePointer(to: pooling.window) { pool in
                ThreadScratch.withBuffer(of: Float.self, count: backprop_convolve_pool_share_size(pool)) { share in
                    backprop_convolve_pool_nhwc_backward_float(conv, pool, x, gradient, pooled, winners, weightGradient,
                                                              biasGradient, share, roundingProducts ? 1 : 0,
                                                              samples.lowerBound, samples.count)
                }
            }
        }
    }

    public static func applyWindowMoments(_ convolution: WindowProblem, samples: Range<Int>, _ x: UnsafePointer<Float>,
                                          center: UnsafePointer<Float>?, _ sums: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: convolution.window) { conv in
            ThreadScratch.withBuffer(of: Float.self, count: backprop_window_moments_scratch_size(conv)) { scratch in
                backprop_window_moments_float(conv, x, center, samples.lowerBound, samples.count, scratch, sums)
            }
        }
    }

    public static func applyConvolutionMoments(windowSize: Int, filters: Int, windowMean: UnsafePointer<Float>,
                                               windowCovariance: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                               bias: UnsafePointer<Float>?, mean: UnsafeMutablePointer<Float>,
                                               variance: UnsafeMutablePointer<Float>) {
        backprop_convolution_moments_float(windowSize, filters, windowMean, windowCovariance, weight, bias, mean, variance)
    }

    public static func applyNormalizationFold(windowSize: Int, filters: Int, weight: UnsafePointer<Float>,
                                              bias: UnsafePointer<Float>?, _ statistics: BatchStatistics<Float>,
                                              foldedWeight: UnsafeMutablePointer<Float>, foldedBias: UnsafeMutablePointer<Float>) {
        backprop_fold_normalization_float(windowSize, filters, weight, bias, statistics.mean, statistics.inverseDeviation,
                                         statistics.scale, statistics.offset, foldedWeight, foldedBias)
    }

    public static func applyNormalizedConvolutionGradients(windowSize: Int, filters: Int, windowMean: UnsafePointer<Float>,
                                                           windowCovariance: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                           _ statistics: BatchStatistics<Float>, windowSums: UnsafePointer<Float>,
                                                           offsetGradient dbeta: UnsafePointer<Float>,
                                                           weightGradient: UnsafeMutablePointer<Float>,
                                                           scaleGradient: UnsafeMutablePointer<Float>,
                                                           offsetGradientOutput: UnsafeMutablePointer<Float>) {
        backprop_normalized_convolution_gradients_float(windowSize, filters, windowMean, windowCovariance, weight,
                                                       statistics.inverseDeviation, statistics.scale, windowSums, dbeta,
                                                       weightGradient, scaleGradient, offsetGradientOutput)
    }

    public static func applyConvolution(_ convolution: WindowProblem, filters: Int, samples: Range<Int>,
                                        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                        _ z: UnsafeMutablePointer<Float>, moments: UnsafeMutablePointer<Float>?) {
        withUnsafePointer(to: convolution.window) { conv in
            backprop_convolve_nhwc_float(conv, filters, x, weight, bias, z, moments, samples.lowerBound, samples.count)
        }
    }

    public static func mergeMoments(_ moments: UnsafePointer<Float>, batch: Int, pixels: Int, channels: Int,
                                    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        backprop_merge_moments_float(moments, batch, pixels, channels, mean, variance)
    }

    public static func applyConvolutionWeightGradient(_ convolution: WindowProblem, filters: Int, samples: Range<Int>,
                                                      _ x: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                                      weightGradient: UnsafeMutablePointer<Float>,
                                                      biasGradient: UnsafeMutablePointer<Float>?, roundingProducts: Bool) {
        withUnsafePointer(to: convolution.window) { conv in
            backprop_convolve_nhwc_weight_gradient_float(conv, filters, x, delta, weightGradient, biasGradient,
                                                          roundingProducts ? 1 : 0, samples.lowerBound, samples.count)
        }
    }

    public static func transpose(_ x: UnsafePointer<Float>, batch: Int, rows: Int, columns: Int, _ y: UnsafeMutablePointer<Float>) {
        backprop_transpose_float(x, batch, rows, columns, y)
    }

    public static func applyColumnMoments(_ x: UnsafePointer<Float>, rows: Int, channels: Int, center: UnsafePointer<Float>?,
                                          _ sums: UnsafeMutablePointer<Float>) {
        backprop_column_moments_float(x, rows, channels, center, sums)
    }

    public static func applyBatchNormalization(_ x: UnsafePointer<Float>, rows: Int, channels: Int,
                                               _ statistics: BatchStatistics<Float>, relu: Bool,
                                               output: UnsafeMutablePointer<Float>) {
        backprop_batch_norm_apply_float(x, rows, channels, statistics.mean, statistics.inverseDeviation, statistics.scale,
                                      statistics.offset, relu ? 1 : 0, output)
    }

    public static func applyBatchNormalizationGradientSums(_ g: UnsafePointer<Float>, output: UnsafePointer<Float>?,
                                                           input x: UnsafePointer<Float>, rows: Int, channels: Int,
                                                           _ statistics: BatchStatistics<Float>,
                                                           scaleGradient: UnsafeMutablePointer<Float>,
                                                           offsetGradient: UnsafeMutablePointer<Float>) {
        backprop_batch_norm_gradient_sums_float(g, output, x, rows, channels, statistics.mean, statistics.inverseDeviation,
                                              scaleGradient, offsetGradient)
    }

    public static func applyBatchNormalizationInputGradient(_ g: UnsafePointer<Float>, output: UnsafePointer<Float>?,
                                                            input x: UnsafePointer<Float>, rows: Int, channels: Int,
                                                            _ statistics: BatchStatistics<Float>,
                                                            scaleGradient: UnsafePointer<Float>,
                                                            offsetGradient: UnsafePointer<Float>, count: Int,
                                                            inputGradient: UnsafeMutablePointer<Float>) {
        backprop_batch_norm_input_gradient_float(g, output, x, rows, channels, statistics.mean, statistics.scale,
                                               statistics.inverseDeviation, scaleGradient, offsetGradient, Float(count),
                                               inputGradient)
    }

    public static func applyPooledBatchNormalizationGradientSums(_ g: UnsafePointer<Float>, pooled: UnsafePointer<Float>,
                                                                 normalizedWinners: UnsafePointer<Float>, rows: Int,
                                                                 channels: Int, scaleGradient: UnsafeMutablePointer<Float>,
                                                                 offsetGradient: UnsafeMutablePointer<Float>) {
        backprop_batch_norm_pooled_gradient_sums_float(g, pooled, normalizedWinners, rows, channels, scaleGradient, offsetGradient)
    }

    public static func applyPooledBatchNormalizationInputGradient(_ pooling: WindowProblem, samples: Range<Int>,
                                                                  _ z: UnsafePointer<Float>, gradient: UnsafePointer<Float>,
                                                                  pooled: UnsafePointer<Float>, winners: UnsafePointer<Int32>,
                                                                  _ statistics: BatchStatistics<Float>,
                                                                  scaleGradient: UnsafePointer<Float>,
                                                                  offsetGradient: UnsafePointer<Float>,
                                                                  inputGradient: UnsafeMutablePointer<Float>) {
        let rows = Float(pooling.window.batch * pooling.window.height * pooling.window.width)
        withUnsafePointer(to: pooling.window) { window in
            backprop_batch_norm_pooled_input_gradient_float(window, z, gradient, pooled, winners, statistics.mean,
                                                           statistics.scale, statistics.inverseDeviation, scaleGradient,
                                                           offsetGradient, rows, inputGradient, samples.lowerBound,
                                                           samples.count)
        }
    }

    public static func applyLayerNormalization(_ x: UnsafePointer<Float>, rows: Int, width: Int, scale: UnsafePointer<Float>,
                                               offset: UnsafePointer<Float>, epsilon: Float, _ y: UnsafeMutablePointer<Float>,
                                               statistics: UnsafeMutablePointer<Float>) {
        backprop_layer_norm_float(x, rows, width, scale, offset, epsilon, y, statistics)
    }

    public static func applyLayerNormalizationInputGradient(_ g: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int,
                                                            width: Int, scale: UnsafePointer<Float>,
                                                            statistics: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        backprop_layer_norm_input_gradient_float(g, x, rows, width, scale, statistics, dx)
    }

    public static func applyLayerNormalizationParameterGradients(_ g: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                                                                 rows: Int, width: Int, statistics: UnsafePointer<Float>,
                                                                 scaleGradient: UnsafeMutablePointer<Float>,
                                                                 offsetGradient: UnsafeMutablePointer<Float>) {
        backprop_layer_norm_parameter_gradients_float(g, x, rows, width, statistics, scaleGradient, offsetGradient)
    }

    public static func applySmallProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, m: Int, n: Int,
                                         _ partial: UnsafeMutablePointer<Float>) {
        backprop_small_product_float(a, b, rows, m, n, partial)
    }

    public static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, backend: KernelBackend) {
        if backend != .portable, let blas = BLAS.library {
            blas.sgemm(problem, a, b, c)
        } else {
            PortableGEMM.multiply(problem, a, b, c)
        }
    }

    public static func gemm(_ problem: GEMMProblem, gathering rows: GatheredRows, firstRow: Int, firstColumn: Int,
                            _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        PortableGEMM.multiply(problem, gathering: rows, firstRow: firstRow, firstColumn: firstColumn, a, b, c)
    }

    public static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            scatteringOnto rows: GatheredRows, firstRow: Int, of c: UnsafeMutablePointer<Float>) {
        PortableGEMM.multiply(problem, a, b, scatteringOnto: rows, firstRow: firstRow, of: c)
    }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }

    public static func applyUpdate(
        _ update: ParameterUpdate, _ parameter: UnsafePointer<Double>, _ result: UnsafeMutablePointer<Double>,
        _ gradient: UnsafePointer<Double>, _ state0: UnsafeMutablePointer<Double>?, _ state1: UnsafeMutablePointer<Double>?,
        count: Int
    ) {
        withUnsafePointer(to: update.kernelArguments) {
            backprop_update_double($0, parameter, result, gradient, state0, state1, count)
        }
    }

    public static func applyBinary(
        _ function: BinaryFunction, _ lhs: UnsafePointer<Double>, _ rhs: UnsafePointer<Double>,
        _ output: UnsafeMutablePointer<Double>, count: Int
    ) {
        if function == .whereRightPositive {
            backprop_where_positive_double(lhs, rhs, output, count)
        } else {
            Elementwise.binary(function, lhs, rhs, output, count: count)
        }
    }

    public static func applyBiasAndActivation(
        _ z: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>, rows: Int, columns: Int, activation: UnaryFunction?,
        output: UnsafeMutablePointer<Double>
    ) {
        switch activation {
        case nil: backprop_bias_relu_double(z, bias, rows, columns, output, 0)
        case .relu where output == z: backprop_bias_relu_in_place_double(z, bias, rows, columns)
        case .relu: backprop_bias_relu_double(z, bias, rows, columns, output, 1)
        default: Elementwise.biasAndActivation(z, bias: bias, rows: rows, columns: columns, activation: activation,
                                               output: output)
        }
    }

    public static func applyReduction(
        _ reduction: Reduction, _ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>,
        outer: Int, length: Int, inner: Int
    ) {
        Reductions.reduce(reduction, input, output, outer: outer, length: length, inner: inner,
                          wholeBufferSum: backprop_sum_double, columnSums: backprop_column_sums_double)
    }

    public static func applySoftmaxCrossEntropy(
        _ logits: UnsafePointer<Double>, labels: UnsafeBufferPointer<Int>, classes: Int, smoothing: Double, scale: Double,
        delta: UnsafeMutablePointer<Double>
    ) -> (loss: Double, correct: Int) {
        var correct = 0
        let loss = backprop_softmax_cross_entropy_double(logits, labels.baseAddress, labels.count, classes, smoothing, scale,
                                                     delta, &correct)
        return (loss, correct)
    }

    public static func convertBytes(
        _ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<Double>, count: Int, scale: Double
    ) {
        backprop_convert_bytes_double(source, target, count, scale)
    }

    public static func scale(_ source: UnsafePointer<Double>, by factor: Double, into target: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { target[i] = source[i] * factor }
    }

    public static func applyWindowKernel(_ kernel: WindowKernel, _ problem: WindowProblem, _ a: UnsafePointer<Double>,
                                         _ b: UnsafePointer<Double>?, _ output: UnsafeMutablePointer<Double>) {
        withUnsafePointer(to: problem.window) { window in
            switch kernel {
            case .unfold: backprop_im2col_double(window, a, output)
            case .fold: backprop_col2im_double(window, a, output)
            case .maxPool: backprop_max_pool_double(window, a, output)
            case .maxPoolGradient: backprop_max_pool_backward_double(window, a, b!, output)
            case .averagePool: backprop_average_pool_double(window, a, output)
            case .averagePoolGradient: backprop_average_pool_backward_double(window, a, output)
            }
        }
    }

    public static func applyChannelsLastKernel(_ kernel: ChannelsLastKernel, _ problem: WindowProblem, samples: Range<Int>,
                                               _ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>,
                                               indices: UnsafeMutablePointer<Int32>, auxiliary: UnsafePointer<Double>?,
                                               normalizedWinners: UnsafeMutablePointer<Double>?) {
        withUnsafePointer(to: problem.window) { window in
            let (first, count) = (samples.lowerBound, samples.count)
            switch kernel {
            case .unfold: backprop_unfold_nhwc_double(window, input, output, first, count)
            case .fold: backprop_fold_nhwc_double(window, input, output, first, count)
            case .maxPool: backprop_max_pool_nhwc_double(window, input, output, indices, first, count)
            case .maxPoolGradient: backprop_max_pool_nhwc_backward_double(window, input, indices, auxiliary, output, first, count)
            case .maxPoolOfBiasAndReLU:
                backprop_max_pool_nhwc_bias_relu_double(window, input, auxiliary!, output, indices, first, count)
            case .maxPoolOfBatchNormalizationAndReLU:
                backprop_max_pool_nhwc_batch_norm_relu_double(window, input, auxiliary!, output, indices, normalizedWinners!,
                                                              first, count)
            case .averagePool: backprop_average_pool_nhwc_double(window, input, output, first, count)
            case .averagePoolGradient: backprop_average_pool_nhwc_backward_double(window, input, output, first, count)
            }
        }
    }

    public static func applyConvolutionPool(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                            _ x: UnsafePointer<Double>, weight: UnsafePointer<Double>, bias: UnsafePointer<Double>,
                                            _ y: UnsafeMutablePointer<Double>, winners: UnsafeMutablePointer<Int32>) {
        withUnsafePointer(to: convolution.window) { conv in
            withUnsafePointer(to: pooling.window) { pool in
                backprop_convolve_pool_nhwc_double(conv, pool, x, weight, bias, y, winners, samples.lowerBound, samples.count)
            }
        }
    }

    public static func applyConvolutionPoolGradient(_ convolution: WindowProblem, _ pooling: WindowProblem, samples: Range<Int>,
                                                    _ x: UnsafePointer<Double>, gradient: UnsafePointer<Double>,
                                                    pooled: UnsafePointer<Double>, winners: UnsafePointer<Int32>,
                                                    weightGradient: UnsafeMutablePointer<Double>,
                                                    biasGradient: UnsafeMutablePointer<Double>, roundingProducts: Bool) {
        precondition(!roundingProducts, "bfloat16 products take Float32 tensors")

        withUnsafePointer(to: convolution.window) { conv in
            withUnsafePointer(to: pooling.window) { pool in
                ThreadScratch.withBuffer(of: Double.self, count: backprop_convolve_pool_share_size(pool)) { share in
                    backprop_convolve_pool_nhwc_backward_double(conv, pool, x, gradient, pooled, winners, weightGradient,
                                                              biasGradient, share, roundingProducts ? 1 : 0,
                                                              samples.lowerBound, samples.count)
                }
            }
        }
    }

    public static func applyWindowMoments(_ convolution: WindowProblem, samples: Range<Int>, _ x: UnsafePointer<Double>,
                                          center: UnsafePointer<Double>?, _ sums: UnsafeMutablePointer<Double>) {
        withUnsafePointer(to: convolution.window) { conv in
            ThreadScratch.withBuffer(of: Double.self, count: backprop_window_moments_scratch_size(conv)) { scratch in
                backprop_window_moments_double(conv, x, center, samples.lowerBound, samples.count, scratch, sums)
            }
        }
    }

    public static func applyConvolutionMoments(windowSize: Int, filters: Int, windowMean: UnsafePointer<Double>,
                                               windowCovariance: UnsafePointer<Double>, weight: UnsafePointer<Double>,
                                               bias: UnsafePointer<Double>?, mean: UnsafeMutablePointer<Double>,
                                               variance: UnsafeMutablePointer<Double>) {
        backprop_convolution_moments_double(windowSize, filters, windowMean, windowCovariance, weight, bias, mean, variance)
    }

    public static func applyNormalizationFold(windowSize: Int, filters: Int, weight: UnsafePointer<Double>,
                                              bias: UnsafePointer<Double>?, _ statistics: BatchStatistics<Double>,
                                              foldedWeight: UnsafeMutablePointer<Double>, foldedBias: UnsafeMutablePointer<Double>) {
        backprop_fold_normalization_double(windowSize, filters, weight, bias, statistics.mean, statistics.inverseDeviation,
                                         statistics.scale, statistics.offset, foldedWeight, foldedBias)
    }

    public static func applyNormalizedConvolutionGradients(windowSize: Int, filters: Int, windowMean: UnsafePointer<Double>,
                                                           windowCovariance: UnsafePointer<Double>, weight: UnsafePointer<Double>,
                                                           _ statistics: BatchStatistics<Double>, windowSums: UnsafePointer<Double>,
                                                           offsetGradient dbeta: UnsafePointer<Double>,
                                                           weightGradient: UnsafeMutablePointer<Double>,
                                                           scaleGradient: UnsafeMutablePointer<Double>,
                                                           offsetGradientOutput: UnsafeMutablePointer<Double>) {
        backprop_normalized_convolution_gradients_double(windowSize, filters, windowMean, windowCovariance, weight,
                                                       statistics.inverseDeviation, statistics.scale, windowSums, dbeta,
                                                       weightGradient, scaleGradient, offsetGradientOutput)
    }

    public static func applyConvolution(_ convolution: WindowProblem, filters: Int, samples: Range<Int>,
                                        _ x: UnsafePointer<Double>, weight: UnsafePointer<Double>, bias: UnsafePointer<Double>?,
                                        _ z: UnsafeMutablePointer<Double>, moments: UnsafeMutablePointer<Double>?) {
        withUnsafePointer(to: convolution.window) { conv in
            backprop_convolve_nhwc_double(conv, filters, x, weight, bias, z, moments, samples.lowerBound, samples.count)
        }
    }

    public static func mergeMoments(_ moments: UnsafePointer<Double>, batch: Int, pixels: Int, channels: Int,
                                    mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>) {
        backprop_merge_moments_double(moments, batch, pixels, channels, mean, variance)
    }

    public static func applyConvolutionWeightGradient(_ convolution: WindowProblem, filters: Int, samples: Range<Int>,
                                                      _ x: UnsafePointer<Double>, delta: UnsafePointer<Double>,
                                                      weightGradient: UnsafeMutablePointer<Double>,
                                                      biasGradient: UnsafeMutablePointer<Double>?, roundingProducts: Bool) {
        precondition(!roundingProducts, "bfloat16 products take Float32 tensors")
        withUnsafePointer(to: convolution.window) { conv in
            backprop_convolve_nhwc_weight_gradient_double(conv, filters, x, delta, weightGradient, biasGradient,
                                                          roundingProducts ? 1 : 0, samples.lowerBound, samples.count)
        }
    }

    public static func transpose(_ x: UnsafePointer<Double>, batch: Int, rows: Int, columns: Int, _ y: UnsafeMutablePointer<Double>) {
        backprop_transpose_double(x, batch, rows, columns, y)
    }

    public static func applyColumnMoments(_ x: UnsafePointer<Double>, rows: Int, channels: Int, center: UnsafePointer<Double>?,
                                          _ sums: UnsafeMutablePointer<Double>) {
        backprop_column_moments_double(x, rows, channels, center, sums)
    }

    public static func applyBatchNormalization(_ x: UnsafePointer<Double>, rows: Int, channels: Int,
                                               _ statistics: BatchStatistics<Double>, relu: Bool,
                                               output: UnsafeMutablePointer<Double>) {
        backprop_batch_norm_apply_double(x, rows, channels, statistics.mean, statistics.inverseDeviation, statistics.scale,
                                      statistics.offset, relu ? 1 : 0, output)
    }

    public static func applyBatchNormalizationGradientSums(_ g: UnsafePointer<Double>, output: UnsafePointer<Double>?,
                                                           input x: UnsafePointer<Double>, rows: Int, channels: Int,
                                                           _ statistics: BatchStatistics<Double>,
                                                           scaleGradient: UnsafeMutablePointer<Double>,
                                                           offsetGradient: UnsafeMutablePointer<Double>) {
        backprop_batch_norm_gradient_sums_double(g, output, x, rows, channels, statistics.mean, statistics.inverseDeviation,
                                              scaleGradient, offsetGradient)
    }

    public static func applyBatchNormalizationInputGradient(_ g: UnsafePointer<Double>, output: UnsafePointer<Double>?,
                                                            input x: UnsafePointer<Double>, rows: Int, channels: Int,
                                                            _ statistics: BatchStatistics<Double>,
                                                            scaleGradient: UnsafePointer<Double>,
                                                            offsetGradient: UnsafePointer<Double>, count: Int,
                                                            inputGradient: UnsafeMutablePointer<Double>) {
        backprop_batch_norm_input_gradient_double(g, output, x, rows, channels, statistics.mean, statistics.scale,
                                               statistics.inverseDeviation, scaleGradient, offsetGradient, Double(count),
                                               inputGradient)
    }

    public static func applyPooledBatchNormalizationGradientSums(_ g: UnsafePointer<Double>, pooled: UnsafePointer<Double>,
                                                                 normalizedWinners: UnsafePointer<Double>, rows: Int,
                                                                 channels: Int, scaleGradient: UnsafeMutablePointer<Double>,
                                                                 offsetGradient: UnsafeMutablePointer<Double>) {
        backprop_batch_norm_pooled_gradient_sums_double(g, pooled, normalizedWinners, rows, channels, scaleGradient, offsetGradient)
    }

    public static func applyPooledBatchNormalizationInputGradient(_ pooling: WindowProblem, samples: Range<Int>,
                                                                  _ z: UnsafePointer<Double>, gradient: UnsafePointer<Double>,
                                                                  pooled: UnsafePointer<Double>, winners: UnsafePointer<Int32>,
                                                                  _ statistics: BatchStatistics<Double>,
                                                                  scaleGradient: UnsafePointer<Double>,
                                                                  offsetGradient: UnsafePointer<Double>,
                                                                  inputGradient: UnsafeMutablePointer<Double>) {
        let rows = Double(pooling.window.batch * pooling.window.height * pooling.window.width)
        withUnsafePointer(to: pooling.window) { window in
            backprop_batch_norm_pooled_input_gradient_double(window, z, gradient, pooled, winners, statistics.mean,
                                                           statistics.scale, statistics.inverseDeviation, scaleGradient,
                                                           offsetGradient, rows, inputGradient, samples.lowerBound,
                                                           samples.count)
        }
    }

    public static func applyLayerNormalization(_ x: UnsafePointer<Double>, rows: Int, width: Int, scale: UnsafePointer<Double>,
                                               offset: UnsafePointer<Double>, epsilon: Double, _ y: UnsafeMutablePointer<Double>,
                                               statistics: UnsafeMutablePointer<Double>) {
        backprop_layer_norm_double(x, rows, width, scale, offset, epsilon, y, statistics)
    }

    public static func applyLayerNormalizationInputGradient(_ g: UnsafePointer<Double>, input x: UnsafePointer<Double>, rows: Int,
                                                            width: Int, scale: UnsafePointer<Double>,
                                                            statistics: UnsafePointer<Double>, _ dx: UnsafeMutablePointer<Double>) {
        backprop_layer_norm_input_gradient_double(g, x, rows, width, scale, statistics, dx)
    }

    public static func applyLayerNormalizationParameterGradients(_ g: UnsafePointer<Double>, input x: UnsafePointer<Double>,
                                                                 rows: Int, width: Int, statistics: UnsafePointer<Double>,
                                                                 scaleGradient: UnsafeMutablePointer<Double>,
                                                                 offsetGradient: UnsafeMutablePointer<Double>) {
        backprop_layer_norm_parameter_gradients_double(g, x, rows, width, statistics, scaleGradient, offsetGradient)
    }

    public static func applySmallProduct(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, rows: Int, m: Int, n: Int,
                                         _ partial: UnsafeMutablePointer<Double>) {
        backprop_small_product_double(a, b, rows, m, n, partial)
    }

    public static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                            _ c: UnsafeMutablePointer<Double>, backend: KernelBackend) {
        if backend != .portable, let blas = BLAS.library {
            blas.dgemm(problem, a, b, c)
        } else {
            PortableGEMM.multiply(problem, a, b, c)
        }
    }

    public static func gemm(_ problem: GEMMProblem, gathering rows: GatheredRows, firstRow: Int, firstColumn: Int,
                            _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
        PortableGEMM.multiply(problem, gathering: rows, firstRow: firstRow, firstColumn: firstColumn, a, b, c)
    }

    public static func gemm(_ problem: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                            scatteringOnto rows: GatheredRows, firstRow: Int, of c: UnsafeMutablePointer<Double>) {
        PortableGEMM.multiply(problem, a, b, scatteringOnto: rows, firstRow: firstRow, of: c)
    }
}
