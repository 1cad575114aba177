import BackpropCore

/// Trains a model by mini-batch gradient descent: forward pass, loss, backward pass, update — epoch after epoch.
///
/// ```swift
/// let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 1e-3),
///                       batchSize: 128, epochs: 5, seed: 42)
/// let result = try trainer.fit(model, on: training, validation: test) { event in
///     if case .epochEnded(let report) = event { print(report.epoch, report.trainingLoss) }
/// }
/// ```
/// Everything random (the shuffle of every epoch, dropout masks) comes from `seed`, so the same seed gives the same
/// trained weights, bit for bit, on the same machine.
public struct Trainer: Sendable {
    /// The loss J.
    public var loss: any Loss
    /// The update rule, with its learning rate and schedule.
    public var optimizer: any Optimizer
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    public var batchSize: Int
    /// The maximum number of epochs.
    public var epochs: Int
    /// Conditions that end training earlier.
    public var stoppingCriteria: [StoppingCriterion]
    /// Gradient clipping applied before each update, if any.
    public var clipping: GradientClipping?
    /// Each class's weight in the training loss (Σᵢ w_yᵢ Jᵢ / batch, as Keras's `class_weight`), or `nil` for equal
    /// weights. Evaluation is unweighted. A weighted step records the graph (the fused kernels take equal weights).
    public var classWeights: [Double]?
    /// Reshuffle the samples every epoch (the default).
    public var shuffles: Bool
    /// The seed of the shuffle and of dropout.
    public var seed: UInt64
    /// The precision of the training steps' matrix products (bfloat16: see ``TrainingStep/supportsPrecision``).
    public var precision: MatrixPrecision = .float32
    /// The processes training this model together (data-parallel), or `nil` for this process alone. Each process
    /// takes ``batchSize`` samples of every batch of `batchSize × size` (the global batch), and their gradients are
    /// averaged over the global batch before each update, so every process applies the same update. A world of one
    /// process takes exactly the code path of none.
    public var communicator: (any Communicator)?

    /// Creates a trainer.
    public init(loss: any Loss, optimizer: any Optimizer, batchSize: Int = 32, epochs: Int,
                stoppingCriteria: [StoppingCriterion] = [], clipping: GradientClipping? = nil, classWeights: [Double]? = nil,
                shuffles: Bool = true, seed: UInt64, communicator: (any Communicator)? = nil) {
        precondition(batchSize > 0 && epochs > 0, "Trainer: batch size and epochs must be positive")
        self.loss = loss
        self.optimizer = optimizer
        self.batchSize = batchSize
        self.epochs = epochs
        self.stoppingCriteria = stoppingCriteria
        self.clipping = clipping
        self.classWeights = classWeights
        self.shuffles = shuffles
        self.seed = seed
        self.communicator = communicator
    }

