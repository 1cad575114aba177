import BackpropCore

/// Something that takes part in training, in the Keras sense: told when training, every epoch and every batch begin
/// and end, it can read the metrics, change the learning rate, replace the weights and stop training.
///
/// ```swift
/// struct StopAtAccuracy: Callback {
///     var target: Double
///     mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {
///         if let accuracy = report.validationAccuracy, accuracy >= target {
///             training.stop(.callback(epoch: report.epoch, reason: "validation accuracy reached \(target)"))
///         }
///     }
/// }
/// ```
/// ```swift
/// try trainer.fit(model, on: data, validation: test, callbacks: [StopAtAccuracy(target: 0.9)])
/// ```
/// Every method has a default that does nothing. An error a method throws ends training, and `fit` rethrows it.
/// Callbacks run in the order given, each seeing what the ones before
/// it changed; a checkpoint taken by ``TrainingControl/checkpoint`` holds the state as the callbacks before it left
/// it (so a checkpointing callback goes last). State that must survive a resume exactly belongs in the
/// ``TrainingControl`` (``TrainingControl/best``, ``TrainingControl/learningRateState``), which checkpoints save.
public protocol Callback {
    /// Training starts (or resumes from a checkpoint, with the history so far).
    mutating func trainingBegan<Scalar>(_ training: inout TrainingControl<Scalar>) throws
    /// An epoch starts; a learning rate set here is that epoch's.
    mutating func epochBegan<Scalar>(_ epoch: Int, _ training: inout TrainingControl<Scalar>) throws
    /// A batch was trained on (its update applied); a learning rate set here holds from the next batch.
    mutating func batchEnded<Scalar>(_ report: BatchReport, _ training: inout TrainingControl<Scalar>) throws
    /// An epoch ended, its validation and test evaluated; `report` is also the last entry of the history.
    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws
    /// Training ended for `reason`.
    mutating func trainingEnded<Scalar>(_ reason: StopReason, _ training: inout TrainingControl<Scalar>) throws
}

extension Callback {
    public mutating func trainingBegan<Scalar>(_ training: inout TrainingControl<Scalar>) {}
    public mutating func epochBegan<Scalar>(_ epoch: Int, _ training: inout TrainingControl<Scalar>) {}
    public mutating func batchEnded<Scalar>(_ report: BatchReport, _ training: inout TrainingControl<Scalar>) {}
    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {}
    public mutating func trainingEnded<Scalar>(_ reason: StopReason, _ training: inout TrainingControl<Scalar>) throws {}
}

/// What a ``Callback`` sees of a training run and may change: the weights, the learning rate, the memory of the
/// best epoch, and whether training goes on.
public struct TrainingControl<Scalar: TensorScalar>: Sendable {
    /// The parameters' names (`"0.weight"`), in the order of ``parameters``.
    public let parameterNames: [String]
    /// The epoch in progress (or just ended), counting from 1.
    public internal(set) var epoch: Int
    /// The reports of the completed epochs.
    public internal(set) var history: [EpochReport]
    /// The current weights; a callback may replace them (with tensors of the same shapes).
    public var parameters: [Tensor<Scalar>]
    /// The current non-trainable state (batch normalisation's running statistics).
    public var state: [Tensor<Scalar>]
    /// ∂J/∂θ of the last batch trained on, one per parameter (empty before the first batch). Valid during the
    /// event only: the next step overwrites these buffers.
    public internal(set) var gradients: [Tensor<Scalar>] = []
    /// The learning rate's schedule, the factor callbacks applied to it, and reduce-on-plateau's memory.
    public var learningRateState: LearningRateState
    /// The best epoch early stopping recorded, with its weights.
    public var best: BestEpoch<Scalar>?
    /// Why training will stop after this event, once a callback has asked it to.
    public private(set) var stopReason: StopReason?
    /// The rest of the training state, for ``checkpoint``.
    var snapshot: TrainingCheckpoint<Scalar>

    /// The learning rate of the current epoch; setting it scales the schedule's rate from here on.
    public var learningRate: Double {
        get { learningRateState.rate(epoch: epoch) }
        set {
            let scheduled = learningRateState.schedule.rate(base: learningRateState.baseRate, epoch: epoch)
            precondition(newValue >= 0 && newValue.isFinite, "TrainingControl: the learning rate must be finite, 0 or more")
            learningRateState.scale = scheduled > 0 ? newValue / scheduled : 0
        }
    }

    /// Asks training to stop after this event (the first reason given is kept).
    public mutating func stop(_ reason: StopReason) {
        if stopReason == nil { stopReason = reason }
    }

    /// The complete training state as it is now (with the changes callbacks have made): what `ModelCheckpoint`
    /// saves, and what ``Trainer/fit(_:on:validation:test:resumingFrom:callbacks:onEvent:shouldStop:)`` resumes
    /// from exactly.
    public var checkpoint: TrainingCheckpoint<Scalar> {
        var checkpoint = snapshot
        checkpoint.parameters = parameters
        checkpoint.state = state
        checkpoint.scheduler = learningRateState
        checkpoint.best = best
        checkpoint.history = history
        return checkpoint
    }

    init(names: [String], epoch: Int, snapshot: TrainingCheckpoint<Scalar>) {
        parameterNames = names
        self.epoch = epoch
        history = snapshot.history
        parameters = snapshot.parameters
        state = snapshot.state
        learningRateState = snapshot.scheduler
        best = snapshot.best
        self.snapshot = snapshot
    }
}
