import BackpropCore
import BackpropData
import BackpropNN
import Foundation
import Testing

@Suite("Model files")
struct ModelFileTests {
    static func saved() -> SavedModel<Float> {
        let model = Sequential<Float>.multilayerPerceptron(sizes: [3, 4, 2], activation: .leakyReLU(slope: 0.2), seed: 5)
        let info = ModelInfo(task: .classification, classNames: ["no", "yes"], featureNames: ["a", "b", "c"],
                             preprocessing: .standardize(mean: [1, 2, 3], standardDeviation: [1, 1, 2]),
                             loss: .softmaxCrossEntropy, labelColumn: "answer", training: nil)
        return SavedModel(model: model, info: info)
    }

    func reason(_ bytes: [UInt8]) -> String {
        do {
            _ = try SavedModel<Float>.decode(bytes, file: "m.safetensors")
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    /// A safetensors file with the given JSON header and data bytes.
    func file(header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        var length = UInt64(json.count).littleEndian
        return withUnsafeBytes(of: &length) { Array($0) } + json + data
    }

    @Test func roundTripsExactly() throws {
        let original = Self.saved()
        let bytes = try original.encoded()
        let loaded = try SavedModel<Float>.decode(bytes, file: "m.safetensors")
        #expect(loaded.model.parameters == original.model.parameters)
        #expect(loaded.model.parameterNames == original.model.parameterNames)
        #expect(loaded.info == original.info)
        #expect(loaded.model.summary == original.model.summary)
        // Read as Double, the same values.
        let wide = try SavedModel<Double>.decode(bytes, file: "m.safetensors")
        #expect(wide.model.parameters[0].scalars == original.model.parameters[0].scalars.map(Double.init))
        // The header's data section starts 8-byte aligned.
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)
    }

    @Test func atomicWriteReplacesTheFile() throws {
        let path = "/tmp/backprop-model-\(getpid()).safetensors"
        defer { unlink(path) }
        try Self.saved().write(to: path)
        let loaded = try SavedModel<Float>.read(from: path)
        #expect(loaded.info.classNames == ["no", "yes"])
        #expect(access(path + ".tmp-\(getpid())", F_OK) != 0)
    }

    @Test func rejectsDamagedFiles() throws {
        let good = try Self.saved().encoded()
        #expect(reason(Array(good.prefix(4))).contains("too short"))
        var hugeHeader = good
        hugeHeader.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(reason(hugeHeader).contains("header claims"))
        #expect(reason(Array(good.prefix(good.count - 4))).contains("outside the"))
        #expect(reason(file(header: "[1,2]", data: [])).contains("not a JSON object"))
        #expect(reason(file(header: "{\"a\":", data: [])).contains("not valid JSON"))
        #expect(reason(file(header: #"{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: [0])).contains("dtype I8 is not supported"))
        #expect(reason(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("needs 8 bytes"))
        #expect(reason(file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("larger than the file"))
        #expect(reason(file(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("non-negative integers"))
        #expect(reason(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, data: [UInt8](repeating: 0, count: 8))).contains("overlaps"))
        #expect(reason(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8))).contains("belong to no tensor"))
        #expect(reason(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("not a Backprop model"))
        #expect(reason(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("tensor 'a' appears twice"))
        // A key that appears in a nested object and at the top level is not a duplicate.
        #expect(!reason(file(header: #"{"__metadata__":{"a":"x"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).contains("twice"))
    }

    @Test func rejectsModelsThatDoNotAddUp() throws {
        let good = Self.saved()
        var tensors = zip(good.model.parameterNames, good.model.parameters).map { (name: $0, entry: Safetensors.Entry($1)) }
        let metadata = try Safetensors.decode(try good.encoded(), file: "m").metadata
        func encode(_ tensors: [(name: String, entry: Safetensors.Entry)], _ metadata: [String: String]) throws -> [UInt8] {
            try Safetensors.encode(tensors, metadata: metadata)
        }
        #expect(reason(try encode(Array(tensors.dropLast()), metadata)).contains("weight '2.bias' is missing"))
        #expect(reason(try encode(tensors + [(name: "9.weight", entry: Safetensors.Entry(Tensor<Float>([1])))], metadata)).contains("belongs to no layer"))
        tensors[0].entry = Safetensors.Entry(Tensor<Float>.zeros(shape: [4, 2]))
        #expect(reason(try encode(tensors, metadata)).contains("has shape [4, 2], the architecture needs [4, 3]"))
        tensors[0].entry = Safetensors.Entry(Tensor<Float>(shape: [4, 3], repeating: .nan))
        #expect(reason(try encode(tensors, metadata)).contains("NaN or infinite"))
        var badArchitecture = metadata
        badArchitecture["architecture"] = #"{"layers":[{"type":"dense","inputs":3,"outputs":4},{"type":"dense","inputs":5,"outputs":2}]}"#
        #expect(reason(try encode(tensors, badArchitecture)).contains("architecture layer 1 (dense): a dense layer of 5 inputs cannot take samples of shape [4]"))
        badArchitecture["architecture"] = #"{"layers":[{"type":"conv"}]}"#
        #expect(reason(try encode(tensors, badArchitecture)).contains("unknown layer type 'conv'"))
    }

    /// A description that contradicts the layers is refused when saving, and a file holding one when loading.
    @Test(arguments: [
        ("three classes", "3 class names for a model with 2 outputs"), ("no classes", "needs class names"),
        ("repeated class", "not distinct"), ("regression loss", "cannot be trained with the mse loss"),
        ("regression with classes", "has no class names"), ("feature names", "2 feature names for a model with 3 inputs"),
        ("scaling width", "fitted to 2 features"), ("zero spread", "not positive"),
    ])
    func inconsistentDescriptionsAreRefused(_ change: String, _ message: String) throws {
        var saved = Self.saved()
        let goodMetadata = try Safetensors.decode(try saved.encoded(), file: "m").metadata
        switch change {
        case "three classes": saved.info.classNames = ["a", "b", "c"]
        case "no classes": saved.info.classNames = nil
        case "repeated class": saved.info.classNames = ["a", "a"]
        case "regression loss": saved.info.loss = .halfSquaredError
        case "regression with classes": saved.info.task = .regression
        case "feature names": saved.info.featureNames = ["a", "b"]
        case "scaling width": saved.info.preprocessing = .standardize(mean: [0, 0], standardDeviation: [1, 1])
        default: saved.info.preprocessing = .standardize(mean: [0, 0, 0], standardDeviation: [1, 0, 1])
        }
        #expect(throws: ModelFileError.self) { try saved.encoded() }
        do { _ = try saved.encoded() } catch { #expect("\(error)".contains(message), "\(error)") }
        // The same description written around the save check is rejected on loading.
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var metadata = goodMetadata
        metadata["info"] = String(decoding: try encoder.encode(saved.info), as: UTF8.self)
        let tensors = zip(saved.model.parameterNames, saved.model.parameters).map { (name: $0, entry: Safetensors.Entry($1)) }
        #expect(reason(try Safetensors.encode(tensors, metadata: metadata)).contains(message))
    }

    /// A model of more classes than ``Limits/classes`` (a confusion matrix has classes² counts) is refused.
    @Test func tooManyClassesAreRefused() {
        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 5000], activation: .relu, seed: 1)
        let info = ModelInfo(task: .classification, classNames: (0..<5000).map(String.init), featureNames: nil, preprocessing: .none,
                             loss: .softmaxCrossEntropy, labelColumn: nil, training: nil)
        #expect(info.inconsistency(with: model) == "5000 classes, more than the limit of 4096")
    }

    /// Every loss, parameters included, survives its name (the form model files store it in).
    @Test func lossesRoundTripThroughTheirNames() {
        for loss: any Loss in [.halfSquaredError, .meanSquaredError, .meanAbsoluteError, .huber(delta: 1), .huber(delta: 0.25),
                           .crossEntropy, .crossEntropy(labelSmoothing: 0.1), .softmaxCrossEntropy,
                           .softmaxCrossEntropy(labelSmoothing: 0.2), .binaryCrossEntropy] {
            let parsed = LossKinds.loss(named: loss.name)
            #expect(parsed?.name == loss.name && type(of: parsed!) == type(of: loss), "\(loss.name)")
        }
        for bad in ["huber:0", "huber:-1", "mse:2", "softmax-cross-entropy:1", "cross-entropy:nan", "adam", "huber:"] {
            #expect(LossKinds.loss(named: bad) == nil, "\(bad)")
        }
    }
}
