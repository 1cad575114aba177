/// Stops training when the epoch's training loss changes by less than `threshold` for `patience` consecutive
/// epochs: the classic convergence criterion of gradient descent ("until the change in the loss falls below a
/// threshold").
public struct LossConvergence: Callback, Sendable, Hashable {
    /// The change below which the loss counts as settled.
    public var threshold: Double
    /// Consecutive settled epochs needed.
    public var patience: Int

    /// Creates the callback.
    public init(threshold: Double, patience: Int) {
        precondition(threshold > 0 && patience > 0, "LossConvergence: threshold and patience must be positive")
        self.threshold = threshold
        self.patience = patience
    }

    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) {
        guard training.history.count > patience else { return }
        let recent = training.history.suffix(patience + 1).map(\.trainingLoss)
        let changes = zip(recent.dropFirst(), recent).map { Swift.abs($0 - $1) }
        if changes.allSatisfy({ $0 < threshold }) {
            training.stop(.lossConverged(epoch: report.epoch, change: changes.last ?? 0, threshold: threshold, patience: patience))
        }
    }
}
