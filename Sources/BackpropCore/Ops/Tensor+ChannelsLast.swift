// In-place operations of the fused convolutional step over channels-last (NHWC) images, each stored as a
// `[batch·height·width, channels]` matrix. Their derivative rules are those of Autodiff/Derivatives.swift (the
// convolution as a product of an unfolded input, max pooling's first largest input, normalisation), computed on a
// different layout: sums run in another order than the graph's, so results agree to rounding, not to the bit.
extension Tensor {
    /// Overwrites this `[batch·outH·outW, kH·kW·channels]` matrix with the unfolded channels-last `images`
    /// (`[batch·height·width, channels]`), one row per output pixel.
    public mutating func assignUnfolded(_ images: Tensor, _ problem: WindowProblem) {
        precondition(shape == [problem.columnCount, problem.columnRows] && images.count == problem.inputCount,
                     "assignUnfolded: \(images.shape) into \(shape)")
        withUnsafeMutablePointer { output in
            WindowParts(kernel: .unfold, problem: problem, input: images.storage.pointer, output: output, indices: nil, auxiliary: nil).run()
        }
    }

    /// Overwrites this matrix with `op(Ã) · op(b)` in `precision`, where `Ã` is the matrix `rows` gathers from
    /// `images` (a convolution's unfolded input, ``WindowProblem/unfoldedRows``, never written out): the same bits as
    /// ``assignProduct(_:_:transposeA:transposeB:precision:)`` of the unfolded matrix (on the portable kernel, for
    /// Float32).
    ///
    /// - Precondition: `op(Ã)` is `m × k`, `op(b)` is `k × n` and this tensor is `m × n`; `images` holds every value
    ///   `rows` reads.
    public mutating func assignProduct(gathering rows: GatheredRows, from images: Tensor, _ b: Tensor,
                                       transposeA: Bool = false, transposeB: Bool = false,
                                       precision: MatrixPrecision = .float32) {
        let (m, k) = transposeA ? (rows.columns, rows.rows) : (rows.rows, rows.columns)
        let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(b.rank == 2 && rank == 2 && k == k2 && shape == [m, n] && images.count >= rows.extent,
                     "assignProduct: gathered \(rows.rows) × \(rows.columns)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") does not fit \(shape)")
        let problem = GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        withUnsafeMutablePointer { c in
            guard case .bfloat16(let path) = precision else {
                return GEMM.multiply(problem, gathering: rows, from: images.storage.pointer, b.storage.pointer, c)
            }
            precondition(Scalar.self == Float.self, "assignProduct: bfloat16 products take Float tensors")
            BFloat16Products.multiplyInParallel(
                problem, gathering: rows, from: UnsafeRawPointer(images.storage.pointer).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(b.storage.pointer).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), path: path)
        }
    }

    /// Overwrites these channels-last images with the fold of `delta · weight` (a convolution's input gradient from
    /// δ and its weight `W̃`, `[filters, kh·kw·channels]`) in `precision`, without the product written out: each row
    /// of it is added to its window's pixels as it is computed, through `rows`, the window's
    /// ``WindowProblem/unfoldedRows``. Equal to ``assignFolded(_:_:)`` of the product to rounding (the sums of each
    /// pixel run in another order).
    public mutating func assignFoldedProduct(_ delta: Tensor, _ weight: Tensor, _ problem: WindowProblem, rows: GatheredRows,
                                             precision: MatrixPrecision = .float32) {
        precondition(delta.shape == [problem.columnCount, weight.shape[0]] && weight.shape == [weight.shape[0], problem.columnRows]
                     && count == problem.inputCount && rows.rows == problem.columnCount && rows.columns == problem.columnRows,
                     "assignFoldedProduct: \(delta.shape) · \(weight.shape) does not fold into \(shape)")
        let w = problem.window
        let product = GEMMProblem(m: delta.shape[0], n: weight.shape[1], k: weight.shape[0])
        withUnsafeMutablePointer { images in
            guard case .bfloat16(let path) = precision else {
                return GEMM.multiply(product, delta.storage.pointer, weight.storage.pointer, scatteringOnto: rows, of: images,
                                     groupRows: problem.outputPlane, groupElements: w.height * w.width * w.channels)
            }
            precondition(Scalar.self == Float.self, "assignFoldedProduct: bfloat16 products take Float tensors")
            BFloat16Products.multiplyInParallel(
                product, UnsafeRawPointer(delta.storage.pointer).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(weight.storage.pointer).assumingMemoryBound(to: Float.self), scatteringOnto: rows,
                of: UnsafeMutableRawPointer(images).assumingMemoryBound(to: Float.self), groupRows: problem.outputPlane,
                groupElements: w.height * w.width * w.channels, path: path)
        }
    }

    /// Overwrites these channels-last images with the fold of `rows` (the adjoint of ``assignUnfolded(_:_:)``).
    public mutating func assignFolded(_ rows: Tensor, _ problem: WindowProblem) {
        precondition(rows.shape == [problem.columnCount, problem.columnRows] && count == problem.inputCount,
                     "assignFolded: \(rows.shape) into \(shape)")
        withUnsafeMutablePointer { output in
            WindowParts(kernel: .fold, problem: problem, input: rows.storage.pointer, output: output, indices: nil, auxiliary: nil).run()
        }
    }

    /// Overwrites this tensor with the max pooling of channels-last `images`, and `winners` with each output's
    /// winning pixel.
    ///
    /// With `bias`, pools max(images + bias, 0) instead: the bias and ReLU of the layer before, fused into the
    /// pooling's one pass over the images.
    public mutating func assignMaxPool(_ images: Tensor, _ problem: WindowProblem, winners: inout [Int32], bias: Tensor? = nil) {
        let outputs = problem.window.batch * problem.outputPlane * problem.window.channels
        precondition(count == outputs && winners.count == outputs && images.count == problem.inputCount,
                     "assignMaxPool: \(images.shape) into \(shape)")
        winners.withUnsafeMutableBufferPointer { winners in
            withUnsafeMutablePointer { output in
                WindowParts(kernel: bias == nil ? .maxPool : .maxPoolOfBiasAndReLU, problem: problem,
                            input: images.storage.pointer, output: output, indices: winners.baseAddress,
                            auxiliary: bias?.storage.pointer).run()
            }
        }
    }

    /// Overwrites this tensor with the max pooling of ReLU(batch normalisation of channels-last `images`), and
    /// `winners` with each output's winning pixel: the normalisation and ReLU of the layer before, fused into the
    /// pooling's one pass, so that their output is never stored. `normalization` is `[4, channels]`: the mean,
    /// 1/√(σ² + ε), γ and β. Each value is the one ``assignBatchNormalization(_:scale:offset:epsilon:relu:statistics:)``
    /// writes; where the ReLU ties a window at 0 the winner may be another pixel, and its gradient is 0 either way.
    /// `normalizedWinners` (this tensor's shape) gets each winner's x̂ = (z − mean)/√(σ² + ε), which is all that the
    /// gradient's sums read of z (``assignBatchNormalizationGradient(throughMaxPool:pooled:winners:normalizedWinners:_:input:scale:statistics:scaleGradient:offsetGradient:)``).
    public mutating func assignMaxPoolOfBatchNormalization(_ images: Tensor, _ problem: WindowProblem, normalization: Tensor,
                                                           winners: inout [Int32], normalizedWinners: inout Tensor) {
        let outputs = problem.window.batch * problem.outputPlane * problem.window.channels
        precondition(count == outputs && winners.count == outputs && normalizedWinners.count == outputs
                     && images.count == problem.inputCount && normalization.shape == [4, problem.window.channels],
                     "assignMaxPoolOfBatchNormalization: \(images.shape) into \(shape)")
        winners.withUnsafeMutableBufferPointer { winners in
            normalizedWinners.withUnsafeMutablePointer { normalizedWinners in
                withUnsafeMutablePointer { output in
                    WindowParts(kernel: .maxPoolOfBatchNormalizationAndReLU, problem: problem, input: images.storage.pointer,
                                output: output, indices: winners.baseAddress, auxiliary: normalization.storage.pointer,
                                normalizedWinners: normalizedWinners).run()
                }
            }
        }
    }

    /// Overwrites these channels-last images with the gradient of max pooling: `gradient` at the `winners`.
    ///
    /// With `pooledReLU`, the pooling's output when it pooled a ReLU's output, the gradient goes only where that is
    /// positive: the gradient through the ReLU too, in the same pass.
    public mutating func assignMaxPoolGradient(_ gradient: Tensor, _ problem: WindowProblem, winners: [Int32],
                                               pooledReLU: Tensor? = nil) {
        precondition(count == problem.inputCount && gradient.count == winners.count
                     && (pooledReLU?.count ?? gradient.count) == gradient.count,
                     "assignMaxPoolGradient: \(gradient.shape) into \(shape)")
        winners.withUnsafeBufferPointer { winners in
            withUnsafeMutablePointer { output in
                WindowParts(kernel: .maxPoolGradient, problem: problem, input: gradient.storage.pointer, output: output,
                            indices: UnsafeMutablePointer(mutating: winners.baseAddress),
                            auxiliary: pooledReLU?.storage.pointer).run()
            }
        }
    }

    /// Overwrites this tensor with the average pooling of channels-last `images`: the graph's values, bit for bit.
    public mutating func assignAveragePool(_ images: Tensor, _ problem: WindowProblem) {
        precondition(count == problem.window.batch * problem.outputPlane * problem.window.channels
                     && images.count == problem.inputCount, "assignAveragePool: \(images.shape) into \(shape)")
        withUnsafeMutablePointer { output in
            WindowParts(kernel: .averagePool, problem: problem, input: images.storage.pointer, output: output,
                        indices: nil, auxiliary: nil).run()
        }
    }

    /// Overwrites these channels-last images with the gradient of average pooling: each output's `gradient` spread
    /// evenly over its window.
    public mutating func assignAveragePoolGradient(_ gradient: Tensor, _ problem: WindowProblem) {
        precondition(count == problem.inputCount
                     && gradient.count == problem.window.batch * problem.outputPlane * problem.window.channels,
                     "assignAveragePoolGradient: \(gradient.shape) into \(shape)")
        withUnsafeMutablePointer { output in
            WindowParts(kernel: .averagePoolGradient, problem: problem, input: gradient.storage.pointer, output: output,
                        indices: nil, auxiliary: nil).run()
        }
    }

    /// Overwrites this tensor with `x` viewed as `batch` matrices of `rows × columns`, each transposed.
    public mutating func assignTransposed(_ x: Tensor, batch: Int, rows: Int, columns: Int) {
        precondition(x.count == batch * rows * columns && count == x.count, "assignTransposed: \(x.shape) into \(shape)")
        withUnsafeMutablePointer { y in
            TransposeParts(x: x.storage.pointer, y: y, batch: batch, rows: rows, columns: columns).run()
        }
    }
}

