/// How `Reductions` combines the elements along an axis.
public enum Reduction: Sendable, Hashable {
    /// Σ x.
    case sum
    /// The largest element.
    case max
    /// The smallest element.
    case min
    /// Σ x², for norms.
    case sumOfSquares
}

/// Reduction loops over a `[outer, length, inner]` view of a contiguous buffer.
enum Reductions {
    /// Reduces `x`. A sum or sum of squares of the whole buffer (a loss, a norm) goes to `wholeBufferSum`, and the sums
    /// of columns (a bias gradient) to `columnSums`: C kernels (`backprop_sum_float`, `backprop_column_sums_float`, and
    /// their Double forms), which run on the processor's widest vectors.
    static func reduce<S: TensorScalar>(
        _ reduction: Reduction, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, outer: Int, length: Int, inner: Int,
        wholeBufferSum: (UnsafePointer<S>, Int, Int32) -> S,
        columnSums: (UnsafePointer<S>, Int, Int, UnsafeMutablePointer<S>) -> Void
    ) {
        if outer == 1 && inner == 1 && (reduction == .sum || reduction == .sumOfSquares) {
            y[0] = wholeBufferSum(x, length, reduction == .sumOfSquares ? 1 : 0)
            return
        }
        if reduction == .sum && inner > 1 {
            for o in 0..<outer { columnSums(x + o * length * inner, length, inner, y + o * inner) }
            return
        }
        switch reduction {
        case .sum: fold(x, y, outer, length, inner, initial: 0) { $0 + $1 }
        case .max: fold(x, y, outer, length, inner, initial: -S.infinity) { Swift.max($0, $1) }
        case .min: fold(x, y, outer, length, inner, initial: S.infinity) { Swift.min($0, $1) }
        case .sumOfSquares: fold(x, y, outer, length, inner, initial: 0) { $0 + $1 * $1 }
        }
    }

    @inline(__always)
    private static func fold<S>(
        _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ outer: Int, _ length: Int, _ inner: Int,
        initial: S, _ f: (S, S) -> S
    ) {
        for o in 0..<outer {
            let source = x + o * length * inner
            let target = y + o * inner
            if inner == 1 {
                var acc = initial
                for i in 0..<length { acc = f(acc, source[i]) }
                target[0] = acc
            } else {
                target.update(repeating: initial, count: inner)
                for i in 0..<length {
                    let row = source + i * inner
                    for j in 0..<inner { target[j] = f(target[j], row[j]) }
                }
            }
        }
    }
}
