/// How ``Reductions`` combines the elements along an axis.
public enum Reduction: Sendable, Hashable {
    case sum, max, min
    /// Σ x², for norms.
    case sumOfSquares
}

/// Reduction loops over a `[outer, length, inner]` view of a contiguous buffer.
enum Reductions {
    static func reduce<V: Lanes>(
        _ reduction: Reduction, _ x: UnsafePointer<V.Scalar>, _ y: UnsafeMutablePointer<V.Scalar>,
        outer: Int, length: Int, inner: Int, lanes: V.Type
    ) {
        typealias S = V.Scalar
        // A whole-buffer sum (a loss, a norm) runs on 4 × 8 partial sums: a sequential sum is one add per add latency,
        // and so is a single vector of partial sums, only eight times wider.
        if outer == 1 && inner == 1 && length >= 64 && (reduction == .sum || reduction == .sumOfSquares) {
            var p0 = V(), p1 = V(), p2 = V(), p3 = V()
            var i = 0
            while i + 4 * V.laneCount <= length {
                let v0 = V(loading: x + i), v1 = V(loading: x + i + V.laneCount)
                let v2 = V(loading: x + i + 2 * V.laneCount), v3 = V(loading: x + i + 3 * V.laneCount)
                if reduction == .sum {
                    p0 = p0 + v0; p1 = p1 + v1; p2 = p2 + v2; p3 = p3 + v3
                } else {
                    p0 = p0 + v0 * v0; p1 = p1 + v1 * v1; p2 = p2 + v2 * v2; p3 = p3 + v3 * v3
                }
                i += 4 * V.laneCount
            }
            while i + V.laneCount <= length {
                let v = V(loading: x + i)
                p0 = reduction == .sum ? p0 + v : p0 + v * v
                i += V.laneCount
            }
            let partial = (p0 + p1) + (p2 + p3)
            var total: S = 0
            for l in 0..<V.laneCount { total += partial[l] }
            while i < length {
                total += reduction == .sum ? x[i] : x[i] * x[i]
                i += 1
            }
            y[0] = total
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
