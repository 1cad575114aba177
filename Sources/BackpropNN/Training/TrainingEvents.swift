/// Progress reported while training.
public enum TrainingEvent: Sendable {
    /// A mini-batch was trained on.
    case batchEnded(BatchReport)
    /// An epoch ended (training and evaluation done).
    case epochEnded(EpochReport)
}

/// The outcome of one training step.
public struct BatchReport: Sendable {
    /// The epoch, counting from 1.
    public var epoch: Int
    /// The batch within the epoch, counting from 1.
    public var batch: Int
    /// The number of batches per epoch.
    public var batchCount: Int
    /// The batch's loss before the update.
    public var loss: Double
}

/// The gradient and weight size of one parameter over an epoch, for spotting vanishing or exploding gradients.
public struct ParameterHealth: Sendable, Equatable, Codable {
    /// The parameter's name (`"0.weight"`).
    public var name: String
    /// ‖∂J/∂θ‖, averaged over the epoch's batches.
    public var gradientNorm: Double
    /// ‖θ‖ at the end of the epoch.
    public var weightNorm: Double
    /// ‖Δθ‖ / ‖θ‖ over the epoch: how much the epoch's updates changed the parameter, relative to its size.
    public var updateRatio: Double

    /// Creates a record.
    public init(name: String, gradientNorm: Double, weightNorm: Double, updateRatio: Double) {
        self.name = name
        self.gradientNorm = gradientNorm
        self.weightNorm = weightNorm
        self.updateRatio = updateRatio
    }
}

/// What happened in one epoch.
public struct EpochReport: Sendable, Equatable, Codable {
    /// The epoch, counting from 1.
    public var epoch: Int
    /// The mean loss over the epoch's training batches (each weighted by its size).
    public var trainingLoss: Double
    /// The fraction of training samples classified correctly during the epoch (classification only).
    public var trainingAccuracy: Double?
    /// The loss on the validation data after the epoch, if any was given.
    public var validationLoss: Double?
    /// The accuracy on the validation data after the epoch (classification only).
    public var validationAccuracy: Double?
    /// The loss on the test data after the epoch, if any was given (reported only; never used for decisions).
    public var testLoss: Double?
    /// The accuracy on the test data after the epoch (classification only).
    public var testAccuracy: Double?
    /// The learning rate used in this epoch.
    public var learningRate: Double
    /// Training time of the epoch in seconds: batch gathering, forward, backward and update; evaluation excluded.
    public var seconds: Double
    /// Per-parameter gradient and weight norms.
    public var parameterHealth: [ParameterHealth]
    /// Of ``seconds``, the time spent summing gradients with the other processes (data-parallel training only).
    public var communicationSeconds: Double?

    /// Creates a report.
    public init(epoch: Int, trainingLoss: Double, trainingAccuracy: Double?, validationLoss: Double?,
                validationAccuracy: Double?, testLoss: Double?, testAccuracy: Double?, learningRate: Double,
                seconds: Double, parameterHealth: [ParameterHealth], communicationSeconds: Double? = nil) {
        self.epoch = epoch
        self.trainingLoss = trainingLoss
        self.trainingAccuracy = trainingAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
        self.parameterHealth = parameterHealth
        self.communicationSeconds = communicationSeconds
    }
}

