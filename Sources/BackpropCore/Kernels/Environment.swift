#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads process environment variables: ``ComputeConfiguration/fromEnvironment()`` and the OpenBLAS loader consult them.
enum Environment {
    static func value(of name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}