/// Batched transposes split into runs of whole matrices, one per thread (copies: any split gives the same values).
private struct TransposeParts<Scalar: TensorScalar>: ParallelWork {
    let x: UnsafePointer<Scalar>
    let y: UnsafeMutablePointer<Scalar>
    let batch: Int, rows: Int, columns: Int
    let parts: Int

    init(x: UnsafePointer<Scalar>, y: UnsafeMutablePointer<Scalar>, batch: Int, rows: Int, columns: Int) {
        (self.x, self.y, self.batch, self.rows, self.columns) = (x, y, batch, rows, columns)
        parts = Swift.min(batch, ElementwiseParts.parts(count: batch * rows * columns))
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let matrices = range(of: part, in: batch), size = rows * columns
        Scalar.transpose(x + matrices.lowerBound * size, batch: matrices.count, rows: rows, columns: columns,
                         y + matrices.lowerBound * size)
    }
}

extension WindowProblem {
    /// The number of input values of the whole batch.
    var inputCount: Int { window.batch * window.channels * window.height * window.width }
}

/// A channels-last window kernel split into runs of the batch's samples, one per thread (each sample's values are
/// computed on their own, so the split changes no bit).
private struct WindowParts<Scalar: TensorScalar>: ParallelWork {
    let kernel: ChannelsLastKernel
    let problem: WindowProblem
    let input: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let indices: UnsafeMutablePointer<Int32>?
    let auxiliary: UnsafePointer<Scalar>?
    let normalizedWinners: UnsafeMutablePointer<Scalar>?
    /// Fixed when the work is made: the threads a part runs on must all see the same split.
    let parts: Int

