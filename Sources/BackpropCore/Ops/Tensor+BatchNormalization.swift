// Batch normalisation in the fused convolutional step, over the rows of a `[rows, channels]` matrix (channels-last
// images, or dense features). Its derivative rule is that of `Op.normalize` in Autodiff/Derivatives.swift, followed by
// the scale and offset; sums run in another order than the graph's, so results agree to rounding.
extension Tensor {
    /// Overwrites this tensor (channels-last images as `[batch·h·w, channels]`, or `[batch, features]`) with batch
    /// normalisation of `x` over its rows, in training: x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β, then a ReLU if `relu`.
    /// The batch statistics and x̂ go to `statistics` (`[3, channels]`: mean, variance, 1/√(σ² + ε)) and
    /// `normalized`.
    ///
    /// Each pass runs on the two halves of the rows; a column's sum is its first half's sum plus its second's, each
    /// added in row order, whatever the number of threads.
    public mutating func assignBatchNormalization(_ x: Tensor, scale: Tensor, offset: Tensor, epsilon: Double, relu: Bool,
                                                  statistics: inout Tensor, normalized: inout Tensor) {
        let channels = scale.count
        precondition(x.rank == 2 && x.shape[1] == channels && shape == x.shape && normalized.shape == x.shape
                     && statistics.shape == [3, channels], "assignBatchNormalization: \(x.shape) into \(shape)")
        let rows = x.shape[0]
        statistics.withUnsafeMutablePointer { stats in
            let (mean, variance, inverseDeviation) = (stats, stats + channels, stats + 2 * channels)
            let applied = BatchStatistics(mean: mean, inverseDeviation: inverseDeviation, scale: scale.storage.pointer,
                                          offset: offset.storage.pointer)
            normalized.withUnsafeMutablePointer { xhat in
                withUnsafeMutablePointer { y in
                    ThreadScratch.withBuffer(of: Scalar.self, count: 2 * channels) { partials in
                        var parts = BatchNormalizationParts(pass: .sums, rows: rows, channels: channels, input: x.storage.pointer,
                                                            mask: nil, normalized: xhat, output: y, statistics: applied,
                                                            partials: partials, relu: relu, parameterGradients: nil)
                        parts.run()
                        for c in 0..<channels { mean[c] = (partials[c] + partials[channels + c]) / Scalar(rows) }
                        parts.pass = .squares
                        parts.run()
                        for c in 0..<channels {
                            variance[c] = (partials[c] + partials[channels + c]) / Scalar(rows)
                            inverseDeviation[c] = 1 / (variance[c] + Scalar(epsilon)).squareRoot()
                        }
                        parts.pass = .normalize
                        parts.run()
                    }
                }
            }
        }
    }

    /// Overwrites this tensor with batch normalisation of `x` for inference: the running mean and variance in place of
    /// the batch's, y = γ (x − mean)/√(variance + ε) + β, then a ReLU if `relu`. `statistics` and `normalized` are
    /// scratch of the training form's shapes.
    public mutating func assignBatchNormalization(_ x: Tensor, scale: Tensor, offset: Tensor, runningMean: Tensor,
                                                  runningVariance: Tensor, epsilon: Double, relu: Bool,
                                                  statistics: inout Tensor, normalized: inout Tensor) {
        let channels = scale.count
        precondition(x.rank == 2 && x.shape[1] == channels && shape == x.shape && normalized.shape == x.shape
                     && statistics.shape == [3, channels] && runningMean.count == channels && runningVariance.count == channels,
                     "assignBatchNormalization: \(x.shape) into \(shape)")
        statistics.withUnsafeMutablePointer { stats in
            let (mean, variance, inverseDeviation) = (stats, stats + channels, stats + 2 * channels)
            for c in 0..<channels {
                mean[c] = runningMean.storage.pointer[c]
                variance[c] = runningVariance.storage.pointer[c]
                inverseDeviation[c] = 1 / (variance[c] + Scalar(epsilon)).squareRoot()
            }
            let applied = BatchStatistics(mean: mean, inverseDeviation: inverseDeviation, scale: scale.storage.pointer,
                                          offset: offset.storage.pointer)
            normalized.withUnsafeMutablePointer { xhat in
                withUnsafeMutablePointer { y in
                    BatchNormalizationParts(pass: .normalize, rows: x.shape[0], channels: channels, input: x.storage.pointer,
                                            mask: nil, normalized: xhat, output: y, statistics: applied, partials: stats,
                                            relu: relu, parameterGradients: nil).run()
                }
            }
        }
    }

