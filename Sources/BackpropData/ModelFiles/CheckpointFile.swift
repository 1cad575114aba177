import BackpropCore
import BackpropNN
import Foundation

/// A training checkpoint on disk: a model file (readable by `backprop inspect`, `evaluate` and `predict`) plus the
/// optimizer state, generators, scheduler, history and position needed to resume training exactly.
///
/// Extra tensors: `optimizer.<parameter>.<i>` (the optimizer's i-th state tensor) and `best.<parameter>`,
/// `best.<state>` (early stopping's best weights and state). Extra metadata: `checkpoint`, a JSON object with the scalar state.
public struct CheckpointFile<Scalar: TensorScalar>: Sendable {
    /// The model, with the checkpoint's current weights, and its description.
    public var saved: SavedModel<Scalar>
    /// The training state.
    public var checkpoint: TrainingCheckpoint<Scalar>

    /// The format identifier of checkpoint files.
    public static var formatName: String { "backprop.checkpoint.v1" }

    private struct State: Codable {
        var completedEpochs: Int
        var batchesDone: Int
        var steps: [Int]
        var shuffleGenerator: SeededGenerator
        var dropoutGenerator: SeededGenerator
        var scheduler: LearningRateState
        var history: [EpochReport]
        var partialEpoch: TrainingCheckpoint<Scalar>.PartialEpoch
        var bestEpoch: Int?
        var bestLoss: Double?
    }

    // Infinities occur legitimately (a scheduler's best loss before the first epoch) and JSON has no literal for them.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Pairs a model description with a training state.
    public init(saved: SavedModel<Scalar>, checkpoint: TrainingCheckpoint<Scalar>) {
        self.saved = saved
        self.checkpoint = checkpoint
    }

    /// Writes the checkpoint atomically.
    public func write(to path: String) throws {
        var model = saved.model
        model.parameters = checkpoint.parameters
        model.state = checkpoint.state
        let current = SavedModel(model: model, info: saved.info)
        var tensors = current.tensors()
        for (name, state) in zip(model.parameterNames, checkpoint.optimizerStates) {
            for (i, tensor) in state.tensors.enumerated() {
                tensors.append((name: "optimizer.\(name).\(i)", entry: Safetensors.Entry(tensor)))
            }
        }
        if let best = checkpoint.best {
            for (name, tensor) in zip(model.parameterNames + model.stateNames, best.parameters + best.state) {
                tensors.append((name: "best.\(name)", entry: Safetensors.Entry(tensor)))
            }
        }
        let state = State(completedEpochs: checkpoint.completedEpochs, batchesDone: checkpoint.batchesDone,
                          steps: checkpoint.optimizerStates.map(\.step), shuffleGenerator: checkpoint.shuffleGenerator,
                          dropoutGenerator: checkpoint.dropoutGenerator, scheduler: checkpoint.scheduler,
                          history: checkpoint.history, partialEpoch: checkpoint.partialEpoch,
                          bestEpoch: checkpoint.best?.epoch, bestLoss: checkpoint.best?.loss)
        var metadata = try current.metadata()
        metadata["format"] = SavedModel<Scalar>.formatName
        metadata["checkpoint_format"] = Self.formatName
        metadata["checkpoint"] = String(decoding: try Self.encoder.encode(state), as: UTF8.self)
        try AtomicFile.write(try Safetensors.encode(tensors, metadata: metadata), to: path)
    }

    /// Reads and validates a checkpoint; every optimizer state tensor must have its parameter's shape.
    ///
    /// The header is checked from the file's first bytes and every tensor's presence and shape against it before
    /// the tensors are read, each straight into its storage (``SafetensorsReader``). `losses` are the losses of your
    /// own the file may name.
    public static func read(from path: String, losses: [any Loss] = []) throws -> CheckpointFile {
        let reader = try SafetensorsReader(path: path)
        return try assemble(metadata: reader.metadata, shapes: reader.slots.mapValues(\.shape), file: path, losses: losses) {
            try reader.tensor($0)
        }
    }

    /// Parses and validates checkpoint bytes; `path` names the source in errors.
    public static func decode(_ bytes: [UInt8], file path: String, losses: [any Loss] = []) throws -> CheckpointFile {
        let (tensors, metadata) = try Safetensors.decode(bytes, file: path)
        return try assemble(metadata: metadata, shapes: tensors.mapValues(\.shape), file: path, losses: losses) {
            tensors[$0]!.tensor()
        }
    }

