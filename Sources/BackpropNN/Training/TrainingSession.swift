import BackpropCore

/// The mutable state of one ``Trainer/fit(_:on:validation:test:resumingFrom:callbacks:onEvent:shouldStop:)`` call:
/// weights, optimizer state, generators, the callbacks, and the position inside the current epoch.
struct TrainingSession<Model: Layer> {
    enum EpochOutcome {
        case completed(EpochReport)
        case stopped(StopReason)
    }

    let trainer: Trainer
    let template: Model
    let names: [String]
    var parameters: [Tensor<Model.Scalar>]
    /// The model's non-trainable state (running statistics), updated by every training step's forward pass.
    var state: [Tensor<Model.Scalar>]
    var states: [ParameterState<Model.Scalar>]
    /// The shuffle generator before the current epoch's order was drawn (so an interrupted epoch can be redrawn).
    var shuffleGenerator: SeededGenerator
    var dropoutGenerator: SeededGenerator
    var scheduler: LearningRateState
    var best: BestEpoch<Model.Scalar>?
    var history: [EpochReport]
    var batchesDone: Int
    var partial: TrainingCheckpoint<Model.Scalar>.PartialEpoch
    /// The parameters at the start of the current epoch (for the update ratio).
    var epochStartParameters: [Tensor<Model.Scalar>] = []
    /// The weights before the last update (their loss and gradients were finite), restored if a later step turns
    /// non-finite. Each update writes into these buffers and then swaps them with ``parameters``.
    var lastFiniteParameters: [Tensor<Model.Scalar>]
    /// Forward, loss and backward on a batch: fused where the model and loss allow it, else on a recorded graph.
    var step: TrainingStep<Model>
    /// The batch buffer, refilled every step.
    var batch = TrainingBatch<Model.Scalar>()
    /// ∂J/∂θ of the current step, one buffer per parameter.
    var gradients: [Tensor<Model.Scalar>]
    /// ‖∂J/∂θ‖ of the current step, one per parameter.
    var gradientNorms: [Double]
    /// The callbacks, in the order they are told of events.
    var callbacks: [any Callback] = []
    /// The other processes of data-parallel training, when there are any (a world of one is `nil`).
    let communicator: (any Communicator)?
    /// The flat buffer of every gradient and state tensor that one sum over the processes adds.
    var reductionBuffer: [Model.Scalar] = []
    /// The loss sum, correct predictions, samples, whether the process had any, and its stop request: summed too.
    var reductionNumbers = [Double](repeating: 0, count: 5)
    /// Time spent in those sums during the current epoch.
    var communicationSeconds = 0.0

    init(trainer: Trainer, model: Model, resumingFrom checkpoint: TrainingCheckpoint<Model.Scalar>?) {
        self.trainer = trainer
        template = model
        names = model.parameterNames
        if let checkpoint {
            parameters = checkpoint.parameters
            state = checkpoint.state
            states = checkpoint.optimizerStates
            shuffleGenerator = checkpoint.shuffleGenerator
            dropoutGenerator = checkpoint.dropoutGenerator
            scheduler = checkpoint.scheduler
            best = checkpoint.best
            history = checkpoint.history
            batchesDone = checkpoint.batchesDone
            partial = checkpoint.partialEpoch
        } else {
            parameters = model.parameters
            state = model.state
            states = model.parameters.map { trainer.optimizer.makeState(for: $0) }
            shuffleGenerator = SeededGenerator(seed: trainer.seed)
            dropoutGenerator = SeededGenerator(seed: trainer.seed ^ 0xD1B5_4A32_D192_ED03)
            scheduler = LearningRateState(schedule: trainer.optimizer.schedule, baseRate: trainer.optimizer.learningRate)
            history = []
            batchesDone = 0
            partial = .init()
        }
        // Separate storage (`+ 0` copies): the spare buffers each update writes into.
        lastFiniteParameters = parameters.map { $0 + 0 }
        step = TrainingStep(model: model, loss: trainer.loss, classWeights: trainer.classWeights, precision: trainer.precision)
        communicator = (trainer.communicator?.size ?? 1) > 1 ? trainer.communicator : nil
        if communicator != nil {
            reductionBuffer = [Model.Scalar](repeating: 0, count: model.parameterCount + state.reduce(0) { $0 + $1.count })
        }
        gradients = parameters.map { Tensor.zeros(like: $0) }
        gradientNorms = [Double](repeating: 0, count: parameters.count)
    }