    /// Overwrites this tensor with ∂J/∂x of ``assignBatchNormalization(_:scale:offset:epsilon:relu:statistics:normalized:)``
    /// and the parameter gradients with ∂J/∂γ and ∂J/∂β, from the upstream gradient and what the forward pass kept
    /// (`output` is its result when a ReLU was fused, so that the gradient stops where it was cut).
    public mutating func assignBatchNormalizationGradient(_ gradient: Tensor, output: Tensor?, scale: Tensor,
                                                          statistics: Tensor, normalized: Tensor,
                                                          scaleGradient: inout Tensor, offsetGradient: inout Tensor) {
        let channels = scale.count
        precondition(gradient.shape == shape && normalized.shape == shape && scaleGradient.count == channels
                     && offsetGradient.count == channels, "assignBatchNormalizationGradient: \(gradient.shape) into \(shape)")
        let rows = shape[0]
        let stats = statistics.storage.pointer
        scaleGradient.withUnsafeMutablePointer { dgamma in
            offsetGradient.withUnsafeMutablePointer { dbeta in
                let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * channels,
                                              scale: scale.storage.pointer, offset: stats)
                withUnsafeMutablePointer { dx in
                    ThreadScratch.withBuffer(of: Scalar.self, count: 4 * channels) { partials in
                        var parts = BatchNormalizationParts(
                            pass: .gradientSums, rows: rows, channels: channels, input: gradient.storage.pointer,
                            mask: output?.storage.pointer, normalized: UnsafeMutablePointer(mutating: normalized.storage.pointer),
                            output: dx, statistics: applied, partials: partials, relu: false,
                            parameterGradients: (UnsafePointer(dgamma), UnsafePointer(dbeta)))
                        parts.run()
                        for c in 0..<channels {
                            dgamma[c] = partials[c] + partials[2 * channels + c]
                            dbeta[c] = partials[channels + c] + partials[3 * channels + c]
                        }
                        parts.pass = .inputGradient
                        parts.run()
                    }
                }
            }
        }
    }
}

/// The passes of batch normalisation over the rows of a matrix, each in two fixed halves (the first half's rows,
/// then the rest), on two threads when the matrix is large enough and there are two: each half's result is the same whichever thread
/// computes it, and the caller adds the halves' partial sums in order.
private struct BatchNormalizationParts<Scalar: TensorScalar>: ParallelWork {
    enum Pass { case sums, squares, normalize, gradientSums, inputGradient }

    var pass: Pass
    let rows: Int
    let channels: Int
    /// x (forward) or the upstream gradient (backward).
    let input: UnsafePointer<Scalar>
    /// The output of a fused ReLU, whose gradient the backward passes apply.
    let mask: UnsafePointer<Scalar>?
    let normalized: UnsafeMutablePointer<Scalar>
    /// y (forward) or ∂J/∂x (backward).
    let output: UnsafeMutablePointer<Scalar>
    let statistics: BatchStatistics<Scalar>
    /// Each half's per-channel sums: one vector forward, two (dγ, dβ) backward.
    let partials: UnsafeMutablePointer<Scalar>
    let relu: Bool
    /// The whole batch's dγ and dβ, for the input gradient.
    let parameterGradients: (scale: UnsafePointer<Scalar>, offset: UnsafePointer<Scalar>)?

    var parts: Int { 2 }

    var maximumThreads: Int { rows >= 2 && rows * channels >= ElementwiseParts.parallelElements ? 2 : 1 }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let range = range(of: part, in: rows)
        let start = range.lowerBound * channels
        switch pass {
        case .sums, .squares:
            Scalar.applyColumnMoments(input + start, rows: range.count, channels: channels,
                                      center: pass == .sums ? nil : statistics.mean, partials + part * channels)
        case .normalize:
            Scalar.applyBatchNormalization(input + start, rows: range.count, channels: channels, statistics, relu: relu,
                                           normalized: normalized + start, output: output + start)
        case .gradientSums:
            Scalar.applyBatchNormalizationGradientSums(
                input + start, output: mask.map { $0 + start }, normalized: normalized + start, rows: range.count,
                channels: channels, scaleGradient: partials + 2 * part * channels,
                offsetGradient: partials + (2 * part + 1) * channels)
        case .inputGradient:
            Scalar.applyBatchNormalizationInputGradient(
                input + start, output: mask.map { $0 + start }, normalized: normalized + start, rows: range.count,
                channels: channels, statistics, scaleGradient: parameterGradients!.scale, offsetGradient: parameterGradients!.offset,
                count: rows, inputGradient: output + start)
        }
    }
}
