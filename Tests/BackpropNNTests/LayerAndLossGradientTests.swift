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
    static func layer(_ name: String, inputShape: [Int] = [4, 3], training: Bool = true,
                      _ make: @escaping @Sendable () -> any Layer<Double>) -> ModuleCase {
        ModuleCase(name: name, inputs: {
            make().parameters + [TestData.awayFromZero(shape: inputShape, seed: 32)]
        }, function: { values in
            var layer = make()
            layer.parameters = Array(values.dropLast())
            // The same dropout mask every call.
            var context = ForwardContext(isTraining: training, generator: SeededGenerator(seed: 7))
            let output = layer(values.last!, context: &context)
            return (output * TestData.uniform(shape: output.shape, seed: 33)).sum()
        })
    }

    static func loss(_ loss: any Loss, targets: Targets<Double>, reduction: LossReduction = .mean, positive: Bool = false) -> ModuleCase {
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
        layer("Conv2D 3×3 same, bias", inputShape: [2, 2, 5, 5]) {
            var g = SeededGenerator(seed: 5)
            var conv = Conv2D<Double>(inputChannels: 2, outputChannels: 3, kernelSize: (3, 3), padding: .same, generator: &g)
            conv.bias = TestData.uniform(shape: [3], seed: 6)
            return conv
        },
        layer("Conv2D 2×3 stride 2, no bias", inputShape: [2, 3, 7, 6]) {
            var g = SeededGenerator(seed: 7)
            return Conv2D<Double>(inputChannels: 3, outputChannels: 2, kernelSize: (2, 3), stride: 2, useBias: false, generator: &g)
        },
        layer("MaxPool2D 2", inputShape: [2, 2, 4, 5]) { MaxPool2D<Double>(size: 2) },
        layer("MaxPool2D 3 stride 1", inputShape: [1, 2, 4, 4]) { MaxPool2D<Double>(size: 3, stride: 1) },
        layer("AveragePool2D 2", inputShape: [2, 2, 4, 4]) { AveragePool2D<Double>(size: 2) },
        layer("GlobalAveragePool", inputShape: [2, 3, 3, 2]) { GlobalAveragePool<Double>() },
        layer("Flatten", inputShape: [2, 2, 3, 3]) { Flatten<Double>() },
        layer("BatchNorm features (training)", inputShape: [6, 3]) {
            BatchNorm<Double>(scale: TestData.uniform(shape: [3], in: 0.5...2, seed: 8), offset: TestData.uniform(shape: [3], seed: 9),
                              runningMean: .zeros(shape: [3]), runningVariance: Tensor(shape: [3], repeating: 1))
        },
        layer("BatchNorm channels (training)", inputShape: [3, 2, 3, 3]) {
            BatchNorm<Double>(scale: TestData.uniform(shape: [2], in: 0.5...2, seed: 10), offset: TestData.uniform(shape: [2], seed: 11),
                              runningMean: .zeros(shape: [2]), runningVariance: Tensor(shape: [2], repeating: 1), epsilon: 1e-3)
        },
        layer("BatchNorm channels (inference)", inputShape: [2, 2, 3, 3], training: false) {
            BatchNorm<Double>(scale: TestData.uniform(shape: [2], in: 0.5...2, seed: 12), offset: TestData.uniform(shape: [2], seed: 13),
                              runningMean: TestData.uniform(shape: [2], seed: 14),
                              runningVariance: TestData.uniform(shape: [2], in: 0.5...2, seed: 15))
        },
        layer("LayerNorm features", inputShape: [4, 3]) {
            LayerNorm<Double>(scale: TestData.uniform(shape: [3], in: 0.5...2, seed: 16), offset: TestData.uniform(shape: [3], seed: 17))
        },
        layer("LayerNorm images", inputShape: [2, 2, 3, 3]) {
            LayerNorm<Double>(scale: TestData.uniform(shape: [2, 3, 3], in: 0.5...2, seed: 18), offset: TestData.uniform(shape: [2, 3, 3], seed: 19))
        },
        layer("Sequential convolutional network, flat rows in", inputShape: [3, 36]) {
            var g = SeededGenerator(seed: 20)
            return Sequential<Double>(inputShape: [1, 6, 6]) {
                Conv2D(inputChannels: 1, outputChannels: 2, kernelSize: (3, 3), useBias: false, generator: &g)
                BatchNorm(features: 2)
                ActivationLayer(.tanh)
                MaxPool2D(size: 2)
                Flatten()
                Dropout(rate: 0.2)
                Dense(inputSize: 8, outputSize: 3, generator: &g)
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
        loss(.softmaxCrossEntropy, targets: classTargets, reduction: .weightedMean([0.5, 2, 1, 3])),
        loss(.softmaxCrossEntropy(labelSmoothing: 0.1), targets: classTargets, reduction: .weightedMean([1, 0, 2, 1])),
        loss(.halfSquaredError, targets: valueTargets, reduction: .weightedMean([0.5, 2, 1, 3])),
        loss(.crossEntropy, targets: classTargets, reduction: .weightedMean([0.5, 2, 1, 3]), positive: true),
        loss(.binaryCrossEntropy, targets: valueTargets, reduction: .weightedMean([0.5, 2, 1, 3])),
        loss(LogCosh(), targets: valueTargets),
        ModuleCase(name: "binary-cross-entropy, one logit, class labels", inputs: {
            [TestData.uniform(shape: [4, 1], in: -2...2, seed: 36)]
        }, function: { BinaryCrossEntropy()($0[0], .classes([1, 0, 0, 1])) }),
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
        #expect(Swift.abs(HalfSquaredError()(output, .values(target)).scalar - (0.625 + 2) / 2) < 1e-15)
        // The plain mean of squares over all 4 elements: (0.25 + 1 + 0 + 4) / 4.
        #expect(Swift.abs(MeanSquaredError()(output, .values(target)).scalar - 5.25 / 4) < 1e-15)
        // One definition: the sum over samples of the per-sample mean, so that sum / samples is the mean.
        #expect(Swift.abs(MeanSquaredError()(output, .values(target), reduction: .sum).scalar - 5.25 / 2) < 1e-15)
        #expect(Swift.abs(MeanAbsoluteError()(output, .values(target)).scalar - (1.5 + 2) / 2) < 1e-15)
        // Huber δ = 1: residuals −0.5, 1, 0, −2 → 0.125, 0.5, 0, 1.5.
        #expect(Swift.abs(Huber(delta: 1)(output, .values(target), reduction: .sum).scalar - 2.125) < 1e-15)
        // Binary cross-entropy on logits z with y: softplus(z) − z y = −log σ(z) for y = 1.
        let bce = BinaryCrossEntropy()(Tensor<Double>([[0]]), .values(Tensor([[1]]))).scalar
        #expect(Swift.abs(bce - Foundation_log(2)) < 1e-15)
        // On one logit, class labels 0 and 1 are the targets themselves.
        let logits = Tensor<Double>([[0.3], [-1.2], [2]])
        let byClass = BinaryCrossEntropy()(logits, .classes([1, 0, 1])).scalar
        let byValue = BinaryCrossEntropy()(logits, .values(Tensor([[1], [0], [1]]))).scalar
        #expect(byClass == byValue)
        // Cross-entropy on probabilities equals softmax cross-entropy on their logarithms.
        let p = Tensor<Double>([[0.2, 0.3, 0.5]])
        let a = CrossEntropy()(p, .classes([1])).scalar
        let b = SoftmaxCrossEntropy()(log(p), .classes([1])).scalar
        #expect(Swift.abs(a - b) < 1e-14 && Swift.abs(a + Foundation_log(0.3)) < 1e-14)
        // Label smoothing 0.3 over 3 classes: targets (0.1, 0.8, 0.1).
        let smoothed = CrossEntropy(labelSmoothing: 0.3)(p, .classes([1])).scalar
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
        let fromLogits = SoftmaxCrossEntropy().probabilities(fromOutput: z)
        #expect(zip(fromLogits.scalars, softmax).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        // A cross-entropy model already ends in a softmax: its outputs are the probabilities, not softmaxed again.
        let p = Tensor<Double>(shape: [2, 3], elements: softmax)
        #expect(CrossEntropy().probabilities(fromOutput: p).scalars == softmax)
        let logit = Tensor<Double>([[0.4], [-2]])
        let binary = BinaryCrossEntropy().probabilities(fromOutput: logit).scalars
        let expected = [0.4, -2].flatMap { z -> [Double] in let p = 1 / (1 + Foundation_exp(-z)); return [1 - p, p] }
        #expect(zip(binary, expected).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
    }

    @Test func softmaxCrossEntropyOutputErrorIsPredictionMinusTarget() {
        let z = Tensor<Double>([[1, 2, 3], [0, 0, 0]]).requiringGradient()
        let loss = SoftmaxCrossEntropy()(z, .classes([2, 0]))
        let delta = loss.gradients(withRespectTo: [z])[0]
        let expected = (z.detached.softmax() - Tensor.oneHot(labels: [2, 0], classCount: 3)) / 2
        #expect(TestData.maxDifference(delta, expected) < 1e-15)
    }
}
