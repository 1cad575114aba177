import CKernels

/// Matrix products on bfloat16 operands with Float32 accumulation: the arithmetic of AVX512_BF16's `vdpbf16ps`, on
/// the instruction where the processor has it and on a portable path that computes the same sums in the same order
/// elsewhere — the same bits either way (`Sources/CKernels/include/BF16Kernels.h` defines the arithmetic).
///
/// Per element of C: both operands are rounded to bfloat16 (to nearest, ties to even; subnormals to zero); k is
/// walked in pairs (2p, 2p + 1), each adding the odd product and then the even one to a Float32 accumulator, each
/// addition rounded once, subnormal sums flushed to zero.
public enum BFloat16Products {
    /// Which implementation computes a product.
    public enum Path: Sendable {
        /// The instruction when the processor has it, else the portable path.
        case automatic
        /// The portable path (scalar fused multiply-adds), on any processor.
        case portable
        /// `vdpbf16ps`; only where ``instructionAvailable``.
        case instruction
    }

    /// Whether the processor has AVX512_BF16.
    public static let instructionAvailable = backprop_bf16_instruction_available() != 0

    /// `x` rounded to bfloat16 as the products round their operands (the upper 16 bits of a Float32).
    public static func rounded(_ x: Float) -> UInt16 {
        var input = x, output: UInt16 = 0
        backprop_round_to_bf16(&input, &output, 1)
        return output
    }

    /// Rounds `count` values to bfloat16 in place, each kept as the Float32 of the same value: operands of a
    /// computation other than a matrix product (the direct first convolution) that takes bfloat16 operands.
    public static func roundInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
        backprop_round_to_bf16_values(values, values, count)
    }

    /// C = op(A)·op(B) (or C += when `problem.accumulate`) with bfloat16 operands, on the calling thread.
    ///
    /// - Precondition: `path` is not ``Path/instruction`` unless ``instructionAvailable``.
    public static func multiply(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                _ c: UnsafeMutablePointer<Float>, path: Path = .automatic) {
        precondition(path != .instruction || instructionAvailable, "BFloat16Products: this processor has no AVX512_BF16")
        withUnsafePointer(to: problem.kernelArguments) { arguments in
            ThreadScratch.withBuffer(of: UInt32.self, count: backprop_gemm_bf16_scratch(arguments)) { scratch in
                backprop_gemm_bf16(arguments, a, b, c, scratch, path.kernelPath)
            }
        }
    }
}

/// The precision of a training step's matrix products. Parameters, optimizer state, losses, softmax and reductions
/// stay Float32 whatever it is ("master weights"); model files stay Float32.
public enum MatrixPrecision: Sendable, Hashable, CustomStringConvertible {
    /// Float32 operands and sums (the default).
    case float32
    /// bfloat16 operands (rounded from Float32), Float32 sums: ``BFloat16Products`` on the given path.
    case bfloat16(BFloat16Products.Path)

    /// bfloat16 products on the instruction where the processor has it, else the portable path (the same bits).
    public static var bfloat16: MatrixPrecision { .bfloat16(.automatic) }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .bfloat16(.automatic): "bfloat16 (\(BFloat16Products.instructionAvailable ? "vdpbf16ps" : "portable path"))"
        case .bfloat16(.portable): "bfloat16 (portable path)"
        case .bfloat16(.instruction): "bfloat16 (vdpbf16ps)"
        }
    }
}

extension MatrixPrecision {
    /// Whether the products run on bfloat16's portable path: the instruction's bits from scalar fused multiply-adds,
    /// many times slower than Float32 products (W2's first product: 84 ms against 0.30 ms on one machine), so that a
    /// model trained in bfloat16 is the same on processors without AVX512_BF16 — for checking, not for speed.
    public var runsOnPortablePath: Bool {
        switch self {
        case .float32, .bfloat16(.instruction): false
        case .bfloat16(.portable): true
        case .bfloat16(.automatic): !BFloat16Products.instructionAvailable
        }
    }
}

extension BFloat16Products.Path {
    var kernelPath: backprop_bf16_path {
        switch self {
        case .automatic: backprop_bf16_automatic
        case .portable: backprop_bf16_portable
        case .instruction: backprop_bf16_instruction
        }
    }
}

