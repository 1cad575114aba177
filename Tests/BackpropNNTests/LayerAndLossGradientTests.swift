import BackpropCore
import BackpropNN
import BackpropTestSupport
import Testing

/// A layer or loss under the finite-difference check: the function of (parameters…, input) it computes.
struct ModuleCase: Sendable, CustomTestStringConvertible {
    var name: String
    var inputs: @Sendable () -> [Tensor<Double>]
    var function: @Sendable ([Tensor<Double>]) -> Tensor<Double>
    var testDescription: String { name }

    static let weights = TestData.uniform(shape: [3, 5], seed: 31)

    /// Checks a parameterised layer with respect to its parameters and its input together.
    static func layer(_ name: String, _ make: @escaping @Sendable () -> any Layer<Double>, inputShape: [Int] = [4, 3]) -> ModuleCase {
        ModuleCase(name: name, inputs: {
            make().parameters + [TestData.awayFromZero(shape: inputShape, seed: 32)]
        }, function: { values in
            var layer = make()
            layer.parameters = Array(values.dropLast())
            var context = ForwardContext.training(generator: SeededGenerator(seed: 7))  // same dropout mask every call
            let output = layer(values.last!, context: &context)
            return (output * TestData.uniform(shape: output.shape, seed: 33)).sum()
        })
    }

    static func loss(_ loss: Loss, targets: Targets<Double>, reduction: LossReduction = .mean, positive: Bool = false) -> ModuleCase {
        ModuleCase(name: "\(loss) \(reduction)", inputs: {
            [positive ? TestData.uniform(shape: [4, 3], in: 0.05...0.95, seed: 34) : TestData.uniform(shape: [4, 3], in: -2...2, seed: 34)]
        }, function: { loss($0[0], targets, reduction: reduction) })
    }

    static let valueTargets = Targets<Double>.values(TestData.uniform(shape: [4, 3], in: 0...1, seed: 35))
    static let classTargets = Targets<Double>.classes([2, 0, 1, 2])

    static let all: [ModuleCase] = [
        layer("Dense") {
            var g = SeededGenerator(seed: 1)
            var dense = Dense<Double>(inputSize: 3, outputSize: 5, generator: &g)
            dense.bias = TestData.uniform(shape: [5], seed: 2)
            return dense
        },
        layer("Activation sigmoid") { ActivationLayer<Double>(.sigmoid) },
        layer("Activation tanh") { ActivationLayer<Double>(.tanh) },
        layer("Activation relu") { ActivationLayer<Double>(.relu) },
        layer("Activation leaky relu") { ActivationLayer<Double>(.leakyReLU(slope: 0.1)) },
        layer("Activation elu") { ActivationLayer<Double>(.elu(alpha: 1)) },
        layer("Activation gelu") { ActivationLayer<Double>(.gelu) },
        layer("Activation softplus") { ActivationLayer<Double>(.softplus) },
        layer("Activation softmax") { ActivationLayer<Double>(.softmax) },
        layer("Activation identity") { ActivationLayer<Double>(.identity) },
        layer("Dropout (training)") { Dropout<Double>(rate: 0.4) },
        layer("Sequential MLP") { Sequential<Double>.multilayerPerceptron(sizes: [3, 4, 2], activation: .tanh, seed: 3) },
        layer("Sequential with dropout") {
            var g = SeededGenerator(seed: 4)
            return Sequential<Double> {
                Dense(inputSize: 3, outputSize: 6, generator: &g)
                ActivationLayer(.elu(alpha: 1))
                Dropout(rate: 0.3)
                Dense(inputSize: 6, outputSize: 2, generator: &g)
            }
        },
        loss(.halfSquaredError, targets: valueTargets),
        loss(.halfSquaredError, targets: classTargets, reduction: .sum),
        loss(.meanSquaredError, targets: valueTargets),
        loss(.meanSquaredError, targets: valueTargets, reduction: .sum),
        loss(.meanAbsoluteError, targets: valueTargets),
        loss(.huber(delta: 0.5), targets: valueTargets),
        loss(.crossEntropy, targets: classTargets, positive: true),
        loss(.crossEntropy(labelSmoothing: 0.1), targets: classTargets, reduction: .sum, positive: true),
        loss(.softmaxCrossEntropy, targets: classTargets),
        loss(.softmaxCrossEntropy, targets: classTargets, reduction: .sum),
        loss(.softmaxCrossEntropy(labelSmoothing: 0.2), targets: classTargets),
        loss(.softmaxCrossEntropy, targets: .values(Tensor([[0.2, 0.3, 0.5], [1, 0, 0], [0.1, 0.1, 0.8], [0, 0.5, 0.5]]))),
        loss(.binaryCrossEntropy, targets: valueTargets),
        loss(.binaryCrossEntropy, targets: valueTargets, reduction: .sum),
        ModuleCase(name: "binary-cross-entropy, one logit, class labels", inputs: {
            [TestData.uniform(shape: [4, 1], in: -2...2, seed: 36)]
        }, function: { Loss.binaryCrossEntropy($0[0], .classes([1, 0, 0, 1])) }),
    ]
}