/// Why training ended. Its description is the sentence printed to the user.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// The maximum number of epochs ran.
    case completedEpochs(Int)
    /// The training loss changed by less than `threshold` for `patience` consecutive epochs.
    case lossConverged(epoch: Int, change: Double, threshold: Double, patience: Int)
    /// The watched loss (the validation loss, or the training loss without validation data) did not improve for
    /// `patience` epochs; the best weights were restored if asked.
    case earlyStopping(epoch: Int, bestEpoch: Int, bestLoss: Double, restored: Bool, watched: WatchedLoss)
    /// A loss or gradient became infinite or NaN; the last finite weights were kept.
    case nonFinite(epoch: Int, batch: Int, what: String)
    /// The caller asked training to stop (e.g. Ctrl-C) after this batch (0: at the end of the epoch).
    case interrupted(epoch: Int, batch: Int)
    /// A callback of one's own stopped training after `epoch`, saying why.
    case callback(epoch: Int, reason: String)

    public var description: String {
        switch self {
        case .completedEpochs(let n):
            "completed \(n) epoch\(n == 1 ? "" : "s")"
        case .lossConverged(let epoch, let change, let threshold, let patience):
            "converged after epoch \(epoch): the loss changed by \(change) (< \(threshold)) for \(patience) consecutive epoch\(patience == 1 ? "" : "s")"
        case .earlyStopping(let epoch, let best, let loss, let restored, let watched):
            "early stopping after epoch \(epoch): the \(watched.rawValue) loss last improved in epoch \(best) (\(loss))"
                + (restored ? "; restored the weights of epoch \(best)" : "")
        case .nonFinite(let epoch, let batch, let what):
            "stopped in epoch \(epoch), batch \(batch): the \(what) is not finite; kept the last finite weights. "
                + "Try a smaller learning rate, gradient clipping (--clip-norm), or standardised inputs"
        case .interrupted(let epoch, let batch):
            batch == 0 ? "interrupted after epoch \(epoch)" : "interrupted after batch \(batch) of epoch \(epoch)"
        case .callback(let epoch, let reason):
            "stopped after epoch \(epoch): \(reason)"
        }
    }
}

/// Which loss early stopping watches.
public enum WatchedLoss: String, Sendable, Equatable {
    /// The loss on the validation data.
    case validation
    /// The training loss, when there is no validation data.
    case training
}

/// A condition that ends training early; several can be combined and the first one met stops. Each is a built-in
/// callback (``callback``), run before the trainer's other callbacks.
public enum StoppingCriterion: Sendable, Hashable {
    /// Stop when the epoch's training loss changes by less than `threshold` for `patience` consecutive epochs
    /// (the classic convergence criterion of gradient descent).
    case lossChange(below: Double, patience: Int)
    /// Stop when the validation loss (the training loss without validation data) has not improved for `patience`
    /// epochs, optionally restoring the weights of the best epoch.
    case earlyStopping(patience: Int, restoreBestWeights: Bool)

    /// The callback that applies the criterion: ``LossConvergence`` or ``EarlyStopping``.
    public var callback: any Callback {
        switch self {
        case .lossChange(let threshold, let patience): LossConvergence(threshold: threshold, patience: patience)
        case .earlyStopping(let patience, let restore): EarlyStopping(patience: patience, restoreBestWeights: restore)
        }
    }
}

/// The outcome of ``Trainer/fit(_:on:validation:test:resumingFrom:callbacks:onEvent:shouldStop:)``.
public struct TrainingResult<Model: Layer>: Sendable {
    /// The trained model.
    public var model: Model
    /// One report per epoch run.
    public var history: [EpochReport]
    /// Why training ended.
    public var stopReason: StopReason
    /// The complete training state at the stop, from which ``Trainer/fit(_:on:validation:test:resumingFrom:callbacks:onEvent:shouldStop:)``
    /// continues exactly.
    public var checkpoint: TrainingCheckpoint<Model.Scalar>
}

/// A model that does not fit the data it is given.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The model takes another number of features than the data has.
    case inputSizeMismatch(model: Int, data: Int)
    /// The model has another number of outputs than the data has classes.
    case outputSizeMismatch(model: Int, classes: Int)
    /// The data has no samples.
    case emptyDataset
    /// The checkpoint's tensors do not fit the model or the optimizer.
    case checkpointMismatch
    /// A layer cannot take what the layer before it produces (the message names the layer).
    case invalidModel(String)
    /// The class weights do not fit the data's classes.
    case invalidClassWeights(String)
    /// The model's step cannot compute its products in the precision asked for.
    case unsupportedPrecision(String)

    public var description: String {
        switch self {
        case .inputSizeMismatch(let model, let data):
            "the model takes \(model) input features per sample, the data has \(data)"
        case .outputSizeMismatch(let model, let classes):
            "the model produces \(model) outputs per sample, the data has \(classes) classes"
        case .emptyDataset:
            "the dataset has no samples"
        case .checkpointMismatch:
            "the checkpoint's parameters or optimizer state do not match the model and optimizer"
        case .invalidModel(let message):
            "the model cannot run: \(message)"
        case .invalidClassWeights(let message):
            "class weights: \(message)"
        case .unsupportedPrecision(let message):
            message
        }
    }
}
