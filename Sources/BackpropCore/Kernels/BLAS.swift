#if canImport(Accelerate)
import Accelerate
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The platform BLAS: Accelerate on Apple platforms, OpenBLAS found at run time on Linux.
///
/// Loading at run time keeps OpenBLAS optional: the package builds and runs where it is absent, using
/// ``PortableGEMM`` instead.
final class BLAS: @unchecked Sendable {
    // Sendable: every stored property is immutable after `init`, and the C functions are thread-safe.
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias DGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
        UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void
    typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?

    let backend: KernelBackend
    /// Where the library was found (a file name or framework).
    let location: String
    /// The CPU kernel family OpenBLAS chose (e.g. `SkylakeX`, `Haswell`, `Prescott`), when it reports one.
    let coreName: String?
    private let sgemmFunction: SGEMM
    private let dgemmFunction: DGEMM

    /// The loaded library, or `nil` when none is available.
    static let library: BLAS? = load()

    private init(backend: KernelBackend, location: String, coreName: String? = nil, sgemm: @escaping SGEMM,
                 dgemm: @escaping DGEMM) {
        self.backend = backend
        self.location = location
        self.coreName = coreName
        sgemmFunction = sgemm
        dgemmFunction = dgemm
    }

    private static func load() -> BLAS? {
        #if canImport(Accelerate)
        return BLAS(
            backend: .accelerate, location: "Accelerate.framework",
            sgemm: { cblas_sgemm(CblasRowMajor, CBLAS_TRANSPOSE(UInt32($1)), CBLAS_TRANSPOSE(UInt32($2)),
                                 $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) },
            dgemm: { cblas_dgemm(CblasRowMajor, CBLAS_TRANSPOSE(UInt32($1)), CBLAS_TRANSPOSE(UInt32($2)),
                                 $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) })
        #else
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let s = dlsym(handle, "cblas_sgemm"), let d = dlsym(handle, "cblas_dgemm") else {
                dlclose(handle)
                continue
            }
            let core = dlsym(handle, "openblas_get_corename").flatMap { unsafeBitCast($0, to: CoreName.self)() }
            return BLAS(
                backend: .openBLAS, location: name, coreName: core.map { String(cString: $0) },
                sgemm: unsafeBitCast(s, to: SGEMM.self), dgemm: unsafeBitCast(d, to: DGEMM.self))
        }
        return nil
        #endif
    }

    private static let rowMajor: Int32 = 101
    private static func transpose(_ flag: Bool) -> Int32 { flag ? 112 : 111 }

    func sgemm(_ p: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        sgemmFunction(BLAS.rowMajor, BLAS.transpose(p.transposeA), BLAS.transpose(p.transposeB),
                      Int32(p.m), Int32(p.n), Int32(p.k), 1, a, Int32(p.lda), b, Int32(p.ldb),
                      p.accumulate ? 1 : 0, c, Int32(p.n))
    }

    func dgemm(_ p: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
        dgemmFunction(BLAS.rowMajor, BLAS.transpose(p.transposeA), BLAS.transpose(p.transposeB),
                      Int32(p.m), Int32(p.n), Int32(p.k), 1, a, Int32(p.lda), b, Int32(p.ldb),
                      p.accumulate ? 1 : 0, c, Int32(p.n))
    }
}