    var currentModel: Model {
        var model = template
        model.parameters = parameters
        model.state = state
        return model
    }

    /// The loss and accuracy of the current model on `data`: through the fused convolutional step's buffers when
    /// there is one (no second set of buffers), else as ``Trainer/evaluate(_:on:)`` computes it.
    mutating func evaluate<Data: TrainingData>(on data: Data) -> Evaluation where Data.Scalar == Model.Scalar {
        if step.convolutional != nil, data.classCount != nil {
            return step.convolutional!.evaluate(on: data, parameters: parameters, state: state, batchSize: trainer.batchSize)
        }
        return trainer.evaluate(currentModel, on: data)
    }

    var checkpoint: TrainingCheckpoint<Model.Scalar> {
        TrainingCheckpoint(completedEpochs: history.count, batchesDone: batchesDone, parameters: parameters, state: state,
                           optimizerStates: states, shuffleGenerator: shuffleGenerator, dropoutGenerator: dropoutGenerator,
                           scheduler: scheduler, history: history, partialEpoch: partial, best: best)
    }

    /// Tells every callback of an event through one ``TrainingControl``, then takes back what they changed (weights,
    /// learning rate, best epoch); returns the reason to stop, if one asked.
    mutating func notify(
        epoch: Int? = nil, _ event: (inout any Callback, inout TrainingControl<Model.Scalar>) throws -> Void
    ) throws -> StopReason? {
        guard !callbacks.isEmpty else { return nil }
        var control = TrainingControl(names: names, epoch: epoch ?? history.count + 1, snapshot: checkpoint)
        control.gradients = gradients
        for index in callbacks.indices { try event(&callbacks[index], &control) }
        precondition(control.parameters.count == parameters.count && control.state.count == state.count,
                     "a callback replaced the weights with another number of tensors")
        for i in parameters.indices {
            precondition(control.parameters[i].shape == parameters[i].shape, "a callback replaced \(names[i]) with a tensor of another shape")
        }
        for i in state.indices { precondition(control.state[i].shape == state[i].shape, "a callback replaced a state tensor's shape") }
        parameters = control.parameters
        state = control.state
        scheduler = control.learningRateState
        best = control.best
        return control.stopReason
    }

