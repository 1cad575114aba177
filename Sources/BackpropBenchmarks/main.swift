import BackpropCore
import Foundation

// Release-build benchmarks, never run as tests:
//   swift build -c release
//   .build/release/BackpropBenchmarks W1 [epochs] [seed]   the reference workloads (see ../shared/bench), default
//   .build/release/BackpropBenchmarks W2 [epochs] [seed] [float32|bf16]   5 epochs, seed 0, Float32 products
//   .build/release/BackpropBenchmarks C1|C2 [epochs] [seed]   the convolutional workloads of w_torch_cnn.py
//   .build/release/BackpropBenchmarks parity W1|W2 [epochs] [seed]   accuracy from the reference's own initial
//                                                     weights and epoch orders (numpy's draws, reproduced)
//   .build/release/BackpropBenchmarks gemm            matrix-product throughput per backend
//   .build/release/BackpropBenchmarks products W1|W2|C1|C2 [rounds]   one step's products alone, Float32 against
//                                                     bfloat16, alternated in one process (fastest of 1000 each)
//   .build/release/BackpropBenchmarks updates         optimizer-update throughput
//   .build/release/BackpropBenchmarks threads         the worker pool's hand-off cost and idle CPU time
// BACKPROP_KERNELS=portable runs every product on the portable kernel, BACKPROP_KERNELS=openblas on OpenBLAS.
// Compare ratios measured in one run, alternating with the numpy reference: the machines are shared and noisy.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "updates":
    runUpdates()
case "threads":
    runThreadCosts()
case "gemm":
    print("backend: \(KernelBackend.preferred)")
    runGEMM()
case "products":
    let name = arguments.count > 1 ? arguments[1] : ""
    let rounds = arguments.count > 2 ? Int(arguments[2]) : 1000
    guard let workload = Workload.all.first(where: { $0.name == name }), let rounds, rounds > 0, arguments.count <= 3 else {
        FileHandle.standardError.write(Data("error: expected products W1|W2|C1|C2 [rounds > 0]\n".utf8))
        exit(2)
    }
    do {
        try runPrecisionProducts(workload, rounds: rounds)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
case "parity":
    let name = arguments.count > 1 ? arguments[1] : ""
    let epochs = arguments.count > 2 ? Int(arguments[2]) : 5
    let seed = arguments.count > 3 ? UInt32(arguments[3]) : 0
    guard let workload = Workload.all.first(where: { $0.name == name }), let epochs, epochs > 0, let seed,
          arguments.count <= 4 else {
        FileHandle.standardError.write(Data("error: expected parity W1|W2 [epochs > 0] [seed ≥ 0]\n".utf8))
        exit(2)
    }
    do {
        try runParity(workload, epochs: epochs, seed: seed)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
case let name? where Workload.all.contains { $0.name == name }:
    let epochs = arguments.count > 1 ? Int(arguments[1]) : 5
    let seed = arguments.count > 2 ? UInt64(arguments[2]) : 0
    let precision: MatrixPrecision? = arguments.count > 3 ? (arguments[3] == "bf16" ? .bfloat16 : arguments[3] == "float32" ? .float32 : nil) : .float32
    guard let epochs, epochs > 0, let seed, let precision, arguments.count <= 4 else {
        FileHandle.standardError.write(Data("error: expected W1|W2|C1|C2 [epochs > 0] [seed ≥ 0] [float32|bf16], got '\(arguments.joined(separator: " "))'\n".utf8))
        exit(2)
    }
    do {
        try run(Workload.all.first { $0.name == name }!, epochs: epochs, seed: seed, precision: precision)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data("usage: BackpropBenchmarks W1|W2|C1|C2 [epochs] [seed] | parity W1|W2 [epochs] [seed] | gemm | products W1|W2|C1|C2 [rounds] | updates | threads\n".utf8))
    exit(2)
}