    private static func assemble(metadata: [String: String], shapes tensors: [String: [Int]], file path: String,
                                 losses: [any Loss], load: (String) throws -> Tensor<Scalar>) throws -> CheckpointFile {
        guard metadata["checkpoint_format"] == formatName, let json = metadata["checkpoint"] else {
            throw ModelFileError.incompatible(path, "not a Backprop checkpoint (a model file cannot resume training; use the --checkpoint file)")
        }
        let state: State
        do {
            state = try Self.decoder.decode(State.self, from: Data(json.utf8))
        } catch {
            throw ModelFileError.corrupt(path, "checkpoint state is not valid: \(error)")
        }
        // The model part (the extra tensors are checked below).
        let saved = try SavedModel<Scalar>.assemble(metadata: metadata, shapes: tensors, file: path, losses: losses, load: load)
        let parameterNames = saved.model.parameterNames, stateNames = saved.model.stateNames
        guard state.steps.count == parameterNames.count, state.steps.allSatisfy({ $0 >= 0 }),
              state.completedEpochs >= 0, state.batchesDone >= 0, state.history.count == state.completedEpochs else {
            throw ModelFileError.corrupt(path, "checkpoint state does not match the model's \(parameterNames.count) parameters")
        }
        let partial = state.partialEpoch
        guard partial.lossSum.isFinite, partial.correct >= 0, partial.seconds.isFinite, partial.seconds >= 0,
              partial.gradientNormSums.isEmpty || partial.gradientNormSums.count == parameterNames.count,
              partial.gradientNormSums.allSatisfy(\.isFinite), state.bestLoss?.isFinite ?? true else {
            throw ModelFileError.corrupt(path, "checkpoint state holds a non-finite or negative running total")
        }
        let slotCount = tensors.keys.filter { $0.hasPrefix("optimizer.\(parameterNames[0]).") }.count
        var states: [ParameterState<Scalar>] = []
        for (index, (name, parameter)) in zip(parameterNames, saved.model.parameters).enumerated() {
            let slots: [Tensor<Scalar>] = try (0..<slotCount).map { i in
                guard tensors["optimizer.\(name).\(i)"] == parameter.shape else {
                    throw ModelFileError.corrupt(path, "optimizer state 'optimizer.\(name).\(i)' is missing or has the wrong shape")
                }
                let tensor = try load("optimizer.\(name).\(i)")
                guard tensor.isFinite else {
                    throw ModelFileError.corrupt(path, "optimizer state 'optimizer.\(name).\(i)' contains NaN or infinite values")
                }
                return tensor
            }
            states.append(ParameterState(step: state.steps[index], tensors: slots))
        }
        let expected = Set(parameterNames).union(parameterNames.flatMap { name in (0..<slotCount).map { "optimizer.\(name).\($0)" } })
            .union(stateNames)
            .union(state.bestEpoch == nil ? [] : (parameterNames + stateNames).map { "best.\($0)" })
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw ModelFileError.corrupt(path, "tensor '\(extra)' is not part of the checkpoint")
        }
        var best: BestEpoch<Scalar>?
        if let epoch = state.bestEpoch, let loss = state.bestLoss {
            let tensors: [Tensor<Scalar>] = try zip(parameterNames + stateNames, saved.model.parameters + saved.model.state).map { name, current in
                guard tensors["best.\(name)"] == current.shape else {
                    throw ModelFileError.corrupt(path, "best weights 'best.\(name)' are missing or have the wrong shape")
                }
                let tensor = try load("best.\(name)")
                guard tensor.isFinite else { throw ModelFileError.corrupt(path, "best weights 'best.\(name)' contain NaN or infinite values") }
                return tensor
            }
            best = BestEpoch(epoch: epoch, loss: loss, parameters: Array(tensors[..<parameterNames.count]),
                             state: Array(tensors[parameterNames.count...]))
        }
        let checkpoint = TrainingCheckpoint(
            completedEpochs: state.completedEpochs, batchesDone: state.batchesDone, parameters: saved.model.parameters,
            state: saved.model.state,
            optimizerStates: states, shuffleGenerator: state.shuffleGenerator, dropoutGenerator: state.dropoutGenerator,
            scheduler: state.scheduler, history: state.history, partialEpoch: state.partialEpoch, best: best)
        return CheckpointFile(saved: saved, checkpoint: checkpoint)
    }
}