    /// Trains a copy of `model` on `data` and returns it with its history, the reason training stopped and a
    /// checkpoint of the complete state.
    ///
    /// - Parameters:
    ///   - model: the network to train (it is not changed; the result holds the trained copy).
    ///   - data: the training samples.
    ///   - validation: evaluated after every epoch; early stopping and reduce-on-plateau watch its loss.
    ///   - test: evaluated after every epoch and only reported (never used to decide anything).
    ///   - checkpoint: continue a run from this state (same trainer settings and data) instead of starting afresh;
    ///     the result is bit-identical to the uninterrupted run.
    ///   - callbacks: told of the start and end of training, of every epoch and batch, after the callbacks of
    ///     ``stoppingCriteria``; they may change the learning rate and the weights and stop training (see
    ///     ``Callback``). An error one throws ends training and is rethrown.
    ///   - onEvent: receives a report after every batch and every epoch.
    ///   - shouldStop: asked after every batch; returning `true` ends training with ``StopReason/interrupted(epoch:batch:)``.
    /// - Throws: ``TrainingError`` when the model's input or output size does not match the data.
    public func fit<Model: Layer, Data: TrainingData>(
        _ model: Model, on data: Data, validation: Data? = nil, test: Data? = nil,
        resumingFrom checkpoint: TrainingCheckpoint<Model.Scalar>? = nil, callbacks: [any Callback] = [],
        onEvent: (TrainingEvent) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> TrainingResult<Model> where Data.Scalar == Model.Scalar {
        try check(model, against: data)
        if let checkpoint {
            guard checkpoint.parameters.map(\.shape) == model.parameters.map(\.shape),
                  checkpoint.state.map(\.shape) == model.state.map(\.shape),
                  checkpoint.optimizerStates.count == checkpoint.parameters.count,
                  zip(checkpoint.optimizerStates, checkpoint.parameters).allSatisfy({ state, parameter in
                      state.tensors.count == optimizer.stateNames.count && state.tensors.allSatisfy { $0.shape == parameter.shape }
                  }) else {
                throw TrainingError.checkpointMismatch
            }
        }
        var session = TrainingSession(trainer: self, model: model, resumingFrom: checkpoint)
        guard session.step.supportsPrecision else {
            throw TrainingError.unsupportedPrecision("\(precision) products run on the fused perceptron and convolutional steps only (Float32 classifiers under softmax + cross-entropy with equal class weights, built from the layers those steps take); this model and loss train in float32")
        }
        session.callbacks = stoppingCriteria.map(\.callback) + callbacks
        try session.synchronizeWithRoot()
        func finish(_ reason: StopReason) throws -> TrainingResult<Model> {
            _ = try session.notify { callback, control in try callback.trainingEnded(reason, &control) }
            return TrainingResult(model: session.currentModel, history: session.history, stopReason: reason,
                                  checkpoint: session.checkpoint)
        }
        var epoch = session.history.count + 1
        if let reason = try session.notify({ callback, control in try callback.trainingBegan(&control) }) {
            return try finish(reason)
        }
        while epoch <= epochs {
            if session.batchesDone == 0, let reason = try session.notify({ callback, control in try callback.epochBegan(epoch, &control) }) {
                return try finish(reason)
            }
            let outcome = try session.runEpoch(epoch, on: data, shouldStop: shouldStop, onEvent: onEvent)
            guard case .completed(var report) = outcome else {
                if case .stopped(let reason) = outcome { return try finish(reason) }
                break
            }
            if let validation {
                let evaluation = session.evaluate(on: validation)
                report.validationLoss = evaluation.loss
                report.validationAccuracy = evaluation.accuracy
            }
            if let test {
                let evaluation = session.evaluate(on: test)
                report.testLoss = evaluation.loss
                report.testAccuracy = evaluation.accuracy
            }
            session.history.append(report)
            onEvent(.epochEnded(report))
            if let reason = try session.notify({ callback, control in try callback.epochEnded(report, &control) }) {
                return try finish(reason)
            }
            // Processes agree on stopping inside a step (a request here is taken up by the next step's sum).
            if !session.isDistributed && epoch < epochs && shouldStop() { return try finish(.interrupted(epoch: epoch, batch: 0)) }
            epoch += 1
        }
        return try finish(.completedEpochs(session.history.count))
    }

    /// The loss and (for classification) accuracy of `model` on `data` under this trainer's loss, in batches of its
    /// batch size (see ``Layer/evaluate(on:loss:batchSize:)``).
    public func evaluate<Model: Layer, Data: TrainingData>(_ model: Model, on data: Data) -> Evaluation
    where Data.Scalar == Model.Scalar {
        model.evaluate(on: data, loss: loss, batchSize: batchSize)
    }

    private func check<Model: Layer, Data: TrainingData>(_ model: Model, against data: Data) throws {
        guard data.count > 0 else { throw TrainingError.emptyDataset }
        if let classWeights {
            guard let classes = data.classCount else {
                throw TrainingError.invalidClassWeights("the data has numeric targets, not classes to weight")
            }
            guard classWeights.count == classes, classWeights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw TrainingError.invalidClassWeights("\(classWeights.count) weights for \(classes) classes; each must be a finite number, 0 or more")
            }
        }
        if let inputs = model.requiredInputSize, inputs != data.featureCount {
            throw TrainingError.inputSizeMismatch(model: inputs, data: data.featureCount)
        }
        if let input = model.fixedInputShape {
            do {
                _ = try model.outputShape(forInput: input)
            } catch {
                throw TrainingError.invalidModel(error.message)
            }
        }
        if let outputs = model.producedOutputSize, let classes = data.classCount, outputs != classes,
           !(outputs == 1 && classes == 2 && loss is BinaryCrossEntropy) {
            throw TrainingError.outputSizeMismatch(model: outputs, classes: classes)
        }
    }
}

/// The class each output row predicts: the largest logit or probability, or for a single output (binary
/// classification on logits) whether it is positive.
public func predictedClasses<Scalar>(_ output: Tensor<Scalar>) -> [Int] {
    precondition(output.rank == 2, "predictedClasses: output must be [batch, outputs], got \(output.shape)")
    if output.shape[1] == 1 {
        return (output.detached .> 0).scalars.map { $0 > 0 ? 1 : 0 }
    }
    return output.argmax(alongAxis: 1)
}
