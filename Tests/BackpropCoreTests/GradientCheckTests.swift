import BackpropCore
import BackpropTestSupport
import Testing

/// One differentiable operation under test: its inputs and a scalar function that exercises it.
struct OpCase: Sendable, CustomTestStringConvertible {
    var name: String
    var inputs: @Sendable () -> [Tensor<Double>]
    var function: @Sendable ([Tensor<Double>]) -> Tensor<Double>
    var testDescription: String { name }

    /// A weighting by fixed values, so that the checked scalar depends on every output element differently.
    static func weighted(_ t: Tensor<Double>) -> Tensor<Double> {
        (t * TestData.uniform(shape: t.shape, seed: 99)).sum()
    }

    static func unary(_ name: String, shape: [Int] = [3, 4], positive: Bool = false,
                      _ f: @escaping @Sendable (Tensor<Double>) -> Tensor<Double>) -> OpCase {
        OpCase(name: name, inputs: {
            [positive ? TestData.uniform(shape: shape, in: 0.2...2, seed: 1) : TestData.awayFromZero(shape: shape, seed: 1)]
        }, function: { weighted(f($0[0])) })
    }

    static func binary(_ name: String, _ a: [Int], _ b: [Int], positiveRight: Bool = false,
                       _ f: @escaping @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>) -> OpCase {
        OpCase(name: name, inputs: {
            [TestData.awayFromZero(shape: a, seed: 2),
             positiveRight ? TestData.uniform(shape: b, in: 0.5...2, seed: 3) : TestData.awayFromZero(shape: b, seed: 3)]
        }, function: { weighted(f($0[0], $0[1])) })
    }

