import Dispatch

/// Backprop's own matrix product: packed panels, a 4 × 8 register-blocked micro-kernel, blocking over k, and
/// both cores for large products.
///
/// `B` is packed once per k-block into 8-column strips of SIMD vectors, `A` into 4-row strips, so the micro-kernel
/// reads both with unit stride whatever the operands' transposition. Products of a baseline x86-64 build use
/// unfused multiply-adds (fused ones are a library call per lane there).
enum PortableGEMM {
    static let rowBlock = 4
    static let columnBlock = 8
    static let depthBlock = 256

    static func multiply<S: TensorScalar>(
        _ p: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ c: UnsafeMutablePointer<S>
    ) where S: SIMDScalar {
        let strips = (p.n + columnBlock - 1) / columnBlock
        let rowStrips = (p.m + rowBlock - 1) / rowBlock
        let threads = p.flops >= 4_000_000 && rowStrips >= 2 ? 2 : 1
        let packedB = UnsafeMutablePointer<SIMD8<S>>.allocate(capacity: strips * Swift.min(p.k, depthBlock))
        defer { packedB.deallocate() }

        var k0 = 0
        while k0 < p.k {
            let kc = Swift.min(depthBlock, p.k - k0)
            packB(p, b, into: packedB, k0: k0, kc: kc, strips: strips)
            let accumulate = p.accumulate || k0 > 0
            let depthStart = k0
            let shared = SendablePointers(a: a, b: UnsafePointer(packedB), c: c)
            if threads == 1 {
                computeRows(p, shared, k0: k0, kc: kc, strips: strips, rowStrips: 0..<rowStrips, accumulate: accumulate)
            } else {
                let half = (rowStrips + 1) / 2
                DispatchQueue.concurrentPerform(iterations: 2) { part in
                    let range = part == 0 ? 0..<half : half..<rowStrips
                    computeRows(p, shared, k0: depthStart, kc: kc, strips: strips, rowStrips: range, accumulate: accumulate)
                }
            }
            k0 += kc
        }
    }

    /// Raw pointers handed to the worker threads; each thread writes a disjoint set of rows of `c`.
    private struct SendablePointers<S: TensorScalar & SIMDScalar>: @unchecked Sendable {
        let a: UnsafePointer<S>
        let b: UnsafePointer<SIMD8<S>>
        let c: UnsafeMutablePointer<S>
    }

    private static func packB<S: TensorScalar & SIMDScalar>(
        _ p: GEMMProblem, _ b: UnsafePointer<S>, into packed: UnsafeMutablePointer<SIMD8<S>>,
        k0: Int, kc: Int, strips: Int
    ) {
        for strip in 0..<strips {
            let j0 = strip * columnBlock
            let width = Swift.min(columnBlock, p.n - j0)
            for kk in 0..<kc {
                var v = SIMD8<S>()
                let k = k0 + kk
                for jj in 0..<width {
                    v[jj] = p.transposeB ? b[(j0 + jj) * p.ldb + k] : b[k * p.ldb + j0 + jj]
                }
                packed[strip * kc + kk] = v
            }
        }
    }

    private static func computeRows<S: TensorScalar & SIMDScalar>(
        _ p: GEMMProblem, _ pointers: SendablePointers<S>, k0: Int, kc: Int, strips: Int,
        rowStrips: Range<Int>, accumulate: Bool
    ) {
        let packedA = UnsafeMutablePointer<S>.allocate(capacity: rowBlock * kc)
        defer { packedA.deallocate() }
        let a = pointers.a, c = pointers.c
        for rowStrip in rowStrips {
            let i0 = rowStrip * rowBlock
            let height = Swift.min(rowBlock, p.m - i0)
            for kk in 0..<kc {
                let k = k0 + kk
                for ii in 0..<rowBlock {
                    packedA[kk * rowBlock + ii] = ii < height
                        ? (p.transposeA ? a[k * p.lda + i0 + ii] : a[(i0 + ii) * p.lda + k]) : 0
                }
            }
            for strip in 0..<strips {
                let j0 = strip * columnBlock
                let width = Swift.min(columnBlock, p.n - j0)
                microKernel(packedA, pointers.b + strip * kc, kc: kc, c: c + i0 * p.ldc + j0, ldc: p.ldc,
                            height: height, width: width, accumulate: accumulate)
            }
        }
    }

    @inline(__always)
    private static func microKernel<S: TensorScalar & SIMDScalar>(
        _ a: UnsafePointer<S>, _ b: UnsafePointer<SIMD8<S>>, kc: Int, c: UnsafeMutablePointer<S>, ldc: Int,
        height: Int, width: Int, accumulate: Bool
    ) {
        var c0 = SIMD8<S>(), c1 = SIMD8<S>(), c2 = SIMD8<S>(), c3 = SIMD8<S>()
        for kk in 0..<kc {
            let bv = b[kk]
            let ap = a + kk * rowBlock
            c0 += SIMD8(repeating: ap[0]) * bv
            c1 += SIMD8(repeating: ap[1]) * bv
            c2 += SIMD8(repeating: ap[2]) * bv
            c3 += SIMD8(repeating: ap[3]) * bv
        }
        store(c0, to: c, width: width, accumulate: accumulate)
        if height > 1 { store(c1, to: c + ldc, width: width, accumulate: accumulate) }
        if height > 2 { store(c2, to: c + 2 * ldc, width: width, accumulate: accumulate) }
        if height > 3 { store(c3, to: c + 3 * ldc, width: width, accumulate: accumulate) }
    }

    @inline(__always)
    private static func store<S: TensorScalar & SIMDScalar>(
        _ row: SIMD8<S>, to target: UnsafeMutablePointer<S>, width: Int, accumulate: Bool
    ) {
        if accumulate {
            for jj in 0..<width { target[jj] += row[jj] }
        } else {
            for jj in 0..<width { target[jj] = row[jj] }
        }
    }
}
