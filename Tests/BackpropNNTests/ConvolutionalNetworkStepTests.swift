import BackpropCore
@testable import BackpropNN
import BackpropTestSupport
import CAllocationCounter
import Testing

/// The fused convolutional step must compute what the graph computes (to rounding: it sums in another order), move
/// batch normalisation's running statistics as the graph does, and allocate nothing once warmed up.
@Suite("Fused convolutional step")
struct ConvolutionalNetworkStepTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var description: String
        var inputShape: [Int]
        var testDescription: String { description }
    }

    static let cases = [
        Case(description: "conv 3 3x3 relu, maxpool 2, conv 4 3x3 relu, maxpool 2, flatten, dropout 0.3, dense 3", inputShape: [1, 12, 12]),
        Case(description: "conv 3 3x3 nobias, batchnorm, relu, maxpool 2, flatten, dense 3", inputShape: [2, 8, 8]),
        Case(description: "conv 4 3x3 stride 2 same, tanh, conv 3 2x3 pad 1 nobias, batchnorm, elu, maxpool 3 stride 2, flatten, dense 5 relu, batchnorm, dense 3",
             inputShape: [3, 9, 10]),
        Case(description: "conv 2 5, flatten, dropout 0, dense 3", inputShape: [1, 7, 7]),
        Case(description: "conv 2 3x3 same sigmoid, maxpool 2 stride 1, conv 3 1x1 gelu, flatten, dense 4 tanh, dense 3", inputShape: [2, 5, 6]),
        // ReLUs whose gradient no max pooling folds in: with and without bias, and after batch normalisation.
        Case(description: "conv 3 3x3 relu, conv 2 3x3 nobias relu, batchnorm, relu, flatten, dense 3", inputShape: [1, 8, 8]),
        // Average pooling (overlapping windows, and a last window that does not fit), global average pooling, dropout
        // on images (whose flags the graph draws channel by channel) and on the pooled features.
        Case(description: "conv 3 3x3 relu, avgpool 2, conv 4 3x3 relu, gap, dense 3", inputShape: [1, 12, 12]),
        Case(description: "conv 4 3x3 same, dropout 0.4, relu, avgpool 3 stride 2, flatten, dense 3", inputShape: [2, 9, 10]),
        Case(description: "conv 3 3x3 nobias, batchnorm, relu, dropout 0.2, gap, dropout 0.3, dense 3", inputShape: [2, 8, 8]),
        // First convolutions of one channel fused with their ReLU and max pooling (the first case too): stride,
        // padding, no bias, overlapping windows, more filters than one block of the kernel.
        Case(description: "conv 70 3x3 stride 2 same nobias relu, maxpool 3 stride 2, flatten, dense 3", inputShape: [1, 11, 12]),
        Case(description: "conv 5 2x3 pad 1 relu, maxpool 2 stride 1, conv 3 3x3 relu, maxpool 2, flatten, dense 3", inputShape: [1, 7, 6]),
        // Blocks of 32, 16 and 5 filters; windows that tile the convolution's output but leave its last row out;
        // windows at the border reaching into the padding.
        Case(description: "conv 53 3x3 same relu, maxpool 2, flatten, dense 3", inputShape: [1, 9, 10]),
        // First convolutions of one channel run direct with their output stored: blocks of 32, 16 and 5 filters
        // before batch normalisation (C2's first layer), and a window other than 3 × 3 with stride and padding
        // before an activation that keeps z.
        Case(description: "conv 53 3x3 nobias, batchnorm, relu, maxpool 2, flatten, dense 3", inputShape: [1, 9, 10]),
        // Batch normalisation folded into such a convolution (C2's first block): with a bias (whose gradient is zero:
        // the graph's is rounding noise), padding and stride, and a window other than 3 × 3.
        Case(description: "conv 6 3x3 stride 2 same, batchnorm, relu, maxpool 2, flatten, dense 3", inputShape: [1, 9, 10]),
        Case(description: "conv 4 2x3 nobias, batchnorm, relu, maxpool 2, conv 3 2x2, flatten, dense 3", inputShape: [1, 9, 8]),
        // A normalisation whose pooling's windows overlap after such a convolution: its statistics taken by the
        // convolution as it writes z, per sample.
        Case(description: "conv 5 3x3 nobias, batchnorm, relu, maxpool 3 stride 2, flatten, dense 3", inputShape: [1, 9, 10]),
        Case(description: "conv 18 2x3 stride 2 pad 1 tanh, avgpool 2, flatten, dense 3", inputShape: [1, 9, 8]),
        // Batch normalisation and ReLU applied by the max pooling after them: with overlapping windows (the gradient
        // through the pooling's), and with windows that tile (straight from the pooled gradient; the 53-filter case
        // above leaves a row out of every window).
        Case(description: "conv 4 3x3 nobias, batchnorm, relu, maxpool 3 stride 2, conv 5 3x3 nobias, batchnorm, relu, maxpool 2, flatten, dense 3",
             inputShape: [2, 13, 12]),
        // Direct first convolutions without activation: the bias added and its gradient summed by the convolution's
        // kernels (3 × 3 windows, and others).
        Case(description: "conv 6 3x3, maxpool 2, flatten, dense 3", inputShape: [1, 8, 9]),
        Case(description: "conv 5 2x3 stride 2, avgpool 2, flatten, dense 3", inputShape: [1, 9, 8]),
        // Layer normalisation of an image (γ and β channel-major, the values channels-last) and of features.
        Case(description: "conv 3 3x3 relu, layernorm, maxpool 2, flatten, dense 4, layernorm, dense 3", inputShape: [2, 8, 9]),
    ]

    static let labels = [0, 2, 1, 2, 0, 1, 1]

    static func model(_ c: Case) throws -> Sequential<Double> {
        var model: Sequential<Double> = try ModelDescription(parsing: c.description).build(inputShape: c.inputShape, seed: 8)
        // Biases and running statistics away from their initial values, so that every term is exercised.
        model.parameters = model.parameters.enumerated().map { i, p in p.rank == 1 ? p + TestData.uniform(shape: p.shape, seed: UInt64(i)) * 0.1 : p }
        model.state = model.state.enumerated().map { i, s in s + TestData.uniform(shape: s.shape, in: 0...0.5, seed: UInt64(50 + i)) }
        return model
    }

    static func inputs(_ c: Case) -> Tensor<Double> {
        TestData.uniform(shape: [labels.count, c.inputShape.reduce(1, *)], in: -1...2, seed: 41)
    }

    /// The fused step's mean loss, correct count, gradients and updated state.
    static func fused(_ model: Sequential<Double>, inputs: Tensor<Double>, parameters: [Tensor<Double>])
        -> (loss: Double, correct: Int, gradients: [Tensor<Double>], state: [Tensor<Double>]) {
        var step = ConvolutionalNetworkStep(model, loss: .softmaxCrossEntropy)!
        var gradients = parameters.map { Tensor.zeros(like: $0) }
        var norms = [Double](repeating: .nan, count: parameters.count)
        var state = model.state.map { $0 + 0 }
        var generator = SeededGenerator(seed: 77)
        let (sum, correct) = step.run(inputs: inputs, labels: labels, parameters: parameters, state: &state,
                                      generator: &generator, gradients: &gradients, gradientNorms: &norms)
        #expect(norms == gradients.map { Double($0.norm) }, "the norms it reports are its gradients' norms")
        return (sum / Double(labels.count), correct, gradients, state)
    }

    static func relativeDifference(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        (a - b).norm / Swift.max(b.norm, 1e-300)
    }

    @Test("equals the graph: loss, accuracy, every gradient and the running statistics", arguments: cases)
    func matchesGraph(_ c: Case) throws {
        let model = try Self.model(c)
        #expect(ConvolutionalNetworkStep(model, loss: .softmaxCrossEntropy) != nil)
        let x = Self.inputs(c)
        let result = Self.fused(model, inputs: x, parameters: model.parameters)

        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        var context = ForwardContext.training(generator: SeededGenerator(seed: 77))
        let output = tracked.applyUpdatingState(x, context: &context)
        let loss = SoftmaxCrossEntropy()(output, .classes(Self.labels))
        let expected = loss.gradients(withRespectTo: leaves)

        #expect(Swift.abs(result.loss - loss.scalar) <= 1e-12 * Swift.abs(loss.scalar), "\(result.loss) vs \(loss.scalar)")
        #expect(result.correct == zip(predictedClasses(output), Self.labels).filter { $0 == $1 }.count)
        for (name, (fused, graph)) in zip(model.parameterNames, zip(result.gradients, expected)) {
            let error = Self.relativeDifference(fused, graph)
            // A gradient that is zero (a bias before batch normalisation) is rounding noise in the graph.
            let zero = graph.norm < 1e-14 && fused.norm < 1e-14
            #expect(error < 1e-11 || zero, "\(name): relative difference \(error)")
        }
        for (name, (fused, graph)) in zip(model.stateNames, zip(result.state, tracked.state)) {
            #expect(Self.relativeDifference(fused, graph) < 1e-13, "\(name)")
        }
    }

    @Test("a first convolution of one channel runs direct, with its ReLU and max pooling in one pass where they follow")
    func directFirstConvolution() throws {
        typealias Step = ConvolutionalNetworkStep<Double>
        func step(_ description: String, shape: [Int], precision: MatrixPrecision = .float32) throws -> Step? {
            let model: Sequential<Double> = try ModelDescription(parsing: description).build(inputShape: shape, seed: 1)
            return ConvolutionalNetworkStep(model, loss: .softmaxCrossEntropy, precision: precision)
        }
        #expect(try step(Self.cases[0].description, shape: Self.cases[0].inputShape)?.firstConvolution == .directAndPooled)
        #expect(try step(Self.cases[9].description, shape: Self.cases[9].inputShape)?.firstConvolution == .directAndPooled)
        #expect(try step("conv 3 3x3 relu, maxpool 2, flatten, dense 3", shape: [2, 6, 6])?.firstConvolution == .unfolded)
        #expect(try step("conv 3 3x3, maxpool 2, flatten, dense 3", shape: [1, 6, 6])?.firstConvolution == .direct)
        #expect(try step("conv 3 3x3 relu, avgpool 2, flatten, dense 3", shape: [1, 6, 6])?.firstConvolution == .direct)
        #expect(try step("conv 3 3x3 nobias, batchnorm, relu, maxpool 2, flatten, dense 3", shape: [1, 6, 6])?.firstConvolution == .normalizedAndPooled)
        #expect(try step("conv 3 3x3, batchnorm, relu, maxpool 3 stride 2, flatten, dense 3", shape: [1, 7, 7])?.firstConvolution == .direct)
        #expect(try step("conv 3 3x3, batchnorm, maxpool 2, flatten, dense 3", shape: [1, 6, 6])?.firstConvolution == .direct)
        // bfloat16 operands are rounded from Float32 tensors.
        #expect(try step("conv 3 3x3 relu, maxpool 2, flatten, dense 3", shape: [1, 6, 6], precision: .bfloat16)?.firstConvolution == .unfolded)
        for (description, expected) in [("conv 3 3x3 relu, maxpool 2, flatten, dense 3", ConvolutionalNetworkStep<Float>.FirstConvolution.directAndPooled),
                                        ("conv 3 3x3, batchnorm, relu, maxpool 2, flatten, dense 3", .direct)] {
            let model: Sequential<Float> = try ModelDescription(parsing: description).build(inputShape: [1, 6, 6], seed: 1)
            #expect(ConvolutionalNetworkStep(model, loss: .softmaxCrossEntropy, precision: .bfloat16)?.firstConvolution == expected)
        }
    }

    /// `t` with each value rounded to bfloat16, as a bfloat16 product rounds its operands.
    static func roundedToBFloat16(_ t: Tensor<Float>) -> Tensor<Float> {
        var copy = t + 0
        let count = copy.count
        copy.withUnsafeMutablePointer { BFloat16Products.roundInPlace($0, count: count) }
        return copy
    }

    /// The direct convolution's fused extras: its bias (the bits of adding it after), its bias gradient in the weight
    /// gradient's pass (the column sums of δ, to rounding; the weight gradient's bits unchanged), and the batch
    /// statistics of its output (those of the normalisation's own pass, to rounding; the same bits on any number of
    /// threads). 53 filters make blocks of 32, 16 and 5.
    @Test(arguments: [SlidingWindow(kernelHeight: 3, kernelWidth: 3),
                      SlidingWindow(kernelHeight: 2, kernelWidth: 3, strideHeight: 2, padTop: 1, padBottom: 1, padLeft: 1)])
    func directConvolutionsExtras(_ window: SlidingWindow) throws {
        let convolution = window.problem(batch: 5, channels: 1, height: 9, width: 10)
        let size = try #require(window.outputSize(height: 9, width: 10))
        let (pixels, filters) = (5 * size.height * size.width, 53)
        let images = TestData.uniform(shape: [5, 90], seed: 1)
        let weight = TestData.uniform(shape: [window.kernelHeight * window.kernelWidth, filters], seed: 2)
        let bias = TestData.uniform(shape: [filters], seed: 3)
        var plain = Tensor<Double>.zeros(shape: [pixels, filters]), biased = plain
        plain.assignConvolved(images, weight: weight, convolution: convolution)
        biased.assignConvolved(images, weight: weight, bias: bias, convolution: convolution)
        var added = plain + 0
        added.addBias(bias)
        #expect(TestData.bitDifferences(biased.scalars, added.scalars) == 0)

        let delta = TestData.uniform(shape: [pixels, filters], seed: 4)
        var (weightGradient, withBias) = (Tensor<Double>.zeros(shape: weight.shape), Tensor<Double>.zeros(shape: weight.shape))
        var biasGradient = Tensor<Double>.zeros(shape: [filters]), columnSums = biasGradient
        Tensor.convolutionWeightGradient(images: images, delta: delta, convolution: convolution, weightGradient: &weightGradient)
        Tensor.convolutionWeightGradient(images: images, delta: delta, convolution: convolution, weightGradient: &withBias,
                                         biasGradient: &biasGradient)
        columnSums.assignColumnSums(of: delta)
        #expect(TestData.bitDifferences(withBias.scalars, weightGradient.scalars) == 0)
        #expect(Self.relativeDifference(biasGradient, columnSums) < 1e-14)

        var expected = Tensor<Double>.zeros(shape: [3, filters])
        Tensor<Double>.assignBatchStatistics(of: biased, epsilon: 1e-5, into: &expected)
        defer { Parallelism.use(threads: Parallelism.defaultThreads) }
        var results: [[Double]] = []
        for threads in [1, 3] {
            Parallelism.use(threads: threads)
            var (output, statistics) = (Tensor<Double>.zeros(shape: [pixels, filters]), Tensor<Double>.zeros(shape: [3, filters]))
            output.assignConvolved(images, weight: weight, bias: bias, convolution: convolution,
                                   batchStatistics: &statistics, epsilon: 1e-5)
            #expect(TestData.bitDifferences(output.scalars, biased.scalars) == 0)
            #expect(Self.relativeDifference(statistics, expected) < 1e-13, "\(statistics) vs \(expected)")
            results.append(statistics.scalars)
        }
        #expect(TestData.bitDifferences(results[0], results[1]) == 0)
    }

    /// With bfloat16 products, the weight gradient of a direct first convolution (unpooled) multiplies bfloat16
    /// operands: δ rounded, the images rounded by the caller.
    @Test func directConvolutionRoundsTheWeightGradientsOperands() {
        let convolution = SlidingWindow(kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
            .problem(batch: 3, channels: 1, height: 8, width: 9)
        let images = Self.roundedToBFloat16(TestData.uniform(shape: [3, 72], seed: 31).converted(to: Float.self))
        // Gradients with bits below bfloat16's precision, so that rounding them changes them.
        let delta = TestData.uniform(shape: [3 * 72, 40], seed: 34).converted(to: Float.self) * 1.001
        func gradient(_ d: Tensor<Float>, rounding: Bool) -> [Float] {
            var w = Tensor<Float>.zeros(shape: [9, 40])
            Tensor.convolutionWeightGradient(images: images, delta: d, convolution: convolution, weightGradient: &w,
                                             roundingProducts: rounding)
            return w.scalars
        }
        #expect(gradient(delta, rounding: true) == gradient(Self.roundedToBFloat16(delta), rounding: false))
        #expect(gradient(delta, rounding: true) != gradient(delta, rounding: false))
    }

    /// With bfloat16 products, the direct first convolution's weight gradient multiplies bfloat16 operands: the
    /// gradient reaching each pixel rounded (with windows that tile, each pixel's is one pooled output's), the bias
    /// gradient's sums unrounded.
    @Test func directFirstConvolutionRoundsTheWeightGradientsOperands() {
        let window = SlidingWindow(kernelHeight: 3, kernelWidth: 3), pool = SlidingWindow(size: 2)
        let convolution = window.problem(batch: 3, channels: 1, height: 8, width: 9)
        let pooling = pool.problem(batch: 3, channels: 16, height: 6, width: 7)
        let images = Self.roundedToBFloat16(TestData.uniform(shape: [3, 72], seed: 31).converted(to: Float.self))
        let weight = Self.roundedToBFloat16(TestData.uniform(shape: [9, 16], seed: 32).converted(to: Float.self))
        let bias = TestData.uniform(shape: [16], seed: 33).converted(to: Float.self) * 0.1
        var pooled = Tensor<Float>.zeros(shape: [3 * 3 * 3, 16]), winners = [Int32](repeating: 0, count: pooled.count)
        pooled.assignConvolvedAndPooled(images, weight: weight, bias: bias, convolution: convolution, pooling: pooling,
                                        winners: &winners)
        // Gradients with bits below bfloat16's precision, so that rounding them changes them.
        let gradient = TestData.uniform(shape: [27, 16], seed: 34).converted(to: Float.self) * 1.001
        func gradients(_ g: Tensor<Float>, rounding: Bool) -> (weight: [Float], bias: [Float]) {
            var (w, b) = (Tensor<Float>.zeros(shape: [9, 16]), Tensor<Float>.zeros(shape: [16]))
            Tensor.convolutionPoolGradients(images: images, gradient: g, pooled: pooled, winners: winners,
                                            convolution: convolution, pooling: pooling, weightGradient: &w,
                                            biasGradient: &b, roundingProducts: rounding)
            return (w.scalars, b.scalars)
        }
        let bfloat16 = gradients(gradient, rounding: true), float32 = gradients(gradient, rounding: false)
        #expect(bfloat16.weight == gradients(Self.roundedToBFloat16(gradient), rounding: false).weight)
        #expect(bfloat16.weight != float32.weight)
        #expect(bfloat16.bias == float32.bias)
    }

    @Test("evaluates as the graph does: dropout off, batch norm on its running statistics", arguments: cases)
    func evaluationMatchesGraph(_ c: Case) throws {
        let model = try Self.model(c)
        var generator = SeededGenerator(seed: 3)
        let count = 37  // a last batch smaller than the others
        let features = Tensor<Double>.uniform(shape: [count, c.inputShape.reduce(1, *)], in: -1...2, using: &generator)
        let labels = (0..<count).map { $0 % 3 }
        let data = try InMemoryDataset(features: features, labels: labels, classCount: 3)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 0.1), batchSize: 16, epochs: 1, seed: 1)
        let fused = trainer.evaluate(model, on: data)
        let output = model(features)
        let loss = SoftmaxCrossEntropy()(output, .classes(labels), reduction: .sum).scalar / Double(count)
        let accuracy = Double(zip(predictedClasses(output), labels).filter { $0 == $1 }.count) / Double(count)
        #expect(Swift.abs(fused.loss - loss) <= 1e-12 * Swift.abs(loss), "\(fused.loss) vs \(loss)")
        #expect(fused.accuracy == accuracy)
    }

    @Test("gradients agree with central finite differences")
    func finiteDifferences() throws {
        let c = Self.cases[2]
        let model = try Self.model(c)
        let parameters = model.parameters, x = Self.inputs(c)
        let analytic = Self.fused(model, inputs: x, parameters: parameters).gradients
        let h = 1e-6
        var generator = SeededGenerator(seed: 5)
        for (index, parameter) in parameters.enumerated() {
            for element in generator.permutation(of: parameter.count).prefix(4) {
                func loss(shiftedBy delta: Double) -> Double {
                    var shifted = parameters
                    shifted[index].withUnsafeMutablePointer { $0[element] += delta }
                    return Self.fused(model, inputs: x, parameters: shifted).loss
                }
                let numeric = (loss(shiftedBy: h) - loss(shiftedBy: -h)) / (2 * h)
                let exact = analytic[index].withUnsafePointer { $0[element] }
                // A gradient that is zero (a unit no sample activates) leaves only rounding noise of about 1e-10 in the difference.
                let error = Swift.abs(exact - numeric) / Swift.max(Swift.abs(exact) + Swift.abs(numeric), 1e-3)
                #expect(error < 1e-6, "\(model.parameterNames[index])[\(element)]: \(exact) vs \(numeric)")
            }
        }
    }

    @Test("is used only where it computes the same thing", arguments: [
        ("conv 2 3x3, flatten, dense 3, softmax", [1, 6, 6]),
        ("conv 2 3x3, flatten, dense 3 relu", [1, 6, 6]),
        ("dense 4 relu, dense 3", [5]),
    ])
    func eligibility(_ description: String, _ shape: [Int]) throws {
        let model: Sequential<Double> = try ModelDescription(parsing: description).build(inputShape: shape, seed: 1)
        #expect(ConvolutionalNetworkStep(model, loss: .softmaxCrossEntropy) == nil)
        let accepted: Sequential<Double> = try ModelDescription(parsing: "conv 2 3x3, flatten, dense 3").build(inputShape: [1, 6, 6], seed: 1)
        #expect(ConvolutionalNetworkStep(accepted, loss: .softmaxCrossEntropy) != nil)
        #expect(ConvolutionalNetworkStep(accepted, loss: .halfSquaredError) == nil)
    }

    /// Debug builds allocate temporaries the optimiser removes: run with
    /// `swift test -c release -Xswiftc -enable-testing --filter noAllocationsPerStep` (as `.ci/run` does).
    @Test("a convolutional training step allocates nothing after warm-up (Linux, optimised builds)")
    func noAllocationsPerStep() throws {
        #if DEBUG
        print("skipped: allocation counting needs an optimised build (swift test -c release -Xswiftc -enable-testing)")
        #else
        guard backprop_allocation_counting_available() else {
            print("skipped: allocation counting needs glibc (Linux)")
            return
        }
        var generator = SeededGenerator(seed: 9)
        let features = Tensor<Float>.uniform(shape: [100, 2 * 10 * 10], in: -1...1, using: &generator)
        let data = try InMemoryDataset(features: features, labels: (0..<100).map { $0 % 3 }, classCount: 3)
        let first = "conv 4 3x3 relu, maxpool 2, conv 8 3x3 relu, maxpool 2, flatten, dropout 0.5, dense 3"
        let second = "conv 4 3x3, batchnorm, relu, maxpool 2, flatten, layernorm, dense 3"
        // Images of two channels, and of one (a direct first convolution); the last runs: bfloat16 products (their
        // packing buffers are the threads' scratch memory).
        for (description, shape, precision) in [(first, [2, 10, 10], MatrixPrecision.float32),
                                                ("conv 4 3x3 nobias, batchnorm, relu, maxpool 2, flatten, dropout 0.5, dense 3", [2, 10, 10], .float32),
                                                ("conv 4 3x3 relu, dropout 0.2, avgpool 2, conv 8 3x3 relu, gap, dense 3", [2, 10, 10], .float32),
                                                ("conv 4 3x3 relu, layernorm, maxpool 2, flatten, dense 3", [2, 10, 10], .float32),
                                                (first, [1, 10, 20], .float32), (second, [1, 10, 20], .float32),
                                                (first, [2, 10, 10], .bfloat16), (second, [1, 10, 20], .bfloat16)] {
            let model: Sequential<Float> = try ModelDescription(parsing: description).build(inputShape: shape, seed: 2)
            var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.001), batchSize: 16, epochs: 2, seed: 4)
            trainer.precision = precision
            var allocations = -1
            _ = try trainer.fit(model, on: data) { event in
                guard case .batchEnded(let batch) = event, batch.epoch == 2 else { return }
                if batch.batch == 1 { backprop_allocation_counting_start() }
                if batch.batch == batch.batchCount - 1 { allocations = Int(backprop_allocation_counting_stop()) }
            }
            #expect(allocations == 0, "\(description) on \(shape), \(precision): \(allocations) allocations over the steps of epoch 2")
        }
        #endif
    }
}
