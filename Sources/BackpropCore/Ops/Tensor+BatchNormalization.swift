// Batch normalisation in the fused convolutional step, over the rows of a `[rows, channels]` matrix (channels-last
// images, or dense features). Its derivative rule is that of `Op.normalize` in Autodiff/Derivatives.swift, followed by
// the scale and offset; sums run in another order than the graph's, so results agree to rounding.
extension Tensor {
    /// Overwrites this tensor (channels-last images as `[batch·h·w, channels]`, or `[batch, features]`) with batch
    /// normalisation of `x` over its rows, in training: x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β, then a ReLU if `relu`.
    /// The batch statistics go to `statistics` (`[3, channels]`: mean, variance, 1/√(σ² + ε)); x̂ is not kept (the
    /// gradient recomputes it from `x` and the statistics, to the same bits).
    ///
    /// Each pass runs on fixed blocks of rows (`BatchNormalizationParts.rowsPerPart`) spread over the threads; a
    /// column's sum is its blocks' sums added in block order, each added in row order, whatever the number of threads.
    public mutating func assignBatchNormalization(_ x: Tensor, scale: Tensor, offset: Tensor, epsilon: Double, relu: Bool,
                                                  statistics: inout Tensor) {
        let channels = scale.count
        precondition(x.rank == 2 && x.shape[1] == channels && shape == x.shape && statistics.shape == [3, channels],
                     "assignBatchNormalization: \(x.shape) into \(shape)")
        Self.assignBatchStatistics(of: x, epsilon: epsilon, into: &statistics)
        statistics.withUnsafeMutablePointer { stats in
            let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * channels, scale: scale.storage.pointer,
                                          offset: offset.storage.pointer)
            withUnsafeMutablePointer { y in
                BatchNormalizationParts(pass: .normalize, rows: x.shape[0], channels: channels, input: x.storage.pointer,
                                        mask: nil, features: nil, output: y, statistics: applied, partials: stats,
                                        relu: relu, parameterGradients: nil).run()
            }
        }
    }

    /// Overwrites `statistics` (`[3, channels]`) with the mean, variance and 1/√(σ² + ε) of `x`'s columns (a
    /// `[rows, channels]` matrix): what ``assignBatchNormalization(_:scale:offset:epsilon:relu:statistics:)``
    /// normalises with, for a normalisation applied elsewhere (fused into the max pooling after it).
    public static func assignBatchStatistics(of x: Tensor, epsilon: Double, into statistics: inout Tensor) {
        precondition(x.rank == 2 && statistics.shape == [3, x.shape[1]], "assignBatchStatistics: \(x.shape)")
        let (rows, channels) = (x.shape[0], x.shape[1])
        statistics.withUnsafeMutablePointer { stats in
            let (mean, variance, inverseDeviation) = (stats, stats + channels, stats + 2 * channels)
            let applied = BatchStatistics(mean: mean, inverseDeviation: inverseDeviation, scale: mean, offset: mean)
            let blocks = BatchNormalizationParts<Scalar>.parts(rows: rows)
            ThreadScratch.withBuffer(of: Scalar.self, count: blocks * channels) { partials in
                // Only the sums passes run: `output` is not written.
                var parts = BatchNormalizationParts(pass: .sums, rows: rows, channels: channels, input: x.storage.pointer,
                                                    mask: nil, features: nil, output: partials, statistics: applied,
                                                    partials: partials, relu: false, parameterGradients: nil)
                parts.run()
                parts.addPartials(vector: 0, of: 1, into: mean)
                for c in 0..<channels { mean[c] /= Scalar(rows) }
                parts.pass = .squares
                parts.run()
                parts.addPartials(vector: 0, of: 1, into: variance)
                for c in 0..<channels {
                    variance[c] /= Scalar(rows)
                    inverseDeviation[c] = 1 / (variance[c] + Scalar(epsilon)).squareRoot()
                }
            }
        }
    }

    /// Overwrites this tensor with batch normalisation of `x` for inference: the running mean and variance in place of
    /// the batch's, y = γ (x − mean)/√(variance + ε) + β, then a ReLU if `relu`. `statistics` is scratch of the
    /// training form's shape.
    public mutating func assignBatchNormalization(_ x: Tensor, scale: Tensor, offset: Tensor, runningMean: Tensor,
                                                  runningVariance: Tensor, epsilon: Double, relu: Bool,
                                                  statistics: inout Tensor) {
        let channels = scale.count
        precondition(x.rank == 2 && x.shape[1] == channels && shape == x.shape
                     && statistics.shape == [3, channels] && runningMean.count == channels && runningVariance.count == channels,
                     "assignBatchNormalization: \(x.shape) into \(shape)")
        Self.assignRunningStatistics(mean: runningMean, variance: runningVariance, epsilon: epsilon, into: &statistics)
        statistics.withUnsafeMutablePointer { stats in
            let (mean, inverseDeviation) = (stats, stats + 2 * channels)
            let applied = BatchStatistics(mean: mean, inverseDeviation: inverseDeviation, scale: scale.storage.pointer,
                                          offset: offset.storage.pointer)
            withUnsafeMutablePointer { y in
                BatchNormalizationParts(pass: .normalize, rows: x.shape[0], channels: channels, input: x.storage.pointer,
                                        mask: nil, features: nil, output: y, statistics: applied, partials: stats,
                                        relu: relu, parameterGradients: nil).run()
            }
        }
    }

    /// Overwrites `statistics` (`[3, channels]`) with the running mean and variance and 1/√(variance + ε): what
    /// ``assignBatchNormalization(_:scale:offset:runningMean:runningVariance:epsilon:relu:statistics:)`` normalises
    /// with, for a normalisation applied elsewhere.
    public static func assignRunningStatistics(mean: Tensor, variance: Tensor, epsilon: Double, into statistics: inout Tensor) {
        let channels = mean.count
        precondition(variance.count == channels && statistics.shape == [3, channels], "assignRunningStatistics: \(mean.shape)")
        statistics.withUnsafeMutablePointer { stats in
            for c in 0..<channels {
                stats[c] = mean.storage.pointer[c]
                stats[channels + c] = variance.storage.pointer[c]
                stats[2 * channels + c] = 1 / (stats[channels + c] + Scalar(epsilon)).squareRoot()
            }
        }
    }

    /// Overwrites this tensor (`[4, channels]`) with the mean and 1/√(σ² + ε) of `statistics` and the layer's γ
    /// (`scale`) and β (`offset`): the operand of ``assignMaxPoolOfBatchNormalization(_:_:normalization:winners:normalizedWinners:)``.
    public mutating func assignNormalization(statistics: Tensor, scale: Tensor, offset: Tensor) {
        let channels = scale.count
        precondition(shape == [4, channels] && statistics.shape == [3, channels] && offset.count == channels,
                     "assignNormalization: \(statistics.shape) into \(shape)")
        withUnsafeMutablePointer { y in
            y.update(from: statistics.storage.pointer, count: channels)
            (y + channels).update(from: statistics.storage.pointer + 2 * channels, count: channels)
            (y + 2 * channels).update(from: scale.storage.pointer, count: channels)
            (y + 3 * channels).update(from: offset.storage.pointer, count: channels)
        }
    }

    /// Overwrites this tensor with ∂J/∂x of ``assignBatchNormalization(_:scale:offset:epsilon:relu:statistics:)``
    /// and the parameter gradients with ∂J/∂γ and ∂J/∂β, from the upstream gradient, the forward pass's input `x` and
    /// what it kept (`output` is its result when a ReLU was fused, so that the gradient stops where it was cut).
    public mutating func assignBatchNormalizationGradient(_ gradient: Tensor, output: Tensor?, scale: Tensor,
                                                          statistics: Tensor, input x: Tensor,
                                                          scaleGradient: inout Tensor, offsetGradient: inout Tensor) {
        let channels = scale.count
        precondition(gradient.shape == shape && x.shape == shape && scaleGradient.count == channels
                     && offsetGradient.count == channels, "assignBatchNormalizationGradient: \(gradient.shape) into \(shape)")
        let rows = shape[0]
        let stats = statistics.storage.pointer
        scaleGradient.withUnsafeMutablePointer { dgamma in
            offsetGradient.withUnsafeMutablePointer { dbeta in
                let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * channels,
                                              scale: scale.storage.pointer, offset: stats)
                withUnsafeMutablePointer { dx in
                    ThreadScratch.withBuffer(of: Scalar.self, count: 2 * BatchNormalizationParts<Scalar>.parts(rows: rows) * channels) { partials in
                        var parts = BatchNormalizationParts(
                            pass: .gradientSums, rows: rows, channels: channels, input: gradient.storage.pointer,
                            mask: output?.storage.pointer, features: x.storage.pointer,
                            output: dx, statistics: applied, partials: partials, relu: false,
                            parameterGradients: (UnsafePointer(dgamma), UnsafePointer(dbeta)))
                        parts.run()
                        parts.addPartials(vector: 0, of: 2, into: dgamma)
                        parts.addPartials(vector: 1, of: 2, into: dbeta)
                        parts.pass = .inputGradient
                        parts.run()
                    }
                }
            }
        }
    }

    /// Overwrites this tensor with ∂J/∂z of batch normalisation with a ReLU whose output max pooling took, fused
    /// (``assignMaxPoolOfBatchNormalization(_:_:normalization:winners:normalizedWinners:)``), and the parameter gradients
    /// with ∂J/∂γ and ∂J/∂β, from the pooled output's `gradient`, the pooled output `pooled`, its `winners` and their x̂
    /// `normalizedWinners`, so that the pooling's gradient is never stored. `pooling`'s windows must tile the image
    /// (each pixel in one window at most).
    ///
    /// ∂J/∂γ and ∂J/∂β sum the nonzero terms of the unfused pair (``assignMaxPoolGradient(_:_:winners:pooledReLU:)`` then
    /// ``assignBatchNormalizationGradient(_:output:scale:statistics:input:scaleGradient:offsetGradient:)``) in the pooled
    /// outputs' order, over fixed blocks of pooled rows added in block order: the same bits on any number of threads.
    /// Each pixel's ∂J/∂z is then the unfused kernel's expression.
    public mutating func assignBatchNormalizationGradient(throughMaxPool gradient: Tensor, pooled: Tensor, winners: [Int32],
                                                          normalizedWinners: Tensor, _ pooling: WindowProblem, input z: Tensor,
                                                          scale: Tensor, statistics: Tensor, scaleGradient: inout Tensor,
                                                          offsetGradient: inout Tensor) {
        let channels = scale.count, pooledRows = pooled.count / Swift.max(channels, 1)
        let window = pooling.window
        precondition(window.channels == channels && window.pad_top == 0 && window.pad_left == 0
                     && window.stride_height == window.kernel_height && window.stride_width == window.kernel_width
                     && gradient.count == pooled.count && winners.count == pooled.count
                     && normalizedWinners.count == pooled.count
                     && pooled.count == window.batch * pooling.outputPlane * channels && z.count == pooling.inputCount
                     && count == z.count && statistics.shape == [3, channels] && scaleGradient.count == channels
                     && offsetGradient.count == channels,
                     "assignBatchNormalizationGradient(throughMaxPool:): \(gradient.shape) into \(shape)")
        let stats = statistics.storage.pointer
        let applied = BatchStatistics(mean: stats, inverseDeviation: stats + 2 * channels, scale: scale.storage.pointer,
                                      offset: stats)
        let blocks = BatchNormalizationParts<Scalar>.parts(rows: pooledRows)
        scaleGradient.withUnsafeMutablePointer { dgamma in
            offsetGradient.withUnsafeMutablePointer { dbeta in
                ThreadScratch.withBuffer(of: Scalar.self, count: 2 * blocks * channels) { partials in
                    let sums = BatchNormalizationParts(
                        pass: .pooledGradientSums, rows: pooledRows, channels: channels, input: gradient.storage.pointer,
                        mask: pooled.storage.pointer, features: normalizedWinners.storage.pointer, output: partials,
                        statistics: applied, partials: partials, relu: false, parameterGradients: nil)
                    sums.run()
                    sums.addPartials(vector: 0, of: 2, into: dgamma)
                    sums.addPartials(vector: 1, of: 2, into: dbeta)
                }
                winners.withUnsafeBufferPointer { winners in
                    let operands = PooledBatchNormalization(
                        pooling: pooling, z: z.storage.pointer, gradient: gradient.storage.pointer,
                        pooled: pooled.storage.pointer, winners: winners.baseAddress!, statistics: applied)
                    withUnsafeMutablePointer { dz in
                        Parallelism.pool.run(PooledBatchNormalizationInputGradient(
                            operands: operands, scaleGradient: dgamma, offsetGradient: dbeta, inputGradient: dz))
                    }
                }
            }
        }
    }
}

