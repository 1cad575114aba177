// In-place operations that overwrite a tensor's own storage: the building blocks of fused training steps, which keep
// their activations, deltas and gradients in buffers reused from step to step. None records into a graph and none
// allocates while the receiver's storage is not shared. Their derivative rules are those of Autodiff/Derivatives.swift.
extension Tensor {
    /// Overwrites this matrix with the product `op(a) · op(b)`, where `op` transposes an operand in place when asked.
    ///
    /// - Precondition: `op(a)` is `m × k`, `op(b)` is `k × n` and this tensor is `m × n`.
    public mutating func assignProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) {
        assignProduct(a, b, transposeA: transposeA, transposeB: transposeB, squares: nil)
    }

    /// Overwrites this matrix with `op(a) · op(b)` in `precision`: Float32 as
    /// ``assignProduct(_:_:transposeA:transposeB:)``, or bfloat16 operands with Float32 sums (``BFloat16Products``).
    ///
    /// - Precondition: bfloat16 products take `Float` tensors.
    public mutating func assignProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                                       precision: MatrixPrecision) {
        guard case .bfloat16(let path) = precision else {
            return assignProduct(a, b, transposeA: transposeA, transposeB: transposeB, squares: nil)
        }
        precondition(Scalar.self == Float.self, "assignProduct: bfloat16 products take Float tensors")
        let problem = productProblem(a, b, transposeA: transposeA, transposeB: transposeB)
        withUnsafeMutablePointer { c in
            BFloat16Products.multiplyInParallel(
                problem, UnsafeRawPointer(a.storage.pointer).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(b.storage.pointer).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), path: path)
        }
    }

    /// ``assignProduct(_:_:transposeA:transposeB:precision:)``, returning the product's ``norm``.
    public mutating func assignProductReturningNorm(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                                                    transposeB: Bool = false, precision: MatrixPrecision) -> Scalar {
        guard case .bfloat16(let path) = precision else {
            return assignProductReturningNorm(a, b, transposeA: transposeA, transposeB: transposeB)
        }
        precondition(Scalar.self == Float.self, "assignProduct: bfloat16 products take Float tensors")
        let problem = productProblem(a, b, transposeA: transposeA, transposeB: transposeB)
        var sums: (Float, Float) = (0, 0)
        withUnsafeMutablePointer { c in
            withUnsafeMutableBytes(of: &sums) { bytes in
                BFloat16Products.multiplyInParallel(
                    problem, UnsafeRawPointer(a.storage.pointer).assumingMemoryBound(to: Float.self),
                    UnsafeRawPointer(b.storage.pointer).assumingMemoryBound(to: Float.self),
                    UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), path: path,
                    squares: bytes.baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
        return Scalar((sums.0 + sums.1).squareRoot())
    }

    /// Overwrites this matrix with the product `op(a) · op(b)`, like ``assignProduct(_:_:transposeA:transposeB:)``,
    /// and returns its ``norm``, bit for bit.
    ///
    /// For a weight gradient δᵀa: when the product runs on two threads, each sums the squares of the half it has just
    /// written, while that half is in its cache, instead of a second pass over the whole matrix after the product.
    public mutating func assignProductReturningNorm(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                                                    transposeB: Bool = false) -> Scalar {
        var sums: (Scalar, Scalar) = (0, 0)
        withUnsafeMutableBytes(of: &sums) { bytes in
            assignProduct(a, b, transposeA: transposeA, transposeB: transposeB,
                          squares: bytes.baseAddress!.assumingMemoryBound(to: Scalar.self))
        }
        return (sums.0 + sums.1).squareRoot()
    }

    private mutating func assignProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool,
                                        squares: UnsafeMutablePointer<Scalar>?) {
        let problem = productProblem(a, b, transposeA: transposeA, transposeB: transposeB)
        withUnsafeMutablePointer { c in
            GEMM.multiply(problem, a.storage.pointer, b.storage.pointer, c, backend: nil, squares: squares)
        }
    }

    /// The product's shapes, checked against this matrix.
    private func productProblem(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> GEMMProblem {
        precondition(a.rank == 2 && b.rank == 2 && rank == 2, "assignProduct: needs matrices, got \(a.shape), \(b.shape) into \(shape)")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(k == k2 && shape == [m, n],
                     "assignProduct: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") does not fit \(shape)")
        return GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
    }

    /// Adds `bias` to every row of this `[rows, columns]` matrix (the pre-activation z of a dense layer) and writes
    /// `activation(z)` into `output`, row by row in one pass. With no activation only the bias is added.
    ///
    /// - Precondition: `bias` is `[columns]`; with an activation, `output` has this matrix's shape.
    public mutating func addBias(_ bias: Tensor, applying activation: UnaryFunction?, into output: inout Tensor) {
        precondition(rank == 2 && bias.shape == [shape[1]] && (activation == nil || output.shape == shape),
                     "addBias: bias \(bias.shape) and output \(output.shape) do not fit \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        withUnsafeMutablePointer { z in
            if activation == nil {
                BiasActivationParts(z: z, bias: bias.storage.pointer, output: z, rows: rows, columns: columns,
                                    activation: nil).run()
            } else {
                output.withUnsafeMutablePointer { a in
                    BiasActivationParts(z: z, bias: bias.storage.pointer, output: a, rows: rows, columns: columns,
                                        activation: activation).run()
                }
            }
        }
    }

    /// Adds `bias` to every row of this `[rows, columns]` matrix in place.
    ///
    /// - Precondition: `bias` is `[columns]`.
    public mutating func addBias(_ bias: Tensor) {
        precondition(rank == 2 && bias.shape == [shape[1]], "addBias: bias \(bias.shape) does not fit \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        withUnsafeMutablePointer { z in
            BiasActivationParts(z: z, bias: bias.storage.pointer, output: z, rows: rows, columns: columns, activation: nil).run()
        }
    }

    /// Overwrites this tensor with the upstream gradient g multiplied element-wise by the derivative of `activation`:
    /// self ← g ⊙ f′(x), from the activation's input x and output y = f(x).
    ///
    /// The result has its own buffer (there is no in-place form) so that the compiler's vector loop runs: in place,
    /// its run-time check that the result does not overlap an operand fails, and the scalar loop runs instead.
    ///
    /// - Precondition: `activation` is an element-wise activation; `gradient`, `input` and `output` have this tensor's
    ///   shape.
    public mutating func assign(_ gradient: Tensor, timesDerivativeOf activation: UnaryFunction, input: Tensor,
                                output: Tensor) {
        guard let rule = activation.gradientRule else {
            preconditionFailure("assign(_:timesDerivativeOf:input:output:): \(activation) is not an element-wise activation")
        }
        precondition(gradient.shape == shape && input.shape == shape && output.shape == shape,
                     "assign(_:timesDerivativeOf:input:output:): gradient \(gradient.shape), input \(input.shape) and "
                     + "output \(output.shape) into \(shape)")
        let operand = rule.fromOutput ? output : input
        let n = count
        withUnsafeMutablePointer { result in
            BinaryParts(function: rule.kernel, lhs: gradient.storage.pointer, rhs: operand.storage.pointer,
                        output: result, count: n).run()
        }
    }

    /// Overwrites this vector with the column sums of `matrix` (the bias gradient Σ over the batch of δ).
    ///
    /// - Precondition: `matrix` is `[rows, count]`.
    public mutating func assignColumnSums(of matrix: Tensor) {
        precondition(matrix.rank == 2 && shape == [matrix.shape[1]], "assignColumnSums: \(matrix.shape) into \(shape)")
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        withUnsafeMutablePointer { y in
            guard ColumnSumHalves<Scalar>.splits(rows: rows, columns: columns) else {
                return Scalar.applyReduction(.sum, matrix.storage.pointer, y, outer: 1, length: rows, inner: columns)
            }
            ThreadScratch.withBuffer(of: Scalar.self, count: columns) { second in
                Parallelism.pool.run(ColumnSumHalves(matrix: matrix.storage.pointer, rows: rows, columns: columns,
                                                     sums: (y, second)))
                Scalar.applyBinary(.add, y, second, y, count: columns)
            }
        }
    }

    /// Overwrites this matrix with the gradient of softmax + cross-entropy, `(softmax(z) − y) · scale`, for logit rows
    /// z against class `labels` (y one-hot, or smoothed with `labelSmoothing`), and returns the loss summed over the
    /// rows and how many rows' largest logit is their label.
    ///
    /// The rule of ``softmaxCrossEntropy(logits:targets:averaged:)``, with the exponentials of all rows in one
    /// vectorised loop: for `Float`, an approximation of eˣ within 2 ulp (the graph's `exp` is the C library's), and
    /// probabilities below 10⁻³⁸ become 0.
    ///
    /// - Precondition: `logits` is `[labels.count, classes]` like this tensor; every label is in `0..<classes`.
    @discardableResult
    public mutating func assignSoftmaxCrossEntropyGradient(
        logits: Tensor, labels: [Int], labelSmoothing: Double = 0, scale: Scalar
    ) -> (loss: Double, correct: Int) {
        precondition(logits.rank == 2 && logits.shape == shape && labels.count == shape[0],
                     "assignSoftmaxCrossEntropyGradient: logits \(logits.shape), \(labels.count) labels into \(shape)")
        let classes = shape[1]
        for label in labels {
            precondition(label >= 0 && label < classes, "softmax cross-entropy: label \(label) outside 0..<\(classes)")
        }
        return withUnsafeMutablePointer { delta in
            labels.withUnsafeBufferPointer { labels in
                Scalar.applySoftmaxCrossEntropy(logits.storage.pointer, labels: labels, classes: classes,
                                                smoothing: Scalar(labelSmoothing), scale: scale, delta: delta)
            }
        }
    }
}

/// Element-wise passes of a fused step, split into one run of whole rows (contiguous memory) per thread when they
/// cover ``ElementwiseParts/parallelElements`` elements or more.
///
/// Not blocks of columns, although those would match how ``GEMM`` splits the product before: with a boundary in
/// every row, each core's prefetchers keep fetching the first lines of the other core's block, and the lines change
/// hands row after row. Measured on a 128 × 512 bias + ReLU: 2.5 µs in halves of rows, 3.7 µs on one thread, 11 µs in
/// blocks of columns.
enum ElementwiseParts {
    /// Below this many elements a pass runs on one thread: the hand-off would cost more than the half it saves.
    static let parallelElements = 1 << 14

    /// The parts of a pass over `count` elements: one per thread of the current pool, each of at least half of
    /// ``parallelElements``.
    static func parts(count: Int) -> Int {
        Parallelism.pool.elementwiseParts(count: count, minimum: parallelElements / 2)
    }
}

/// The column sums of a tall matrix (a convolution's bias gradient: one row per pixel of the batch) as two halves of
/// its rows, each summed in order into its own vector, then added: the split depends on the shape alone, so the sums
/// are the same bits on any number of threads.
struct ColumnSumHalves<Scalar: TensorScalar>: ParallelWork {
    let matrix: UnsafePointer<Scalar>
    let rows: Int
    let columns: Int
    /// The first half's sums and the second's.
    let sums: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>)

    /// Whether a `rows × columns` matrix is summed in halves: tall enough for the hand-off to pay (a perceptron's
    /// batch of 128 rows is not, so its bias gradients keep one sum in row order).
    static func splits(rows: Int, columns: Int) -> Bool {
        rows >= 4096 && rows * columns >= 1 << 16
    }

    var parts: Int { 2 }

    func run(part: Int) {
        let half = range(of: part, in: rows)
        Scalar.applyReduction(.sum, matrix + half.lowerBound * columns, part == 0 ? sums.0 : sums.1, outer: 1,
                              length: half.count, inner: columns)
    }
}

