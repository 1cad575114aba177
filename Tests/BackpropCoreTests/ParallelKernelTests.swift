import BackpropCore
import BackpropTestSupport
import Testing

/// The kernels that split their work over two threads, and the strided products the split relies on.
@Suite("Two-thread kernels")
struct ParallelKernelTests {
    /// Products above the split threshold (half a megaflop), split by rows (more rows than columns) or by columns,
    /// with odd sizes so that the halves differ.
    static let splitCases: [GEMMTests.Case] = [(96, 40, 300), (201, 37, 150), (40, 90, 300), (65, 130, 257)]
        .flatMap { m, n, k in
            [(false, false), (true, false), (false, true), (true, true)].map {
                GEMMTests.Case(m: m, n: n, k: k, transposeA: $0, transposeB: $1)
            }
        }

    @Test(arguments: splitCases, [KernelBackend.preferred, .portable])
    func splitProductsMatchTheNaiveProduct(_ c: GEMMTests.Case, backend: KernelBackend) {
        let (a, b) = GEMMTests.operands(c, Double.self)
        let expected = TestData.naiveProduct(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(TestData.maxDifference(GEMMTests.product(c, a, b, backend: backend), expected) < 1e-12)
        let ones = Tensor<Double>.ones(shape: [c.m, c.n])
        #expect(TestData.maxDifference(GEMMTests.product(c, a, b, backend: backend, accumulateOnto: ones), expected + 1) < 1e-12)
    }

    /// A product that also returns its norm: the same product, and the same norm, bit for bit, as `norm` after it —
    /// whether each thread sums the half it wrote (rows split at the norm's halfway point), the halves do not line up
    /// (an odd number of rows), the product is split by columns, or it runs on one thread.
    @Test(arguments: [GEMMTests.Case(m: 128, n: 600, k: 40, transposeA: true, transposeB: false),
                      GEMMTests.Case(m: 129, n: 600, k: 40, transposeA: true, transposeB: false),
                      GEMMTests.Case(m: 300, n: 256, k: 50, transposeA: false, transposeB: true),
                      GEMMTests.Case(m: 40, n: 2000, k: 30, transposeA: false, transposeB: false),
                      GEMMTests.Case(m: 10, n: 30, k: 20, transposeA: true, transposeB: false)])
    func productsReturningTheirNormMatchNormAfterTheProduct(_ c: GEMMTests.Case) {
        let (a, b) = GEMMTests.operands(c, Float.self)
        var product = Tensor<Float>(shape: [c.m, c.n], repeating: .nan)
        product.assignProduct(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        var withNorm = Tensor<Float>(shape: [c.m, c.n], repeating: .nan)
        let norm = withNorm.assignProductReturningNorm(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(TestData.bitDifferences(withNorm.scalars, product.scalars) == 0)
        #expect(norm.bitPattern == product.norm.bitPattern, "\(norm) against \(product.norm)")
    }

    /// The same with bfloat16 operands, on both paths: each part of a product split by rows at the norm's halfway
    /// point (128 rows) sums the squares of its rows as it finishes them; otherwise (129 rows: halves that do not
    /// line up; 30 rows: one thread) the squares are summed after the product.
    @Test(arguments: [128, 129, 30], [BFloat16Products.Path.portable, .automatic])
    func bfloat16ProductsReturningTheirNormMatchNormAfterTheProduct(rows: Int, path: BFloat16Products.Path) {
        let c = GEMMTests.Case(m: rows, n: 600, k: 40, transposeA: true, transposeB: false)
        let (a, b) = GEMMTests.operands(c, Float.self)
        var product = Tensor<Float>(shape: [c.m, c.n], repeating: .nan)
        product.assignProduct(a, b, transposeA: true, precision: .bfloat16(path))
        var withNorm = Tensor<Float>(shape: [c.m, c.n], repeating: .nan)
        let norm = withNorm.assignProductReturningNorm(a, b, transposeA: true, precision: .bfloat16(path))
        #expect(TestData.bitDifferences(withNorm.scalars, product.scalars) == 0)
        #expect(norm.bitPattern == product.norm.bitPattern, "\(norm) against \(product.norm)")
    }

    /// Every operand a block of a wider matrix: only the block is read, only the block of `C` is written.
    @Test(arguments: [KernelBackend.preferred, .portable], [false, true])
    func blocksOfWiderMatricesUseTheirRowStrides(backend: KernelBackend, transpose: Bool) {
        let (m, n, k) = (70, 45, 33)
        let (lda, ldb, ldc) = ((transpose ? m : k) + 3, (transpose ? k : n) + 5, n + 7)
        let a = TestData.uniform(shape: [transpose ? k : m, lda], seed: 1)
        let b = TestData.uniform(shape: [transpose ? n : k, ldb], seed: 2)
        let blockA = transpose ? columns(a, 0..<m) : columns(a, 0..<k)
        let blockB = transpose ? columns(b, 0..<k) : columns(b, 0..<n)
        let expected = TestData.naiveProduct(blockA, blockB, transposeA: transpose, transposeB: transpose)
        var c = Tensor<Double>(shape: [m, ldc], repeating: -7)
        a.withUnsafePointer { pa in
            b.withUnsafePointer { pb in
                c.withUnsafeMutablePointer { pc in
                    GEMM.multiply(GEMMProblem(m: m, n: n, k: k, transposeA: transpose, transposeB: transpose,
                                              lda: lda, ldb: ldb, ldc: ldc), pa, pb, pc, backend: backend)
                }
            }
        }
        #expect(TestData.maxDifference(columns(c, 0..<n), expected) < 1e-12)
        #expect(columns(c, n..<ldc).scalars.allSatisfy { $0 == -7 }, "columns past the block of C are untouched")
    }

    /// The columns `range` of a matrix, as a new dense matrix.
    func columns(_ matrix: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
        let width = matrix.shape[1]
        let rows = (0..<matrix.shape[0]).map { Array(matrix.scalars[($0 * width + range.lowerBound)..<($0 * width + range.upperBound)]) }
        return Tensor(rows)
    }

    /// Products started from many threads at once: one at a time takes the helper, the others run both halves
    /// themselves; every result is right.
    @Test func concurrentCallersAllGetTheirProduct() async {
        let c = GEMMTests.Case(m: 128, n: 96, k: 200, transposeA: false, transposeB: true)
        let (a, b) = GEMMTests.operands(c, Double.self)
        let expected = TestData.naiveProduct(a, b, transposeA: false, transposeB: true)
        let worst = await withTaskGroup(of: Double.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var worst = 0.0
                    for _ in 0..<20 { worst = max(worst, TestData.maxDifference(GEMMTests.product(c, a, b, backend: .preferred), expected)) }
                    return worst
                }
            }
            return await group.reduce(0) { max($0, $1) }
        }
        #expect(worst < 1e-12)
    }

    /// An update large enough to run on two threads gives the same bits as the same rule run in small pieces on one.
    @Test(arguments: [
        ParameterUpdate.sgd(learningRate: 0.1, weightDecay: 1e-3),
        .momentum(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0),
        .adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3, l2: 0, decoupledDecay: 1e-2),
    ])
    func splitUpdateIsBitIdenticalToPiecewiseUpdate(_ update: ParameterUpdate) {
        let n = 70_001  // above the split threshold, odd
        var g = SeededGenerator(seed: 9)
        var whole = Tensor<Float>.uniform(shape: [n], in: -1...1, using: &g)
        let gradient = Tensor<Float>.uniform(shape: [n], in: -1...1, using: &g)
        let initialState = (0..<update.stateCount).map { _ in Tensor<Float>.uniform(shape: [n], in: 0...1, using: &g) }
        var pieces = whole.scalars, piecesState = initialState.map(\.scalars)
        var state = initialState
        whole.apply(update, gradient: gradient, state: &state)

        let chunk = 1000
        for start in stride(from: 0, to: n, by: chunk) {
            let range = start..<min(start + chunk, n)
            var p = Tensor(Array(pieces[range]))
            var s = piecesState.map { Tensor(Array($0[range])) }
            p.apply(update, gradient: Tensor(Array(gradient.scalars[range])), state: &s)
            pieces.replaceSubrange(range, with: p.scalars)
            for i in s.indices { piecesState[i].replaceSubrange(range, with: s[i].scalars) }
        }
        #expect(TestData.bitDifferences(whole.scalars, pieces) == 0)
        for i in state.indices { #expect(TestData.bitDifferences(state[i].scalars, piecesState[i]) == 0) }
    }

    @Test func largeCopiesCopyEveryElement() {
        var g = SeededGenerator(seed: 4)
        let source = Tensor<Float>.uniform(shape: [300, 1001], using: &g)  // above the two-thread copy threshold
        var target = Tensor<Float>.zeros(shape: [300, 1001])
        target.copyElements(from: source)
        #expect(TestData.bitDifferences(target.scalars, source.scalars) == 0)
    }

    /// Whole-buffer sums run on 64 partial sums; every length, around the vector and unrolled boundaries, is summed
    /// completely.
    @Test(arguments: [1, 7, 63, 64, 65, 95, 96, 127, 1000, 100_003])
    func wholeBufferSumsCoverEveryElement(_ n: Int) {
        let values = (0..<n).map { Double(($0 * 7919) % 1013) / 1013 - 0.4 }
        let exactSum = values.reduce(0, +), exactSquares = values.reduce(0) { $0 + $1 * $1 }
        let tensor = Tensor(values)
        #expect(abs(tensor.sum().scalar - exactSum) < 1e-9)
        #expect(abs(tensor.norm * tensor.norm - exactSquares) < 1e-9)
        let float = Tensor(values.map(Float.init))
        #expect(abs(Double(float.sum().scalar) - exactSum) < 1e-5 * Double(n))
    }

    /// The vector sum kernels add in one documented order, whatever the instruction set the processor picked: element
    /// i into partial sum i mod 64, then the partial sums pairwise (j + j+32, …). Written here one scalar at a time,
    /// the order gives the kernel's result bit for bit; a reassociated or contracted clone would not.
    @Test(arguments: [5, 64, 1000, 4099])
    func wholeBufferSumsAddInTheDocumentedOrder(_ n: Int) {
        var g = SeededGenerator(seed: UInt64(n))
        let values = Tensor<Float>.normal(shape: [n], using: &g).scalars
        func ordered(_ term: (Float) -> Float) -> Float {
            var partial = [Float](repeating: 0, count: 64)
            for (i, x) in values.enumerated() { partial[i % 64] += term(x) }
            var width = 32
            while width > 0 {
                for j in 0..<width { partial[j] += partial[j + width] }
                width /= 2
            }
            return partial[0]
        }
        #expect(Tensor(values).sum().scalar.bitPattern == ordered { $0 }.bitPattern, "\(KernelBackend.elementwiseInstructionSet)")
        let squares = ordered { $0 * $0 }
        #expect(Tensor(values).norm.bitPattern == squares.squareRoot().bitPattern, "\(KernelBackend.elementwiseInstructionSet)")
    }

    /// Column sums (a bias gradient) add each column from the first row to the last, like the graph's sum, bit for
    /// bit; also with an outer axis ([2, 37, 70] summed along the middle one).
    @Test func columnSumsAddEachColumnInRowOrder() {
        var g = SeededGenerator(seed: 13)
        let x = Tensor<Float>.normal(shape: [2, 37, 70], using: &g)
        let sums = x.sum(alongAxis: 1)
        var expected = [Float](repeating: 0, count: 2 * 70)
        for o in 0..<2 {
            for r in 0..<37 {
                for j in 0..<70 { expected[o * 70 + j] += x.scalars[(o * 37 + r) * 70 + j] }
            }
        }
        #expect(TestData.bitDifferences(sums.scalars, expected) == 0)
        var bias = Tensor<Float>.zeros(shape: [70])
        bias.assignColumnSums(of: x.reshaped(to: [74, 70]))
        var flat = [Float](repeating: 0, count: 70)
        for r in 0..<74 { for j in 0..<70 { flat[j] += x.scalars[r * 70 + j] } }
        #expect(TestData.bitDifferences(bias.scalars, flat) == 0)
    }

    /// A tall matrix (a convolution's bias gradient, one row per pixel of the batch) sums its columns as two fixed
    /// halves of its rows, each in row order, then adds them: the same bits whatever the threads.
    @Test(arguments: [4096, 5001])
    func tallColumnSumsAddTwoHalvesInRowOrder(rows: Int) {
        var g = SeededGenerator(seed: 14)
        let x = Tensor<Float>.normal(shape: [rows, 33], using: &g)
        var sums = Tensor<Float>.zeros(shape: [33])
        sums.assignColumnSums(of: x)
        var first = [Float](repeating: 0, count: 33), second = first
        for r in 0..<rows {
            for j in 0..<33 {
                if r < rows / 2 { first[j] += x.scalars[r * 33 + j] } else { second[j] += x.scalars[r * 33 + j] }
            }
        }
        #expect(TestData.bitDifferences(sums.scalars, zip(first, second).map { $0 + $1 }) == 0)
    }

    /// Batches gathered from byte rows, small (one thread) and large (two, an odd number of rows), match the
    /// scaled bytes, rows repeated and in any order.
    @Test(arguments: [3, 129])
    func gatheredByteRowsMatchTheScaledBytes(rowCount: Int) {
        let rowSize = 300, sourceRows = 50
        let bytes = (0..<(sourceRows * rowSize)).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        let rows = (0..<rowCount).map { ($0 * 37) % sourceRows }
        var batch = Tensor<Float>(shape: [rowCount, rowSize], repeating: -1)
        bytes.withUnsafeBufferPointer { batch.assignByteRows($0, rowSize: rowSize, rows: rows[...], scale: 0.5) }
        let expected = rows.flatMap { row in bytes[(row * rowSize)..<((row + 1) * rowSize)].map { Float($0) * 0.5 } }
        #expect(TestData.bitDifferences(batch.scalars, expected) == 0)
    }

    /// Prefetching is a hint: any index, in range or not, is accepted and nothing changes, on one thread or two.
    @Test func prefetchingAcceptsAnyRowsAndChangesNothing() {
        let bytes: [UInt8] = Array(0..<200)
        bytes.withUnsafeBufferPointer { Tensor<Float>.prefetchByteRows($0, rowSize: 10, rows: [-3, 0, 19, 20, 1_000_000][...]) }
        let large = [UInt8](repeating: 1, count: 1 << 20)
        large.withUnsafeBufferPointer {
            Tensor<Float>.prefetchByteRows($0, rowSize: 1000, rows: Array(stride(from: -30, to: 1100, by: 7))[...])
        }
        let tensor = Tensor<Float>(shape: [4, 3], repeating: 2)
        tensor.prefetchRows([-1, 0, 3, 4, 99][...])
        Tensor<Float>.zeros(shape: [0, 3]).prefetchRows([0][...])
        #expect(tensor.scalars == [Float](repeating: 2, count: 12))
    }
}