@Suite("Layers and losses against finite differences")
struct LayerAndLossGradientTests {
    @Test(arguments: ModuleCase.all)
    func gradientMatchesFiniteDifferences(_ module: ModuleCase) {
        let report = GradientCheck.run(at: module.inputs(), module.function)
        #expect(report.passed(tolerance: 1e-6), "\(report)")
    }
}

@Suite("Loss values")
struct LossValueTests {
    @Test func values() {
        let output = Tensor<Double>([[0.5, 2], [1, -1]])
        let target = Tensor<Double>([[1, 1], [1, 1]])
        // ½ Σ (T − a)² per sample: (0.125 + 0.5) and (0 + 2), mean over 2 samples.
        #expect(Swift.abs(Loss.halfSquaredError(output, .values(target)).scalar - (0.625 + 2) / 2) < 1e-15)
        // The plain mean of squares over all 4 elements: (0.25 + 1 + 0 + 4) / 4.
        #expect(Swift.abs(Loss.meanSquaredError(output, .values(target)).scalar - 5.25 / 4) < 1e-15)
        // One definition: the sum over samples of the per-sample mean, so that sum / samples is the mean.
        #expect(Swift.abs(Loss.meanSquaredError(output, .values(target), reduction: .sum).scalar - 5.25 / 2) < 1e-15)
        #expect(Swift.abs(Loss.meanAbsoluteError(output, .values(target)).scalar - (1.5 + 2) / 2) < 1e-15)
        // Huber δ = 1: residuals −0.5, 1, 0, −2 → 0.125, 0.5, 0, 1.5.
        #expect(Swift.abs(Loss.huber(delta: 1)(output, .values(target), reduction: .sum).scalar - 2.125) < 1e-15)
        // Binary cross-entropy on logits z with y: softplus(z) − z y = −log σ(z) for y = 1.
        let bce = Loss.binaryCrossEntropy(Tensor<Double>([[0]]), .values(Tensor([[1]]))).scalar
        #expect(Swift.abs(bce - Foundation_log(2)) < 1e-15)
        // On one logit, class labels 0 and 1 are the targets themselves.
        let logits = Tensor<Double>([[0.3], [-1.2], [2]])
        let byClass = Loss.binaryCrossEntropy(logits, .classes([1, 0, 1])).scalar
        let byValue = Loss.binaryCrossEntropy(logits, .values(Tensor([[1], [0], [1]]))).scalar
        #expect(byClass == byValue)
        // Cross-entropy on probabilities equals softmax cross-entropy on their logarithms.
        let p = Tensor<Double>([[0.2, 0.3, 0.5]])
        let a = Loss.crossEntropy(p, .classes([1])).scalar
        let b = Loss.softmaxCrossEntropy(log(p), .classes([1])).scalar
        #expect(Swift.abs(a - b) < 1e-14 && Swift.abs(a + Foundation_log(0.3)) < 1e-14)
        // Label smoothing 0.3 over 3 classes: targets (0.1, 0.8, 0.1).
        let smoothed = Loss.crossEntropy(labelSmoothing: 0.3)(p, .classes([1])).scalar
        #expect(Swift.abs(smoothed + 0.1 * Foundation_log(0.2) + 0.8 * Foundation_log(0.3) + 0.1 * Foundation_log(0.5)) < 1e-14)
    }

    /// Probabilities from each classification loss's outputs, against a softmax and a logistic written out here.
    @Test func probabilitiesFollowTheLoss() {
        let z = Tensor<Double>([[1, 2, 3], [0.5, -1, 0]])
        var softmax: [Double] = []
        for row in 0..<2 {
            let e = (0..<3).map { Foundation_exp(z.scalars[row * 3 + $0]) }
            softmax += e.map { $0 / e.reduce(0, +) }
        }
        let fromLogits = Loss.softmaxCrossEntropy.probabilities(fromOutput: z)
        #expect(zip(fromLogits.scalars, softmax).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        // A cross-entropy model already ends in a softmax: its outputs are the probabilities, not softmaxed again.
        let p = Tensor<Double>(shape: [2, 3], elements: softmax)
        #expect(Loss.crossEntropy.probabilities(fromOutput: p).scalars == softmax)
        let logit = Tensor<Double>([[0.4], [-2]])
        let binary = Loss.binaryCrossEntropy.probabilities(fromOutput: logit).scalars
        let expected = [0.4, -2].flatMap { z -> [Double] in let p = 1 / (1 + Foundation_exp(-z)); return [1 - p, p] }
        #expect(zip(binary, expected).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
    }

    @Test func softmaxCrossEntropyOutputErrorIsPredictionMinusTarget() {
        let z = Tensor<Double>([[1, 2, 3], [0, 0, 0]]).requiringGradient()
        let loss = Loss.softmaxCrossEntropy(z, .classes([2, 0]))
        let delta = loss.gradients(withRespectTo: [z])[0]
        let expected = (z.detached.softmax() - Tensor.oneHot(labels: [2, 0], classCount: 3)) / 2
        #expect(TestData.maxDifference(delta, expected) < 1e-15)
    }
}
