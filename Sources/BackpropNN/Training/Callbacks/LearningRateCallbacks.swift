/// Multiplies the learning rate by `factor` whenever the watched loss — the validation loss, or the training loss
/// without validation data — has not improved for `patience` epochs, never going below `minimum`.
///
/// Its memory (best loss, epochs since) is kept in ``TrainingControl/learningRateState``, which checkpoints save.
public struct ReduceLearningRateOnPlateau: Callback, Sendable, Hashable {
    /// The factor applied at each reduction (in (0, 1)).
    public var factor: Double
    /// Epochs without improvement before a reduction.
    public var patience: Int
    /// The smallest rate a reduction leads to.
    public var minimum: Double

    /// Creates the callback.
    public init(factor: Double = 0.1, patience: Int = 10, minimum: Double = 0) {
        precondition(factor > 0 && factor < 1, "ReduceLearningRateOnPlateau: factor must be in (0, 1), got \(factor)")
        precondition(patience > 0 && minimum >= 0, "ReduceLearningRateOnPlateau: patience must be positive, minimum not negative")
        self.factor = factor
        self.patience = patience
        self.minimum = minimum
    }

    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {
        let loss = report.validationLoss ?? report.trainingLoss
        if loss < training.learningRateState.bestLoss {
            training.learningRateState.bestLoss = loss
            training.learningRateState.epochsWithoutImprovement = 0
            return
        }
        training.learningRateState.epochsWithoutImprovement += 1
        guard training.learningRateState.epochsWithoutImprovement >= patience else { return }
        training.learningRateState.epochsWithoutImprovement = 0
        // The reduced rate holds from the next epoch on; the floor is a rate, so it is a factor of the scheduled one.
        let current = training.learningRateState
        let next = current.schedule.rate(base: current.baseRate, epoch: report.epoch + 1)
        let floor = next > 0 ? Swift.min(current.scale, minimum / next) : 0
        training.learningRateState.scale = Swift.max(current.scale * factor, floor)
    }
}

/// Sets each epoch's learning rate from a function of the epoch (counting from 1) and the rate the optimizer's
/// schedule gives it, as Keras's `LearningRateScheduler` does.
///
/// ```swift
/// LearningRateScheduler { epoch, rate in epoch <= 5 ? rate : rate * 0.5 }
/// ```
public struct LearningRateScheduler: Callback, Sendable {
    /// The rate for an epoch, from the epoch and its scheduled rate.
    public var rate: @Sendable (_ epoch: Int, _ scheduled: Double) -> Double

    /// Creates the callback.
    public init(_ rate: @escaping @Sendable (_ epoch: Int, _ scheduled: Double) -> Double) {
        self.rate = rate
    }

    public mutating func epochBegan<Scalar>(_ epoch: Int, _ training: inout TrainingControl<Scalar>) {
        let scheduled = training.learningRateState.schedule.rate(base: training.learningRateState.baseRate, epoch: epoch)
        training.learningRate = rate(epoch, scheduled)
    }
}
