import BackpropCore
import BackpropTestSupport
import Testing

/// The bfloat16 products: rounding, the portable path against a reference written here from the definition, and the
/// instruction against the portable path, bit for bit.
@Suite("bfloat16 products")
struct BFloat16Tests {
    /// The definition, element by element: operands rounded, k in pairs (odd product first), each addition one
    /// rounding (`addingProduct` is a fused multiply-add), subnormal sums flushed to zero.
    static func reference(_ p: GEMMProblem, _ a: [Float], _ b: [Float], _ c: [Float]) -> [Float] {
        func bf16(_ x: Float) -> Float { Float(bitPattern: UInt32(BFloat16Products.rounded(x)) << 16) }
        func opA(_ i: Int, _ k: Int) -> Float { k >= p.k ? 0 : bf16(p.transposeA ? a[k * p.lda + i] : a[i * p.lda + k]) }
        func opB(_ k: Int, _ j: Int) -> Float { k >= p.k ? 0 : bf16(p.transposeB ? b[j * p.ldb + k] : b[k * p.ldb + j]) }
        func flushed(_ x: Float) -> Float { Swift.abs(x) < Float.leastNormalMagnitude ? Float(signOf: x, magnitudeOf: 0) : x }
        var result = c
        for i in 0..<p.m {
            for j in 0..<p.n {
                var sum: Float = 0
                for q in 0..<((p.k + 1) / 2) {
                    sum = flushed(sum.addingProduct(opA(i, 2 * q + 1), opB(2 * q + 1, j)))
                    sum = flushed(sum.addingProduct(opA(i, 2 * q), opB(2 * q, j)))
                }
                result[i * p.ldc + j] = p.accumulate ? c[i * p.ldc + j] + sum : sum
            }
        }
        return result
    }