    init(kernel: ChannelsLastKernel, problem: WindowProblem, input: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>,
         indices: UnsafeMutablePointer<Int32>?, auxiliary: UnsafePointer<Scalar>?,
         normalizedWinners: UnsafeMutablePointer<Scalar>? = nil) {
        (self.kernel, self.problem, self.input, self.output, self.indices, self.auxiliary) = (kernel, problem, input, output, indices, auxiliary)
        self.normalizedWinners = normalizedWinners
        parts = Swift.min(problem.window.batch, ElementwiseParts.parts(count: problem.inputCount))
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        run(samples: range(of: part, in: problem.window.batch))
    }

    private func run(samples: Range<Int>) {
        // Only the max-pooling kernels read the indices; a dangling placeholder is never dereferenced.
        Scalar.applyChannelsLastKernel(kernel, problem, samples: samples, input, output,
                                       indices: indices ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Int32>.alignment)!,
                                       auxiliary: auxiliary, normalizedWinners: normalizedWinners)
    }
}

// Element-wise passes of fused steps that have no bias to add.
extension Tensor {
    /// Adds `bias` to every row of this `[rows, columns]` matrix and applies a ReLU, in place: the pre-activation is
    /// not kept (a ReLU's gradient can be read from its output: y > 0 exactly where x > 0).
    public mutating func addBiasApplyingReLU(_ bias: Tensor) {
        precondition(rank == 2 && bias.shape == [shape[1]], "addBiasApplyingReLU: bias \(bias.shape) does not fit \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        withUnsafeMutablePointer { z in
            BiasActivationParts(z: z, bias: bias.storage.pointer, output: z, rows: rows, columns: columns, activation: .relu).run()
        }
    }

