import BackpropCore
import BackpropNN
import Foundation

/// A trained sequential model with its description, stored as one safetensors file.
///
/// Weights are tensors named like the model's parameters (`"0.weight"`, `"0.bias"`, …; dense weights are
/// `[outputs, inputs]`, convolution weights OIHW, as PyTorch stores them), followed by the state tensors
/// (`"3.running_mean"`). The `__metadata__` section holds `format` (`backprop.model.v2`), `architecture`
/// (``ModelArchitecture``) and `info` (``ModelInfo``: task, classes, preprocessing, training history) as JSON
/// strings. Files of the first format (`backprop.model.v1`) still load.
public struct SavedModel<Scalar: TensorScalar>: Sendable {
    /// The network with its trained weights.
    public var model: Sequential<Scalar>
    /// Everything else needed to use it.
    public var info: ModelInfo

    /// The format identifier written into every model file.
    public static var formatName: String { "backprop.model.v2" }

    /// Every format this version reads: the first (dense networks) and the current one.
    public static var readableFormats: [String] { ["backprop.model.v1", formatName] }

    /// Pairs a model with its description.
    public init(model: Sequential<Scalar>, info: ModelInfo) {
        self.model = model
        self.info = info
    }

    /// The file's bytes.
    ///
    /// - Throws: ``ModelFileError/inconsistent(_:)`` when ``info`` does not describe ``model`` (see
    ///   ``ModelInfo/inconsistency(with:)``), so that no file is written that could not be read back.
    public func encoded() throws -> [UInt8] {
        try Safetensors.encode(tensors(), metadata: try metadata())
    }

    /// The weights and state tensors as the file stores them, named like the model's parameters and state.
    func tensors() -> [(name: String, entry: Safetensors.Entry)] {
        zip(model.parameterNames + model.stateNames, model.parameters + model.state).map {
            (name: $0, entry: Safetensors.Entry($1))
        }
    }

    /// The `__metadata__` section: the format, the architecture and the description, after checking that the
    /// description fits the model.
    func metadata() throws -> [String: String] {
        if let problem = info.inconsistency(with: model) { throw ModelFileError.inconsistent(problem) }
        let architecture = try ModelArchitecture(model)
        let encoder = ModelJSON.encoder()
        return [
            "format": Self.formatName,
            "architecture": String(decoding: try encoder.encode(architecture), as: UTF8.self),
            "info": String(decoding: try encoder.encode(info), as: UTF8.self),
        ]
    }

    /// Writes the model atomically (temporary file, `fsync`, rename): the target is always either the old file or
    /// the complete new one.
    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// Reads and validates a model file.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - losses: losses of your own that the file may name (the built-in kinds are always known).
    /// - Throws: ``ModelFileError`` when the file is not a Backprop model, its architecture is invalid, a weight is
    ///   missing, extra, of the wrong shape or not finite; ``DataError`` when it cannot be read.
    ///
    /// The header is checked from the file's first bytes, every weight's presence and shape against it, and only
    /// then are the weights read, each straight into its tensor (``SafetensorsReader``).
    public static func read(from path: String, losses: [any Loss] = []) throws -> SavedModel {
        let reader = try SafetensorsReader(path: path)
        return try assemble(metadata: reader.metadata, shapes: reader.slots.mapValues(\.shape), file: path, losses: losses) {
            try reader.tensor($0)
        }
    }

    /// Parses model-file bytes; `file` names the source in errors, `losses` are the losses of your own it may name.
    public static func decode(_ bytes: [UInt8], file: String, losses: [any Loss] = []) throws -> SavedModel {
        let (tensors, metadata) = try Safetensors.decode(bytes, file: file)
        return try assemble(metadata: metadata, shapes: tensors.mapValues(\.shape), file: file, losses: losses) {
            tensors[$0]!.tensor()
        }
    }

