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

    /// C = op(A)·op(B) (or C += when `problem.accumulate`) with bfloat16 operands, on the calling thread.
    ///
    /// - Precondition: `path` is not ``Path/instruction`` unless ``instructionAvailable``.
    public static func multiply(_ problem: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                _ c: UnsafeMutablePointer<Float>, path: Path = .automatic) {
        precondition(path != .instruction || instructionAvailable, "BFloat16Products: this processor has no AVX512_BF16")
        let chosen: backprop_bf16_path = switch path {
        case .automatic: backprop_bf16_automatic
        case .portable: backprop_bf16_portable
        case .instruction: backprop_bf16_instruction
        }
        withUnsafePointer(to: problem.kernelArguments) { arguments in
            ThreadScratch.withBuffer(of: UInt16.self, count: backprop_gemm_bf16_scratch(arguments)) { scratch in
                backprop_gemm_bf16(arguments, a, b, c, scratch, chosen)
            }
        }
    }
}
