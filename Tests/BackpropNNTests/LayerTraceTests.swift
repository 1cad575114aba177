import BackpropCore
import BackpropNN
import BackpropTestSupport
import Testing

@Suite("Layer-by-layer traces")
struct LayerTraceTests {
    /// The textbook's ∂J/∂a of a stride-1 convolution — δ fully correlated with the flipped kernel — equals the
    /// engine's gradient, whatever the padding.
    @Test(arguments: ["conv 3 3x3 tanh, conv 2 2x3 pad 1 relu, flatten, dense 3",
                      "conv 2 3x3 same, batchnorm, relu, maxpool 2, conv 3 3x3 same nobias, gap, dense 3",
                      "conv 2 5, avgpool 2, flatten, layernorm, dense 3"])
    func flippedKernelCorrelationIsTheInputGradient(_ description: String) throws {
        let model: Sequential<Double> = try ModelDescription(parsing: description).build(inputShape: [2, 9, 9], seed: 4)
        let x = TestData.uniform(shape: [1, 162], seed: 5)
        let target = Tensor<Double>([[0, 1, 0]])
        let trace = LayerTrace(model: model, input: x, target: target, loss: .softmaxCrossEntropy, learningRate: 0.1)
        #expect(trace.steps.count == model.layers.count)
        let convolutions = trace.steps.filter { $0.kind == "conv2d" }
        #expect(convolutions.count == description.components(separatedBy: "conv ").count - 1)
        for step in convolutions {
            let flipped = try #require(step.flippedKernelInputGradient)
            #expect(flipped.shape == step.inputGradient.shape)
            #expect(TestData.maxDifference(flipped, step.inputGradient) < 1e-14)
        }
        // Each layer's output gradient is the next layer's input gradient, and the parameter gradients are the
        // engine's mean-loss gradients of the same sample.
        for (step, next) in zip(trace.steps, trace.steps.dropFirst()) {
            #expect(TestData.maxDifference(step.outputGradient, next.inputGradient) == 0)
        }
        var tracked = model
        let leaves = model.parameters.map { $0.requiringGradient() }
        tracked.parameters = leaves
        let expected = SoftmaxCrossEntropy()(tracked(x), .values(target), reduction: .sum).gradients(withRespectTo: leaves)
        for (gradient, engine) in zip(trace.steps.flatMap { $0.parameters.map(\.gradient) }, expected) {
            #expect(TestData.maxDifference(gradient, engine) < 1e-15)
        }
        // A small step down the gradient lowers the loss.
        let after = LayerTrace(model: trace.updatedModel, input: x, target: target, loss: .softmaxCrossEntropy, learningRate: 0.1)
        #expect(after.loss < trace.loss)
    }
}
