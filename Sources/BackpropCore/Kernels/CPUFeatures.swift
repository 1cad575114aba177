#if canImport(Glibc)
import Glibc
#endif

/// The vector instruction sets of the processor, as the operating system reports them.
///
/// Used to choose OpenBLAS's kernel family when OpenBLAS cannot identify the processor itself (see
/// ``BLAS/openBLASCoreType(for:)``).
struct CPUFeatures: Sendable, Equatable {
    /// The feature flags, e.g. `avx2`, `fma`, `avx512f` (lower case, as `/proc/cpuinfo` spells them).
    let flags: Set<String>

    /// The features of this machine: the `flags` line of `/proc/cpuinfo` on Linux, empty elsewhere.
    static let current: CPUFeatures = {
        #if os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return CPUFeatures(flags: []) }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix("flags") || text.hasPrefix("Features"), let colon = text.firstIndex(of: ":") else { continue }
            return CPUFeatures(cpuinfoFlags: String(text[text.index(after: colon)...]))
        }
        #endif
        return CPUFeatures(flags: [])
    }()

    /// Parses the space-separated flag list of a `/proc/cpuinfo` line.
    init(cpuinfoFlags: String) {
        flags = Set(cpuinfoFlags.split(whereSeparator: \.isWhitespace).map { $0.lowercased() })
    }

    init(flags: Set<String>) {
        self.flags = flags
    }

    /// AVX-512 with the subsets OpenBLAS's `SkylakeX` kernels use.
    var hasAVX512: Bool { flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) }
    /// AVX2 with fused multiply-add (OpenBLAS's `Haswell` kernels).
    var hasAVX2: Bool { flags.isSuperset(of: ["avx2", "fma"]) }
}