/// The passes of batch normalisation over the rows of a matrix, each in fixed blocks of ``rowsPerPart`` rows (at
/// least two blocks), spread over the threads when the matrix is large enough: each block's result is the same
/// whichever thread computes it, and the caller adds the blocks' partial sums in block order.
private struct BatchNormalizationParts<Scalar: TensorScalar>: ParallelWork {
    enum Pass { case sums, squares, normalize, gradientSums, inputGradient, pooledGradientSums }

    var pass: Pass
    let rows: Int
    let channels: Int
    /// x (forward) or the upstream gradient (backward).
    let input: UnsafePointer<Scalar>
    /// The output of a fused ReLU (or the pooled output of a fused ReLU and max pooling), whose gradient the backward
    /// passes apply.
    let mask: UnsafePointer<Scalar>?
    /// x, for the backward passes (which recompute x̂ from it); the winners' x̂ for the pooled gradient sums.
    let features: UnsafePointer<Scalar>?
    /// y (forward) or ∂J/∂x (backward).
    let output: UnsafeMutablePointer<Scalar>
    let statistics: BatchStatistics<Scalar>
    /// Each half's per-channel sums: one vector forward, two (dγ, dβ) backward.
    let partials: UnsafeMutablePointer<Scalar>
    let relu: Bool
    /// The whole batch's dγ and dβ, for the input gradient.
    let parameterGradients: (scale: UnsafePointer<Scalar>, offset: UnsafePointer<Scalar>)?

