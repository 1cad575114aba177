import CKernels

// Batch normalisation of a one-channel convolution in closed form (CKernels/NormalizedConvolutionKernels.h), for the
// fused convolutional step: the convolution's output (32 filters of every pixel: many times the images) is never
// stored. Over the batch's windows x_p (K = kh·kw values each, zeros where a window leaves the image) with mean m and
// covariance C, filter f's output z_p = W_fᵀ x_p + b_f has mean W_fᵀ m + b_f and variance W_fᵀ C W_f; normalised, it
// is the convolution by W_f γ_f s_f plus β_f + γ_f s_f (b_f − μ_f), which the max pooling after it can take in one
// pass (``assignConvolvedAndPooled(_:weight:bias:convolution:pooling:winners:)``). The gradients are those of
// `Op.normalize`'s rule (Autodiff/Derivatives.swift) summed over the pixels in closed form.
extension Tensor {
    /// Overwrites `moments` (`[K + 1, K]`) with the mean (row 0) and covariance (rows 1 through K, dividing by the
    /// count of windows) of the windows of the one-channel convolution `convolution` over `images` (`[batch,
    /// height·width]`).
    ///
    /// The batch is summed in two fixed halves (on two threads when there are), each output row's windows in lanes of
    /// columns, then added: the same bits on any number of threads and instruction sets. The covariance is summed about
    /// the mean (a second pass), not as a difference of raw moments.
    public static func assignWindowMoments(of images: Tensor, convolution: WindowProblem, into moments: inout Tensor) {
        let k = convolution.columnRows, windows = convolution.columnCount
        precondition(convolution.window.channels == 1 && images.count == convolution.inputCount
                     && moments.shape == [k + 1, k], "assignWindowMoments: \(images.shape) into \(moments.shape)")
        moments.withUnsafeMutablePointer { moments in
            let (mean, covariance) = (moments, moments + k)
            ThreadScratch.withBuffer(of: Scalar.self, count: 2 * k * k, slot: .sharedOperand) { halves in
                var work = WindowMomentsHalves(convolution: convolution, images: images.storage.pointer, center: nil,
                                               sums: halves, size: k)
                Parallelism.pool.run(work)
                for j in 0..<k { mean[j] = (work.parts == 2 ? halves[j] + halves[k + j] : halves[j]) / Scalar(windows) }
                work = WindowMomentsHalves(convolution: convolution, images: images.storage.pointer,
                                           center: UnsafePointer(mean), sums: halves, size: k * k)
                Parallelism.pool.run(work)
                for j in 0..<(k * k) {
                    covariance[j] = (work.parts == 2 ? halves[j] + halves[k * k + j] : halves[j]) / Scalar(windows)
                }
            }
        }
    }

    /// Overwrites `statistics` (`[3, filters]`) with the batch mean, variance and 1/√(variance + ε) of each filter of
    /// the one-channel convolution by `weight` (`[K, filters]`) and `bias`, from its windows' `moments`
    /// (``assignWindowMoments(of:convolution:into:)``): what ``assignBatchStatistics(of:epsilon:into:)`` gives for its
    /// output, to rounding.
    public static func assignConvolutionStatistics(windowMoments moments: Tensor, weight: Tensor, bias: Tensor?,
                                                   epsilon: Double, into statistics: inout Tensor) {
        let (k, filters) = (weight.shape[0], weight.shape[1])
        precondition(moments.shape == [k + 1, k] && statistics.shape == [3, filters] && (bias?.count ?? filters) == filters,
                     "assignConvolutionStatistics: weight \(weight.shape) into \(statistics.shape)")
        statistics.withUnsafeMutablePointer { stats in
            Scalar.applyConvolutionMoments(windowSize: k, filters: filters, windowMean: moments.storage.pointer,
                                           windowCovariance: moments.storage.pointer + k, weight: weight.storage.pointer,
                                           bias: bias?.storage.pointer, mean: stats, variance: stats + filters)
            for f in 0..<filters { stats[2 * filters + f] = 1 / (stats[filters + f] + Scalar(epsilon)).squareRoot() }
        }
    }