    /// Overwrites this tensor with `function` applied to `x`.
    public mutating func assignApplying(_ function: UnaryFunction, to x: Tensor) {
        precondition(x.shape == shape, "assignApplying: \(x.shape) into \(shape)")
        let n = count
        withUnsafeMutablePointer { y in Scalar.applyUnary(function, x.storage.pointer, y, count: n) }
    }

    /// Overwrites this tensor with `a ⊙ b`.
    public mutating func assignProduct(elementwise a: Tensor, _ b: Tensor) {
        precondition(a.shape == shape && b.count == count, "assignProduct(elementwise:): \(a.shape) ⊙ \(b.shape) into \(shape)")
        let n = count
        withUnsafeMutablePointer { y in
            BinaryParts(function: .multiply, lhs: a.storage.pointer, rhs: b.storage.pointer, output: y, count: n).run()
        }
    }

    /// Overwrites this tensor with a dropout mask: `scale` where `keep` is 1, 0 where it is 0.
    public mutating func assignMask(_ keep: [UInt8], scale: Scalar) {
        precondition(keep.count == count, "assignMask: \(keep.count) flags into \(shape)")
        let n = count
        withUnsafeMutablePointer { y in
            keep.withUnsafeBufferPointer { Scalar.convertBytes($0.baseAddress!, y, count: n, scale: scale) }
        }
    }
}