    /// Rows per block: small enough that a batch of images makes many blocks (so any number of threads gets an
    /// even share), large enough that a block's sums stay cheap to add.
    static var rowsPerPart: Int { 1024 }

    /// The number of blocks of `rows` rows.
    static func parts(rows: Int) -> Int { Swift.max(2, rows / rowsPerPart) }

    var parts: Int { Self.parts(rows: rows) }

    var maximumThreads: Int { rows >= 2 && rows * channels >= ElementwiseParts.parallelElements ? .max : 1 }

    /// Adds vector `vector` of every block's `vectors` partial sums (one per pass: sums; dγ and dβ), in block order,
    /// into `target`.
    func addPartials(vector: Int, of vectors: Int, into target: UnsafeMutablePointer<Scalar>) {
        for c in 0..<channels { target[c] = 0 }
        for part in 0..<parts {
            let block = partials + (vectors * part + vector) * channels
            for c in 0..<channels { target[c] += block[c] }
        }
    }

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
                                           output: output + start)
        case .gradientSums:
            Scalar.applyBatchNormalizationGradientSums(
                input + start, output: mask.map { $0 + start }, input: features! + start, rows: range.count,
                channels: channels, statistics, scaleGradient: partials + 2 * part * channels,
                offsetGradient: partials + (2 * part + 1) * channels)
        case .pooledGradientSums:
            Scalar.applyPooledBatchNormalizationGradientSums(
                input + start, pooled: mask! + start, normalizedWinners: features! + start, rows: range.count,
                channels: channels, scaleGradient: partials + 2 * part * channels,
                offsetGradient: partials + (2 * part + 1) * channels)
        case .inputGradient:
            Scalar.applyBatchNormalizationInputGradient(
                input + start, output: mask.map { $0 + start }, input: features! + start, rows: range.count,
                channels: channels, statistics, scaleGradient: parameterGradients!.scale, offsetGradient: parameterGradients!.offset,
                count: rows, inputGradient: output + start)
        }
    }
}

