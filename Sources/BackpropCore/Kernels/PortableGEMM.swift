/// Backprop's own matrix product: packed panels, a 4 × 8 register-blocked micro-kernel and blocking over k, on the
/// calling thread (``GEMM/multiply(_:_:_:_:backend:)`` splits large products over two threads).
///
/// `B` is packed once per k-block into 8-column strips, `A` into 4-row strips, so the micro-kernel reads both with
/// unit stride whatever the operands' transposition. The packed panels live in the calling thread's ``ThreadScratch``,
/// so a product allocates nothing once the thread has run one as large. The arithmetic goes through ``Lanes``, whose
/// concrete conformances compile to vector instructions; products of a baseline x86-64 build use unfused
/// multiply-adds (fused ones are a library call per lane there).
enum PortableGEMM {
    static let rowBlock = 4
    static let columnBlock = 8
    static let depthBlock = 256

    static func multiply<V: Lanes>(
        _ p: GEMMProblem, _ a: UnsafePointer<V.Scalar>, _ b: UnsafePointer<V.Scalar>, _ c: UnsafeMutablePointer<V.Scalar>,
        lanes: V.Type
    ) {
        let strips = (p.n + columnBlock - 1) / columnBlock
        let depth = Swift.min(p.k, depthBlock)
        let packedBCount = strips * depth * columnBlock
        ThreadScratch.withBuffer(of: V.Scalar.self, count: packedBCount + rowBlock * depth) { scratch in
            multiply(p, a, b, c, packedB: scratch, packedA: scratch + packedBCount, strips: strips, lanes: lanes)
        }
    }

    private static func multiply<V: Lanes>(
        _ p: GEMMProblem, _ a: UnsafePointer<V.Scalar>, _ b: UnsafePointer<V.Scalar>, _ c: UnsafeMutablePointer<V.Scalar>,
        packedB: UnsafeMutablePointer<V.Scalar>, packedA: UnsafeMutablePointer<V.Scalar>, strips: Int, lanes: V.Type
    ) {
        var k0 = 0
        while k0 < p.k {
            let kc = Swift.min(depthBlock, p.k - k0)
            packB(p, b, into: packedB, k0: k0, kc: kc, strips: strips)
            let accumulate = p.accumulate || k0 > 0
            for i0 in stride(from: 0, to: p.m, by: rowBlock) {
                let height = Swift.min(rowBlock, p.m - i0)
                packA(p, a, into: packedA, i0: i0, height: height, k0: k0, kc: kc)
                for strip in 0..<strips {
                    let j0 = strip * columnBlock
                    microKernel(packedA, packedB + strip * kc * columnBlock, kc: kc, c: c + i0 * p.ldc + j0,
                                ldc: p.ldc, height: height, width: Swift.min(columnBlock, p.n - j0),
                                accumulate: accumulate, lanes: lanes)
                }
            }
            k0 += kc
        }
    }

    /// Packs rows `k0 ..< k0 + kc` of `op(B)` into strips of eight columns, zero-padded on the right.
    private static func packB<S: TensorScalar>(
        _ p: GEMMProblem, _ b: UnsafePointer<S>, into packed: UnsafeMutablePointer<S>, k0: Int, kc: Int, strips: Int
    ) {
        for strip in 0..<strips {
            let j0 = strip * columnBlock
            let width = Swift.min(columnBlock, p.n - j0)
            for kk in 0..<kc {
                let k = k0 + kk
                let target = packed + (strip * kc + kk) * columnBlock
                for jj in 0..<columnBlock {
                    target[jj] = jj < width ? (p.transposeB ? b[(j0 + jj) * p.ldb + k] : b[k * p.ldb + j0 + jj]) : 0
                }
            }
        }
    }

    /// Packs columns `k0 ..< k0 + kc` of rows `i0 ..< i0 + height` of `op(A)`, four values per k, zero-padded.
    private static func packA<S: TensorScalar>(
        _ p: GEMMProblem, _ a: UnsafePointer<S>, into packed: UnsafeMutablePointer<S>, i0: Int, height: Int,
        k0: Int, kc: Int
    ) {
        for kk in 0..<kc {
            let k = k0 + kk
            for ii in 0..<rowBlock {
                packed[kk * rowBlock + ii] = ii < height
                    ? (p.transposeA ? a[k * p.lda + i0 + ii] : a[(i0 + ii) * p.lda + k]) : 0
            }
        }
    }

    @inline(__always)
    private static func microKernel<V: Lanes>(
        _ a: UnsafePointer<V.Scalar>, _ b: UnsafePointer<V.Scalar>, kc: Int, c: UnsafeMutablePointer<V.Scalar>,
        ldc: Int, height: Int, width: Int, accumulate: Bool, lanes _: V.Type
    ) {
        var c0 = V(), c1 = V(), c2 = V(), c3 = V()
        for kk in 0..<kc {
            let bv = V(loading: b + kk * columnBlock)
            let ap = a + kk * rowBlock
            c0 = c0 + V(repeating: ap[0]) * bv
            c1 = c1 + V(repeating: ap[1]) * bv
            c2 = c2 + V(repeating: ap[2]) * bv
            c3 = c3 + V(repeating: ap[3]) * bv
        }
        store(c0, to: c, width: width, accumulate: accumulate)
        if height > 1 { store(c1, to: c + ldc, width: width, accumulate: accumulate) }
        if height > 2 { store(c2, to: c + 2 * ldc, width: width, accumulate: accumulate) }
        if height > 3 { store(c3, to: c + 3 * ldc, width: width, accumulate: accumulate) }
    }

    @inline(__always)
    private static func store<V: Lanes>(_ row: V, to target: UnsafeMutablePointer<V.Scalar>, width: Int, accumulate: Bool) {
        if width == columnBlock {
            (accumulate ? V(loading: target) + row : row).store(to: target)
        } else if accumulate {
            for jj in 0..<width { target[jj] += row[jj] }
        } else {
            for jj in 0..<width { target[jj] = row[jj] }
        }
    }
}
