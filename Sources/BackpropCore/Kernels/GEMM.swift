import CKernels

/// One general matrix product `C = op(A) · op(B)` on row-major buffers, where `op(X)` is `X` or `Xᵀ`.
///
/// `op(A)` is `m × k`, `op(B)` is `k × n` and `C` is `m × n`. A transposed operand is read in place, never copied.
/// Each matrix may be a block of a wider one: its row stride (`lda`, `ldb`, `ldc`) is then the wider row length.
public struct GEMMProblem: Sendable, Hashable {
    /// Rows of `op(A)` and of `C`.
    public var m: Int
    /// Columns of `op(B)` and of `C`.
    public var n: Int
    /// The shared inner dimension.
    public var k: Int
    /// Whether `A` is stored as `k × m` and read transposed.
    public var transposeA: Bool
    /// Whether `B` is stored as `n × k` and read transposed.
    public var transposeB: Bool
    /// Whether to add the product to `C` (`C += op(A)·op(B)`) instead of overwriting it.
    public var accumulate: Bool
    /// The row stride of `A` as stored (`k`, or `m` when transposed, for a dense matrix).
    public var lda: Int
    /// The row stride of `B` as stored (`n`, or `k` when transposed, for a dense matrix).
    public var ldb: Int
    /// The row stride of `C` (`n` for a dense matrix).
    public var ldc: Int

    /// Describes a product; each row stride defaults to that of a dense matrix.
    public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, accumulate: Bool = false,
                lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.accumulate = accumulate
        self.lda = lda ?? (transposeA ? m : k)
        self.ldb = ldb ?? (transposeB ? k : n)
        self.ldc = ldc ?? n
    }

    /// Floating-point operations of the product (one multiply and one add per term).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Which implementation runs matrix products.
public enum KernelBackend: String, Sendable, Hashable, CustomStringConvertible {
    /// Apple's Accelerate framework (macOS).
    case accelerate
    /// OpenBLAS, loaded at run time from `libopenblas.so.0` (Linux).
    case openBLAS = "openblas"
    /// Backprop's own packed, register-blocked kernel (C, compiled for AVX-512, AVX2 and baseline x86-64, the widest
    /// the processor has chosen per call); runs everywhere.
    case portable

    /// The backend in use.
    ///
    /// The platform BLAS when it can be loaded, else ``portable``; ``ComputeConfiguration/Kernels/portable`` (the
    /// environment's `BACKPROP_KERNELS=portable`) forces the portable kernel, so that both paths can be tested and
    /// compared. See also ``largeProductsOnPortableKernel``.
    public static var preferred: KernelBackend {
        Parallelism.configuration.kernels == .portable ? .portable : platform
    }

    /// The platform's BLAS when it loads, else the portable kernel.
    static let platform: KernelBackend = BLAS.library?.backend ?? .portable

    /// Whether large products (a megaflop or more, ``GEMM/largeFlops``) run on the portable kernel while the backend is
    /// OpenBLAS: on processors with AVX-512 or AVX2, where the portable kernel was measured as fast as OpenBLAS 0.3.21
    /// or faster on the large products of the benchmark workloads (AVX-512: `notes/performance.md`; the AVX2 variant
    /// against OpenBLAS's Haswell kernels: `notes/threads.md`), and its products split over every thread while
    /// OpenBLAS's stay in two halves; OpenBLAS's small-matrix kernels are faster on the small ones. A given processor
    /// always makes the same choice, so results repeat. ``ComputeConfiguration/Kernels/openBLAS``
    /// (`BACKPROP_KERNELS=openblas`) keeps every product on OpenBLAS.
    public static var largeProductsOnPortableKernel: Bool {
        let kernels = Parallelism.configuration.kernels
        return kernels == .automatic && platform == .openBLAS && portableKernelIsVectorised
    }

    private static let portableKernelIsVectorised = ["AVX-512", "AVX2"].contains(portableInstructionSet)

    /// The instruction set the portable kernel runs on: `"AVX-512"`, `"AVX2"` (with fused multiply-add) or `"SSE2"` on
    /// x86-64, `"baseline"` elsewhere.
    public static var portableInstructionSet: String { String(cString: backprop_gemm_instruction_set()) }

    /// The instruction set that Backprop's element-wise C kernels (the optimizer updates, whole-buffer sums and
    /// norms, the byte-to-float conversion of image batches) run on in this process: `"AVX-512"`, `"AVX2"` or
    /// `"SSE2"` on x86-64 Linux, where they are compiled once for each and the best the processor has is chosen at
    /// load time; `"baseline"` elsewhere. Every choice computes the same bits.
    public static var elementwiseInstructionSet: String { String(cString: backprop_instruction_set()) }

