import BackpropCore
import BackpropData
import BackpropNN
import Foundation
import Testing

@Suite("Model architectures")
struct ArchitectureTests {
    /// A small image classifier with every layer kind, and non-trivial running statistics.
    static func convolutionalModel() -> Sequential<Float> {
        var generator = SeededGenerator(seed: 3)
        var model = Sequential<Float>(inputShape: [2, 8, 8]) {
            Conv2D(inputChannels: 2, outputChannels: 4, kernelSize: (3, 3), padding: .same, useBias: false, generator: &generator)
            BatchNorm(features: 4)
            ActivationLayer(.relu)
            MaxPool2D(size: 2)
            Conv2D(inputChannels: 4, outputChannels: 3, kernelSize: (2, 3), stride: 1, generator: &generator)
            AveragePool2D(size: 1)
            LayerNorm(shape: [3, 3, 2])
            GlobalAveragePool()
            BatchNorm(features: 3, momentum: 0.2, epsilon: 1e-3)
            Flatten()
            Dropout(rate: 0.25)
            Dense(inputSize: 3, outputSize: 3, generator: &generator)
        }
        model.state = model.state.enumerated().map { i, t in t + Float(i + 1) * 0.25 }
        return model
    }

    static func info(classes: Int) -> ModelInfo {
        ModelInfo(task: .classification, classNames: (0..<classes).map { "c\($0)" }, featureNames: nil,
                  preprocessing: .none, loss: .softmaxCrossEntropy, labelColumn: nil, training: nil)
    }

    @Test func convolutionalModelsRoundTripWithTheirState() throws {
        let model = Self.convolutionalModel()
        #expect(model.stateNames == ["1.running_mean", "1.running_var", "8.running_mean", "8.running_var"])
        let bytes = try SavedModel(model: model, info: Self.info(classes: 3)).encoded()
        let loaded = try SavedModel<Float>.decode(bytes, file: "conv.safetensors")
        #expect(loaded.model.parameterNames == model.parameterNames && loaded.model.parameters == model.parameters)
        #expect(loaded.model.stateNames == model.stateNames && loaded.model.state == model.state)
        #expect(loaded.model.inputShape == [2, 8, 8])
        #expect(loaded.model.summary == model.summary)
        let x = Tensor<Float>(shape: [5, 128], elements: (0..<640).map { Float(($0 * 37) % 101) / 50 - 1 })
        #expect(loaded.model(x) == model(x))
        let metadata = try Safetensors.decode(bytes, file: "m").metadata
        #expect(metadata["format"] == "backprop.model.v2")
        #expect(metadata["architecture"]!.contains(#""inputShape":[2,8,8]"#))
    }

    @Test func summaryShowsEachLayersOutputShape() {
        let summary = Self.convolutionalModel().summary
        #expect(summary.contains("Sequential (12 layers, input [2, 8, 8])"))
        #expect(summary.contains("0  Conv2D(2 → 4, 3×3 padding 1,1,1,1, no bias)  → [4, 8, 8]  weight [4, 2, 3, 3]  params: 72"))
        #expect(summary.contains("3  MaxPool2D(2×2 stride 2×2)  → [4, 4, 4]  params: 0"))
        #expect(summary.contains("7  GlobalAveragePool  → [3]"))
        #expect(summary.contains("1  BatchNorm(4)  → [4, 8, 8]  weight [4], bias [4]  state running_mean [4], running_var [4]  params: 8"))
    }

    @Test func everyKindIsRegisteredOnceAndRoundTrips() throws {
        let kinds = LayerKinds.all.map { $0.kind }
        #expect(Set(kinds).count == kinds.count)
        let model = Self.convolutionalModel()
        let used = Set(model.layers.compactMap { $0.specification.map { type(of: $0).kind } })
        #expect(used == Set(kinds))
    }