/// What the fused gradient of batch normalisation, ReLU and max pooling reads.
private struct PooledBatchNormalization<Scalar: TensorScalar> {
    let pooling: WindowProblem
    /// The normalisation's input.
    let z: UnsafePointer<Scalar>
    /// The pooled output's gradient, values and winners.
    let gradient: UnsafePointer<Scalar>, pooled: UnsafePointer<Scalar>, winners: UnsafePointer<Int32>
    let statistics: BatchStatistics<Scalar>
}

/// ∂J/∂z split into runs of samples (each pixel's value is the same whichever part computes it).
private struct PooledBatchNormalizationInputGradient<Scalar: TensorScalar>: ParallelWork {
    let operands: PooledBatchNormalization<Scalar>
    let scaleGradient: UnsafePointer<Scalar>, offsetGradient: UnsafePointer<Scalar>
    let inputGradient: UnsafeMutablePointer<Scalar>
    let parts: Int

    init(operands: PooledBatchNormalization<Scalar>, scaleGradient: UnsafeMutablePointer<Scalar>,
         offsetGradient: UnsafeMutablePointer<Scalar>, inputGradient: UnsafeMutablePointer<Scalar>) {
        (self.operands, self.scaleGradient, self.offsetGradient) = (operands, UnsafePointer(scaleGradient),
                                                                     UnsafePointer(offsetGradient))
        self.inputGradient = inputGradient
        // Fixed when the work is made (it follows the threads).
        parts = Swift.min(operands.pooling.window.batch, ElementwiseParts.parts(count: operands.pooling.inputCount))
    }

    func run(part: Int) {
        Scalar.applyPooledBatchNormalizationInputGradient(
            operands.pooling, samples: range(of: part, in: operands.pooling.window.batch), operands.z,
            gradient: operands.gradient, pooled: operands.pooled, winners: operands.winners, operands.statistics,
            scaleGradient: scaleGradient, offsetGradient: offsetGradient, inputGradient: inputGradient)
    }
}