    /// A hint when the backend runs below this machine's speed, e.g. OpenBLAS falling back to generic kernels on a
    /// processor it does not recognise; `nil` when there is nothing to suggest.
    public var performanceHint: String? {
        guard self == .openBLAS, let core = BLAS.library?.coreName?.lowercased(), core == "prescott" || core == "core2",
              let better = BLAS.openBLASCoreType(for: .current) else {
            return nil
        }
        return "OpenBLAS runs its generic \(core) kernels on a processor that supports its \(better) kernels; unset "
            + "OPENBLAS_CORETYPE (Backprop then chooses from the CPU flags) or set it to \(better) for matrix products "
            + "several times faster"
    }

    public var description: String {
        switch self {
        case .accelerate: "Accelerate"
        case .openBLAS:
            BLAS.library.map { library in
                let kernels = library.coreName.map { ", \($0) kernels" } ?? ""
                let chosen = library.requestedCoreType == nil ? "" : " chosen from the CPU flags; OPENBLAS_CORETYPE overrides"
                let large = Self.largeProductsOnPortableKernel
                    ? "; products of a megaflop or more on the portable kernel, \(Self.portableInstructionSet)" : ""
                return "OpenBLAS (\(library.location)\(kernels)\(chosen))\(large)"
            } ?? "OpenBLAS"
        case .portable: "portable kernel, \(Self.portableInstructionSet)"
        }
    }
}

/// Matrix products on raw buffers, dispatched to the platform BLAS or the portable kernel.
public enum GEMM {
    /// Computes `C = op(A)·op(B)` (or `C +=` when `problem.accumulate`) on contiguous row-major buffers.
    ///
    /// - Parameters:
    ///   - problem: the shapes, transpositions, leading dimensions and whether to accumulate.
    ///   - a: A, row-major.
    ///   - b: B, row-major.
    ///   - c: C, row-major, overwritten (or added to).
    ///   - backend: the implementation to use, for comparing backends; by default the process's choice:
    ///     ``KernelBackend/preferred``, or the portable kernel for a large product when
    ///     ``KernelBackend/largeProductsOnPortableKernel``.
    public static func multiply<S: TensorScalar>(
        _ problem: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ c: UnsafeMutablePointer<S>,
        backend: KernelBackend? = nil
    ) {
        multiply(problem, a, b, c, backend: backend, squares: nil)
    }

    /// The product, and with `squares` the two partial sums of squares of `C` that ``Tensor/norm`` adds (the first
    /// half of its elements and the second): a thread that has just written one of those halves sums it while it is
    /// in its cache; otherwise they are summed after the product. Either way they are the sums `norm` computes, bit
    /// for bit.
    ///
    /// - Precondition: with `squares`, `C` is dense (`ldc == n`) and not accumulated onto.
    static func multiply<S: TensorScalar>(
        _ problem: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ c: UnsafeMutablePointer<S>,
        backend: KernelBackend?, squares: UnsafeMutablePointer<S>?
    ) {
        precondition(squares == nil || (problem.ldc == problem.n && !problem.accumulate),
                     "GEMM.multiply: the sum of squares needs a dense C, overwritten")
        if backend == nil, SmallProduct<S>.handles(problem) {
            SmallProduct<S>.multiply(problem, a, b, c)
            if let squares { SumOfSquares(elements: c, count: problem.m * problem.n, sums: squares).run() }
            return
        }
        let parts = GEMMParts(problem: problem, a: a, b: b, c: c, backend: backend
            ?? (problem.flops >= largeFlops && KernelBackend.largeProductsOnPortableKernel ? .portable : .preferred),
            squares: nil)
        if parts.runsInParallel {
            if let squares, parts.partsAreHalvesOfTheNorm {
                return Parallelism.pool.run(GEMMParts(problem: problem, a: a, b: b, c: c, backend: parts.backend,
                                                      squares: squares))
            }
            Parallelism.pool.run(parts)
        } else if problem.m > 0 && problem.n > 0 && problem.k > 0 {
            S.gemm(problem, a, b, c, backend: parts.backend)
        } else if problem.m > 0 && problem.n > 0 && !problem.accumulate {
            for row in 0..<problem.m { (c + row * problem.ldc).update(repeating: 0, count: problem.n) }
        }
        if let squares { SumOfSquares(elements: c, count: problem.m * problem.n, sums: squares).run() }
    }