// A first convolution over one-channel images, fused with its bias, ReLU and the max pooling after it: its output is
// never stored (for C1's first layer, 86 528 × 32 values a batch). The rules are those of the unfused stages; the
// convolution's sums run over the window's positions in order.
extension Tensor {
    /// Overwrites this tensor (`[batch·pooledH·pooledW, filters]`) with the max pooling of
    /// ReLU(convolution(`images`) + `bias`), and `winners` with each output's winning pixel of the convolution's
    /// output, as ``assignMaxPool(_:_:winners:bias:)`` records them.
    ///
    /// `images` is `[batch, height·width]` (one channel); `weight` is `[kh·kw, filters]`; `convolution` is the
    /// convolution's window over the images, `pooling` the pooling's over its output.
    public mutating func assignConvolvedAndPooled(_ images: Tensor, weight: Tensor, bias: Tensor, convolution: WindowProblem,
                                                  pooling: WindowProblem, winners: inout [Int32]) {
        let filters = pooling.window.channels
        precondition(convolution.window.channels == 1 && images.count == convolution.inputCount
                     && weight.shape == [convolution.columnRows, filters] && bias.shape == [filters]
                     && count == pooling.window.batch * pooling.outputPlane * filters && winners.count == count
                     && pooling.window.height == convolution.window.output_height
                     && pooling.window.width == convolution.window.output_width,
                     "assignConvolvedAndPooled: \(images.shape) and weight \(weight.shape) into \(shape)")
        winners.withUnsafeMutableBufferPointer { winners in
            withUnsafeMutablePointer { output in
                ConvolutionPoolParts(convolution: convolution, pooling: pooling, images: images.storage.pointer,
                                     weight: weight.storage.pointer, bias: bias.storage.pointer, output: output,
                                     winners: winners.baseAddress!).run()
            }
        }
    }

    /// The gradients of ``assignConvolvedAndPooled(_:weight:bias:convolution:pooling:winners:)`` from the gradient of
    /// its output: overwrites `weightGradient` (`[kh·kw, filters]`) and `biasGradient` (`[filters]`). The batch is
    /// summed in two fixed halves (on two threads when there are), then added: the same bits on any number of threads.
    ///
    /// With `roundingProducts` (Float32 only; the caller has rounded `images` to bfloat16), the gradient reaching each
    /// pixel is rounded to bfloat16 before it multiplies the image's values: the weight gradient's products on
    /// bfloat16 operands with Float32 sums, as ``MatrixPrecision/bfloat16`` has them.
    public static func convolutionPoolGradients(images: Tensor, gradient: Tensor, pooled: Tensor, winners: [Int32],
                                                convolution: WindowProblem, pooling: WindowProblem,
                                                weightGradient: inout Tensor, biasGradient: inout Tensor,
                                                roundingProducts: Bool = false) {
        let filters = pooling.window.channels, rows = convolution.columnRows
        precondition(gradient.count == pooled.count && pooled.count == winners.count
                     && pooled.count == pooling.window.batch * pooling.outputPlane * filters
                     && images.count == convolution.inputCount && weightGradient.shape == [rows, filters]
                     && biasGradient.shape == [filters],
                     "convolutionPoolGradients: gradient \(gradient.shape) into \(weightGradient.shape)")
        let size = (rows + 1) * filters
        // The second slot: each half takes the kernel slot of its thread for its own scratch.
        ThreadScratch.withBuffer(of: Scalar.self, count: 2 * size, slot: .sharedOperand) { halves in
            winners.withUnsafeBufferPointer { winners in
                let work = ConvolutionPoolGradientHalves(
                    convolution: convolution, pooling: pooling, images: images.storage.pointer,
                    gradient: gradient.storage.pointer, pooled: pooled.storage.pointer, winners: winners.baseAddress!,
                    sums: halves, size: size, filters: filters, roundingProducts: roundingProducts)
                Parallelism.pool.run(work)
                if work.parts == 2 { Scalar.applyBinary(.add, halves, halves + size, halves, count: size) }
            }
            weightGradient.withUnsafeMutablePointer { $0.update(from: halves, count: rows * filters) }
            biasGradient.withUnsafeMutablePointer { $0.update(from: halves + rows * filters, count: filters) }
        }
    }
}