extension BFloat16Products {
    /// The product on the worker pool: B packed once, its panels split over the threads, then C split by rows, every
    /// part reading the shared packed B. Every element's sum is the same whatever the split, so any number of
    /// threads gives the same bits.
    ///
    /// With `squares`, also the two partial sums of squares of `C` that ``Tensor/norm`` adds, bit for bit: where the
    /// two parts' rows are exactly its halves, each part sums its rows while they are in its cache (as
    /// ``GEMM/multiply(_:_:_:_:backend:squares:)`` does for Float32 products), else after the product.
    ///
    /// - Precondition: with `squares`, `C` is dense (`ldc == n`) and not accumulated onto.
    static func multiplyInParallel(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, path: Path,
                                   squares: UnsafeMutablePointer<Float>? = nil) {
        precondition(squares == nil || (problem.ldc == problem.n && !problem.accumulate),
                     "BFloat16Products: the sum of squares needs a dense C, overwritten")
        let parts = Swift.max(1, Swift.min(Parallelism.threads, problem.m / 16))
        guard parts > 1 && problem.flops >= GEMM.parallelFlops else {
            multiply(problem, a, b, c, path: path)
            if let squares { SumOfSquares(elements: c, count: problem.m * problem.n, sums: squares).run() }
            return
        }
        let fusesSquares = squares != nil && Rows.areHalvesOfTheNorm(problem, parts: parts)
        withPackedB(problem, b, parts: parts, path: path) { packed in
            Parallelism.pool.run(Rows(problem: problem, a: a, packed: packed, c: c, path: path, parts: parts,
                                      squares: fusesSquares ? squares : nil))
        }
        if let squares, !fusesSquares { SumOfSquares(elements: c, count: problem.m * problem.n, sums: squares).run() }
    }

    /// ``multiplyInParallel(_:_:_:_:path:)`` with `A` gathered by `rows` from `a` (a convolution's unfolded input read
    /// in place; see ``GEMM/multiply(_:gathering:from:_:_:)``): the same bits as for a dense copy of `A`.
    static func multiplyInParallel(_ problem: GEMMProblem, gathering rows: GatheredRows, from a: UnsafePointer<Float>,
                                   _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, path: Path) {
        let (stored, columns) = problem.transposeA ? (problem.k, problem.m) : (problem.m, problem.k)
        precondition(rows.rows >= stored && rows.columns == columns,
                     "BFloat16Products: gathered \(rows.rows) × \(rows.columns) rows do not fit a \(stored) × \(columns) operand")
        let parts = problem.flops >= GEMM.parallelFlops ? Swift.max(1, Swift.min(Parallelism.threads, problem.m / 16)) : 1
        withPackedB(problem, b, parts: parts, path: path) { packed in
            Parallelism.pool.run(Rows(problem: problem, a: a, packed: packed, c: c, path: path, parts: parts, gathered: rows))
        }
    }

    /// `C`, gathered by `rows` from `c`, overwritten with the sum of `A · op(B)`'s rows over its gathered rows, with
    /// bfloat16 operands: ``GEMM/multiply(_:_:_:scatteringOnto:of:groupRows:groupElements:)``'s product (`A` dense, its
    /// groups of `groupRows` rows adding to `groupElements` elements of `c` each, zeroed first), the same bits on any
    /// number of threads.
    static func multiplyInParallel(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   scatteringOnto rows: GatheredRows, of c: UnsafeMutablePointer<Float>, groupRows: Int,
                                   groupElements: Int, path: Path) {
        precondition(!problem.transposeA && groupRows > 0 && problem.m % groupRows == 0 && rows.rows == problem.m
                     && rows.columns == problem.n, "BFloat16Products: \(problem.m) × \(problem.n) rows do not scatter onto "
                     + "gathered \(rows.rows) × \(rows.columns) rows in groups of \(groupRows)")
        let groups = problem.m / groupRows
        let parts = problem.flops >= GEMM.parallelFlops ? Swift.max(1, Swift.min(Parallelism.threads, groups)) : 1
        withPackedB(problem, b, parts: parts, path: path) { packed in
            Parallelism.pool.run(ScatteredGroups(problem: problem, a: a, packed: packed, rows: rows, c: c, path: path,
                                                 groupRows: groupRows, groupElements: groupElements, parts: parts))
        }
    }

    /// Packs op(B) whole into the calling thread's shared scratch, its panels split over at most `parts` threads,
    /// and runs `body` with it (the parts that read it).
    private static func withPackedB(_ problem: GEMMProblem, _ b: UnsafePointer<Float>, parts: Int, path: Path,
                                    _ body: (UnsafeMutablePointer<UInt32>) -> Void) {
        precondition(path != .instruction || instructionAvailable, "BFloat16Products: this processor has no AVX512_BF16")
        withUnsafePointer(to: problem.kernelArguments) { arguments in
            ThreadScratch.withBuffer(of: UInt32.self, count: backprop_bf16_packed_b_size(arguments), slot: .sharedOperand) { packed in
                let panels = backprop_bf16_panels(arguments)
                Parallelism.pool.run(Panels(problem: problem, b: b, packed: packed, panels: panels,
                                            parts: Swift.min(parts, panels)))
                body(packed)
            }
        }
    }

