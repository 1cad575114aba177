import BackpropCore
import BackpropData
import BackpropNN
import Dispatch

// Release-build benchmarks: `swift run -c release BackpropBenchmarks [gemm|elementwise|all]`.
// Each figure is the median of several repetitions; compare ratios within one run, the machines are shared.

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func gemmThroughput(_ problem: GEMMProblem, backend: KernelBackend) -> Double {
    var g = SeededGenerator(seed: 1)
    let a = Tensor<Float>.uniform(shape: [problem.m * problem.k], using: &g)
    let b = Tensor<Float>.uniform(shape: [problem.k * problem.n], using: &g)
    var c = Tensor<Float>.zeros(shape: [problem.m * problem.n])
    let repetitions = max(3, Int(2e9 / problem.flops))
    var samples: [Double] = []
    a.withUnsafePointer { pa in
        b.withUnsafePointer { pb in
            c.withUnsafeMutablePointer { pc in
                GEMM.multiply(problem, pa, pb, pc, backend: backend)  // warm-up
                for _ in 0..<7 {
                    let t = seconds { for _ in 0..<repetitions { GEMM.multiply(problem, pa, pb, pc, backend: backend) } }
                    samples.append(problem.flops * Double(repetitions) / t / 1e9)
                }
            }
        }
    }
    return median(samples)
}

func runGEMM() {
    let shapes: [(String, GEMMProblem)] = [
        ("64×784 · 784×128", GEMMProblem(m: 64, n: 128, k: 784)),
        ("128×784 · 784×512", GEMMProblem(m: 128, n: 512, k: 784)),
        ("(128×784)ᵀ · 128×512", GEMMProblem(m: 784, n: 512, k: 128, transposeA: true)),
        ("1024³", GEMMProblem(m: 1024, n: 1024, k: 1024)),
    ]
    var backends: [KernelBackend] = [.portable]
    if KernelBackend.preferred != .portable { backends.insert(KernelBackend.preferred, at: 0) }
    print("GEMM, Float32, median GFLOP/s of 7 runs")
    for (name, problem) in shapes {
        let figures = backends.map { "\($0.rawValue) \(String(format: "%.1f", gemmThroughput(problem, backend: $0)))" }
        print("  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(figures.joined(separator: "   "))")
    }
}

func runElementwise() {
    var g = SeededGenerator(seed: 2)
    let x = Tensor<Float>.uniform(shape: [1 << 20], in: -1...1, using: &g)
    let y = Tensor<Float>.uniform(shape: [1 << 20], in: -1...1, using: &g)
    var samples: [Double] = []
    for _ in 0..<7 { samples.append(seconds { _ = relu(x) }) }
    print("relu, 2²⁰ Float32: \(String(format: "%.2f", Double(x.count) / median(samples) / 1e9)) G elements/s")
    samples = []
    for _ in 0..<7 { samples.append(seconds { _ = x * y }) }
    print("multiply, 2²⁰ Float32: \(String(format: "%.2f", Double(x.count) / median(samples) / 1e9)) G elements/s")
    let m = x.reshaped(to: [1024, 1024])
    let row = y.rows(0..<1024)
    samples = []
    for _ in 0..<7 { samples.append(seconds { _ = m + row }) }
    print("add row broadcast, 1024×1024 Float32: \(String(format: "%.2f", Double(x.count) / median(samples) / 1e9)) G elements/s")
}

/// The two reference workloads of ../shared/bench (same architecture, batch, optimizer and initialisation).
func runWorkload(_ name: String, epochs: Int) throws {
    let (sizes, batch, optimizer, rate): ([Int], Int, any Optimizer, Double) = name == "W1"
        ? ([784, 128, 10], 64, SGD(), 0.1)
        : ([784, 512, 256, 10], 128, Adam(), 1e-3)
    let training: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .train)
    let test: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .test)
    let model = Sequential<Float>.multilayerPerceptron(sizes: sizes, activation: .relu, initializer: .glorotUniform, seed: 0)
    let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: optimizer, learningRate: rate, batchSize: batch,
                          epochs: epochs, seed: 0)
    let result = try trainer.fit(model, on: training, validation: test) { event in
        if case .epochEnded(let r) = event {
            print("epoch \(r.epoch): \(String(format: "%.3f", r.seconds))s test_acc=\(String(format: "%.4f", r.validationAccuracy ?? 0))")
        }
    }
    let rest = result.history.dropFirst().map(\.seconds)
    let gflop = Double(6 * zip(sizes, sizes.dropFirst()).map { $0 * $1 }.reduce(0, +) - 2 * sizes[0] * sizes[1]) * 60_000 / 1e9
    if !rest.isEmpty {
        let m = median(Array(rest))
        print("RESULT backprop \(name): median epoch (2..\(epochs)) \(String(format: "%.3f", m)) s, first \(String(format: "%.3f", result.history[0].seconds)) s, "
              + "\(String(format: "%.1f", gflop / m)) GFLOP/s, final test accuracy \(String(format: "%.4f", result.history.last?.validationAccuracy ?? 0))")
    }
}

import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first ?? "all"
print("backend: \(KernelBackend.preferred)")
if mode == "gemm" || mode == "all" { runGEMM() }
if mode == "elementwise" || mode == "all" { runElementwise() }
if mode == "W1" || mode == "W2" {
    do {
        try runWorkload(mode, epochs: arguments.count > 1 ? Int(arguments[1]) ?? 5 : 5)
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
