import BackpropCore
@testable import BackpropNN
import BackpropTestSupport
import CAllocationCounter
import Testing

/// The fused training step must compute what the graph computes, and allocate nothing once warmed up.
@Suite("Fused dense-network step")
struct DenseNetworkStepTests {
    static let activations: [Activation] = [.relu, .tanh, .sigmoid, .gelu, .softplus, .leakyReLU(slope: 0.1), .elu(alpha: 1)]

    static func network(_ activation: Activation) -> Sequential<Double> {
        .multilayerPerceptron(sizes: [5, 7, 6, 4], activation: activation, initializer: .glorotUniform, seed: 3)
    }

    static let inputs = TestData.uniform(shape: [9, 5], in: -2...2, seed: 41)
    static let labels = [0, 3, 1, 2, 2, 0, 3, 1, 0]

    /// The fused step's mean loss and gradients at `parameters`.
    static func fused(_ model: Sequential<Double>, smoothing: Double, parameters: [Tensor<Double>])
        -> (loss: Double, correct: Int, gradients: [Tensor<Double>]) {
        var step = DenseNetworkStep(model, loss: .softmaxCrossEntropy(labelSmoothing: smoothing))!
        var gradients = parameters.map { Tensor.zeros(like: $0) }
        var norms = [Double](repeating: .nan, count: parameters.count)
        let (sum, correct) = step.run(inputs: inputs, labels: labels, parameters: parameters, gradients: &gradients,
                                      gradientNorms: &norms)
        #expect(norms == gradients.map { Double($0.norm) }, "the norms it reports are its gradients' norms")
        return (sum / Double(labels.count), correct, gradients)
    }

    @Test("equals the graph: loss, accuracy and every gradient", arguments: activations, [0.0, 0.1])
    func matchesGraph(_ activation: Activation, smoothing: Double) {
        let model = Self.network(activation)
        let result = Self.fused(model, smoothing: smoothing, parameters: model.parameters)

        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        let output = tracked(Self.inputs)
        let loss = SoftmaxCrossEntropy(labelSmoothing: smoothing)(output, .classes(Self.labels))
        let expected = loss.gradients(withRespectTo: leaves)

        #expect(Swift.abs(result.loss - loss.scalar) <= 1e-12 * Swift.abs(loss.scalar))
        #expect(result.correct == zip(predictedClasses(output), Self.labels).filter { $0 == $1 }.count)
        for (name, (fused, graph)) in zip(model.parameterNames, zip(result.gradients, expected)) {
            let error = (fused - graph).norm / Swift.max(graph.norm, 1e-300)
            #expect(error < 1e-12, "\(activation) \(name): relative difference \(error)")
        }
    }

    @Test("gradients agree with central finite differences", arguments: activations)
    func finiteDifferences(_ activation: Activation) {
        let model = Self.network(activation)
        let parameters = model.parameters
        let analytic = Self.fused(model, smoothing: 0.1, parameters: parameters).gradients
        let h = 1e-6
        var generator = SeededGenerator(seed: 5)
        for (index, parameter) in parameters.enumerated() {
            for element in generator.permutation(of: parameter.count).prefix(6) {
                func loss(shiftedBy delta: Double) -> Double {
                    var shifted = parameters
                    shifted[index].withUnsafeMutablePointer { $0[element] += delta }
                    return Self.fused(model, smoothing: 0.1, parameters: shifted).loss
                }
                let numeric = (loss(shiftedBy: h) - loss(shiftedBy: -h)) / (2 * h)
                let exact = analytic[index].withUnsafePointer { $0[element] }
                let error = Swift.abs(exact - numeric) / Swift.max(Swift.abs(exact) + Swift.abs(numeric), 1e-8)
                #expect(error < 1e-6, "\(activation) \(model.parameterNames[index])[\(element)]: \(exact) vs \(numeric)")
            }
        }
    }

    @Test("is used only where it computes the same thing")
    func eligibility() {
        let mlp = Self.network(.relu)
        #expect(DenseNetworkStep(mlp, loss: .softmaxCrossEntropy) != nil)
        #expect(DenseNetworkStep(mlp, loss: .halfSquaredError) == nil)
        var generator = SeededGenerator(seed: 1)
        let withDropout = Sequential<Double> {
            Dense(inputSize: 5, outputSize: 4, generator: &generator)
            Dropout(rate: 0.5)
            Dense(inputSize: 4, outputSize: 3, generator: &generator)
        }
        #expect(DenseNetworkStep(withDropout, loss: .softmaxCrossEntropy) == nil)
        let softmaxOutput = Sequential<Double>.multilayerPerceptron(sizes: [5, 4, 3], activation: .relu, outputActivation: .softmax, seed: 1)
        #expect(DenseNetworkStep(softmaxOutput, loss: .softmaxCrossEntropy) == nil)
    }

    /// Debug builds allocate temporaries the optimiser removes, so this runs on optimised builds only:
    /// `swift test -c release -Xswiftc -enable-testing --filter noAllocationsPerStep`, which `.ci/run` runs on both
    /// kernel backends (the README's test command is a debug build and skips it).
    @Test("a training step allocates nothing after warm-up (Linux, optimised builds)")
    func noAllocationsPerStep() throws {
        #if DEBUG
        print("skipped: allocation counting needs an optimised build (swift test -c release -Xswiftc -enable-testing)")
        #else
        guard backprop_allocation_counting_available() else {
            print("skipped: allocation counting needs glibc (Linux)")
            return
        }
        var generator = SeededGenerator(seed: 9)
        let features = Tensor<Float>.uniform(shape: [200, 20], in: -1...1, using: &generator)
        let labels = (0..<200).map { $0 % 3 }
        let data = try InMemoryDataset(features: features, labels: labels, classCount: 3)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [20, 32, 3], activation: .relu, seed: 2)
        // The whole dataset, and rows of it as a validation split selects them.
        let sources = [AnyTrainingData(data), AnyTrainingData(DatasetSubset(data, indices: Array((0..<200).reversed().prefix(150))))]
        let runs = zip(sources + sources + [sources[0]], [SGD(), SGD(), Adam(learningRate: 0.01), Adam(learningRate: 0.01), Adam()] as [any Optimizer])
        for (index, (source, optimizer)) in runs.enumerated() {
            var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: optimizer, batchSize: 16,
                                  epochs: 2, seed: 4)
            // The last run: bfloat16 products (their packing buffers are the threads' scratch memory).
            if index == 4 { trainer.precision = .bfloat16 }
            var allocations = -1
            _ = try trainer.fit(model, on: source) { event in
                guard case .batchEnded(let batch) = event, batch.epoch == 2 else { return }
                if batch.batch == 1 { backprop_allocation_counting_start() }
                if batch.batch == batch.batchCount - 1 { allocations = Int(backprop_allocation_counting_stop()) }
            }
            #expect(allocations == 0, "\(optimizer), \(source.count) rows, \(trainer.precision): \(allocations) allocations over the steps of epoch 2")
        }
        #endif
    }
}
