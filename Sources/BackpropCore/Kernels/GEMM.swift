/// One general matrix product `C = op(A) · op(B)` on row-major buffers, where `op(X)` is `X` or `Xᵀ`.
///
/// `op(A)` is `m × k`, `op(B)` is `k × n` and `C` is `m × n`. A transposed operand is read in place, never copied.
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

    /// Describes a product of dense, row-major operands.
    public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, accumulate: Bool = false) {
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.accumulate = accumulate
    }

    /// The row stride of `A` as stored.
    public var lda: Int { transposeA ? m : k }
    /// The row stride of `B` as stored.
    public var ldb: Int { transposeB ? k : n }
    /// Floating-point operations of the product (one multiply and one add per term).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Which implementation runs matrix products.
public enum KernelBackend: String, Sendable, Hashable, CustomStringConvertible {
    /// Apple's Accelerate framework (macOS).
    case accelerate
    /// OpenBLAS, loaded at run time from `libopenblas.so.0` (Linux).
    case openBLAS = "openblas"
    /// Backprop's own packed, register-blocked Swift kernel; runs everywhere.
    case portable

    /// The backend in use for this process.
    ///
    /// The platform BLAS when it can be loaded, else ``portable``. Setting the environment variable
    /// `BACKPROP_KERNELS=portable` before the process starts forces the portable kernel, so that both paths can be
    /// tested and compared; it is read once.
    public static let preferred: KernelBackend = {
        if let forced = Environment.value(of: "BACKPROP_KERNELS"), forced == "portable" {
            return .portable
        }
        return BLAS.library?.backend ?? .portable
    }()

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
                return "OpenBLAS (\(library.location)\(kernels)\(chosen))"
            } ?? "OpenBLAS"
        case .portable: "portable Swift kernel"
        }
    }
}

/// Matrix products on raw buffers, dispatched to the platform BLAS or the portable kernel.
public enum GEMM {
    /// Computes `C = op(A)·op(B)` (or `C +=` when `problem.accumulate`) on contiguous row-major buffers.
    ///
    /// - Parameters:
    ///   - backend: the implementation to use; ``KernelBackend/preferred`` unless you are comparing backends.
    public static func multiply<S: TensorScalar>(
        _ problem: GEMMProblem, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ c: UnsafeMutablePointer<S>,
        backend: KernelBackend = .preferred
    ) {
        guard problem.m > 0, problem.n > 0 else { return }
        guard problem.k > 0 else {
            if !problem.accumulate { c.update(repeating: 0, count: problem.m * problem.n) }
            return
        }
        S.gemm(problem, a, b, c, backend: backend)
    }
}
