import BackpropCore
import BackpropTestSupport
import Testing

@Suite("Matrix products")
struct GEMMTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var m, n, k: Int
        var transposeA, transposeB: Bool
        var testDescription: String { "\(m)×\(k)\(transposeA ? "ᵀ" : "") · \(k)×\(n)\(transposeB ? "ᵀ" : "")" }
    }

    static let cases: [Case] = [(1, 1, 1), (3, 5, 7), (4, 8, 256), (17, 9, 300), (64, 10, 128), (48, 20, 70), (10, 70, 300), (33, 65, 513)]
        .flatMap { m, n, k in
            [(false, false), (true, false), (false, true), (true, true)].map { Case(m: m, n: n, k: k, transposeA: $0, transposeB: $1) }
        }

    static func operands<S: TensorScalar>(_ c: Case, _: S.Type) -> (Tensor<S>, Tensor<S>) {
        var g = SeededGenerator(seed: UInt64(c.m * 1000 + c.n * 10 + c.k))
        let a = Tensor<S>.uniform(shape: c.transposeA ? [c.k, c.m] : [c.m, c.k], in: -1...1, using: &g)
        let b = Tensor<S>.uniform(shape: c.transposeB ? [c.n, c.k] : [c.k, c.n], in: -1...1, using: &g)
        return (a, b)
    }

    static func product<S: TensorScalar>(_ c: Case, _ a: Tensor<S>, _ b: Tensor<S>, backend: KernelBackend?, accumulateOnto start: Tensor<S>? = nil) -> Tensor<S> {
        var out = start ?? Tensor<S>.zeros(shape: [c.m, c.n])
        a.withUnsafePointer { pa in
            b.withUnsafePointer { pb in
                out.withUnsafeMutablePointer { pc in
                    GEMM.multiply(GEMMProblem(m: c.m, n: c.n, k: c.k, transposeA: c.transposeA, transposeB: c.transposeB,
                                              accumulate: start != nil), pa, pb, pc, backend: backend)
                }
            }
        }
        return out
    }

    @Test(arguments: cases)
    func portableKernelMatchesNaiveProduct(_ c: Case) {
        let (a, b) = Self.operands(c, Double.self)
        let expected = TestData.naiveProduct(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(TestData.maxDifference(Self.product(c, a, b, backend: .portable), expected) < 1e-12)
        let (af, bf) = Self.operands(c, Float.self)
        let expectedFloat = TestData.naiveProduct(af, bf, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(TestData.maxDifference(Self.product(c, af, bf, backend: .portable), expectedFloat) < 1e-4 * Double(c.k).squareRoot())
        // Accumulating adds onto what is there.
        let ones = Tensor<Double>.ones(shape: [c.m, c.n])
        #expect(TestData.maxDifference(Self.product(c, a, b, backend: .portable, accumulateOnto: ones), expected + 1) < 1e-12)
    }

    @Test(arguments: cases)
    func preferredBackendMatchesNaiveProduct(_ c: Case) {
        let (a, b) = Self.operands(c, Double.self)
        let expected = TestData.naiveProduct(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(TestData.maxDifference(Self.product(c, a, b, backend: .preferred), expected) < 1e-12)
        #expect(TestData.maxDifference(a.matmul(b, transposeA: c.transposeA, transposeB: c.transposeB), expected) < 1e-12)
    }

    /// By default a product runs on the preferred backend, except that with OpenBLAS on a processor with AVX-512 or AVX2 a
    /// product of a megaflop or more runs on the portable kernel: the result equals, bit for bit, that of the backend
    /// the rule names.
    @Test(arguments: [Case(m: 64, n: 10, k: 128, transposeA: false, transposeB: true),
                      Case(m: 128, n: 10, k: 256, transposeA: false, transposeB: true),
                      Case(m: 64, n: 128, k: 784, transposeA: false, transposeB: true),
                      Case(m: 128, n: 784, k: 64, transposeA: true, transposeB: false)])
    func defaultBackendDependsOnTheProductSize(_ c: Case) {
        let (a, b) = Self.operands(c, Float.self)
        let large = 2.0 * Double(c.m * c.n * c.k) >= GEMM.largeFlops
        let expected: KernelBackend = large && KernelBackend.largeProductsOnPortableKernel ? .portable : .preferred
        let product = Self.product(c, a, b, backend: nil)
        #expect(TestData.bitDifferences(product.scalars, Self.product(c, a, b, backend: expected).scalars) == 0,
                "\(KernelBackend.preferred)")
        if KernelBackend.largeProductsOnPortableKernel {
            #expect(KernelBackend.preferred == .openBLAS && ["AVX-512", "AVX2"].contains(KernelBackend.portableInstructionSet))
        }
    }

    /// Products Aᵀ·B with a small result over a long inner dimension take the small-product kernel by default:
    /// results as exact as the naive product's, in both orientations of the result, and the same bits every time.
    @Test(arguments: [Case(m: 32, n: 9, k: 5000, transposeA: true, transposeB: false),
                      Case(m: 9, n: 32, k: 4097, transposeA: true, transposeB: false),
                      Case(m: 1, n: 1, k: 4096, transposeA: true, transposeB: false),
                      Case(m: 16, n: 64, k: 6001, transposeA: true, transposeB: false)])
    func smallProductsOverLongInnerDimensions(_ c: Case) {
        let (a, b) = Self.operands(c, Double.self)
        let expected = TestData.naiveProduct(a, b, transposeA: true, transposeB: false)
        #expect(TestData.maxDifference(Self.product(c, a, b, backend: nil), expected) < 1e-11)
        #expect(TestData.maxDifference(a.matmul(b, transposeA: true), expected) < 1e-11)
        let (af, bf) = Self.operands(c, Float.self)
        let first = Self.product(c, af, bf, backend: nil)
        #expect(first.scalars == Self.product(c, af, bf, backend: nil).scalars)
        let expectedFloat = TestData.naiveProduct(af, bf, transposeA: true, transposeB: false)
        #expect(TestData.maxDifference(first, expectedFloat) < 1e-4 * Double(c.k).squareRoot())
        // The norm returned with the product is the norm of the result.
        var c2 = Tensor<Float>.zeros(shape: [c.m, c.n])
        #expect(c2.assignProductReturningNorm(af, bf, transposeA: true) == first.norm && c2 == first)
    }

    @Test func reportsTheBackend() {
        // CI installs OpenBLAS; elsewhere the portable kernel is a valid answer.
        #expect([KernelBackend.openBLAS, .accelerate, .portable].contains(KernelBackend.preferred))
        #expect(!KernelBackend.preferred.description.isEmpty)
    }

    @Test func batchedProductIsOneProductPerEntry() {
        var g = SeededGenerator(seed: 5)
        let a = Tensor<Double>.uniform(shape: [3, 4, 5], using: &g)
        let b = Tensor<Double>.uniform(shape: [3, 5, 2], using: &g)
        let c = a.batchedMatmul(b)
        #expect(c.shape == [3, 4, 2])
        for i in 0..<3 {
            let single = a.rows(i..<(i + 1)).reshaped(to: [4, 5]).matmul(b.rows(i..<(i + 1)).reshaped(to: [5, 2]))
            #expect(TestData.maxDifference(c.rows(i..<(i + 1)).reshaped(to: [4, 2]), single) < 1e-14)
        }
    }
}

/// The portable kernel computes each element of C the same way whatever block of C a call covers, so a product split
/// by rows or columns over any number of threads gives the same bits (the split ``WorkerPool`` threads choose).
@Suite("Matrix products in blocks")
struct GEMMBlockTests {
    @Test(arguments: [(129, 200, 300), (64, 512, 784), (300, 37, 1000)] as [(Int, Int, Int)],
          [(false, false), (true, false), (false, true), (true, true)] as [(Bool, Bool)])
    func portableBlocksEqualTheWholeProduct(size: (Int, Int, Int), transposes: (Bool, Bool)) {
        let (m, n, k) = size
        let c = GEMMTests.Case(m: m, n: n, k: k, transposeA: transposes.0, transposeB: transposes.1)
        let (a, b) = GEMMTests.operands(c, Float.self)
        let whole = GEMMTests.product(c, a, b, backend: .portable)
        for blocks in [3, 5, 7] {
            for byRows in [true, false] {
                var split = Tensor<Float>.zeros(shape: [m, n])
                a.withUnsafePointer { pa in
                    b.withUnsafePointer { pb in
                        split.withUnsafeMutablePointer { pc in
                            let count = byRows ? m : n
                            for block in 0..<blocks {
                                let start = count * block / blocks, end = count * (block + 1) / blocks
                                var p = GEMMProblem(m: m, n: n, k: k, transposeA: c.transposeA, transposeB: c.transposeB)
                                if byRows {
                                    p.m = end - start
                                    GEMM.multiply(p, pa + (c.transposeA ? start : start * p.lda), pb, pc + start * n, backend: .portable)
                                } else {
                                    p.n = end - start
                                    GEMM.multiply(p, pa, pb + (c.transposeB ? start * p.ldb : start), pc + start, backend: .portable)
                                }
                            }
                        }
                    }
                }
                let same = split.scalars.map(\.bitPattern) == whole.scalars.map(\.bitPattern)
                #expect(same, "\(blocks) blocks of \(byRows ? "rows" : "columns")")
            }
        }
    }
}