    /// One pass over the data in shuffled mini-batches, continuing an interrupted epoch where it stopped.
    mutating func runEpoch<Data: TrainingData>(
        _ epoch: Int, on data: Data, shouldStop: () -> Bool, onEvent: (TrainingEvent) -> Void
    ) throws -> EpochOutcome where Data.Scalar == Model.Scalar {
        let clock = ContinuousClock()
        var started = clock.now
        var rate = scheduler.rate(epoch: epoch)
        var generator = shuffleGenerator
        let order = trainer.shuffles ? generator.permutation(of: data.count) : Array(0..<data.count)
        let batchCount = batchCount(samples: data.count)
        if partial.gradientNormSums.count != parameters.count {
            partial.gradientNormSums = [Double](repeating: 0, count: parameters.count)
        }
        if batchesDone == 0 || epochStartParameters.count != parameters.count { epochStartParameters = parameters.map { $0 + 0 } }
        func indicesOfBatch(_ index: Int) -> ArraySlice<Int> { share(ofBatch: index, in: order) }
        while batchesDone < batchCount {
            let batchIndex = batchesDone
            let indices = indicesOfBatch(batchIndex)
            var (value, correct, samples, stopAgreed) = (0.0, 0, indices.count, false)
            if indices.isEmpty {
                zeroGradients()
            } else {
                data.fill(&batch, at: indices)
                if isDistributed {
                    var generator = dropoutGenerator(epoch: epoch, batch: batchIndex)
                    (value, correct) = step.run(parameters: parameters, state: &state, batch: batch, generator: &generator,
                                                gradients: &gradients, gradientNorms: &gradientNorms, classify: data.classCount != nil)
                } else {
                    (value, correct) = step.run(parameters: parameters, state: &state, batch: batch, generator: &dropoutGenerator,
                                                gradients: &gradients, gradientNorms: &gradientNorms, classify: data.classCount != nil)
                }
            }
            // Late enough that the step's own memory traffic does not evict the rows again, early enough that the
            // norms and the update hide their latency.
            if batchIndex + 1 < batchCount { data.prefetch(at: indicesOfBatch(batchIndex + 1)) }
            if isDistributed {
                (value, correct, samples, stopAgreed) = try reduceStep(loss: value, correct: correct, samples: samples,
                                                                       stopRequested: batchIndex + 1 < batchCount && shouldStop())
            }
            guard value.isFinite else {
                return stop(.nonFinite(epoch: epoch, batch: batchIndex + 1, what: "loss (\(value))"))
            }
            for i in gradients.indices {
                guard gradientNorms[i].isFinite else {
                    return stop(.nonFinite(epoch: epoch, batch: batchIndex + 1, what: "gradient of \(names[i])"))
                }
            }
            for i in gradientNorms.indices { partial.gradientNormSums[i] += gradientNorms[i] }
            if let clipping = trainer.clipping { gradients = clipping.apply(to: gradients) }
            for i in parameters.indices {
                // The updated weights go to the spare buffer, and the buffers swap: the weights before the update
                // stay at hand without a copy.
                trainer.optimizer.update(parameters[i], into: &lastFiniteParameters[i], gradient: gradients[i],
                                         state: &states[i], learningRate: rate)
                swap(&parameters[i], &lastFiniteParameters[i])
            }
            partial.lossSum += value * Double(samples)
            partial.correct += correct
            batchesDone += 1
            let now = clock.now
            partial.seconds += seconds(now - started)
            let report = BatchReport(epoch: epoch, batch: batchIndex + 1, batchCount: batchCount, loss: value)
            onEvent(.batchEnded(report))
            if let reason = try notify(epoch: epoch, { callback, control in try callback.batchEnded(report, &control) }) {
                return .stopped(reason)
            }
            rate = scheduler.rate(epoch: epoch)
            if batchesDone < batchCount && (isDistributed ? stopAgreed : shouldStop()) {
                return .stopped(.interrupted(epoch: epoch, batch: batchIndex + 1))
            }
            started = clock.now  // time spent in the event handler is not training time
        }
        let health = parameters.indices.map { i in
            ParameterHealth(name: names[i], gradientNorm: partial.gradientNormSums[i] / Double(batchCount),
                            weightNorm: Double(parameters[i].norm),
                            updateRatio: Double((parameters[i] - epochStartParameters[i]).norm) / Swift.max(Double(epochStartParameters[i].norm), 1e-12))
        }
        let n = Double(data.count)
        let report = EpochReport(
            epoch: epoch, trainingLoss: partial.lossSum / n,
            trainingAccuracy: data.classCount == nil ? nil : Double(partial.correct) / n,
            validationLoss: nil, validationAccuracy: nil, testLoss: nil, testAccuracy: nil, learningRate: rate,
            seconds: partial.seconds, parameterHealth: health, communicationSeconds: isDistributed ? communicationSeconds : nil)
        communicationSeconds = 0
        shuffleGenerator = generator
        batchesDone = 0
        partial = .init()
        return .completed(report)
    }

    /// Ends training on a non-finite value, keeping the last weights whose every element is finite.
    private mutating func stop(_ reason: StopReason) -> EpochOutcome {
        if !parameters.allSatisfy(\.isFinite) { parameters = lastFiniteParameters }
        if !state.allSatisfy(\.isFinite) { state = step.stateBeforeStep }
        return .stopped(reason)
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
