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
    /// Fixed when the work is made: the threads a part runs on must all see the same split.
    let parts: Int

    init(kernel: ChannelsLastKernel, problem: WindowProblem, input: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>,
         indices: UnsafeMutablePointer<Int32>?, auxiliary: UnsafePointer<Scalar>?) {
        (self.kernel, self.problem, self.input, self.output, self.indices, self.auxiliary) = (kernel, problem, input, output, indices, auxiliary)
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
                                       auxiliary: auxiliary)
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
