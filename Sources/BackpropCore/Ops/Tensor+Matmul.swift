// Matrix products. Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    /// The matrix product `op(self) · op(other)`, where `op` transposes an operand in place when asked.
    ///
    /// `self` is `m × k` (or `k × m` when `transposeA`), `other` is `k × n` (or `n × k` when `transposeB`).
    /// Runs on ``KernelBackend/preferred``.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul: needs two matrices, got shapes \(shape) and \(other.shape)")
        let (m, k) = transposeA ? (shape[1], shape[0]) : (shape[0], shape[1])
        let (k2, n) = transposeB ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        precondition(k == k2, "matmul: inner dimensions differ: \(shape)\(transposeA ? "ᵀ" : "") · \(other.shape)\(transposeB ? "ᵀ" : "")")
        let result = Tensor(uninitializedShape: [m, n])
        GEMM.multiply(GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB),
                      storage.pointer, other.storage.pointer, result.storage.pointer)
        return Tensor.recorded(.matmul(transposeA: transposeA, transposeB: transposeB),
                               inputs: [self, other], value: result)
    }

    /// The batched matrix product of `[batch, m, k]` and `[batch, k, n]` stacks: one product per batch entry.
    public func batchedMatmul(_ other: Tensor) -> Tensor {
        let value = Tensor.batchedProduct(self, other, transposeA: false, transposeB: false)
        return Tensor.recorded(.batchedMatmul, inputs: [self, other], value: value)
    }

    static func batchedProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0],
                     "batchedMatmul: needs two [batch, rows, columns] stacks of equal batch, got \(a.shape) and \(b.shape)")
        let batch = a.shape[0]
        let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
        let (k2, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
        precondition(k == k2, "batchedMatmul: inner dimensions differ: \(a.shape) · \(b.shape)")
        let result = Tensor(uninitializedShape: [batch, m, n])
        let problem = GEMMProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        for i in 0..<batch {
            GEMM.multiply(problem, a.storage.pointer + i * m * k, b.storage.pointer + i * k * n,
                          result.storage.pointer + i * m * n)
        }
        return result
    }
}
