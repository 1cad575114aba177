import BackpropCore
import Foundation
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

    /// OpenBLAS is loaded with one thread (and kernels chosen from the CPU flags), but the process's environment is
    /// left as it started: a child process or another library sees no setting it did not ask for.
    @Test(.enabled(if: KernelBackend.preferred == .openBLAS || KernelBackend.largeProductsOnPortableKernel))
    func loadingOpenBLASLeavesTheEnvironmentAsItWas() throws {
        #if os(Linux)
        _ = Tensor<Float>.ones(shape: [4, 4]).matmul(.ones(shape: [4, 4]))  // loads the library, if not yet
        // /proc/self/environ holds the environment the process started with; setenv does not change it.
        let initial = try String(contentsOfFile: "/proc/self/environ", encoding: .utf8).split(separator: "\0")
        for name in ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"] {
            let atStart = initial.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
            #expect(getenv(name).map { String(cString: $0) } == atStart, "\(name)")
        }
        #endif
    }
}