/// z += bias, then a = σ(z), over the rows of a matrix.
struct BiasActivationParts<Scalar: TensorScalar>: ParallelWork {
    let z: UnsafeMutablePointer<Scalar>
    let bias: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let rows: Int
    let columns: Int
    let activation: UnaryFunction?
    let parts: Int

    init(z: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int,
         activation: UnaryFunction?) {
        (self.z, self.bias, self.output, self.rows, self.columns, self.activation) = (z, bias, output, rows, columns, activation)
        parts = Swift.min(rows, ElementwiseParts.parts(count: rows * columns))
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        run(rows: range(of: part, in: rows))
    }

    private func run(rows block: Range<Int>) {
        let start = block.lowerBound * columns
        Scalar.applyBiasAndActivation(z + start, bias: bias, rows: block.count, columns: columns,
                                      activation: activation, output: output + start)
    }
}

/// output = f(lhs, rhs) element-wise.
struct BinaryParts<Scalar: TensorScalar>: ParallelWork {
    let function: BinaryFunction
    let lhs: UnsafePointer<Scalar>
    let rhs: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let count: Int
    let parts: Int

    init(function: BinaryFunction, lhs: UnsafePointer<Scalar>, rhs: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>, count: Int) {
        (self.function, self.lhs, self.rhs, self.output, self.count) = (function, lhs, rhs, output, count)
        parts = ElementwiseParts.parts(count: count)
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let elements = range(of: part, in: count, granularity: 16)
        let start = elements.lowerBound
        Scalar.applyBinary(function, lhs + start, rhs + start, output + start, count: elements.count)
    }
}

extension Tensor {
    /// Writes `factor · self` to `count` elements at `destination` (packing tensors into one flat buffer).
    public func copyElements(scaledBy factor: Scalar, to destination: UnsafeMutablePointer<Scalar>) {
        withUnsafePointer { Scalar.scale($0, by: factor, into: destination, count: count) }
    }

    /// Overwrites the elements with `factor · source[i]` (unpacking a flat buffer).
    public mutating func assignElements(from source: UnsafePointer<Scalar>, scaledBy factor: Scalar) {
        let count = self.count
        withUnsafeMutablePointer { Scalar.scale(source, by: factor, into: $0, count: count) }
    }
}
