import BackpropCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Compute configuration", .serialized)
struct ComputeConfigurationTests {
    /// Reads the configuration with the environment variables set to `values` (nil: unset), then restores them.
    func configuration(_ values: [String: String?]) -> ComputeConfiguration {
        let saved = values.keys.map { ($0, getenv($0).map { String(cString: $0) }) }
        defer {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
        }
        for (name, value) in values {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        return ComputeConfiguration.fromEnvironment()
    }

    @Test func theEnvironmentChoosesThreadsAndKernels() {
        #expect(configuration(["BACKPROP_THREADS": "5", "BACKPROP_KERNELS": "openblas"]) == ComputeConfiguration(threads: 5, kernels: .openBLAS))
        #expect(configuration(["BACKPROP_THREADS": nil, "BACKPROP_KERNELS": "Portable"]).kernels == .portable)
        let defaults = ComputeConfiguration()
        #expect(defaults.threads == Parallelism.availableProcessors && defaults.kernels == .automatic)
        // Values that are not understood keep the defaults.
        for threads in ["0", "-2", "many", "100000"] {
            #expect(configuration(["BACKPROP_THREADS": threads, "BACKPROP_KERNELS": "cuda"]) == defaults)
        }
    }

    @Test func theProcessorsAvailableAreAtLeastOne() {
        #expect(Parallelism.availableProcessors >= 1)
        #expect(Parallelism.threads >= 1 && Parallelism.pool.threads == Parallelism.configuration.threads)
    }
}
