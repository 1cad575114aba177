import BackpropCore
import BackpropTestSupport
import Testing

/// Products that read a convolution's unfolded input in place from the images (``GatheredRows``) give the same bits
/// as the portable kernel on the unfolded matrix written out, in both roles the convolutional step uses: the forward
/// product `X̃ W̃ᵀ` and the weight gradient `X̃ᵀ δ`.
@Suite("Matrix products of gathered rows")
struct GatheredProductTests {
    struct Geometry: Sendable, CustomTestStringConvertible {
        var batch, channels, height, width: Int
        var window: SlidingWindow
        var filters: Int
        var testDescription: String { "\(batch)×\(channels)×\(height)×\(width) \(window), \(filters) filters" }

        var problem: WindowProblem { window.problem(batch: batch, channels: channels, height: height, width: width) }
        /// Output pixels of one image.
        var plane: Int {
            let size = window.outputSize(height: height, width: width)!
            return size.height * size.width
        }
        /// The unfolded matrix's rows and columns.
        var pixels: Int { batch * plane }
        var depth: Int { window.kernelHeight * window.kernelWidth * channels }
    }

    static let geometries = [
        // C1's second convolution on a few images: segments of 96, tiles straddling output rows, two threads.
        Geometry(batch: 6, channels: 32, height: 13, width: 13, window: SlidingWindow(kernelHeight: 3, kernelWidth: 3), filters: 64),
        // Strides, a non-square kernel, odd channel counts (runs that split tiles), a narrow product (≤ one vector).
        Geometry(batch: 3, channels: 5, height: 11, width: 9,
                 window: SlidingWindow(kernelHeight: 2, kernelWidth: 3, strideHeight: 2, strideWidth: 1), filters: 7),
        Geometry(batch: 2, channels: 3, height: 17, width: 20,
                 window: SlidingWindow(kernelHeight: 5, kernelWidth: 4, strideHeight: 3, strideWidth: 2), filters: 40),
        // Deep rows: more than one k-block (256) in a window.
        Geometry(batch: 2, channels: 48, height: 9, width: 8, window: SlidingWindow(kernelHeight: 3, kernelWidth: 3), filters: 33),
    ]