    func reason(_ architecture: String) -> String {
        do {
            let decoded = try JSONDecoder().decode(ModelArchitecture.self, from: Data(architecture.utf8))
            _ = try decoded.plan(file: "m")
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        (#"{"layers":[{"type":"conv3d"}]}"#, "unknown layer type 'conv3d' (known: dense, activation"),
        (#"{"layers":[{"type":"conv2d","inputs":1,"outputs":4,"window":{"kernelHeight":3,"kernelWidth":3,"strideHeight":1,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "states no input shape"),
        (#"{"inputShape":[1,2,2],"layers":[{"type":"conv2d","inputs":1,"outputs":4,"window":{"kernelHeight":3,"kernelWidth":3,"strideHeight":1,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "layer 0 (conv2d): a convolution window of 3×3 does not fit an image of 2×2"),
        (#"{"inputShape":[3,8,8],"layers":[{"type":"conv2d","inputs":1,"outputs":4,"window":{"kernelHeight":3,"kernelWidth":3,"strideHeight":1,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "a convolution over 1 channels cannot take images of 3 channels"),
        (#"{"inputShape":[1,8,8],"layers":[{"type":"conv2d","inputs":1,"outputs":4,"window":{"kernelHeight":3,"kernelWidth":3,"strideHeight":0,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "is not valid: sizes and strides run from 1"),
        (#"{"inputShape":[1,8,8],"layers":[{"type":"maxpool2d","window":{"kernelHeight":2,"kernelWidth":2,"strideHeight":2,"strideWidth":2,"padTop":-1,"padBottom":0,"padLeft":0,"padRight":0}}]}"#,
         "padding must be smaller than the kernel"),
        (#"{"inputShape":[1,8,8],"layers":[{"type":"conv2d","inputs":1,"outputs":9223372036854775807,"window":{"kernelHeight":3,"kernelWidth":3,"strideHeight":1,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "a convolution's weight has a size of 9223372036854775807"),
        (#"{"inputShape":[1,1024,1024],"layers":[{"type":"conv2d","inputs":1,"outputs":4096,"window":{"kernelHeight":1,"kernelWidth":1,"strideHeight":1,"strideWidth":1,"padTop":0,"padBottom":0,"padLeft":0,"padRight":0},"bias":true}]}"#,
         "values per sample, the limit"),
        (#"{"inputShape":[1,8,8],"layers":[{"type":"dense","inputs":64,"outputs":2}]}"#, "cannot take samples of shape [1, 8, 8] (add a flatten layer before it)"),
        (#"{"inputShape":[4],"layers":[{"type":"batchnorm","features":4,"momentum":2,"epsilon":1e-5}]}"#, "momentum in [0, 1]"),
        (#"{"inputShape":[4],"layers":[{"type":"layernorm","shape":[5],"epsilon":1e-5}]}"#, "layer normalisation of samples [5] cannot take samples of shape [4]"),
        (#"{"inputShape":[0],"layers":[{"type":"flatten"}]}"#, "holds more than"),
        (#"{"inputShape":[4, 4],"layers":[{"type":"activation","function":"softmax"}]}"#, "softmax takes samples of one axis"),
    ])
    func invalidArchitecturesAreRefusedWithTheLayerAndTheReason(_ json: String, _ message: String) {
        let result = reason(json)
        #expect(result.contains(message), "\(result)")
    }

    @Test func firstFormatArchitecturesReadAsDenseNetworks() throws {
        let json = #"{"layers":[{"type":"dense","inputs":3,"outputs":4},{"type":"activation","function":"leaky-relu","parameter":0.2},{"type":"dropout","rate":0.5},{"type":"dense","inputs":4,"outputs":2}]}"#
        let architecture = try JSONDecoder().decode(ModelArchitecture.self, from: Data(json.utf8))
        let plan = try architecture.plan(file: "m")
        #expect(plan.inputShape == [3] && plan.outputShape == [2])
        #expect(plan.parameters.map(\.name) == ["0.weight", "0.bias", "3.weight", "3.bias"])
        #expect(plan.state.isEmpty)
    }

    @Test func stateTensorsAreCheckedLikeWeights() throws {
        let model = Self.convolutionalModel()
        let saved = SavedModel(model: model, info: Self.info(classes: 3))
        let metadata = try Safetensors.decode(try saved.encoded(), file: "m").metadata
        var tensors = zip(model.parameterNames + model.stateNames, model.parameters + model.state).map { (name: $0, entry: Safetensors.Entry($1)) }
        let missing = try Safetensors.encode(tensors.filter { $0.name != "8.running_var" }, metadata: metadata)
        #expect(throws: ModelFileError.self) { try SavedModel<Float>.decode(missing, file: "m") }
        let index = tensors.firstIndex { $0.name == "1.running_mean" }!
        tensors[index].entry = Safetensors.Entry(Tensor<Float>(shape: [4], repeating: .infinity))
        do {
            _ = try SavedModel<Float>.decode(try Safetensors.encode(tensors, metadata: metadata), file: "m")
            Issue.record("a non-finite running mean was accepted")
        } catch {
            #expect("\(error)".contains("'1.running_mean' contains NaN or infinite values"))
        }
    }
}
