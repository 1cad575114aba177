import BackpropCore
@testable import BackpropData
import BackpropNN
import Foundation
import Testing

@Suite("ONNX export and import")
struct ONNXTests {
    /// A convolutional classifier with every layer kind and activation, and batch-normalisation statistics that are
    /// not the initial ones.
    static func imageModel() throws -> SavedModel<Float> {
        let description = try ModelDescription(parsing: """
            conv 4 3x3 same relu, batchnorm, maxpool 2, conv 6 3x3 stride 2 pad 1 leaky-relu 0.1, avgpool 2, \
            conv 5 1x1 nobias elu 0.5, layernorm, flatten, dropout 0.25, dense 8 gelu, batchnorm, dense 6 tanh, \
            dense 7 softplus, dense 4 sigmoid, dense 3
            """)
        var model: Sequential<Float> = try description.build(inputShape: [1, 12, 12], seed: 3)
        var generator = SeededGenerator(seed: 9)
        model.state = model.state.enumerated().map { index, tensor in
            Tensor(shape: tensor.shape, elements: (0..<tensor.count).map { _ in Float.random(in: 0.2...1.5, using: &generator) * (index % 2 == 0 ? 0.3 : 1) })
        }
        let info = ModelInfo(task: .classification, classNames: ["a", "b", "c"], featureNames: nil,
                             preprocessing: .uniform(factor: 1.0 / 255), loss: .softmaxCrossEntropy, labelColumn: nil, training: nil)
        return SavedModel(model: model, info: info)
    }

    /// A CSV model with a text column, fills and standard scaling.
    static func tabularModel() -> SavedModel<Float> {
        let model = Sequential<Float>.multilayerPerceptron(sizes: [4, 5, 2], activation: .relu, seed: 2)
        let columns = [FeatureColumn(name: "size", encoding: .numeric(fill: 2.5)),
                       FeatureColumn(name: "colour", encoding: .categorical(categories: ["red", "green", "blue"], fill: "red"))]
        let info = ModelInfo(task: .classification, classNames: ["no", "yes"], featureNames: ["size", "colour=red", "colour=green", "colour=blue"],
                             preprocessing: .standardize(mean: [1, 0, 0, 0], standardDeviation: [2, 1, 1, 1]),
                             loss: .softmaxCrossEntropy, labelColumn: "label", training: nil, columns: columns)
        return SavedModel(model: model, info: info)
    }

    func exported(_ saved: SavedModel<Float>) throws -> [UInt8] {
        try ONNXExport.model(saved, producerVersion: "test").encoded()
    }

    func importError(_ model: ONNXModel) -> String {
        do {
            _ = try ONNXImport.decode(model.encoded(), file: "m.onnx")
            return "imported"
        } catch {
            return "\(error)"
        }
    }

    @Test func protobufFieldsRoundTrip() throws {
        var writer = Protobuf.Writer()
        writer.integer(1, -3)
        writer.varint(2, UInt64.max)
        writer.float(3, 0.1)
        writer.string(4, "héllo")
        writer.packedIntegers(5, [0, 1, -1, 1 << 40])
        writer.packedFloats(6, [1.5, -2])
        var reader = Protobuf.Reader(writer.bytes[...])
        #expect(try reader.next()!.value.integer("a") == -3)
        guard case .varint(let big)? = try reader.next()?.value else { Issue.record("no varint"); return }
        #expect(big == UInt64.max)
        #expect(try reader.next()!.value.float("c") == 0.1)
        #expect(try reader.next()!.value.string("d") == "héllo")
        #expect(try reader.next()!.value.integers("e", limit: 10) == [0, 1, -1, 1 << 40])
        #expect(try reader.next()!.value.floats("f") == [1.5, -2])
        #expect(try reader.next() == nil)
    }

    @Test(arguments: [
        ([0x08], "a varint runs past the end"),
        ([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01], "longer than 64 bits"),
        ([0x12, 0x05, 0x01], "runs past the end of its message"),
        ([0x0B], "wire type 3"),
        ([0x00, 0x01], "field number 0"),
        ([0x0D, 0x01, 0x02], "runs past the end"),
    ] as [([UInt8], String)])
    func malformedProtobufIsRefused(bytes: [UInt8], reason: String) {
        var reader = Protobuf.Reader(bytes[...])
        do {
            while try reader.next() != nil {}
            Issue.record("accepted \(bytes)")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    @Test func messagesRoundTrip() throws {
        let bytes = try exported(Self.imageModel())
        let decoded = try ONNXModel(decoding: bytes[...])
        #expect(decoded.encoded() == bytes)
        #expect(decoded.opsets == ["": ONNXExport.opsetVersion])
        #expect(decoded.graph.inputs == [ONNXValueInfo(name: "input", elementType: 1, shape: [.symbolic("batch"), .fixed(1), .fixed(12), .fixed(12)])])
        #expect(decoded.graph.outputs.map(\.name) == ["probabilities"])
        #expect(decoded.graph.nodes.map(\.opType) == [
            "Mul", "Conv", "Relu", "BatchNormalization", "MaxPool", "Conv", "LeakyRelu", "AveragePool", "Conv", "Elu",
            "LayerNormalization", "Flatten", "Gemm", "Gelu", "BatchNormalization", "Gemm", "Tanh", "Gemm", "Softplus",
            "Gemm", "Sigmoid", "Gemm", "Softmax",
        ])
        #expect(decoded.metadata.first { $0.key == "class_names" }?.value == #"["a","b","c"]"#)
    }