    /// Checks the metadata and the tensors' names and shapes (`shapes`) against each other, then loads the weights
    /// with `load` and builds the model.
    static func assemble(metadata: [String: String], shapes tensors: [String: [Int]], file: String, losses: [any Loss] = [],
                         load: (String) throws -> Tensor<Scalar>) throws -> SavedModel {
        guard let format = metadata["format"], readableFormats.contains(format) else {
            if let format = metadata["format"], format.hasPrefix("backprop.model.") {
                throw ModelFileError.incompatible(file, "written in format \(format), which this version of Backprop cannot read (it reads \(readableFormats.joined(separator: " and ")))")
            }
            throw ModelFileError.incompatible(file, "not a Backprop model (its metadata has no format \(formatName))")
        }
        let decoder = ModelJSON.decoder(losses: losses)
        guard let architectureJSON = metadata["architecture"], let infoJSON = metadata["info"] else {
            throw ModelFileError.corrupt(file, "metadata lacks 'architecture' or 'info'")
        }
        let architecture: ModelArchitecture
        let info: ModelInfo
        do {
            architecture = try decoder.decode(ModelArchitecture.self, from: Data(architectureJSON.utf8))
            info = try decoder.decode(ModelInfo.self, from: Data(infoJSON.utf8))
        } catch let error as ArchitectureError {
            throw ModelFileError.corrupt(file, "architecture: \(error)")
        } catch {
            throw ModelFileError.corrupt(file, "metadata JSON does not describe a model: \(error)")
        }
        // Every tensor's presence and shape is checked against the header before any tensor is built.
        let plan = try architecture.plan(file: file)
        let shapes = plan.parameters + plan.state
        let expected = Set(shapes.map(\.name))
        // A checkpoint is also a model file; its optimizer and best-epoch tensors are checked by CheckpointFile.
        let isCheckpoint = metadata["checkpoint_format"] != nil
        if let extra = tensors.keys.sorted().first(where: {
            !expected.contains($0) && !(isCheckpoint && ($0.hasPrefix("optimizer.") || $0.hasPrefix("best.")))
        }) {
            throw ModelFileError.corrupt(file, "tensor '\(extra)' belongs to no layer of the architecture")
        }
        for slot in shapes {
            guard let stored = tensors[slot.name] else { throw ModelFileError.corrupt(file, "weight '\(slot.name)' is missing") }
            guard stored == slot.shape else {
                throw ModelFileError.corrupt(file, "weight '\(slot.name)' has shape \(stored), the architecture needs \(slot.shape)")
            }
        }
        func loadAll(_ slots: [TensorSlot]) throws -> [Tensor<Scalar>] {
            try slots.map { slot in
                let tensor = try load(slot.name)
                guard tensor.isFinite else { throw ModelFileError.corrupt(file, "weight '\(slot.name)' contains NaN or infinite values") }
                return tensor
            }
        }
        let model: Sequential<Scalar> = try architecture.build(file: file, parameters: try loadAll(plan.parameters),
                                                              state: try loadAll(plan.state))
        if let problem = info.inconsistency(with: model) { throw ModelFileError.corrupt(file, problem) }
        return SavedModel(model: model, info: info)
    }

    /// What kind of Backprop file is at `path`: a model, a checkpoint (also a model), or neither (no file, another
    /// format, unreadable). Reads only the file's header.
    public static func kind(ofFileAt path: String) -> ModelFileKind {
        guard let metadata = (try? SafetensorsReader(path: path))?.metadata, let format = metadata["format"],
              readableFormats.contains(format) else { return .other }
        return metadata["checkpoint_format"] == nil ? .model : .checkpoint
    }
}

/// What ``SavedModel/kind(ofFileAt:)`` finds at a path.
public enum ModelFileKind: Sendable, Equatable {
    /// A Backprop model file.
    case model
    /// A Backprop training checkpoint (a model file with the training state).
    case checkpoint
    /// No file, or one of another kind.
    case other
}

/// The JSON coding of a model file's metadata (and of the same descriptions in exported ONNX files): sorted keys,
/// and non-finite numbers as strings.
enum ModelJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func decoder(losses: [any Loss] = []) -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.userInfo[StoredLoss.customLossesKey] = losses
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
