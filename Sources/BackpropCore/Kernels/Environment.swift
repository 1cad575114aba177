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

    /// Runs `body` with the variables `settings` set where they are unset (a value the user gave is kept), then puts
    /// those variables back as they were.
    static func with<R>(_ settings: [String: String], _ body: () -> R) -> R {
        let added = settings.filter { getenv($0.key) == nil }
        for (name, value) in added { setenv(name, value, 0) }
        defer { for name in added.keys { unsetenv(name) } }
        return body()
    }
}