/// ``Tensor/assignConvolvedAndPooled(_:weight:bias:convolution:pooling:winners:)`` split into runs of samples.
private struct ConvolutionPoolParts<Scalar: TensorScalar>: ParallelWork {
    let convolution: WindowProblem, pooling: WindowProblem
    let images: UnsafePointer<Scalar>, weight: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let winners: UnsafeMutablePointer<Int32>
    let parts: Int

    init(convolution: WindowProblem, pooling: WindowProblem, images: UnsafePointer<Scalar>, weight: UnsafePointer<Scalar>,
         bias: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>, winners: UnsafeMutablePointer<Int32>) {
        (self.convolution, self.pooling, self.images, self.weight, self.bias) = (convolution, pooling, images, weight, bias)
        (self.output, self.winners) = (output, winners)
        // The work is the convolution's: every pooled output computes its window's pixels.
        parts = Swift.min(pooling.window.batch,
                          ElementwiseParts.parts(count: convolution.columnCount * pooling.window.channels))
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        Scalar.applyConvolutionPool(convolution, pooling, samples: range(of: part, in: pooling.window.batch), images,
                                    weight: weight, bias: bias, output, winners: winners)
    }
}

/// The gradients of a fused one-channel convolution and pooling, as two halves of the batch (one when it has a
/// single sample), each into its own `size` sums (weight, then bias).
private struct ConvolutionPoolGradientHalves<Scalar: TensorScalar>: ParallelWork {
    let convolution: WindowProblem, pooling: WindowProblem
    let images: UnsafePointer<Scalar>, gradient: UnsafePointer<Scalar>, pooled: UnsafePointer<Scalar>
    let winners: UnsafePointer<Int32>
    let sums: UnsafeMutablePointer<Scalar>
    let size: Int, filters: Int
    let roundingProducts: Bool

    var parts: Int { Swift.min(2, pooling.window.batch) }

    func run(part: Int) {
        let half = sums + part * size
        Scalar.applyConvolutionPoolGradient(convolution, pooling, samples: range(of: part, in: pooling.window.batch),
                                            images, gradient: gradient, pooled: pooled, winners: winners,
                                            weightGradient: half, biasGradient: half + (size - filters),
                                            roundingProducts: roundingProducts)
    }
}

// A first convolution over one-channel images computed directly, without unfolding (nine values a pixel for a 3 × 3
// window, where the product's depth would be nine): what such a convolution takes when its output is needed (batch
// normalisation after it, another activation, average pooling).
extension Tensor {
    /// Overwrites this tensor (`[batch·outputH·outputW, filters]`) with the convolution of `images` (`[batch,
    /// height·width]`, one channel) by `weight` (`[kh·kw, filters]`), plus `bias` if given: each output the sum over
    /// the window's positions inside the image, in order, then the bias. The unfolded product's values, to rounding.
    public mutating func assignConvolved(_ images: Tensor, weight: Tensor, bias: Tensor? = nil, convolution: WindowProblem) {
        convolve(images, weight: weight, bias: bias, convolution: convolution, moments: nil)
    }

