import BackpropCore
import BackpropNN

/// Writes a TensorBoard event file in `directory` as training goes: after every epoch, the loss, accuracy and
/// learning-rate scalars, each parameter's gradient norm, weight norm and update ratio (the gradient-health report,
/// over time), and histograms of every parameter's weights and of its gradients on the epoch's last batch.
///
/// ```
/// tensorboard --logdir runs/     # after training with TensorBoardLogger(directory: "runs/spirals")
/// ```
/// Tags: `loss/training`, `loss/validation`, `loss/test`, `accuracy/…` likewise, `learning_rate`,
/// `gradient_norm/<parameter>`, `weight_norm/<parameter>`, `update_ratio/<parameter>`, `weights/<parameter>` and
/// `gradients/<parameter>` (histograms); the step is the epoch. Each epoch's events are appended in one write.
public struct TensorBoardLogger: Callback {
    /// The directory of the run (created if needed; TensorBoard's `--logdir` may be it or a parent).
    public var directory: String
    /// Buckets of each histogram.
    public var buckets: Int
    private var file: TensorBoardEventFile?

    /// Creates the callback; the event file is created when training begins.
    public init(directory: String, buckets: Int = 30) {
        precondition(buckets > 0, "TensorBoardLogger: buckets must be positive")
        self.directory = directory
        self.buckets = buckets
    }

    /// The event file being written, once training has begun.
    public var path: String? { file?.path }

    public mutating func trainingBegan<Scalar>(_ training: inout TrainingControl<Scalar>) throws {
        file = try TensorBoardEventFile(directory: directory)
    }

    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        guard let file else { return }
        var values: [(tag: String, value: TensorBoardEventFile.Value)] = []
        func scalar(_ tag: String, _ value: Double?) {
            if let value { values.append((tag, .scalar(Float(value)))) }
        }
        scalar("loss/training", report.trainingLoss)
        scalar("loss/validation", report.validationLoss)
        scalar("loss/test", report.testLoss)
        scalar("accuracy/training", report.trainingAccuracy)
        scalar("accuracy/validation", report.validationAccuracy)
        scalar("accuracy/test", report.testAccuracy)
        scalar("learning_rate", report.learningRate)
        for health in report.parameterHealth {
            scalar("gradient_norm/\(health.name)", health.gradientNorm)
            scalar("weight_norm/\(health.name)", health.weightNorm)
            scalar("update_ratio/\(health.name)", health.updateRatio)
        }
        for (name, weights) in zip(training.parameterNames, training.parameters) {
            values.append(("weights/\(name)", .histogram(.init(weights.scalars.lazy.map { Double($0) }, buckets: buckets))))
        }
        for (name, gradient) in zip(training.parameterNames, training.gradients) {
            values.append(("gradients/\(name)", .histogram(.init(gradient.scalars.lazy.map { Double($0) }, buckets: buckets))))
        }
        try file.write(step: report.epoch, values: values)
    }
}
