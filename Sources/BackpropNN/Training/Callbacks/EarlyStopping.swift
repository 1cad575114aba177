import BackpropCore

/// Stops training when the watched loss — the validation loss, or the training loss without validation data — has
/// not improved for `patience` epochs, optionally putting back the weights of the best epoch.
///
/// Its memory is ``TrainingControl/best`` (the best epoch, its loss and weights), which checkpoints save.
public struct EarlyStopping: Callback, Sendable, Hashable {
    /// Epochs without improvement before stopping.
    public var patience: Int
    /// Whether to restore the best epoch's weights (and batch-norm statistics) when stopping.
    public var restoreBestWeights: Bool

    /// Creates the callback.
    public init(patience: Int, restoreBestWeights: Bool = true) {
        precondition(patience > 0, "EarlyStopping: patience must be positive, got \(patience)")
        self.patience = patience
        self.restoreBestWeights = restoreBestWeights
    }

    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {
        let monitored = report.validationLoss ?? report.trainingLoss
        guard let best = training.best, monitored >= best.loss else {
            training.best = BestEpoch(epoch: report.epoch, loss: monitored, parameters: training.parameters.map { $0 + 0 },
                                      state: training.state)
            return
        }
        guard report.epoch - best.epoch >= patience else { return }
        if restoreBestWeights {
            training.parameters = best.parameters
            training.state = best.state
        }
        training.stop(.earlyStopping(epoch: report.epoch, bestEpoch: best.epoch, bestLoss: best.loss,
                                     restored: restoreBestWeights, watched: report.validationLoss == nil ? .training : .validation))
    }
}