    /// ``assignConvolved(_:weight:bias:convolution:)``, and `statistics` (`[3, filters]`) overwritten with the
    /// output's batch statistics per filter (mean, variance, 1/√(variance + ε)), as
    /// ``assignBatchStatistics(of:epsilon:into:)`` gives them to rounding: each sample's moments are taken from its
    /// output while it is still in cache, then merged in sample order (the same bits on any number of threads), so
    /// that a batch normalisation after the convolution does not read its output again for them.
    public mutating func assignConvolved(_ images: Tensor, weight: Tensor, bias: Tensor?, convolution: WindowProblem,
                                         batchStatistics statistics: inout Tensor, epsilon: Double) {
        let filters = weight.shape.last ?? 0, batch = convolution.window.batch
        precondition(statistics.shape == [3, filters], "assignConvolved: statistics \(statistics.shape) for \(filters) filters")
        ThreadScratch.withBuffer(of: Scalar.self, count: 2 * batch * filters) { moments in
            convolve(images, weight: weight, bias: bias, convolution: convolution, moments: moments)
            statistics.withUnsafeMutablePointer { stats in
                Scalar.mergeMoments(moments, batch: batch, pixels: convolution.columnCount / Swift.max(batch, 1),
                                    channels: filters, mean: stats, variance: stats + filters)
                for c in 0..<filters { stats[2 * filters + c] = 1 / (stats[filters + c] + Scalar(epsilon)).squareRoot() }
            }
        }
    }

    private mutating func convolve(_ images: Tensor, weight: Tensor, bias: Tensor?, convolution: WindowProblem,
                                   moments: UnsafeMutablePointer<Scalar>?) {
        let filters = weight.shape.last ?? 0
        precondition(convolution.window.channels == 1 && images.count == convolution.inputCount
                     && weight.shape == [convolution.columnRows, filters] && shape == [convolution.columnCount, filters]
                     && (bias?.shape ?? [filters]) == [filters],
                     "assignConvolved: \(images.shape) and weight \(weight.shape) into \(shape)")
        withUnsafeMutablePointer { output in
            Parallelism.pool.run(ConvolutionParts(convolution: convolution, filters: filters, images: images.storage.pointer,
                                                  weight: weight.storage.pointer, bias: bias?.storage.pointer,
                                                  output: output, moments: moments))
        }
    }

    /// The weight gradient of ``assignConvolved(_:weight:bias:convolution:)`` from its output's gradient `delta`:
    /// overwrites `weightGradient` (`[kh·kw, filters]`). The batch is summed in two fixed halves (on two threads when
    /// there are), then added: the same bits on any number of threads.
    ///
    /// With `roundingProducts` (Float32 only; the caller has rounded `images` to bfloat16), `delta` is rounded to
    /// bfloat16 before it multiplies: the products on bfloat16 operands with Float32 sums, as
    /// ``MatrixPrecision/bfloat16`` has them.
    public static func convolutionWeightGradient(images: Tensor, delta: Tensor, convolution: WindowProblem,
                                                 weightGradient: inout Tensor, roundingProducts: Bool = false) {
        convolutionGradients(images: images, delta: delta, convolution: convolution, weightGradient: &weightGradient,
                             biasGradient: nil, roundingProducts: roundingProducts)
    }

    /// ``convolutionWeightGradient(images:delta:convolution:weightGradient:roundingProducts:)``, and `biasGradient`
    /// overwritten with the bias's gradient (the sums of `delta`, unrounded, in the same halves) in the same pass.
    public static func convolutionWeightGradient(images: Tensor, delta: Tensor, convolution: WindowProblem,
                                                 weightGradient: inout Tensor, biasGradient: inout Tensor,
                                                 roundingProducts: Bool = false) {
        precondition(biasGradient.count == delta.shape.last ?? 0, "convolutionWeightGradient: bias gradient \(biasGradient.shape)")
        biasGradient.withUnsafeMutablePointer { bias in
            convolutionGradients(images: images, delta: delta, convolution: convolution, weightGradient: &weightGradient,
                                 biasGradient: bias, roundingProducts: roundingProducts)
        }
    }