    static func check<S: TensorScalar>(_ g: Geometry, _: S.Type) throws {
        let (problem, pixels, depth) = (g.problem, g.pixels, g.depth)
        let rows = try #require(problem.unfoldedRows)
        #expect(rows.rows == pixels && rows.columns == depth && rows.extent <= g.batch * g.height * g.width * g.channels)
        var generator = SeededGenerator(seed: UInt64(pixels * 31 + depth))
        let images = Tensor<S>.uniform(shape: [g.batch * g.height * g.width, g.channels], in: -1...1, using: &generator)
        let weight = Tensor<S>.uniform(shape: [g.filters, depth], in: -1...1, using: &generator)
        let delta = Tensor<S>.uniform(shape: [pixels, g.filters], in: -1...1, using: &generator)
        let start = Tensor<S>.uniform(shape: [pixels, g.filters], in: -1...1, using: &generator)
        var unfolded = Tensor<S>.zeros(shape: [pixels, depth])
        unfolded.assignUnfolded(images, problem)

        func product(_ p: GEMMProblem, _ b: Tensor<S>, onto initial: Tensor<S>, gathered: Bool) -> [S] {
            var c = initial
            images.withUnsafePointer { x in
                unfolded.withUnsafePointer { a in
                    b.withUnsafePointer { b in
                        c.withUnsafeMutablePointer { c in
                            if gathered {
                                GEMM.multiply(p, gathering: rows, from: x, b, c)
                            } else {
                                GEMM.multiply(p, a, b, c, backend: .portable)
                            }
                        }
                    }
                }
            }
            return c.scalars
        }
        // z = X̃ W̃ᵀ, overwritten and accumulated; with W̃ᵀ stored as such too.
        for accumulate in [false, true] {
            let p = GEMMProblem(m: pixels, n: g.filters, k: depth, transposeB: true, accumulate: accumulate)
            let initial = accumulate ? start : Tensor<S>.zeros(shape: [pixels, g.filters])
            let dense = product(p, weight, onto: initial, gathered: false)
            #expect(TestData.bitDifferences(product(p, weight, onto: initial, gathered: true), dense) == 0)
        }
        let weightColumns = weight.transposed()
        let p = GEMMProblem(m: pixels, n: g.filters, k: depth)
        let zeros = Tensor<S>.zeros(shape: [pixels, g.filters])
        #expect(TestData.bitDifferences(product(p, weightColumns, onto: zeros, gathered: true),
                                        product(p, weightColumns, onto: zeros, gathered: false)) == 0)
        // ∂J/∂W̃ᵀ = X̃ᵀ δ.
        let gradient = GEMMProblem(m: depth, n: g.filters, k: pixels, transposeA: true)
        let none = Tensor<S>.zeros(shape: [depth, g.filters])
        #expect(TestData.bitDifferences(product(gradient, delta, onto: none, gathered: true),
                                        product(gradient, delta, onto: none, gathered: false)) == 0)
        // And against the naive product, so that the two paths cannot agree on a wrong answer.
        let naive = TestData.naiveProduct(unfolded, delta, transposeA: true, transposeB: false)
        let tolerance = S.self == Double.self ? 1e-11 : 1e-3
        #expect(TestData.maxDifference(Tensor<S>(shape: [depth, g.filters], elements: product(gradient, delta, onto: none, gathered: true)),
                                       naive) < tolerance)
    }

    @Test(arguments: geometries)
    func gatheredProductsAreTheUnfoldedProductsBitForBit(_ g: Geometry) throws {
        try Self.check(g, Float.self)
        try Self.check(g, Double.self)
    }

    /// The fold of δ W̃ computed without δ W̃ written out equals the fold of the product (to rounding: each pixel's
    /// sum runs in another order), and its bits do not depend on how the images are split between calls.
    static func checkFold<S: TensorScalar>(_ g: Geometry, _: S.Type) throws {
        let (problem, pixels, depth) = (g.problem, g.pixels, g.depth)
        let rows = try #require(problem.unfoldedRows)
        var generator = SeededGenerator(seed: UInt64(pixels * 7 + depth))
        let weight = Tensor<S>.uniform(shape: [g.filters, depth], in: -1...1, using: &generator)
        let delta = Tensor<S>.uniform(shape: [pixels, g.filters], in: -1...1, using: &generator)
        var product = Tensor<S>.zeros(shape: [pixels, depth])
        product.assignProduct(delta, weight)
        var folded = Tensor<S>.uniform(shape: [g.batch * g.height * g.width, g.channels], in: -1...1, using: &generator)
        folded.assignFolded(product, problem)
        var scattered = Tensor<S>.uniform(shape: [g.batch * g.height * g.width, g.channels], in: -1...1, using: &generator)
        scattered.assignFoldedProduct(delta, weight, problem, rows: rows)
        let tolerance = S.self == Double.self ? 1e-12 : 1e-4
        #expect(TestData.maxDifference(scattered, folded) < tolerance * Double(g.filters))
        // One image per call, in reverse order.
        var imageByImage = Tensor<S>.zeros(shape: scattered.shape)
        delta.withUnsafePointer { d in
            weight.withUnsafePointer { w in
                imageByImage.withUnsafeMutablePointer { x in
                    for n in (0..<g.batch).reversed() {
                        let first = n * g.plane
                        S.gemm(GEMMProblem(m: g.plane, n: depth, k: g.filters), d + first * g.filters, w,
                               scatteringOnto: rows, firstRow: first, of: x)
                    }
                }
            }
        }
        #expect(TestData.bitDifferences(imageByImage.scalars, scattered.scalars) == 0)
    }

    @Test(arguments: geometries)
    func foldedProductsAreTheFoldsOfTheProducts(_ g: Geometry) throws {
        try Self.checkFold(g, Float.self)
        try Self.checkFold(g, Double.self)
    }

    /// bfloat16 products of gathered rows give the bits of the unfolded matrix's, on both paths.
    @Test(arguments: geometries)
    func gatheredBFloat16ProductsAreTheUnfoldedProductsBitForBit(_ g: Geometry) throws {
        let (problem, pixels, depth) = (g.problem, g.pixels, g.depth)
        let rows = try #require(problem.unfoldedRows)
        var generator = SeededGenerator(seed: UInt64(pixels * 13 + depth))
        let images = Tensor<Float>.uniform(shape: [g.batch * g.height * g.width, g.channels], in: -1...1, using: &generator)
        let weight = Tensor<Float>.uniform(shape: [g.filters, depth], in: -1...1, using: &generator)
        let delta = Tensor<Float>.uniform(shape: [pixels, g.filters], in: -1...1, using: &generator)
        var unfolded = Tensor<Float>.zeros(shape: [pixels, depth])
        unfolded.assignUnfolded(images, problem)
        let paths: [BFloat16Products.Path] = BFloat16Products.instructionAvailable ? [.portable, .instruction] : [.portable]
        for path in paths {
            var dense = Tensor<Float>.zeros(shape: [pixels, g.filters]), gathered = dense
            dense.assignProduct(unfolded, weight, transposeB: true, precision: .bfloat16(path))
            gathered.assignProduct(gathering: rows, from: images, weight, transposeB: true, precision: .bfloat16(path))
            #expect(TestData.bitDifferences(gathered.scalars, dense.scalars) == 0, "\(path)")
            var denseGradient = Tensor<Float>.zeros(shape: [depth, g.filters]), gatheredGradient = denseGradient
            denseGradient.assignProduct(unfolded, delta, transposeA: true, precision: .bfloat16(path))
            gatheredGradient.assignProduct(gathering: rows, from: images, delta, transposeA: true, precision: .bfloat16(path))
            #expect(TestData.bitDifferences(gatheredGradient.scalars, denseGradient.scalars) == 0, "\(path)")
            #expect(TestData.maxDifference(gatheredGradient, TestData.naiveProduct(unfolded, delta, transposeA: true, transposeB: false))
                    < 0.05 * Double(pixels).squareRoot())
        }
    }

    /// The bfloat16 fold of δ W̃ without δ W̃ written out: each element's sum is the bfloat16 product's, so it equals
    /// the fold of that product to the rounding of the additions onto each pixel, on both paths alike, and its bits do
    /// not depend on the number of threads (nor do the Float32 fold's).
    @Test(arguments: geometries)
    func foldedBFloat16ProductsAreTheFoldsOfTheProducts(_ g: Geometry) throws {
        let (problem, pixels, depth) = (g.problem, g.pixels, g.depth)
        let rows = try #require(problem.unfoldedRows)
        var generator = SeededGenerator(seed: UInt64(pixels * 17 + depth))
        let weight = Tensor<Float>.uniform(shape: [g.filters, depth], in: -1...1, using: &generator)
        let delta = Tensor<Float>.uniform(shape: [pixels, g.filters], in: -1...1, using: &generator)
        let paths: [BFloat16Products.Path] = BFloat16Products.instructionAvailable ? [.portable, .instruction] : [.portable]
        var results: [[Float]] = []
        defer { Parallelism.use(threads: Parallelism.defaultThreads) }
        for path in paths {
            var product = Tensor<Float>.zeros(shape: [pixels, depth])
            product.assignProduct(delta, weight, precision: .bfloat16(path))
            var folded = Tensor<Float>.zeros(shape: [g.batch * g.height * g.width, g.channels])
            folded.assignFolded(product, problem)
            for threads in [1, 3] {
                Parallelism.use(threads: threads)
                var scattered = Tensor<Float>.ones(shape: folded.shape)
                scattered.assignFoldedProduct(delta, weight, problem, rows: rows, precision: .bfloat16(path))
                #expect(TestData.maxDifference(scattered, folded) < 1e-5 * Double(g.filters * depth), "\(path)")
                results.append(scattered.scalars)
                var float32 = Tensor<Float>.ones(shape: folded.shape)
                float32.assignFoldedProduct(delta, weight, problem, rows: rows)
                results.append(float32.scalars)
            }
        }
        // Per path and thread count: bfloat16, then Float32; every bfloat16 result the same bits, and every Float32.
        for (index, result) in results.enumerated() {
            #expect(TestData.bitDifferences(result, results[index % 2]) == 0, "result \(index)")
        }
    }

    @Test func paddedWindowsAreNotGathered() {
        let padded = SlidingWindow(kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
        #expect(padded.problem(batch: 2, channels: 3, height: 5, width: 5).unfoldedRows == nil)
        let valid = SlidingWindow(kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2)
        let rows = valid.problem(batch: 2, channels: 3, height: 5, width: 6).unfoldedRows
        // Output 2 × 2 per image; rows start at (y·2·6 + x·2)·3; kernel rows are 6·3 apart, 3·3 values each.
        #expect(rows?.rowOffsets == [0, 6, 36, 42, 90, 96, 126, 132])
        #expect(rows?.segmentOffsets == [0, 18, 36] && rows?.segmentLength == 9)
    }
}