    /// The product with `A` gathered by `rows` from `a` (``GatheredRows``: a convolution's unfolded input read in place
    /// from the images), on the portable kernel: `A` is the gathered matrix, `m × k` or, when `problem.transposeA`,
    /// `k × m` (`problem.lda` is not read). Each element of `C` is the same bits as ``multiply(_:_:_:_:backend:)``
    /// gives on the portable kernel for a dense copy of `A`.
    ///
    /// - Precondition: the gathered matrix has the problem's shape (or more rows).
    public static func multiply<S: TensorScalar>(
        _ problem: GEMMProblem, gathering rows: GatheredRows, from a: UnsafePointer<S>, _ b: UnsafePointer<S>,
        _ c: UnsafeMutablePointer<S>
    ) {
        let (stored, columns) = problem.transposeA ? (problem.k, problem.m) : (problem.m, problem.k)
        precondition(rows.rows >= stored && rows.columns == columns,
                     "GEMM.multiply: gathered \(rows.rows) × \(rows.columns) rows do not fit a \(stored) × \(columns) operand")
        let parts = GEMMParts(problem: problem, a: a, b: b, c: c, backend: .portable, squares: nil, gathered: rows)
        if parts.runsInParallel {
            Parallelism.pool.run(parts)
        } else if problem.m > 0 && problem.n > 0 && problem.k > 0 {
            S.gemm(problem, gathering: rows, firstRow: 0, firstColumn: 0, a, b, c)
        } else if problem.m > 0 && problem.n > 0 && !problem.accumulate {
            for row in 0..<problem.m { (c + row * problem.ldc).update(repeating: 0, count: problem.n) }
        }
    }

    /// Overwrites `C`, gathered by `rows` from `c` (``GatheredRows``), with the sum of `A · op(B)`'s rows over its
    /// gathered rows, on the portable kernel: row `r` of the product is added to gathered row `r`, where rows overlap
    /// (a convolution's input gradient: the fold of δ W̃, without δ W̃ written out). `A` is dense and not transposed.
    ///
    /// The rows come in groups of `groupRows` (one image's output pixels), group `g` adding only to elements
    /// `g·groupElements ..< (g + 1)·groupElements` of `c` (its image), which are zeroed first. The groups are split
    /// over the threads; each row is summed and added the same way whatever the split, so the result is the same bits
    /// on any number of threads.
    ///
    /// - Precondition: `problem.m` is a whole number of groups, and `rows` has as many rows and `problem.n` columns.
    public static func multiply<S: TensorScalar>(
        _ problem: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, scatteringOnto rows: GatheredRows,
        of c: UnsafeMutablePointer<S>, groupRows: Int, groupElements: Int
    ) {
        precondition(!problem.transposeA && groupRows > 0 && problem.m % groupRows == 0 && rows.rows == problem.m
                     && rows.columns == problem.n, "GEMM.multiply: \(problem.m) × \(problem.n) rows do not scatter onto gathered "
                     + "\(rows.rows) × \(rows.columns) rows in groups of \(groupRows)")
        Parallelism.pool.run(ScatteredGEMMParts(problem: problem, a: a, b: b, rows: rows, c: c, groupRows: groupRows,
                                                groupElements: groupElements))
    }

    /// Products of at least this many floating-point operations are split in two parts (run on two threads when there
    /// are; on one, one after the other, so that the result is the same): about 3 µs of work, against
    /// a hand-off of a few cache-line transfers between the cores (well under a microsecond). The output layer's
    /// products in W2 (655 360 operations) gain most: with OpenBLAS, 128 × 10 × 256 Bᵀ took 10.5 µs, and each of its
    /// 64-row halves 1.9 µs.
    public static let parallelFlops = 500_000.0

    /// Products of at least this many floating-point operations are "large": with OpenBLAS, they run on the portable
    /// kernel where ``KernelBackend/largeProductsOnPortableKernel`` says so.
    public static let largeFlops = 1_000_000.0
}

