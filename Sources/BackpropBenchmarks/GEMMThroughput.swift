import BackpropCore

/// Median seconds of one product of `problem`'s shape on random data, on `backend` (by default, as training runs it).
func gemmSeconds(_ problem: GEMMProblem, backend: KernelBackend? = nil, minimumSeconds: Double = 0.05) -> Double {
    var g = SeededGenerator(seed: 1)
    let a = Tensor<Float>.uniform(shape: [problem.m * problem.k], using: &g)
    let b = Tensor<Float>.uniform(shape: [problem.k * problem.n], using: &g)
    var c = Tensor<Float>.zeros(shape: [problem.m * problem.n])
    let repetitions = max(3, Int(2e8 / problem.flops))
    var samples: [Double] = []
    a.withUnsafePointer { pa in
        b.withUnsafePointer { pb in
            c.withUnsafeMutablePointer { pc in
                for _ in 0..<repetitions { GEMM.multiply(problem, pa, pb, pc, backend: backend) }  // warm-up
                var total = 0.0
                while samples.count < 7 || total < minimumSeconds {
                    let t = seconds { for _ in 0..<repetitions { GEMM.multiply(problem, pa, pb, pc, backend: backend) } }
                    samples.append(t / Double(repetitions))
                    total += t
                }
            }
        }
    }
    return median(samples)
}

/// Median seconds of one bfloat16 product of `problem`'s shape on random data, on the calling thread.
func bf16Seconds(_ problem: GEMMProblem, path: BFloat16Products.Path = .automatic, minimumSeconds: Double = 0.05) -> Double {
    var g = SeededGenerator(seed: 1)
    let a = (0..<(problem.m * problem.k)).map { _ in Float.random(in: -1...1, using: &g) }
    let b = (0..<(problem.k * problem.n)).map { _ in Float.random(in: -1...1, using: &g) }
    var c = [Float](repeating: 0, count: problem.m * problem.n)
    let repetitions = max(3, Int(2e8 / problem.flops))
    var samples: [Double] = []
    c.withUnsafeMutableBufferPointer { pc in
        for _ in 0..<repetitions { BFloat16Products.multiply(problem, a, b, pc.baseAddress!, path: path) }  // warm-up
        var total = 0.0
        while samples.count < 7 || total < minimumSeconds {
            let t = seconds { for _ in 0..<repetitions { BFloat16Products.multiply(problem, a, b, pc.baseAddress!, path: path) } }
            samples.append(t / Double(repetitions))
            total += t
        }
    }
    return median(samples)
}

/// `gemm`: throughput of representative shapes on every available backend, and as training dispatches them.
func runGEMM() {
    let shapes: [(String, GEMMProblem)] = [
        ("64×784 · (128×784)ᵀ", GEMMProblem(m: 64, n: 128, k: 784, transposeB: true)),
        ("128×784 · (512×784)ᵀ", GEMMProblem(m: 128, n: 512, k: 784, transposeB: true)),
        ("(128×512)ᵀ · 128×784", GEMMProblem(m: 512, n: 784, k: 128, transposeA: true)),
        ("64×128 · (10×128)ᵀ", GEMMProblem(m: 64, n: 10, k: 128, transposeB: true)),
        ("1024³", GEMMProblem(m: 1024, n: 1024, k: 1024)),
        // C1's convolutions on unfolded inputs: forward, weight gradient, input gradient.
        ("C1 conv1 86528×9 · (32×9)ᵀ", GEMMProblem(m: 86528, n: 32, k: 9, transposeB: true)),
        ("C1 conv1 (86528×32)ᵀ · 86528×9", GEMMProblem(m: 32, n: 9, k: 86528, transposeA: true)),
        ("C1 conv1 (86528×9)ᵀ · 86528×32", GEMMProblem(m: 9, n: 32, k: 86528, transposeA: true)),
        ("C1 conv2 15488×288 · (64×288)ᵀ", GEMMProblem(m: 15488, n: 64, k: 288, transposeB: true)),
        ("C1 conv2 (15488×64)ᵀ · 15488×288", GEMMProblem(m: 64, n: 288, k: 15488, transposeA: true)),
        ("C1 conv2 15488×64 · 64×288", GEMMProblem(m: 15488, n: 288, k: 64)),
        ("C1 conv2 (15488×288)ᵀ · 15488×64", GEMMProblem(m: 288, n: 64, k: 15488, transposeA: true)),
    ]
    var backends: [KernelBackend] = [.portable]
    if KernelBackend.preferred != .portable { backends.insert(KernelBackend.preferred, at: 0) }
    print("GEMM, Float32, median GFLOP/s")
    for (name, problem) in shapes {
        // "default" is the dispatch training uses: the backend by size, or the small-product kernel.
        let figures = backends.map { "\($0.rawValue) \(format(problem.flops / gemmSeconds(problem, backend: $0) / 1e9, 1))" }
            + ["default \(format(problem.flops / gemmSeconds(problem) / 1e9, 1))"]
            + ["bfloat16 (one thread) \(format(problem.flops / bf16Seconds(problem) / 1e9, 1))"]
        print("  \(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(figures.joined(separator: "   "))")
    }
}

import Foundation