    static let all: [OpCase] = [
        unary("negate") { -$0 },
        unary("exp") { exp($0) },
        unary("log", positive: true) { log($0) },
        unary("sqrt", positive: true) { sqrt($0) },
        unary("abs") { abs($0) },
        unary("square") { square($0) },
        unary("reciprocal", positive: true) { reciprocal($0) },
        unary("power 3") { pow($0, 3) },
        unary("power 0.5", positive: true) { pow($0, 0.5) },
        unary("tanh") { tanh($0) },
        unary("sigmoid") { sigmoid($0) },
        unary("relu") { relu($0) },
        unary("leakyReLU") { leakyReLU($0, slope: 0.2) },
        unary("elu") { elu($0, alpha: 0.7) },
        unary("softplus") { softplus($0) },
        unary("gelu") { gelu($0) },
        unary("clamp") { clamp($0, lower: -0.5, upper: 0.55) },
        binary("add", [3, 4], [3, 4]) { $0 + $1 },
        binary("add broadcast row", [3, 4], [4]) { $0 + $1 },
        binary("subtract broadcast column", [3, 1], [3, 4]) { $0 - $1 },
        binary("multiply broadcast both", [2, 1, 4], [3, 1]) { $0 * $1 },
        binary("multiply scalar tensor", [3, 4], []) { $0 * $1 },
        binary("divide", [3, 4], [3, 4], positiveRight: true) { $0 / $1 },
        binary("divide broadcast", [3, 4], [1, 4], positiveRight: true) { $0 / $1 },
        binary("select", [3, 4], [3, 4]) { a, b in select(a .> 0, a * 2, b) },
        binary("matmul", [3, 5], [5, 4]) { $0.matmul($1) },
        binary("matmul Aᵀ", [5, 3], [5, 4]) { $0.matmul($1, transposeA: true) },
        binary("matmul Bᵀ", [3, 5], [4, 5]) { $0.matmul($1, transposeB: true) },
        binary("matmul AᵀBᵀ", [5, 3], [4, 5]) { $0.matmul($1, transposeA: true, transposeB: true) },
        binary("batched matmul", [2, 3, 4], [2, 4, 2]) { $0.batchedMatmul($1) },
        unary("sum all", shape: [2, 3, 4]) { $0.sum() },
        unary("sum axes 0,2", shape: [2, 3, 4]) { $0.sum(alongAxes: [0, 2]) },
        unary("sum axis keeping", shape: [2, 3, 4]) { $0.sum(alongAxis: 1, keepingDimensions: true) },
        unary("mean axis", shape: [2, 3, 4]) { $0.mean(alongAxis: -1) },
        unary("mean all", shape: [2, 3]) { $0.mean() },
        unary("max axis", shape: [3, 5]) { $0.max(alongAxis: 1) },
        unary("max keeping", shape: [3, 5]) { $0.max(alongAxis: 0, keepingDimensions: true) },
        unary("reshape", shape: [2, 6]) { $0.reshaped(to: [3, 2, 2]) },
        unary("broadcast", shape: [3, 1]) { $0.broadcast(to: [2, 3, 4]) },
        unary("transpose", shape: [3, 4]) { $0.transposed() },
        unary("transpose 3-D", shape: [2, 3, 4]) { $0.transposed(permutation: [1, 2, 0]) },
        unary("gather rows with repeats", shape: [4, 3]) { $0.gatheringRows([2, 0, 2, 3]) },
        unary("slice rows", shape: [5, 2]) { $0.rows(1..<4) },
        binary("concatenate axis 1", [3, 2], [3, 4]) { Tensor.concatenating([$0, $1], alongAxis: 1) },
        unary("softmax", shape: [3, 5]) { $0.softmax(alongAxis: 1) },
        unary("softmax axis 0", shape: [3, 5]) { $0.softmax(alongAxis: 0) },
        unary("logSoftmax", shape: [3, 5]) { $0.logSoftmax() },
        unary("logSumExp", shape: [3, 5]) { $0.logSumExp(alongAxis: 1) },
        unary("logSumExp keeping", shape: [3, 5]) { $0.logSumExp(alongAxis: 0, keepingDimensions: true) },
        OpCase(name: "softmaxCrossEntropy one-hot", inputs: { [TestData.uniform(shape: [4, 3], in: -2...2, seed: 4)] },
               function: { softmaxCrossEntropy(logits: $0[0], targets: Tensor.oneHot(labels: [0, 2, 1, 2], classCount: 3)) }),
        OpCase(name: "softmaxCrossEntropy soft targets, summed", inputs: { [TestData.uniform(shape: [2, 3], in: -2...2, seed: 5)] },
               function: { softmaxCrossEntropy(logits: $0[0], targets: Tensor([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]), averaged: false) }),
        // A value used several times: gradients from every use must be summed.
        OpCase(name: "fan-out", inputs: { [TestData.awayFromZero(shape: [3, 3], seed: 6)] },
               function: { x in let a = x[0]; return (a * a + sigmoid(a).matmul(a) - a).sum() }),
        // A small two-layer network: every op of a training step together.
        OpCase(name: "two-layer network", inputs: {
            [TestData.uniform(shape: [4, 3], seed: 7), TestData.uniform(shape: [5, 3], seed: 8),
             TestData.uniform(shape: [5], seed: 9), TestData.uniform(shape: [2, 5], seed: 10)]
        }, function: { p in
            let hidden = tanh(p[0].matmul(p[1], transposeB: true) + p[2])
            return softmaxCrossEntropy(logits: hidden.matmul(p[3], transposeB: true),
                                       targets: Tensor.oneHot(labels: [0, 1, 1, 0], classCount: 2))
        }),
    ]
}

@Suite("Gradients against finite differences")
struct GradientCheckTests {
    @Test(arguments: OpCase.all)
    func gradientMatchesFiniteDifferences(_ op: OpCase) {
        let report = GradientCheck.run(at: op.inputs(), op.function)
        #expect(report.passed(tolerance: 1e-6), "\(report)")
    }

    @Test func checkerCatchesAWrongGradient() {
        // x·stopGradient(x) has derivative x, not 2x: the checker must notice the missing half.
        let report = GradientCheck.run(at: [TestData.awayFromZero(shape: [3], seed: 1)]) { x in
            (x[0] * x[0].detached).sum()
        }
        #expect(!report.passed(tolerance: 1e-6))
        #expect(report.maxRelativeError > 0.4)
    }
}