    @Test func exportThenImportKeepsTheModelBitForBit() throws {
        for original in [try Self.imageModel(), Self.tabularModel()] {
            let result = try ONNXImport.decode(try exported(original), file: "m.onnx")
            let back = result.saved
            #expect(result.notices.isEmpty)
            #expect(back.info == original.info)
            #expect(back.model.parameterNames + back.model.stateNames == original.model.parameterNames + original.model.stateNames)
            #expect(zip(back.model.parameters + back.model.state, original.model.parameters + original.model.state).allSatisfy {
                $0.shape == $1.shape && $0.scalars.map(\.bitPattern) == $1.scalars.map(\.bitPattern)
            })
            // The architecture, dropout and hyperparameters included, is the model file's own.
            #expect(try back.metadata()["architecture"] == original.metadata()["architecture"])
            let shape = [5] + (original.model.fixedInputShape ?? [])
            var generator = SeededGenerator(seed: 1)
            let x = Tensor<Float>(shape: shape, elements: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
            #expect(back.model(x).scalars == original.model(x).scalars)
        }
    }

    @Test func aCSVModelTakesOneInputPerColumn() throws {
        let graph = try ONNXModel(decoding: try exported(Self.tabularModel())[...]).graph
        #expect(graph.inputs.map(\.name) == ["size", "colour"])
        #expect(graph.inputs.map(\.elementType) == [1, 8])
        #expect(graph.nodes.prefix(7).map(\.opType) == ["IsNaN", "Where", "Equal", "Where", "OneHotEncoder", "Flatten", "Concat"])
    }

    @Test func aGraphWithoutBackpropMetadataImportsAsANetwork() throws {
        var onnx = try ONNXModel(decoding: try exported(Self.tabularModel())[...])
        onnx.metadata = []
        // Without the description, the inputs per column are not one network input.
        #expect(importError(onnx).contains("the graph has 2 inputs; a model with one input imports"))

        // A plain network: a classifier, with the columns a header-less CSV has.
        var plain = try ONNXModel(decoding: try exported(SavedModel(model: Self.tabularModel().model, info: ModelInfo(
            task: .classification, classNames: ["no", "yes"], featureNames: nil, preprocessing: .none, loss: .softmaxCrossEntropy,
            labelColumn: nil, training: nil)))[...])
        plain.metadata = []
        let result = try ONNXImport.decode(plain.encoded(), file: "m.onnx", classNames: ["left", "right"])
        #expect(result.saved.info.classNames == ["left", "right"])
        #expect(result.saved.info.featureNames == ["column1", "column2", "column3", "column4"])
        #expect(result.saved.info.loss.isSame(as: .softmaxCrossEntropy))
        #expect(result.saved.model.parameters == Self.tabularModel().model.parameters)
    }

    @Test func metadataThatContradictsTheGraphIsIgnored() throws {
        var onnx = try ONNXModel(decoding: try exported(Self.imageModel())[...])
        let index = onnx.metadata.firstIndex { $0.key == "backprop.info" }!
        onnx.metadata[index].value = onnx.metadata[index].value.replacingOccurrences(of: "0.00392156862745098", with: "0.5")
        // Its preprocessing no longer matches, so the graph is read as a foreign one, whose first node is not a layer.
        #expect(importError(onnx).contains("node 'scaled' (Mul) is not supported"))
    }

    /// A graph of `nodes` on one input [batch, 3] with `initializers`, ending in `output`.
    func chain(_ nodes: [ONNXNode], _ initializers: [ONNXTensor], output: String = "y", inputs: Int = 3) -> ONNXModel {
        ONNXModel(irVersion: 8, opsets: ["": 17], producerName: "test", producerVersion: "", graph: ONNXGraph(
            name: "g", nodes: nodes, initializers: initializers,
            inputs: [ONNXValueInfo(name: "x", elementType: 1, shape: [.symbolic("n"), .fixed(inputs)])],
            outputs: [ONNXValueInfo(name: output, elementType: 1, shape: nil)]), metadata: [])
    }

    func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [ONNXAttribute] = []) -> ONNXNode {
        ONNXNode(opType: op, domain: "", name: output, inputs: inputs, outputs: [output], attributes: attributes)
    }

    func weights(_ name: String, _ dims: [Int]) -> ONNXTensor {
        ONNXTensor(name: name, dims: dims, elements: .float((0..<dims.reduce(1, *)).map { Float($0) / 10 - 0.3 }))
    }

    @Test func importedOperatorsBecomeLayers() throws {
        let model = chain([
            node("MatMul", ["x", "w1"], "h"), node("Add", ["h", "b1"], "z"), node("Relu", ["z"], "a"),
            node("Gemm", ["a", "w2"], "y"),
        ], [weights("w1", [3, 4]), weights("b1", [4]), weights("w2", [4, 2])])
        let saved = try ONNXImport.decode(model.encoded(), file: "m.onnx").saved
        #expect(saved.info.task == .regression)
        #expect(saved.model.summary.contains("Dense(3 → 4)") && saved.model.summary.contains("Dense(4 → 2)"))
        let x = Tensor<Float>([[1, 2, 3]])
        // x·W1 + b1, ReLU, ·W2 (no bias), computed by hand.
        let w1: [Float] = (0..<12).map { Float($0) / 10 - 0.3 }
        let b1: [Float] = (0..<4).map { Float($0) / 10 - 0.3 }
        let w2: [Float] = (0..<8).map { Float($0) / 10 - 0.3 }
        let input: [Float] = [1, 2, 3]
        var hidden = [Float](repeating: 0, count: 4)
        for j in 0..<4 {
            var sum = b1[j]
            for i in 0..<3 { sum += input[i] * w1[i * 4 + j] }
            hidden[j] = max(0, sum)
        }
        var expected = [Float](repeating: 0, count: 2)
        for k in 0..<2 {
            for j in 0..<4 { expected[k] += hidden[j] * w2[j * 2 + k] }
        }
        let output = saved.model(x).scalars
        #expect(zip(output, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(output) vs \(expected)")
    }

    @Test(arguments: [
        ("unsupported operator", "node 'y' (Pad) is not supported"),
        ("branch", "node 'y' (Add) is not supported"),
        ("not a chain", "node 'y' (Relu) does not take the previous layer's output ('a')"),
        ("scaled Gemm", "node 'y' (Gemm): only alpha = beta = 1 and transA = 0"),
        ("wrong weight", "node 'y' (Gemm): weight [5, 2] does not take 3 inputs"),
        ("grouped conv", "node 'y' (Conv): grouped convolutions are not supported"),
        ("unknown attribute", "node 'y' (Relu): attribute 'extra' is not supported"),
        ("two inputs", "the graph has 2 inputs"),
        ("old opset", "uses operator set 7 of ai.onnx"),
        ("weight is an input", "input 2 ('w') is not a constant"),
        ("no output", "node 'h' (MatMul) names no output"),
    ])
    func unsupportedGraphsAreNamedErrors(name: String, message: String) {
        var model: ONNXModel
        switch name {
        case "unsupported operator": model = chain([node("Pad", ["x"], "y")], [])
        case "branch": model = chain([node("Relu", ["x"], "a"), node("Add", ["a", "x"], "y")], [])
        case "not a chain": model = chain([node("Relu", ["x"], "a"), node("Relu", ["x"], "y")], [])
        case "scaled Gemm": model = chain([node("Gemm", ["x", "w"], "y", [.float("alpha", 2)])], [weights("w", [3, 2])])
        case "wrong weight": model = chain([node("Gemm", ["x", "w"], "y")], [weights("w", [5, 2])])
        case "grouped conv":
            model = chain([node("Conv", ["x", "w"], "y", [.int("group", 2)])], [weights("w", [2, 1, 1, 1])])
            model.graph.inputs[0].shape = [.symbolic("n"), .fixed(2), .fixed(4), .fixed(4)]
        case "unknown attribute": model = chain([node("Relu", ["x"], "y", [.int("extra", 1)])], [])
        case "two inputs":
            model = chain([node("Relu", ["x"], "y")], [])
            model.graph.inputs.append(ONNXValueInfo(name: "z", elementType: 1, shape: nil))
        case "old opset":
            model = chain([node("Relu", ["x"], "y")], [])
            model.opsets = ["": 7]
        case "no output":  // found by the fuzzer: a two-node layer whose second node names no output
            model = chain([node("MatMul", ["x", "w"], "h"), ONNXNode(opType: "Add", domain: "", name: "", inputs: ["h", "b"], outputs: [], attributes: [])],
                          [weights("w", [3, 2]), weights("b", [2])])
        default: model = chain([node("Gemm", ["x", "w"], "y")], [])
        }
        let error = importError(model)
        #expect(error.hasPrefix("m.onnx: ") && error.contains(message), "\(error)")
    }

    @Test func malformedFilesAreRefused() throws {
        let bytes = try exported(Self.tabularModel())
        for cut in [1, 7, bytes.count / 2, bytes.count - 1] {
            do {
                _ = try ONNXImport.decode(Array(bytes[..<cut]), file: "m.onnx")
                Issue.record("a file cut at \(cut) bytes was accepted")
            } catch {
                #expect("\(error)".hasPrefix("m.onnx: "), "\(error)")
            }
        }
        // A tensor whose bytes do not match its shape.
        var writer = Protobuf.Writer()
        writer.message(7) { graph in
            graph.message(5) { tensor in
                tensor.packedIntegers(1, [2, 3])
                tensor.integer(2, 1)
                tensor.bytes(9, [UInt8](repeating: 0, count: 20))
                tensor.string(8, "w")
            }
        }
        #expect(throws: ModelFileError.corrupt("m.onnx", "not a valid ONNX model: tensor 'w' of shape [2, 3] holds 5 values")) {
            try ONNXImport.decode(writer.bytes, file: "m.onnx")
        }
    }

    @Test func aColumnNamedLikeAGraphValueIsRefused() throws {
        var saved = Self.tabularModel()
        saved.info.columns![0].name = "colour.one_hot"
        saved.info.featureNames![0] = "colour.one_hot"
        #expect(throws: ModelFileError.self) { try ONNXExport.model(saved, producerVersion: "test") }
    }
}

