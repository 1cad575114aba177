// Layer normalisation in the fused convolutional step, over each sample's values (a row of features, or a
// channels-last image, whose scale and offset the caller lays out the same way). Its derivative rule is that of
// `Op.normalize` in Autodiff/Derivatives.swift, followed by the scale and offset; sums run in another order than the
// graph's, so results agree to rounding.
extension Tensor {
    /// Overwrites this tensor with layer normalisation of `x`, `rows` samples of `x.count / rows` values each:
    /// x̂ = (x − μ)/√(σ² + ε) with the sample's mean and (biased) variance, y = γ x̂ + β (`scale` and `offset` of one
    /// sample's size, laid out as `x`'s values are). Each sample's μ and 1/√(σ² + ε) go to `statistics` (`[rows, 2]`).
    /// Samples are spread over the threads; each is the same bits whichever thread computes it.
    public mutating func assignLayerNormalization(_ x: Tensor, rows: Int, scale: Tensor, offset: Tensor, epsilon: Double,
                                                  statistics: inout Tensor) {
        let width = scale.count
        precondition(rows > 0 && x.count == rows * width && count == x.count && offset.count == width
                     && statistics.shape == [rows, 2], "assignLayerNormalization: \(x.shape) into \(shape)")
        statistics.withUnsafeMutablePointer { stats in
            withUnsafeMutablePointer { y in
                Parallelism.pool.run(LayerNormalizationRows(pass: .forward, rows: rows, width: width, input: x.storage.pointer,
                                                            gradient: nil, scale: scale.storage.pointer,
                                                            offset: offset.storage.pointer, epsilon: Scalar(epsilon),
                                                            statistics: stats, output: y))
            }
        }
    }

    /// Overwrites this tensor with ∂J/∂x of ``assignLayerNormalization(_:rows:scale:offset:epsilon:statistics:)``, and
    /// the parameter gradients with ∂J/∂γ and ∂J/∂β (each element summed over the samples in order, on one thread),
    /// from the upstream gradient, the forward pass's input `x` and its statistics.
    public mutating func assignLayerNormalizationGradient(_ gradient: Tensor, input x: Tensor, rows: Int, scale: Tensor,
                                                          statistics: Tensor, scaleGradient: inout Tensor,
                                                          offsetGradient: inout Tensor) {
        let width = scale.count
        precondition(rows > 0 && x.count == rows * width && gradient.count == x.count && count == x.count
                     && statistics.shape == [rows, 2] && scaleGradient.count == width && offsetGradient.count == width,
                     "assignLayerNormalizationGradient: \(gradient.shape) into \(shape)")
        let stats = statistics.storage.pointer
        scaleGradient.withUnsafeMutablePointer { dgamma in
            offsetGradient.withUnsafeMutablePointer { dbeta in
                Scalar.applyLayerNormalizationParameterGradients(gradient.storage.pointer, input: x.storage.pointer,
                                                                 rows: rows, width: width, statistics: stats,
                                                                 scaleGradient: dgamma, offsetGradient: dbeta)
            }
        }
        withUnsafeMutablePointer { dx in
            Parallelism.pool.run(LayerNormalizationRows(pass: .inputGradient, rows: rows, width: width, input: x.storage.pointer,
                                                        gradient: gradient.storage.pointer, scale: scale.storage.pointer,
                                                        offset: nil, epsilon: 0,
                                                        statistics: UnsafeMutablePointer(mutating: stats), output: dx))
        }
    }
}

/// A per-sample pass of layer normalisation split into runs of samples.
private struct LayerNormalizationRows<Scalar: TensorScalar>: ParallelWork {
    enum Pass { case forward, inputGradient }

    let pass: Pass
    let rows: Int, width: Int
    let input: UnsafePointer<Scalar>
    /// The upstream gradient (backward).
    let gradient: UnsafePointer<Scalar>?
    let scale: UnsafePointer<Scalar>
    /// β and ε (forward).
    let offset: UnsafePointer<Scalar>?, epsilon: Scalar
    /// Each sample's μ and 1/√(σ² + ε): written forward, read backward.
    let statistics: UnsafeMutablePointer<Scalar>
    /// y (forward) or ∂J/∂x (backward).
    let output: UnsafeMutablePointer<Scalar>
    let parts: Int

    init(pass: Pass, rows: Int, width: Int, input: UnsafePointer<Scalar>, gradient: UnsafePointer<Scalar>?,
         scale: UnsafePointer<Scalar>, offset: UnsafePointer<Scalar>?, epsilon: Scalar,
         statistics: UnsafeMutablePointer<Scalar>, output: UnsafeMutablePointer<Scalar>) {
        (self.pass, self.rows, self.width, self.input, self.gradient) = (pass, rows, width, input, gradient)
        (self.scale, self.offset, self.epsilon, self.statistics, self.output) = (scale, offset, epsilon, statistics, output)
        // Fixed when the work is made (it follows the threads); samples are independent, so the split changes no bit.
        parts = Swift.min(rows, ElementwiseParts.parts(count: rows * width))
    }

    func run(part: Int) {
        let range = range(of: part, in: rows), start = range.lowerBound * width
        switch pass {
        case .forward:
            Scalar.applyLayerNormalization(input + start, rows: range.count, width: width, scale: scale, offset: offset!,
                                           epsilon: epsilon, output + start, statistics: statistics + 2 * range.lowerBound)
        case .inputGradient:
            Scalar.applyLayerNormalizationInputGradient(gradient! + start, input: input + start, rows: range.count,
                                                        width: width, scale: scale,
                                                        statistics: statistics + 2 * range.lowerBound, output + start)
        }
    }
}
