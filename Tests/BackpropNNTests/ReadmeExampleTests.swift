import BackpropCore
import BackpropData
import BackpropNN
import Testing

/// The README's library examples, verbatim apart from the printing, so that they keep compiling and keep working.
@Suite("README examples")
struct ReadmeExampleTests {
    @Test func trainingExample() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.spirals.make(seed: 7)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 64, 64, 2], activation: .relu, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32, epochs: 200,
                              stoppingCriteria: [.lossChange(below: 1e-5, patience: 5)], seed: 42)
        var epochs = 0
        let result = try trainer.fit(model, on: data) { event in
            if case .epochEnded = event { epochs += 1 }
        }
        #expect(epochs == result.history.count)
        #expect(trainer.evaluate(result.model, on: data).accuracy! >= 0.99)
    }

    @Test func gradientExample() {
        let w = Tensor<Double>([[0.15, 0.20], [0.25, 0.30]]).requiringGradient()
        let x = Tensor<Double>([[0.05, 0.10]])
        let z = x.matmul(w, transposeB: true)
        let loss = (0.5 * square(sigmoid(z) - Tensor([[0.01, 0.99]]))).sum()
        let grads = loss.gradients(withRespectTo: [w, z])
        #expect(grads[0].shape == [2, 2] && grads[1].shape == [1, 2])
        let report = GradientCheck.run(at: [w.detached]) { p in (0.5 * square(sigmoid(x.matmul(p[0], transposeB: true)))).sum() }
        #expect(report.passed(tolerance: 1e-6))
    }
}
