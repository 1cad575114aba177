// Sums, means and maxima over all elements or along axes. Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    /// The sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor { sum(alongAxes: Array(0..<rank)) }

    /// Sums along the given axes (negative axes count from the end).
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalized(axes, op: "sum")
        let value = reducing(.sum, axes: axes, keepingDimensions: keepingDimensions)
        return Tensor.recorded(.sum(axes: axes, keepingDimensions: keepingDimensions), inputs: [self], value: value)
    }

    /// Sums along one axis.
    public func sum(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        sum(alongAxes: [axis], keepingDimensions: keepingDimensions)
    }

    /// The mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor { mean(alongAxes: Array(0..<rank)) }

    /// The mean along the given axes.
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalized(axes, op: "mean")
        let n = axes.reduce(1) { $0 * shape[$1] }
        let sums = reducing(.sum, axes: axes, keepingDimensions: keepingDimensions)
        let value = Tensor.combining(.divide, sums, Tensor(Scalar(n)), into: sums.shape)
        return Tensor.recorded(.mean(axes: axes, keepingDimensions: keepingDimensions), inputs: [self], value: value)
    }

    /// The mean along one axis.
    public func mean(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        mean(alongAxes: [axis], keepingDimensions: keepingDimensions)
    }

    /// The maximum along one axis; ties share the gradient equally.
    public func max(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank, op: "max")
        let value = reducing(.max, axes: [axis], keepingDimensions: keepingDimensions)
        return Tensor.recorded(.max(axis: axis, keepingDimensions: keepingDimensions), inputs: [self], value: value)
    }

    /// The largest element, as a rank-0 tensor.
    public func max() -> Tensor { reshaped(to: [count]).max(alongAxis: 0) }

    /// The smallest element, as a rank-0 tensor.
    public func min() -> Tensor { -(-self).max() }

    /// The index of the largest element along `axis` for every position of the other axes (first index on ties).
    public func argmax(alongAxis axis: Int = -1) -> [Int] {
        let axis = Shape.normalize(axis: axis, rank: rank, op: "argmax")
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        var result = [Int](repeating: 0, count: outer * inner)
        let p = storage.pointer
        for o in 0..<outer {
            for j in 0..<inner {
                var best = 0
                var bestValue = -Scalar.infinity
                for i in 0..<length where p[(o * length + i) * inner + j] > bestValue {
                    bestValue = p[(o * length + i) * inner + j]
                    best = i
                }
                result[o * inner + j] = best
            }
        }
        return result
    }

    /// The Euclidean (Frobenius) norm of all elements, untracked.
    ///
    /// One pass over the flat elements (reducing axis by axis would square partial sums again); above 65 536
    /// elements, on two threads, each summing half (a gradient's halves are in the caches of the threads that wrote
    /// them, see ``GEMM``).
    public var norm: Scalar {
        var sums: (Scalar, Scalar) = (0, 0)
        withUnsafeMutableBytes(of: &sums) { bytes in
            let sums = bytes.baseAddress!.assumingMemoryBound(to: Scalar.self)
            SumOfSquares(elements: storage.pointer, count: count, sums: sums).run()
        }
        return (sums.0 + sums.1).squareRoot()
    }

    private func normalized(_ axes: [Int], op: String) -> [Int] {
        let result = axes.map { Shape.normalize(axis: $0, rank: rank, op: op) }
        precondition(Set(result).count == result.count, "\(op): repeated axis in \(axes)")
        return result.sorted()
    }
}

/// The sum of squares of a buffer, as two partial sums: over the whole buffer into the first when it is small, or
/// over each half (on two threads, when there are) when it is large. The split depends on the size alone.
struct SumOfSquares<Scalar: TensorScalar>: ParallelWork {
    let elements: UnsafePointer<Scalar>
    let count: Int
    /// Two partial sums, both written.
    let sums: UnsafeMutablePointer<Scalar>

    /// Whether `count` elements are summed in two halves.
    static func runsInParallel(count: Int) -> Bool {
        count >= ParameterUpdates.parallelThreshold
    }

    /// The halves end on a multiple of this many elements.
    static var granularity: Int { 16 }

    var parts: Int { 2 }

    func run() {
        guard Self.runsInParallel(count: count) else {
            Scalar.applyReduction(.sumOfSquares, elements, sums, outer: 1, length: count, inner: 1)
            sums[1] = 0
            return
        }
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let half = range(of: part, in: count, granularity: Self.granularity)
        Scalar.applyReduction(.sumOfSquares, elements + half.lowerBound, sums + part, outer: 1, length: half.count,
                              inner: 1)
    }
}
