import BackpropCore

/// `updates`: nanoseconds per parameter of each optimizer rule, on one layer's worth of parameters that stays in cache
/// (one thread) and on W2's 535 818 parameters (two threads).
func runUpdates() {
    let rules: [(String, (Int) -> ParameterUpdate)] = [
        ("sgd", { _ in .sgd(learningRate: 0.1, weightDecay: 0) }),
        ("momentum", { _ in .momentum(learningRate: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0) }),
        ("adam", { .adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: $0, l2: 0, decoupledDecay: 0) }),
        ("rmsProp", { _ in .rmsProp(learningRate: 1e-3, rho: 0.9, epsilon: 1e-8, weightDecay: 0) }),
    ]
    print("optimizer updates, Float32, median ns per parameter")
    for (name, rule) in rules {
        let figures = [60_000, 535_818].map { n in
            "\(n) parameters \(format(nanosecondsPerParameter(n, rule), 3))"
        }
        print("  \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(figures.joined(separator: "   "))")
    }
}

private func nanosecondsPerParameter(_ n: Int, _ rule: (Int) -> ParameterUpdate) -> Double {
    var g = SeededGenerator(seed: 1)
    var parameter = Tensor<Float>.uniform(shape: [n], in: -1...1, using: &g)
    let gradient = Tensor<Float>.uniform(shape: [n], in: -1...1, using: &g)
    var state = (0..<rule(1).stateCount).map { _ in Tensor<Float>.zeros(shape: [n]) }
    let repetitions = 100
    var step = 0
    var samples: [Double] = []
    for _ in 0..<9 {
        let t = seconds {
            for _ in 0..<repetitions {
                step += 1
                parameter.apply(rule(step), gradient: gradient, state: &state)
            }
        }
        samples.append(t / Double(repetitions * n) * 1e9)
    }
    return median(samples)
}