@Suite("ONNX external data")
struct ONNXExternalDataTests {
    /// A model whose one weight is kept in `location` at `offset` (a Gemm of 2 inputs, 1 output).
    func model(location: String, offset: Int = 0) -> [UInt8] {
        var writer = Protobuf.Writer()
        writer.message(8) { $0.string(1, ""); $0.integer(2, 17) }
        writer.message(7) { graph in
            graph.message(1) { node in
                node.string(1, "x"); node.string(1, "w"); node.string(2, "y"); node.string(4, "Gemm")
                node.message(5) { $0.string(1, "transB"); $0.integer(3, 1); $0.integer(20, 2) }
            }
            graph.message(5) { tensor in
                tensor.packedIntegers(1, [1, 2])
                tensor.integer(2, 1)
                tensor.string(8, "w")
                tensor.message(13) { $0.string(1, "location"); $0.string(2, location) }
                tensor.message(13) { $0.string(1, "offset"); $0.string(2, "\(offset)") }
                tensor.message(13) { $0.string(1, "length"); $0.string(2, "8") }
                tensor.integer(14, 1)
            }
            graph.message(11) { ONNXValueInfo(name: "x", elementType: 1, shape: [.symbolic("n"), .fixed(2)]).encode(to: &$0) }
            graph.message(12) { ONNXValueInfo(name: "y", elementType: 1, shape: nil).encode(to: &$0) }
        }
        return writer.bytes
    }

