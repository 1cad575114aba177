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
    typealias SetThreadCount = @convention(c) (Int32) -> Void

    let backend: KernelBackend
    /// Where the library was found (a file name or framework).
    let location: String
    /// The CPU kernel family OpenBLAS chose (e.g. `SkylakeX`, `Haswell`, `Prescott`), when it reports one.
    let coreName: String?
    /// The kernel family Backprop asked OpenBLAS for through `OPENBLAS_CORETYPE`, or `nil` when it left the choice to
    /// OpenBLAS (the variable was already set, or the processor has neither AVX-512 nor AVX2).
    let requestedCoreType: String?
    private let sgemmFunction: SGEMM
    private let dgemmFunction: DGEMM

    /// The loaded library, or `nil` when none is available.
    static let library: BLAS? = load()

    private init(backend: KernelBackend, location: String, coreName: String? = nil, requestedCoreType: String? = nil,
                 sgemm: @escaping SGEMM, dgemm: @escaping DGEMM) {
        self.backend = backend
        self.location = location
        self.coreName = coreName
        self.requestedCoreType = requestedCoreType
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
        // OpenBLAS picks its kernels from the processor's model number when it loads, and releases that predate a
        // processor fall back to generic SSE kernels several times slower (Debian 12's 0.3.21 does so on current
        // Xeons). The instruction sets decide which kernels run correctly, so choose from them, unless the user has.
        // Backprop splits products over its own worker pool (``GEMM``), so OpenBLAS runs each part on one thread:
        // its own worker threads would only contend with ours for the cores, and its threaded driver allocates on
        // every call. Both settings are read by OpenBLAS while it loads; they are set for the load only, and the
        // process's environment is put back as it was, so that nothing else (a child process, another library)
        // sees a change it did not ask for.
        var settings = ["OPENBLAS_NUM_THREADS": "1"]
        if Environment.value(of: "OPENBLAS_CORETYPE") == nil, let core = openBLASCoreType(for: .current) {
            settings["OPENBLAS_CORETYPE"] = core
        }
        let requested = settings["OPENBLAS_CORETYPE"]
        return Environment.with(settings) { () -> BLAS? in
            for name in ["libopenblas.so.0", "libopenblas.so"] {
                guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
                guard let s = dlsym(handle, "cblas_sgemm"), let d = dlsym(handle, "cblas_dgemm") else {
                    dlclose(handle)
                    continue
                }
                if let setThreads = dlsym(handle, "openblas_set_num_threads") {
                    unsafeBitCast(setThreads, to: SetThreadCount.self)(1)
                }
                let core = dlsym(handle, "openblas_get_corename").flatMap { unsafeBitCast($0, to: CoreName.self)() }
                return BLAS(
                    backend: .openBLAS, location: name, coreName: core.map { String(cString: $0) }, requestedCoreType: requested,
                    sgemm: unsafeBitCast(s, to: SGEMM.self), dgemm: unsafeBitCast(d, to: DGEMM.self))
            }
            return nil
        }
        #endif
    }

    /// The OpenBLAS kernel family for a processor with `features`: `SkylakeX` with AVX-512, `Haswell` with AVX2 and
    /// FMA, otherwise `nil` (OpenBLAS's own choice).
    static func openBLASCoreType(for features: CPUFeatures) -> String? {
        #if arch(x86_64)
        if features.hasAVX512 { return "SkylakeX" }
        if features.hasAVX2 { return "Haswell" }
        #endif
        return nil
    }

    private static let rowMajor: Int32 = 101
    private static func transpose(_ flag: Bool) -> Int32 { flag ? 112 : 111 }

    func sgemm(_ p: GEMMProblem, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        sgemmFunction(BLAS.rowMajor, BLAS.transpose(p.transposeA), BLAS.transpose(p.transposeB),
                      Int32(p.m), Int32(p.n), Int32(p.k), 1, a, Int32(p.lda), b, Int32(p.ldb),
                      p.accumulate ? 1 : 0, c, Int32(p.ldc))
    }

    func dgemm(_ p: GEMMProblem, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
        dgemmFunction(BLAS.rowMajor, BLAS.transpose(p.transposeA), BLAS.transpose(p.transposeB),
                      Int32(p.m), Int32(p.n), Int32(p.k), 1, a, Int32(p.lda), b, Int32(p.ldb),
                      p.accumulate ? 1 : 0, c, Int32(p.ldc))
    }
}