    static func problems() -> [GEMMProblem] {
        var problems: [GEMMProblem] = []
        // k of 1201 and 2050 walk k in several blocks (partial sums stored in C and resumed).
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (8, 32, 16), (9, 33, 17), (17, 70, 64), (30, 10, 129), (12, 40, 1201),
                          (11, 3, 2050)] {
            for (transposeA, transposeB, accumulate) in [(false, false, false), (true, false, false), (false, true, true), (true, true, true)] {
                problems.append(GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, accumulate: accumulate))
            }
        }
        return problems
    }

    static func operands(_ p: GEMMProblem, seed: UInt64, scale: ClosedRange<Float> = -2...2) -> ([Float], [Float], [Float]) {
        var g = SeededGenerator(seed: seed)
        let a = (0..<((p.transposeA ? p.k : p.m) * p.lda)).map { _ in Float.random(in: scale, using: &g) }
        let b = (0..<((p.transposeB ? p.n : p.k) * p.ldb)).map { _ in Float.random(in: scale, using: &g) }
        let c = (0..<(p.m * p.ldc)).map { _ in Float.random(in: -1...1, using: &g) }
        return (a, b, c)
    }

    static func product(_ p: GEMMProblem, _ a: [Float], _ b: [Float], _ c: [Float], path: BFloat16Products.Path) -> [Float] {
        var result = c
        result.withUnsafeMutableBufferPointer { out in BFloat16Products.multiply(p, a, b, out.baseAddress!, path: path) }
        return result
    }

    @Test func roundingToNearestEven() {
        #expect(BFloat16Products.rounded(1) == 0x3F80)
        #expect(BFloat16Products.rounded(1 + 0x1p-8) == 0x3F80)              // a tie: to the even 1.0
        #expect(BFloat16Products.rounded(1 + 3 * 0x1p-8) == 0x3F82)          // a tie: to the even 1.015625
        #expect(BFloat16Products.rounded(1 + 0x1p-8 + 0x1p-20) == 0x3F81)    // above the tie
        #expect(BFloat16Products.rounded(-2.5) == 0xC020)
        #expect(BFloat16Products.rounded(Float.greatestFiniteMagnitude) == 0x7F80)  // rounds up to infinity
        let subnormal = Float.leastNormalMagnitude / 4
        #expect(BFloat16Products.rounded(subnormal) == 0 && BFloat16Products.rounded(-subnormal) == 0x8000)
        #expect(BFloat16Products.rounded(.infinity) == 0x7F80)
        let nan = BFloat16Products.rounded(.nan)
        #expect(nan & 0x7F80 == 0x7F80 && nan & 0x007F != 0)
    }

    /// Rounding a buffer in place (the vector loop and its scalar tail) gives each value's `rounded`, as Float32:
    /// ties, both signs, subnormals, infinities, NaN and values that round up to infinity, at every position.
    @Test func roundingInPlaceRoundsEveryValueAsOne() {
        let special: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -2.5, .greatestFiniteMagnitude,
                                Float.leastNormalMagnitude / 4, -Float.leastNormalMagnitude / 4, .infinity, -.infinity,
                                .nan, 0, -0.0]
        var g = SeededGenerator(seed: 9)
        let values = (0..<203).map { i in i % 5 == 0 ? special[(i / 5) % special.count] : Float.random(in: -1e3...1e3, using: &g) }
        var rounded = values
        rounded.withUnsafeMutableBufferPointer { BFloat16Products.roundInPlace($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(values, rounded) {
            let expected = UInt32(BFloat16Products.rounded(x)) << 16
            #expect(y.bitPattern == expected, "\(x) rounded to \(y), expected \(Float(bitPattern: expected))")
        }
    }

    /// Which precisions run on the portable path (the CLI warns of its speed): bfloat16 forced there, or chosen
    /// automatically on a processor without the instruction.
    @Test func portablePathIsReportedWhereItRuns() {
        #expect(!MatrixPrecision.float32.runsOnPortablePath)
        #expect(MatrixPrecision.bfloat16(.portable).runsOnPortablePath)
        #expect(!MatrixPrecision.bfloat16(.instruction).runsOnPortablePath)
        #expect(MatrixPrecision.bfloat16.runsOnPortablePath == !BFloat16Products.instructionAvailable)
    }

    /// On the worker pool (B packed once, its panels split over the threads, C split by rows), a product is the
    /// one-thread product, bit for bit, on both paths.
    @Test func theParallelProductIsTheOneThreadProduct() {
        for (m, n, k, transposeA, transposeB) in [(128, 512, 784, false, true), (512, 784, 128, true, false),
                                                   (128, 784, 512, false, false), (72, 45, 1301, true, true)] {
            var g = SeededGenerator(seed: UInt64(m + n + k))
            let a = Tensor<Float>.uniform(shape: transposeA ? [k, m] : [m, k], in: -1...1, using: &g)
            let b = Tensor<Float>.uniform(shape: transposeB ? [n, k] : [k, n], in: -1...1, using: &g)
            let p = GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
            for path in BFloat16Products.instructionAvailable ? [BFloat16Products.Path.portable, .instruction] : [.portable] {
                var parallel = Tensor<Float>.zeros(shape: [m, n])
                parallel.assignProduct(a, b, transposeA: transposeA, transposeB: transposeB, precision: .bfloat16(path))
                let one = Self.product(p, a.scalars, b.scalars, [Float](repeating: 0, count: m * n), path: path)
                #expect(TestData.bitDifferences(parallel.scalars, one) == 0, "\(p) on \(path)")
            }
        }
    }

    @Test(arguments: problems().indices)
    func portablePathFollowsTheDefinition(_ index: Int) {
        let p = Self.problems()[index]
        let (a, b, c) = Self.operands(p, seed: UInt64(index))
        let computed = Self.product(p, a, b, c, path: .portable)
        let expected = Self.reference(p, a, b, c)
        #expect(TestData.bitDifferences(computed, expected) == 0, "\(p)")
    }

    /// The instruction gives the portable path's bits, on ordinary values and on values whose products and sums fall
    /// into the subnormal range (flushed) or overflow.
    @Test(arguments: problems().indices)
    func instructionGivesThePortableBits(_ index: Int) throws {
        guard BFloat16Products.instructionAvailable else {
            print("note: this processor has no AVX512_BF16; only the portable path is tested")
            return
        }
        let p = Self.problems()[index]
        // Products of operands below 1.1e-19 are subnormal; 1.5e-19 mixes both; 1e19 overflows sums of a few dozen.
        for (seed, scale) in [(UInt64(index), Float(-2)...2), (UInt64(index) + 100, Float(-1.5e-19)...1.5e-19),
                              (UInt64(index) + 200, Float(-3e-19)...3e-19), (UInt64(index) + 300, Float(-1e19)...1e19)] {
            let (a, b, c) = Self.operands(p, seed: seed, scale: scale)
            let instruction = Self.product(p, a, b, c, path: .instruction)
            let portable = Self.product(p, a, b, c, path: .portable)
            #expect(TestData.bitDifferences(instruction, portable) == 0, "\(p), operands in \(scale)")
        }
    }
}
