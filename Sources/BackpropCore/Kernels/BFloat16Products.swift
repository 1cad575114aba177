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
    static func multiplyInParallel(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, path: Path) {
        let parts = Swift.max(1, Swift.min(Parallelism.threads, problem.m / 16))
        guard parts > 1 && problem.flops >= GEMM.parallelFlops else {
            return multiply(problem, a, b, c, path: path)
        }
        precondition(path != .instruction || instructionAvailable, "BFloat16Products: this processor has no AVX512_BF16")
        withUnsafePointer(to: problem.kernelArguments) { arguments in
            ThreadScratch.withBuffer(of: UInt32.self, count: backprop_bf16_packed_b_size(arguments), slot: .sharedOperand) { packed in
                let panels = backprop_bf16_panels(arguments)
                Parallelism.pool.run(Panels(problem: problem, b: b, packed: packed, panels: panels,
                                            parts: Swift.min(Parallelism.threads, panels)))
                Parallelism.pool.run(Rows(problem: problem, a: a, packed: packed, c: c, path: path, parts: parts))
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

        func run(part: Int) {
            // Whole tiles of 8 rows to each part but the last.
            let rows = range(of: part, in: problem.m, granularity: 8)
            guard !rows.isEmpty else { return }
            var block = problem
            block.m = rows.count
            let rowsOfA = a + (problem.transposeA ? rows.lowerBound : rows.lowerBound * problem.lda)
            withUnsafePointer(to: block.kernelArguments) { arguments in
                ThreadScratch.withBuffer(of: UInt32.self, count: backprop_gemm_bf16_packed_scratch(arguments)) { scratch in
                    backprop_gemm_bf16_packed(arguments, rowsOfA, packed, c + rows.lowerBound * problem.ldc, scratch,
                                              path.kernelPath)
                }
            }
        }
    }
}