    @Test func weightsAreReadFromTheFileBesideTheModel() throws {
        let directory = NSTemporaryDirectory() + "onnx-external-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let weights: [Float] = [0, 1.5, -2]  // the tensor starts at byte 4
        try Data(weights.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).write(to: URL(fileURLWithPath: directory + "/m.onnx.data"))
        try Data(model(location: "m.onnx.data", offset: 4)).write(to: URL(fileURLWithPath: directory + "/m.onnx"))
        let saved = try ONNXImport.read(from: directory + "/m.onnx").saved
        #expect(saved.model.parameters[0].scalars == [1.5, -2])

        for (location, offset, reason) in [("../m.onnx.data", 0, "outside the model's directory"), ("/etc/passwd", 0, "outside the model's directory"),
                                           ("m.onnx.data", 8, "names bytes outside m.onnx.data"), ("absent", 0, "absent, which cannot be read")] {
            try Data(model(location: location, offset: offset)).write(to: URL(fileURLWithPath: directory + "/bad.onnx"))
            #expect(throws: (any Error).self) { try ONNXImport.read(from: directory + "/bad.onnx") }
            do {
                _ = try ONNXImport.read(from: directory + "/bad.onnx")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
        // Bytes without a file to resolve against.
        #expect(throws: ModelFileError.corrupt("m.onnx", "not a valid ONNX model: tensor 'w' keeps its data in an external file; import the model from its file path")) {
            try ONNXImport.decode(model(location: "m.onnx.data"), file: "m.onnx")
        }
    }
}
