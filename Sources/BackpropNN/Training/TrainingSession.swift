import BackpropCore

/// The mutable state of one ``Trainer/fit(_:on:validation:onEvent:)`` call: weights, optimizer state, generators.
struct TrainingSession<Model: Layer> {
    enum EpochOutcome {
        case completed(EpochReport)
        case stopped(StopReason)
    }

    let trainer: Trainer
    let template: Model
    let names: [String]
    var parameters: [Tensor<Model.Scalar>]
    var states: [ParameterState<Model.Scalar>]
    var shuffleGenerator: SeededGenerator
    var dropoutGenerator: SeededGenerator
    var scheduler: LearningRateScheduler
    var best: (epoch: Int, loss: Double, parameters: [Tensor<Model.Scalar>])?
    var lastFiniteParameters: [Tensor<Model.Scalar>]

    init(trainer: Trainer, model: Model, parameterCount: Int) {
        self.trainer = trainer
        template = model
        names = model.parameterNames
        parameters = model.parameters
        // Separate storage (`+ 0` copies), so that saving the last finite weights reuses it instead of allocating.
        lastFiniteParameters = model.parameters.map { $0 + 0 }
        states = model.parameters.map { trainer.optimizer.makeState(for: $0) }
        shuffleGenerator = SeededGenerator(seed: trainer.seed)
        dropoutGenerator = SeededGenerator(seed: trainer.seed ^ 0xD1B5_4A32_D192_ED03)
        scheduler = LearningRateScheduler(schedule: trainer.schedule, baseRate: trainer.learningRate)
    }

    var currentModel: Model {
        var model = template
        model.parameters = parameters
        return model
    }

    /// One pass over the data in shuffled mini-batches.
    mutating func runEpoch<Data: TrainingData>(
        _ epoch: Int, on data: Data, onEvent: (TrainingEvent) -> Void
    ) -> EpochOutcome where Data.Scalar == Model.Scalar {
        let clock = ContinuousClock()
        let started = clock.now
        let rate = scheduler.rate(epoch: epoch)
        let order = trainer.shuffles ? shuffleGenerator.permutation(of: data.count) : Array(0..<data.count)
        let batchCount = (data.count + trainer.batchSize - 1) / trainer.batchSize
        var totalLoss = 0.0
        var correct = 0
        var gradientNormSums = [Double](repeating: 0, count: parameters.count)
        var eventTime = Duration.zero
        for batch in 0..<batchCount {
            let indices = Array(order[(batch * trainer.batchSize)..<Swift.min((batch + 1) * trainer.batchSize, data.count)])
            let (x, targets) = data.batch(at: indices)
            // The graph lives only inside `step`, so the parameters are not shared when they are updated in place.
            let (value, predictions, computed) = step(x, targets)
            var gradients = computed
            guard value.isFinite else {
                return stop(.nonFinite(epoch: epoch, batch: batch + 1, what: "loss (\(value))"))
            }
            let norms = gradients.map { Double($0.norm) }
            if let bad = norms.firstIndex(where: { !$0.isFinite }) {
                return stop(.nonFinite(epoch: epoch, batch: batch + 1, what: "gradient of \(names[bad])"))
            }
            for i in norms.indices { gradientNormSums[i] += norms[i] }
            if let clipping = trainer.clipping { gradients = clipping.apply(to: gradients) }
            for i in parameters.indices {
                lastFiniteParameters[i].copyElements(from: parameters[i])  // these gave a finite loss and gradient
                trainer.optimizer.update(&parameters[i], gradient: gradients[i], state: &states[i], learningRate: rate)
            }
            totalLoss += value * Double(indices.count)
            if data.classCount != nil {
                correct += zip(predictions, targets.classIndices).filter { $0 == $1 }.count
            }
            let beforeEvent = clock.now
            onEvent(.batchEnded(BatchReport(epoch: epoch, batch: batch + 1, batchCount: batchCount, loss: value)))
            eventTime += clock.now - beforeEvent
        }
        let elapsed = clock.now - started - eventTime
        let health = parameters.indices.map { i in
            ParameterHealth(name: names[i], gradientNorm: gradientNormSums[i] / Double(batchCount),
                            weightNorm: Double(parameters[i].norm))
        }
        let n = Double(data.count)
        return .completed(EpochReport(
            epoch: epoch, trainingLoss: totalLoss / n,
            trainingAccuracy: data.classCount == nil ? nil : Double(correct) / n,
            validationLoss: nil, validationAccuracy: nil, testLoss: nil, testAccuracy: nil, learningRate: rate,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
            parameterHealth: health))
    }

    /// Forward pass, loss and backward pass on one batch: the loss, the predicted classes and the gradients.
    private mutating func step(_ x: Tensor<Model.Scalar>, _ targets: Targets<Model.Scalar>)
        -> (loss: Double, predictions: [Int], gradients: [Tensor<Model.Scalar>]) {
        var model = template
        let leaves = parameters.map { $0.requiringGradient() }
        model.parameters = leaves
        var context = ForwardContext.training(generator: dropoutGenerator)
        let output = model(x, context: &context)
        dropoutGenerator = context.generator
        let loss = trainer.loss(output, targets)
        let value = Double(loss.scalar)
        guard value.isFinite else { return (value, [], []) }
        let predictions = predictedClasses(output)
        return (value, predictions, loss.gradients(withRespectTo: leaves))
    }

    /// Ends training on a non-finite value, keeping the last weights whose every element is finite.
    private mutating func stop(_ reason: StopReason) -> EpochOutcome {
        if !parameters.allSatisfy(\.isFinite) { parameters = lastFiniteParameters }
        return .stopped(reason)
    }

    /// Applies the stopping criteria to the history so far.
    mutating func checkStopping(history: [EpochReport]) -> StopReason? {
        guard let last = history.last else { return nil }
        for criterion in trainer.stoppingCriteria {
            switch criterion {
            case .lossChange(let threshold, let patience):
                guard history.count > patience else { continue }
                let recent = history.suffix(patience + 1).map(\.trainingLoss)
                let changes = zip(recent.dropFirst(), recent).map { Swift.abs($0 - $1) }
                if changes.allSatisfy({ $0 < threshold }) {
                    return .lossConverged(epoch: last.epoch, change: changes.last ?? 0, threshold: threshold, patience: patience)
                }
            case .earlyStopping(let patience, let restore):
                let monitored = last.validationLoss ?? last.trainingLoss
                if best == nil || monitored < best!.loss {
                    best = (last.epoch, monitored, parameters)
                } else if last.epoch - best!.epoch >= patience {
                    if restore { parameters = best!.parameters }
                    return .earlyStopping(epoch: last.epoch, bestEpoch: best!.epoch, bestLoss: best!.loss, restored: restore)
                }
            }
        }
        return nil
    }
}
