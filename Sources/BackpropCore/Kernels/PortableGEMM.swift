import CKernels

/// Backprop's own matrix product, on the calling thread (``GEMM/multiply(_:_:_:_:backend:)`` splits large products
/// over two threads): packed panels, a register-blocked micro-kernel and blocking over k, in C
/// (`Sources/CKernels/GEMMKernel.h`).
///
/// The kernel is written with Clang's vector types and compiled for AVX-512, for AVX2 with fused multiply-adds and for
/// baseline x86-64, and each call runs the widest the processor has (elsewhere, e.g. on Arm, it is compiled once for
/// the target). Swift alone compiles for baseline x86-64, four lanes and no fused multiply-add, a quarter of the
/// width AVX-512 processors have. The packed panels live in the calling thread's ``ThreadScratch``, so a product
/// allocates nothing once the thread has run one as large.
enum PortableGEMM {
    static func multiply(
        _ p: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            ThreadScratch.withBuffer(of: Float.self, count: backprop_gemm_scratch_float(problem)) { scratch in
                backprop_gemm_float(problem, a, b, c, scratch)
            }
        }
    }

    static func multiply(
        _ p: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            ThreadScratch.withBuffer(of: Double.self, count: backprop_gemm_scratch_double(problem)) { scratch in
                backprop_gemm_double(problem, a, b, c, scratch)
            }
        }
    }
}

extension PortableGEMM {
    static func multiply(
        _ p: GEMMProblem, gathering rows: GatheredRows, firstRow: Int, firstColumn: Int, _ a: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            rows.withKernelArguments(firstRow: firstRow, firstColumn: firstColumn) { gathered in
                ThreadScratch.withBuffer(of: Float.self, count: backprop_gemm_gathered_scratch_float(problem)) { scratch in
                    backprop_gemm_gathered_float(problem, gathered, a, b, c, scratch)
                }
            }
        }
    }

    static func multiply(
        _ p: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, scatteringOnto rows: GatheredRows, firstRow: Int,
        of c: UnsafeMutablePointer<Float>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            rows.withKernelArguments(firstRow: firstRow, firstColumn: 0) { gathered in
                ThreadScratch.withBuffer(of: Float.self, count: backprop_gemm_gathered_scratch_float(problem)) { scratch in
                    backprop_gemm_scattered_float(problem, gathered, a, b, c, scratch)
                }
            }
        }
    }

    static func multiply(
        _ p: GEMMProblem, gathering rows: GatheredRows, firstRow: Int, firstColumn: Int, _ a: UnsafePointer<Double>,
        _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            rows.withKernelArguments(firstRow: firstRow, firstColumn: firstColumn) { gathered in
                ThreadScratch.withBuffer(of: Double.self, count: backprop_gemm_gathered_scratch_double(problem)) { scratch in
                    backprop_gemm_gathered_double(problem, gathered, a, b, c, scratch)
                }
            }
        }
    }

    static func multiply(
        _ p: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, scatteringOnto rows: GatheredRows, firstRow: Int,
        of c: UnsafeMutablePointer<Double>
    ) {
        withUnsafePointer(to: p.kernelArguments) { problem in
            rows.withKernelArguments(firstRow: firstRow, firstColumn: 0) { gathered in
                ThreadScratch.withBuffer(of: Double.self, count: backprop_gemm_gathered_scratch_double(problem)) { scratch in
                    backprop_gemm_scattered_double(problem, gathered, a, b, c, scratch)
                }
            }
        }
    }
}

extension GEMMProblem {
    /// The problem as the C kernels take it.
    var kernelArguments: backprop_gemm {
        backprop_gemm(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, transpose_a: transposeA ? 1 : 0,
                      transpose_b: transposeB ? 1 : 0, accumulate: accumulate ? 1 : 0)
    }
}
