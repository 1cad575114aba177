import BackpropCore

/// Everything needed to continue a training run exactly where it stopped: weights, optimizer state, the random
/// generators, the learning-rate scheduler, early-stopping memory, the history, and the position inside an
/// interrupted epoch.
///
/// Resuming from a checkpoint with the same trainer and data gives bit-identical weights, optimizer state and
/// metrics to a run that was never interrupted.
public struct TrainingCheckpoint<Scalar: TensorScalar>: Sendable {
    /// Epochs completed.
    public var completedEpochs: Int
    /// Batches of the next epoch already trained (0 at an epoch boundary).
    public var batchesDone: Int
    /// The model's parameters, in the model's order.
    public var parameters: [Tensor<Scalar>]
    /// The model's non-trainable state (batch normalisation's running statistics), in the model's order.
    public var state: [Tensor<Scalar>]
    /// The optimizer's state for each parameter.
    public var optimizerStates: [ParameterState<Scalar>]
    /// The shuffle generator as it was before drawing the current (or next) epoch's order.
    public var shuffleGenerator: SeededGenerator
    /// The dropout generator at the stop.
    public var dropoutGenerator: SeededGenerator
    /// The learning-rate scheduler (reduce-on-plateau keeps state).
    public var scheduler: LearningRateState
    /// The reports of the completed epochs.
    public var history: [EpochReport]
    /// Sums of the interrupted epoch so far (empty at an epoch boundary).
    public var partialEpoch: PartialEpoch
    /// Early stopping's best epoch and its parameters, if recorded.
    public var best: BestEpoch<Scalar>?

    /// Running totals of an epoch in progress.
    public struct PartialEpoch: Sendable, Equatable, Codable {
        /// Σ batch loss × batch size so far.
        public var lossSum: Double = 0
        /// Correct predictions so far.
        public var correct: Int = 0
        /// Σ of each parameter's gradient norm over the batches so far.
        public var gradientNormSums: [Double] = []
        /// Training time so far.
        public var seconds: Double = 0

        /// Creates totals.
        public init(lossSum: Double = 0, correct: Int = 0, gradientNormSums: [Double] = [], seconds: Double = 0) {
            self.lossSum = lossSum
            self.correct = correct
            self.gradientNormSums = gradientNormSums
            self.seconds = seconds
        }
    }

    /// Creates a checkpoint from its parts (used when reading one from a file).
    public init(completedEpochs: Int, batchesDone: Int, parameters: [Tensor<Scalar>], state: [Tensor<Scalar>] = [],
                optimizerStates: [ParameterState<Scalar>],
                shuffleGenerator: SeededGenerator, dropoutGenerator: SeededGenerator, scheduler: LearningRateState,
                history: [EpochReport], partialEpoch: PartialEpoch, best: BestEpoch<Scalar>?) {
        self.completedEpochs = completedEpochs
        self.batchesDone = batchesDone
        self.parameters = parameters
        self.state = state
        self.optimizerStates = optimizerStates
        self.shuffleGenerator = shuffleGenerator
        self.dropoutGenerator = dropoutGenerator
        self.scheduler = scheduler
        self.history = history
        self.partialEpoch = partialEpoch
        self.best = best
    }
}

/// The best epoch seen by early stopping.
public struct BestEpoch<Scalar: TensorScalar>: Sendable {
    /// The epoch.
    public var epoch: Int
    /// Its monitored (validation) loss.
    public var loss: Double
    /// Its parameters.
    public var parameters: [Tensor<Scalar>]
    /// Its non-trainable state.
    public var state: [Tensor<Scalar>]

    /// Records a best epoch.
    public init(epoch: Int, loss: Double, parameters: [Tensor<Scalar>], state: [Tensor<Scalar>] = []) {
        self.epoch = epoch
        self.loss = loss
        self.parameters = parameters
        self.state = state
    }
}
