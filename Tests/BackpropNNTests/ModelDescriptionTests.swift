import BackpropCore
import BackpropNN
import Testing

@Suite("Model descriptions")
struct ModelDescriptionTests {
    @Test func kerasConvnetBuildsWithInferredSizes() throws {
        let description = try ModelDescription(parsing: "conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, flatten, dropout 0.5, dense 10")
        let model: Sequential<Float> = try description.build(inputShape: [1, 28, 28], seed: 1)
        #expect(model.outputShapesOfEveryLayer == [[32, 26, 26], [32, 26, 26], [32, 13, 13], [64, 11, 11], [64, 11, 11],
                                                  [64, 5, 5], [1600], [1600], [10]])
        #expect(model.parameterCount == 34_826)  // Keras's mnist_convnet summary: 34,826 parameters
        #expect(model.inputShape == [1, 28, 28])
        // The same seed gives the same weights.
        let again: Sequential<Float> = try description.build(inputShape: [1, 28, 28], seed: 1)
        #expect(again.parameters == model.parameters)
    }

    @Test func optionsOfEachItem() throws {
        let description = try ModelDescription(parsing: " conv 8 5 stride 2 same nobias ,batchnorm, leaky-relu 0.2, avgpool 3 stride 1, gap, dense 4 elu 0.5, layernorm, dense 3 softmax")
        let model: Sequential<Double> = try description.build(inputShape: [3, 16, 16], seed: 2)
        let conv = try #require(model.layers[0] as? Conv2D<Double>)
        #expect(conv.window == SlidingWindow(kernelHeight: 5, kernelWidth: 5, strideHeight: 2, strideWidth: 2,
                                             padTop: 2, padBottom: 2, padLeft: 2, padRight: 2))
        #expect(conv.bias == nil && conv.inputChannels == 3)
        #expect((model.layers[2] as? ActivationLayer<Double>)?.activation == .leakyReLU(slope: 0.2))
        #expect((model.layers[6] as? ActivationLayer<Double>)?.activation == .elu(alpha: 0.5))
        #expect(model.outputShapesOfEveryLayer?.last == [3])
        #expect(model.layers.map { "\(type(of: $0))" }.count == 10)
    }

    @Test(arguments: [
        ("", "the description is empty"),
        ("conv 32 3x3 relu,, dense 10", "layer 2 '': is empty; expected conv"),
        ("conv 32 3x3 rleu", "layer 1 'conv 32 3x3 rleu': 'rleu' is not an activation"),
        ("conv 0 3x3", "'0' is not a number of filters"),
        ("conv 32", "expected a kernel size such as 3x3"),
        ("conv 32 3x", "'3x' is not a kernel size"),
        ("conv 32 3x3 pad 3", "'pad' needs a number of zero rows and columns smaller than the kernel"),
        ("maxpool", "expected a window size after 'maxpool'"),
        ("maxpool 2 stride", "expected a stride after 'maxpool'"),
        ("dropout 1.5", "'1.5' is not a dropout rate"),
        ("dense 10 relu relu", "unexpected 'relu'"),
        ("flatten 3", "unexpected '3'"),
        ("pool 2", "'pool' is not a layer; expected conv, maxpool"),
    ])
    func parseErrorsNameTheLayerAndTheToken(_ text: String, _ message: String) {
        #expect(throws: ModelDescriptionError.self) { try ModelDescription(parsing: text) }
        do {
            _ = try ModelDescription(parsing: text)
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test(arguments: [
        ("conv 8 3x3, dense 10", [1, 8, 8], "layer 2 'dense 10': a dense layer takes samples of one axis, not [8, 6, 6] (add 'flatten' before it)"),
        ("dense 10", [1, 8, 8], "a dense layer takes samples of one axis"),
        ("conv 8 3x3", [64], "a convolution takes images [channels, height, width], not samples of shape [64]"),
        ("conv 8 9x9", [1, 8, 8], "layer 1 'conv 8 9x9': a convolution window of 9×9 does not fit an image of 8×8"),
        ("conv 8 3x3, maxpool 8", [1, 8, 8], "a max pooling window of 8×8 stride 8×8 does not fit an image of 6×6"),
        ("flatten, softmax, conv 2 1x1", [1, 2, 2], "a convolution takes images"),
        ("conv 6000 3x3, conv 6000 3x3", [1, 8, 8], "layer 2 'conv 6000 3x3': the network would have more than 268435456 parameters"),
        ("conv 4096 1x1, conv 4096 1x1", [1, 128, 129], "layer 1 'conv 4096 1x1': its output [4096, 128, 129] holds more than"),
    ])
    func buildErrorsNameTheLayer(_ text: String, _ input: [Int], _ message: String) throws {
        let description = try ModelDescription(parsing: text)
        do {
            let _: Sequential<Float> = try description.build(inputShape: input, seed: 0)
            Issue.record("built \(text) on \(input)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
