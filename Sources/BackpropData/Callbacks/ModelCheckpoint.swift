import BackpropCore
import BackpropNN

/// Writes a checkpoint file (a model file with the complete training state, from which training resumes exactly)
/// every `every` epochs, atomically: the file is always either the previous checkpoint or the whole new one.
///
/// Put it after the other callbacks: it saves the state as they left it at the end of the epoch.
public struct ModelCheckpoint<Scalar: TensorScalar>: Callback, Sendable {
    /// Where the checkpoint is written.
    public var path: String
    /// Epochs between checkpoints.
    public var every: Int
    /// The network (its architecture; the weights come from training).
    public var model: Sequential<Scalar>
    /// The description saved with it; its training record's history and stop reason are filled in at each write.
    public var info: ModelInfo

    /// Creates the callback.
    public init(path: String, every: Int = 1, model: Sequential<Scalar>, info: ModelInfo) {
        precondition(every > 0, "ModelCheckpoint: every must be positive, got \(every)")
        self.path = path
        self.every = every
        self.model = model
        self.info = info
    }

    public mutating func epochEnded<S>(_ report: EpochReport, _ training: inout TrainingControl<S>) throws {
        guard report.epoch % every == 0 else { return }
        try write(training.checkpoint, reason: "checkpoint after epoch \(report.epoch)")
    }

    /// Writes `checkpoint` now (`reason` is recorded as the file's stop reason).
    public func write<S>(_ checkpoint: TrainingCheckpoint<S>, reason: String) throws {
        guard let model = model as? Sequential<S> else {
            throw DataError.mismatch("ModelCheckpoint holds a model of \(Scalar.self), the training runs in \(S.self)")
        }
        var info = info
        info.training?.history = checkpoint.history.map(EpochRecord.init)
        info.training?.stopReason = reason
        try CheckpointFile(saved: SavedModel(model: model, info: info), checkpoint: checkpoint).write(to: path)
    }
}