    /// Groups of rows of a scattered product, one range per thread, run a few groups at a time: each chunk's elements
    /// zeroed, then its rows' products added panel by panel, while those elements are in the second-level cache (a
    /// part's panels over all of its groups read and wrote the part's whole output from the third level once per
    /// panel). Groups write disjoint elements, so each element still gets its terms in the order of (panel, row).
    private struct ScatteredGroups: ParallelWork {
        let problem: GEMMProblem
        let a: UnsafePointer<Float>
        let packed: UnsafeMutablePointer<UInt32>
        let rows: GatheredRows
        let c: UnsafeMutablePointer<Float>
        let path: Path
        let groupRows: Int
        let groupElements: Int
        let parts: Int

        /// Rows of a chunk, about: their outputs (C1's second convolution: 8 images' input gradients, 173 KB) stay in
        /// the second-level cache while every panel adds onto them.
        static let chunkRows = 1024

        func run(part: Int) {
            let groups = range(of: part, in: problem.m / groupRows)
            guard !groups.isEmpty else { return }
            let chunk = Swift.max(1, Self.chunkRows / groupRows)
            var block = problem
            block.m = Swift.min(chunk, groups.count) * groupRows
            withUnsafePointer(to: block.kernelArguments) { arguments in
                ThreadScratch.withBuffer(of: UInt32.self, count: backprop_gemm_bf16_packed_scattered_scratch(arguments)) { scratch in
                    for start in stride(from: groups.lowerBound, to: groups.upperBound, by: chunk) {
                        let count = Swift.min(chunk, groups.upperBound - start)
                        (c + start * groupElements).update(repeating: 0, count: count * groupElements)
                        block.m = count * groupRows
                        let first = start * groupRows
                        withUnsafePointer(to: block.kernelArguments) { chunkArguments in
                            rows.withKernelArguments(firstRow: first, firstColumn: 0) { g in
                                backprop_gemm_bf16_packed_scattered(chunkArguments, g, a + first * problem.lda, packed, c,
                                                                    scratch, path.kernelPath)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Panels of packed B, one range per thread.
    private struct Panels: ParallelWork {
        let problem: GEMMProblem
        let b: UnsafePointer<Float>
        let packed: UnsafeMutablePointer<UInt32>
        let panels: Int
        let parts: Int

        func run(part: Int) {
            let range = range(of: part, in: panels)
            withUnsafePointer(to: problem.kernelArguments) { arguments in
                backprop_bf16_pack_b(arguments, b, packed, range.lowerBound, range.upperBound)
            }
        }
    }

    /// Row blocks of a product from the shared packed B, one part per thread.
    private struct Rows: ParallelWork {
        let problem: GEMMProblem
        let a: UnsafePointer<Float>
        let packed: UnsafeMutablePointer<UInt32>
        let c: UnsafeMutablePointer<Float>
        let path: Path
        let parts: Int
        /// How `A` is gathered from `a`, or `nil` for a dense `A`.
        var gathered: GatheredRows? = nil
        /// Where each part writes the sum of squares of its rows of `C` (see ``areHalvesOfTheNorm(_:parts:)``), or
        /// `nil`.
        var squares: UnsafeMutablePointer<Float>? = nil

        /// Whole tiles of 8 rows to each part but the last.
        static let granularity = 8

        /// Whether `parts` parts' rows of `problem`'s dense `C` are exactly the two halves ``Tensor/norm`` sums.
        static func areHalvesOfTheNorm(_ problem: GEMMProblem, parts: Int) -> Bool {
            let count = problem.m * problem.n
            return parts == 2 && SumOfSquares<Float>.runsInParallel(count: count)
                && SumOfSquares<Float>.boundary(1, of: 2, in: count, granularity: SumOfSquares<Float>.granularity)
                    == boundary(1, of: 2, in: problem.m, granularity: granularity) * problem.n
        }

        func run(part: Int) {
            let rows = range(of: part, in: problem.m, granularity: Self.granularity)
            defer {
                if let squares {
                    Float.applyReduction(.sumOfSquares, c + rows.lowerBound * problem.n, squares + part, outer: 1,
                                         length: rows.count * problem.n, inner: 1)
                }
            }
            guard !rows.isEmpty else { return }
            var block = problem
            block.m = rows.count
            withUnsafePointer(to: block.kernelArguments) { arguments in
                ThreadScratch.withBuffer(of: UInt32.self, count: backprop_gemm_bf16_packed_scratch(arguments)) { scratch in
                    let cBlock = c + rows.lowerBound * problem.ldc
                    if let gathered {
                        // The part's rows of op(A): columns of a transposed A, else rows.
                        gathered.withKernelArguments(firstRow: problem.transposeA ? 0 : rows.lowerBound,
                                                     firstColumn: problem.transposeA ? rows.lowerBound : 0) { g in
                            backprop_gemm_bf16_packed_gathered(arguments, g, a, packed, cBlock, scratch, path.kernelPath)
                        }
                    } else {
                        let rowsOfA = a + (problem.transposeA ? rows.lowerBound : rows.lowerBound * problem.lda)
                        backprop_gemm_bf16_packed(arguments, rowsOfA, packed, cBlock, scratch, path.kernelPath)
                    }
                }
            }
        }
    }
}