/// A product split into two halves: rows of `C` when it has more rows than columns (each thread then reads all of
/// `B`), else columns (each thread reads all of `A`), so that the operand both threads read is the smaller one.
///
/// A product `Aᵀ B` with 64 rows or more is split by rows whatever its shape. In training these are the weight
/// gradients δᵀ a, and the optimizer's update, split into two contiguous halves too, then finds each half of the
/// gradient in the cache of the core that wrote it (measured: W1 −5 %, W2 −4 %, against splitting their columns).
///
/// The split is along `m` or `n`, never `k`, so no partial sums are added across threads. The portable kernel
/// computes every element of C the same way whatever block of C a call covers (tested), so its products are split
/// into one part per thread, each of at least ``GEMM/parallelFlops`` / 2 operations and 16 rows or columns; other
/// backends may choose their kernels by the block's size, so their products are always split in the same two halves.
/// Either way the result is the same bits on any number of threads.
private struct GEMMParts<S: TensorScalar>: ParallelWork {
    let problem: GEMMProblem
    let a: UnsafePointer<S>
    let b: UnsafePointer<S>
    let c: UnsafeMutablePointer<S>
    let backend: KernelBackend
    /// Where each part writes the sum of squares of its rows of `C` (see ``partsAreHalvesOfTheNorm``), or `nil`.
    let squares: UnsafeMutablePointer<S>?
    /// How `A` is gathered from `a`, or `nil` for a dense `A`.
    let gathered: GatheredRows?
    /// Fixed when the work is made: the threads a part runs on must all see the same split.
    let parts: Int

    init(problem: GEMMProblem, a: UnsafePointer<S>, b: UnsafePointer<S>, c: UnsafeMutablePointer<S>, backend: KernelBackend,
         squares: UnsafeMutablePointer<S>?, gathered: GatheredRows? = nil) {
        (self.problem, self.a, self.b, self.c, self.backend, self.squares) = (problem, a, b, c, backend, squares)
        self.gathered = gathered
        let splitsRows = problem.transposeA ? problem.m >= 64 : problem.m > problem.n
        if backend == .portable {
            let bySize = Swift.min(Int(problem.flops / (GEMM.parallelFlops / 2)), (splitsRows ? problem.m : problem.n) / 16)
            parts = Swift.max(1, Swift.min(Parallelism.pool.threads, bySize))
        } else {
            // Other backends: two halves. More parts by size alone (a power of two, each of 8 MFLOP or more) made W2
            // with every product on OpenBLAS 25 % slower on two threads: each part repacks the operand they share.
            parts = 2
        }
    }

    var splitsRows: Bool { problem.transposeA ? problem.m >= 64 : problem.m > problem.n }

    /// Whether the product is large enough to split, in two halves wide enough to be worth it.
    var runsInParallel: Bool {
        problem.m > 0 && problem.n > 0 && problem.k > 0 && problem.flops >= GEMM.parallelFlops
            && (splitsRows ? problem.m >= 32 : problem.n >= 32)
    }

    /// Whether the parts' rows of a dense `C` are exactly the two halves ``Tensor/norm`` sums on two threads.
    var partsAreHalvesOfTheNorm: Bool {
        let count = problem.m * problem.n
        return splitsRows && parts == 2 && SumOfSquares<S>.runsInParallel(count: count)
            && SumOfSquares<S>.boundary(1, of: 2, in: count, granularity: SumOfSquares<S>.granularity)
                == Self.boundary(1, of: 2, in: problem.m) * problem.n
    }

    func run(part: Int) {
        var p = problem
        if splitsRows {
            let rows = range(of: part, in: problem.m)
            p.m = rows.count
            let block = c + rows.lowerBound * problem.ldc
            if let gathered {
                // The part's rows of op(A): columns of a transposed A, else rows.
                S.gemm(p, gathering: gathered, firstRow: problem.transposeA ? 0 : rows.lowerBound,
                       firstColumn: problem.transposeA ? rows.lowerBound : 0, a, b, block)
            } else {
                S.gemm(p, a + (problem.transposeA ? rows.lowerBound : rows.lowerBound * problem.lda), b, block,
                       backend: backend)
            }
            if let squares {
                S.applyReduction(.sumOfSquares, block, squares + part, outer: 1, length: rows.count * problem.n,
                                 inner: 1)
            }
        } else {
            let columns = range(of: part, in: problem.n, granularity: 16)
            p.n = columns.count
            let bBlock = b + (problem.transposeB ? columns.lowerBound * problem.ldb : columns.lowerBound)
            if let gathered {
                S.gemm(p, gathering: gathered, firstRow: 0, firstColumn: 0, a, bBlock, c + columns.lowerBound)
            } else {
                S.gemm(p, a, bBlock, c + columns.lowerBound, backend: backend)
            }
        }
    }
}