    private static func convolutionGradients(images: Tensor, delta: Tensor, convolution: WindowProblem,
                                             weightGradient: inout Tensor, biasGradient: UnsafeMutablePointer<Scalar>?,
                                             roundingProducts: Bool) {
        let filters = delta.shape.last ?? 0, size = convolution.columnRows * filters
        precondition(convolution.window.channels == 1 && images.count == convolution.inputCount
                     && delta.shape == [convolution.columnCount, filters]
                     && weightGradient.shape == [convolution.columnRows, filters],
                     "convolutionWeightGradient: \(delta.shape) into \(weightGradient.shape)")
        // Each half's weight gradient, then its bias gradient.
        let stride = size + (biasGradient == nil ? 0 : filters)
        ThreadScratch.withBuffer(of: Scalar.self, count: 2 * stride, slot: .sharedOperand) { halves in
            let work = ConvolutionWeightGradientHalves(convolution: convolution, filters: filters,
                                                       images: images.storage.pointer, delta: delta.storage.pointer,
                                                       sums: halves, stride: stride, withBias: biasGradient != nil,
                                                       roundingProducts: roundingProducts)
            Parallelism.pool.run(work)
            if work.parts == 2 { Scalar.applyBinary(.add, halves, halves + stride, halves, count: stride) }
            weightGradient.withUnsafeMutablePointer { $0.update(from: halves, count: size) }
            biasGradient?.update(from: halves + size, count: filters)
        }
    }
}

/// ``Tensor/assignConvolved(_:weight:bias:convolution:)`` split into runs of samples.
private struct ConvolutionParts<Scalar: TensorScalar>: ParallelWork {
    let convolution: WindowProblem
    let filters: Int
    let images: UnsafePointer<Scalar>, weight: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?
    let output: UnsafeMutablePointer<Scalar>
    /// Each sample's moments, if asked for.
    let moments: UnsafeMutablePointer<Scalar>?
    let parts: Int

    init(convolution: WindowProblem, filters: Int, images: UnsafePointer<Scalar>, weight: UnsafePointer<Scalar>,
         bias: UnsafePointer<Scalar>?, output: UnsafeMutablePointer<Scalar>, moments: UnsafeMutablePointer<Scalar>?) {
        (self.convolution, self.filters, self.images, self.weight, self.bias) = (convolution, filters, images, weight, bias)
        (self.output, self.moments) = (output, moments)
        // Fixed when the work is made (it follows the threads); samples are independent, so the split changes no bit.
        parts = Swift.min(convolution.window.batch, ElementwiseParts.parts(count: convolution.columnCount * convolution.columnRows * filters))
    }

    func run(part: Int) {
        Scalar.applyConvolution(convolution, filters: filters, samples: range(of: part, in: convolution.window.batch), images,
                                weight: weight, bias: bias, output, moments: moments)
    }
}

/// The weight gradient of a direct one-channel convolution (and its bias's, `withBias`), as two halves of the batch
/// (one when it has a single sample), each into its own `stride` sums: the weight's, then the bias's.
private struct ConvolutionWeightGradientHalves<Scalar: TensorScalar>: ParallelWork {
    let convolution: WindowProblem
    let filters: Int
    let images: UnsafePointer<Scalar>, delta: UnsafePointer<Scalar>
    let sums: UnsafeMutablePointer<Scalar>
    let stride: Int
    let withBias: Bool
    let roundingProducts: Bool

    var parts: Int { Swift.min(2, convolution.window.batch) }

    func run(part: Int) {
        let half = sums + part * stride
        Scalar.applyConvolutionWeightGradient(convolution, filters: filters, samples: range(of: part, in: convolution.window.batch),
                                              images, delta: delta, weightGradient: half,
                                              biasGradient: withBias ? half + convolution.columnRows * filters : nil,
                                              roundingProducts: roundingProducts)
    }
}
