import BackpropCore

/// Helpers shared by the test targets.
public enum TestData {
    /// Values uniform in ±1 with magnitude at least `margin`, so that kinks at 0 (ReLU, |x|, clamp) are not probed.
    public static func awayFromZero(shape: [Int], margin: Double = 0.1, seed: UInt64) -> Tensor<Double> {
        var generator = SeededGenerator(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ -> Double in
            let u = generator.nextUnitInterval()
            let magnitude = margin + (1 - margin) * generator.nextUnitInterval()
            return u < 0.5 ? -magnitude : magnitude
        }
        return Tensor(shape: shape, elements: values)
    }

    /// Values uniform in `range`.
    public static func uniform(shape: [Int], in range: ClosedRange<Double> = -1...1, seed: UInt64) -> Tensor<Double> {
        var generator = SeededGenerator(seed: seed)
        return Tensor.uniform(shape: shape, in: range, using: &generator)
    }

    /// How many elements of `a` and `b` differ in their bits (a count, not the arrays: a failed `#expect` on two long
    /// arrays spends minutes diffing them).
    public static func bitDifferences(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).count { $0.bitPattern != $1.bitPattern } : Swift.max(a.count, b.count)
    }

    /// How many elements of `a` and `b` differ in their bits, for either element type.
    public static func bitDifferences<S: TensorScalar>(_ a: [S], _ b: [S]) -> Int {
        a.count == b.count ? zip(a, b).count { Double($0).bitPattern != Double($1).bitPattern } : Swift.max(a.count, b.count)
    }

    /// The largest absolute difference between two equally shaped tensors.
    public static func maxDifference<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>) -> Double {
        precondition(a.shape == b.shape, "maxDifference: shapes \(a.shape) and \(b.shape) differ")
        return zip(a.scalars, b.scalars).map { Double(Swift.abs($0 - $1)) }.max() ?? 0
    }

    /// A reference matrix product computed with three plain loops in Double.
    public static func naiveProduct<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>, transposeA: Bool, transposeB: Bool) -> Tensor<S> {
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = transposeB ? b.shape[0] : b.shape[1]
        let av = a.scalars, bv = b.scalars
        var out = [S](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = transposeA ? av[p * m + i] : av[i * k + p]
                    let y = transposeB ? bv[j * k + p] : bv[p * n + j]
                    total += Double(x) * Double(y)
                }
                out[i * n + j] = S(total)
            }
        }
        return Tensor(shape: [m, n], elements: out)
    }
}