/// A product `Aᵀ B` with a small result (at most ``maximumResult`` values) and a long inner dimension (at least
/// ``minimumDepth``): the weight gradient of a convolution with few input channels, `δᵀ X̃` over every pixel of a
/// batch. Packed panels would be mostly overhead for it; a vector loop over the result's wider dimension, keeping
/// the whole result in the cache, is several times faster (C1's first convolution: 32 × 9 over 86 528 rows).
///
/// The rows are split in fixed blocks of ``rowsPerPart`` (at least two) whatever the number of threads, each block
/// summed in order and the blocks' results added in block order, so that the result repeats bit for bit.
struct SmallProduct<S: TensorScalar>: ParallelWork {
    static var maximumResult: Int { 1024 }
    static var minimumDepth: Int { 4096 }

    let a: UnsafePointer<S>
    let b: UnsafePointer<S>
    let problem: GEMMProblem
    let partials: UnsafeMutablePointer<S>

    /// Rows per block: a C1 batch (86 528 rows) makes 42 blocks, an even share for any small number of threads.
    static var rowsPerPart: Int { 2048 }

    static func parts(depth: Int) -> Int { Swift.max(2, depth / rowsPerPart) }

    var parts: Int { Self.parts(depth: problem.k) }

    static func handles(_ p: GEMMProblem) -> Bool {
        p.transposeA && !p.transposeB && !p.accumulate && p.m * p.n <= maximumResult && p.k >= minimumDepth
            && p.lda == p.m && p.ldb == p.n && p.ldc == p.n && p.m > 0 && p.n > 0
    }

    static func multiply(_ p: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ c: UnsafeMutablePointer<S>) {
        let size = p.m * p.n, blocks = parts(depth: p.k)
        ThreadScratch.withBuffer(of: S.self, count: blocks * size) { partials in
            Parallelism.pool.run(SmallProduct(a: a, b: b, problem: p, partials: partials))
            let wide = p.n >= p.m
            for i in 0..<p.m {
                for j in 0..<p.n {
                    let at = wide ? i * p.n + j : j * p.m + i
                    var sum = partials[at]
                    for block in 1..<blocks { sum += partials[block * size + at] }
                    c[i * p.ldc + j] = sum
                }
            }
        }
    }

    func run(part: Int) {
        let rows = range(of: part, in: problem.k)
        S.applySmallProduct(a + rows.lowerBound * problem.m, b + rows.lowerBound * problem.n, rows: rows.count,
                            m: problem.m, n: problem.n, partials + part * problem.m * problem.n)
    }
}

/// The groups of rows of a scattered product (``GEMM/multiply(_:_:_:scatteringOnto:of:groupRows:groupElements:)``),
/// split in one part per thread: each zeroes its groups' elements of `C`, then adds its rows of the product.
private struct ScatteredGEMMParts<S: TensorScalar>: ParallelWork {
    let problem: GEMMProblem
    let a: UnsafePointer<S>
    let b: UnsafePointer<S>
    let rows: GatheredRows
    let c: UnsafeMutablePointer<S>
    let groupRows: Int
    let groupElements: Int
    /// Fixed when the work is made: the threads a part runs on must all see the same split.
    let parts: Int

    init(problem: GEMMProblem, a: UnsafePointer<S>, b: UnsafePointer<S>, rows: GatheredRows, c: UnsafeMutablePointer<S>,
         groupRows: Int, groupElements: Int) {
        (self.problem, self.a, self.b, self.rows, self.c) = (problem, a, b, rows, c)
        (self.groupRows, self.groupElements) = (groupRows, groupElements)
        let groups = problem.m / groupRows
        parts = problem.flops >= GEMM.parallelFlops ? Swift.max(1, Swift.min(Parallelism.pool.threads, groups)) : 1
    }

    func run(part: Int) {
        let groups = range(of: part, in: problem.m / groupRows)
        guard !groups.isEmpty else { return }
        // As bytes: this code runs unspecialised, where `update(repeating:count:)` on `S` copies element by element
        // through its value witness.
        UnsafeMutableRawPointer(c + groups.lowerBound * groupElements)
            .initializeMemory(as: UInt8.self, repeating: 0, count: groups.count * groupElements * MemoryLayout<S>.stride)
        guard problem.n > 0 && problem.k > 0 else { return }
        var p = problem
        p.m = groups.count * groupRows
        let first = groups.lowerBound * groupRows
        S.gemm(p, a + first * problem.lda, b, scatteringOnto: rows, firstRow: first, of: c)
    }
}