    /// Overwrites `foldedWeight` (`weight`'s shape, `[K, filters]`) and `foldedBias` with the convolution that batch
    /// normalisation (`statistics` as ``assignConvolutionStatistics(windowMoments:weight:bias:epsilon:into:)`` or
    /// ``assignRunningStatistics(mean:variance:epsilon:into:)`` give them, γ `scale`, β `offset`) of the convolution
    /// by `weight` and `bias` computes.
    public static func foldNormalization(weight: Tensor, bias: Tensor?, statistics: Tensor, scale: Tensor, offset: Tensor,
                                         foldedWeight: inout Tensor, foldedBias: inout Tensor) {
        let (k, filters) = (weight.shape[0], weight.shape[1])
        precondition(statistics.shape == [3, filters] && scale.count == filters && offset.count == filters
                     && foldedWeight.shape == weight.shape && foldedBias.count == filters && (bias?.count ?? filters) == filters,
                     "foldNormalization: weight \(weight.shape), statistics \(statistics.shape)")
        let stats = statistics.storage.pointer
        let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * filters, scale: scale.storage.pointer,
                                      offset: offset.storage.pointer)
        foldedWeight.withUnsafeMutablePointer { folded in
            foldedBias.withUnsafeMutablePointer { foldedBias in
                Scalar.applyNormalizationFold(windowSize: k, filters: filters, weight: weight.storage.pointer,
                                              bias: bias?.storage.pointer, applied, foldedWeight: folded,
                                              foldedBias: foldedBias)
            }
        }
    }

    /// The gradients of batch normalisation (γ `scale`, batch `statistics`) of the one-channel convolution by
    /// `weight` (`[K, filters]`), from `windowSums` (`[K, filters]`: Σ gz_p x_p) and `offsetSums` (Σ gz_p), gz the
    /// gradient reaching the normalisation's output (what ``convolutionPoolGradients(images:gradient:pooled:winners:convolution:pooling:weightGradient:biasGradient:roundingProducts:)``
    /// sums for the folded convolution): overwrites `weightGradient` (`[K, filters]`), `scaleGradient` (Σ gz x̂) and
    /// `offsetGradient` (Σ gz). The convolution's bias has none: the normalisation removes any shift.
    public static func normalizedConvolutionGradients(windowMoments moments: Tensor, weight: Tensor, statistics: Tensor,
                                                      scale: Tensor, windowSums: Tensor, offsetSums: Tensor,
                                                      weightGradient: inout Tensor, scaleGradient: inout Tensor,
                                                      offsetGradient: inout Tensor) {
        let (k, filters) = (weight.shape[0], weight.shape[1])
        precondition(moments.shape == [k + 1, k] && statistics.shape == [3, filters] && scale.count == filters
                     && windowSums.shape == weight.shape && offsetSums.count == filters && weightGradient.shape == weight.shape
                     && scaleGradient.count == filters && offsetGradient.count == filters,
                     "normalizedConvolutionGradients: weight \(weight.shape), statistics \(statistics.shape)")
        let stats = statistics.storage.pointer
        let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * filters, scale: scale.storage.pointer,
                                      offset: stats)
        weightGradient.withUnsafeMutablePointer { dw in
            scaleGradient.withUnsafeMutablePointer { dgamma in
                offsetGradient.withUnsafeMutablePointer { dbeta in
                    Scalar.applyNormalizedConvolutionGradients(
                        windowSize: k, filters: filters, windowMean: moments.storage.pointer,
                        windowCovariance: moments.storage.pointer + k, weight: weight.storage.pointer, applied,
                        windowSums: windowSums.storage.pointer, offsetGradient: offsetSums.storage.pointer,
                        weightGradient: dw, scaleGradient: dgamma, offsetGradientOutput: dbeta)
                }
            }
        }
    }
}

/// The window sums of ``Tensor/assignWindowMoments(of:convolution:into:)`` as two halves of the batch (one when it
/// has a single sample), each into its own `size` sums.
private struct WindowMomentsHalves<Scalar: TensorScalar>: ParallelWork {
    let convolution: WindowProblem
    let images: UnsafePointer<Scalar>
    let center: UnsafePointer<Scalar>?
    let sums: UnsafeMutablePointer<Scalar>
    let size: Int

    var parts: Int { Swift.min(2, convolution.window.batch) }

    func run(part: Int) {
        Scalar.applyWindowMoments(convolution, samples: range(of: part, in: convolution.window.batch), images,
                                  center: center, sums + part * size)
    }
}
