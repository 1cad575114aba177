import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `backprop train`'s option parsing, checks and records.
extension Train {
    /// The run's settings and history, as stored with the model and in checkpoints.
    func record(stopReason: String, history: [EpochReport], batchSize: Int, loss: any Loss, processes: Int = 1) throws -> TrainingRecord {
        TrainingRecord(data: data, optimizer: optimizer.rawValue, learningRate: rate, batchSize: batchSize, seed: seed,
                       stopReason: stopReason, history: history.map(EpochRecord.init),
                       options: try trainingOptions(batchSize: batchSize, loss: loss, processes: processes))
    }

    /// Options a resumed run may change: they decide when training stops or what is only reported, not what a
    /// step computes.
    static let optionsSafeToChange: Set<String> = ["--epochs", "--stop-when-loss-change-below", "--patience",
                                                   "--early-stopping-patience", "--test-data"]

    /// Every option that decides what training computes (and the few that may change on resume), canonical: the
    /// effective batch size, the loss and learning rate chosen by default, sizes without spaces.
    func trainingOptions(batchSize: Int, loss: any Loss, processes: Int = 1) throws -> [String: String] {
        var options = [
            "--data": data, "--loss": loss.name, "--optimizer": optimizer.rawValue,
            "--learning-rate": "\(rate)", "--weight-decay": "\(weightDecay)", "--clip-norm": clipNorm.map { "\($0)" } ?? "none",
            "--batch-size": "\(batchSize)", "--seed": "\(seed)", "--validation-split": "\(validationSplit)", "--scale": scale.rawValue,
            "--missing": missing.rawValue, "--task": task.rawValue, "--label": csv.label ?? "default", "--ignore-columns": csv.ignoreColumns ?? "",
            "--id-column": csv.idColumn ?? "", "--delimiter": csv.delimiter ?? "detected",
            "--epochs": "\(epochs)", "--patience": "\(patience)", "--test-data": testData ?? "none",
        ]
        if let initialModel {
            options["--initial-model"] = initialModel
        } else if let description = try modelDescription() {
            options["--model"] = description.items.map(\.text).joined(separator: ", ")
        } else {
            options["--layers"] = try hiddenSizes().map(String.init).joined(separator: ",")
            options["--activation"] = try parsedActivation().name
        }
        if let shape = try parsedInputShape() { options["--input-shape"] = shape.map(String.init).joined(separator: "x") }
        // A cosine schedule spans --epochs: raising --epochs on resume changes it, so it is recorded with them.
        options["--schedule"] = switch try parsedSchedule() {
        case .cosine(let epochs, _): "cosine:\(epochs)"
        case .step(let every, let factor): "step:\(every):\(factor)"
        case .exponential(let decay): "exponential:\(decay)"
        default: "constant"
        }
        // Another number of processes shares the batches differently: the global batch is the batch size times it.
        options["MPI processes"] = "\(processes)"
        options["--precision"] = precision.rawValue
        options["--warmup-epochs"] = "\(warmupEpochs)"
        options["--reduce-lr-on-plateau"] = reduceLrOnPlateau ?? "none"
        options["--class-weights"] = classWeights ?? "none"
        options["--dropout"] = dropout.map { "\($0)" } ?? "none"
        options["--stop-when-loss-change-below"] = stopWhenLossChangeBelow.map { "\($0)" } ?? "none"
        options["--early-stopping-patience"] = earlyStoppingPatience.map { "\($0)" } ?? "none"
        return options
    }

    /// Checks that a checkpoint belongs to a run with these options: every option that decides what a step computes
    /// must be the same (all differences are listed in one error); the ones that may change are noted.
    func checkResumable(_ file: CheckpointFile<Float>, path: String, model: Sequential<Float>, batchSize: Int, loss: any Loss,
                        processes: Int = 1) throws {
        guard let record = file.saved.info.training else {
            throw DataError.mismatch("\(path) does not record how it was trained, so it cannot be resumed")
        }
        let given = try trainingOptions(batchSize: batchSize, loss: loss, processes: processes)
        // Checkpoints written before every option was recorded hold these five.
        let stored = record.options ?? ["--data": record.data, "--optimizer": record.optimizer, "--learning-rate": "\(record.learningRate)",
                                        "--batch-size": "\(record.batchSize)", "--seed": "\(record.seed)"]
        let changed = stored.keys.sorted().filter { given[$0] != nil && stored[$0] != given[$0] }
        let unsafe = changed.filter { !Self.optionsSafeToChange.contains($0) }
        if !unsafe.isEmpty {
            let list = unsafe.map { "\($0) \(stored[$0]!) (now \(given[$0]!))" }.joined(separator: ", ")
            throw DataError.mismatch("\(path) was trained with \(list); pass the original options to resume it")
        }
        for flag in changed { printError("note: resuming with \(flag) \(given[flag]!) instead of \(stored[flag]!)") }
        guard file.saved.model.parameters.map(\.shape) == model.parameters.map(\.shape),
              file.saved.model.stateNames == model.stateNames else {
            let given = self.model.map { "--model \"\($0)\"" } ?? "--layers \(layers ?? "64,64")"
            throw DataError.mismatch("\(path) holds a different architecture than \(given) on this data")
        }
    }

    /// Checks every output path before any work: each can be written, no two are the same file, and none replaces
    /// a model or checkpoint with something else (unless `--force`).
    func checkOutputs() throws {
        let outputs: [(flag: String, path: String, kind: OutputKind)] = [
            ("--output", output, OutputKind.model), ("--metrics", metrics, .other("a CSV of metrics")),
            ("--plot", plot, .other("an SVG chart")), ("--checkpoint", checkpoint, .checkpoint),
        ].compactMap { flag, path, kind in path.map { (flag, $0, kind) } }
        for (flag, path, kind) in outputs { try checkOutput(path, for: flag, writes: kind, force: force) }
        // Two outputs on one file would overwrite each other (devices such as /dev/null take any number).
        for (i, first) in outputs.enumerated() where !isDevice(first.path) {
            if let second = outputs[(i + 1)...].first(where: { $0.path == first.path }) {
                throw ValidationError("\(first.flag) and \(second.flag) name the same file, \(first.path)")
            }
        }
    }

    private func isDevice(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
    }

    func split(_ data: AnyTrainingData<Float>) throws -> (AnyTrainingData<Float>, AnyTrainingData<Float>?) {
        var generator = SeededGenerator(seed: seed ^ 0xA11D)
        let order = generator.permutation(of: data.count)
        let held = Swift.max(1, Int(Double(data.count) * validationSplit))
        guard held < data.count else { throw ValidationError("--validation-split leaves no training data") }
        return (AnyTrainingData(DatasetSubset(data, indices: Array(order[held...]))),
                AnyTrainingData(DatasetSubset(data, indices: Array(order[..<held]))))
    }

    /// The fresh network: `--model` built for the data's samples, or the `--layers` perceptron.
    func makeModel(sampleShape: [Int], outputs: Int, loss: any Loss) throws -> Sequential<Float> {
        guard let description = try modelDescription() else {
            try checkNetworkSize([sampleShape.reduce(1, *)] + (try hiddenSizes()) + [outputs])
            return Sequential<Float>.multilayerPerceptron(
                sizes: [sampleShape.reduce(1, *)] + (try hiddenSizes()) + [outputs], activation: try parsedActivation(),
                outputActivation: loss is CrossEntropy ? .softmax : .identity, dropout: dropout ?? 0, seed: seed)
        }
        let model: Sequential<Float>
        do {
            model = try description.build(inputShape: sampleShape, seed: seed, parameterLimit: Limits.parameters,
                                          valuesPerSampleLimit: Limits.sampleValues)
        } catch {
            throw ValidationError("--model: \(error.message)")
        }
        guard model.layers.count <= Limits.layers else {
            throw ValidationError("--model has \(model.layers.count) layers, more than the limit of \(Limits.layers)")
        }
        let produced = model.producedOutputSize ?? 0
        guard produced == outputs else {
            let wanted = outputs == 1 ? "1 output" : "\(outputs) outputs (one per class)"
            throw ValidationError("--model ends with \(produced) outputs per sample; this data needs \(wanted): end it with 'dense \(outputs)'")
        }
        let endsInSoftmax = (model.layers.last as? ActivationLayer<Float>)?.activation == .softmax
        if loss is CrossEntropy && !endsInSoftmax {
            throw ValidationError("--loss cross-entropy takes probabilities: end --model with 'softmax' (or use softmax-cross-entropy)")
        }
        if !(loss is CrossEntropy) && endsInSoftmax {
            throw ValidationError("--model ends with softmax, whose outputs are probabilities: use --loss cross-entropy, or drop the softmax (softmax-cross-entropy applies it)")
        }
        return model
    }

    /// The shape of one sample: `--input-shape`, or the source's own (IDX images), or one row of features.
    func sampleShape(of prepared: PreparedData<Float>) throws -> [Int] {
        let features = prepared.data.featureCount
        guard let shape = try parsedInputShape() else { return prepared.sampleShape ?? [features] }
        guard shape.reduce(1, *) == features else {
            throw ValidationError("--input-shape \(shape.map(String.init).joined(separator: "x")) holds \(shape.reduce(1, *)) values; the data has \(features) features per sample")
        }
        return shape
    }

    /// The training data read for an existing model (its columns, preprocessing and classes), checked to fit it.
    func prepareForFineTuning(_ initial: SavedModel<Float>, source: DataSource, options: TabularOptions) throws -> PreparedData<Float> {
        let prepared: PreparedData<Float> = try source.prepare(for: initial.info, split: .training, seed: seed, options: options)
        guard prepared.hasTargets else {
            throw DataError.mismatch("\(data) has no label column\(initial.info.labelColumn.map { " '\($0)'" } ?? ""), so \(initialModel!) cannot be trained on it")
        }
        if let inputs = initial.model.requiredInputSize, inputs != prepared.data.featureCount {
            throw DataError.mismatch("\(data) has \(prepared.data.featureCount) features per sample, the model in \(initialModel!) takes \(inputs)")
        }
        return prepared
    }

    /// `--model`, parsed.
    func modelDescription() throws -> ModelDescription? {
        do {
            return try model.map(ModelDescription.init(parsing:))
        } catch {
            throw ValidationError("--model: \(error.message)")
        }
    }

    /// `--input-shape`, parsed: `CxHxW`, or `HxW` for one channel.
    func parsedInputShape() throws -> [Int]? {
        guard let inputShape else { return nil }
        let sides = inputShape.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0.filter { $0 != " " }) }
        guard (2...3).contains(sides.count), sides.allSatisfy({ ($0 ?? 0) > 0 && $0! <= Limits.features }) else {
            throw ValidationError("--input-shape must be CxHxW or HxW with positive sizes, such as 1x28x28; got '\(inputShape)'")
        }
        let shape = sides.map { $0! }
        return shape.count == 2 ? [1] + shape : shape
    }

    /// Refuses a network beyond the ``Limits`` (layers, parameters) before any of it is allocated.
    func checkNetworkSize(_ sizes: [Int]) throws {
        guard 2 * (sizes.count - 1) <= Limits.layers else {
            throw ValidationError("--layers asks for \(sizes.count - 2) hidden layers; at most \(Limits.layers / 2 - 1) fit the limit of \(Limits.layers) layers")
        }
        var total = 0
        for (inputs, outputs) in zip(sizes, sizes.dropFirst()) {
            let (weights, overflow) = inputs.multipliedReportingOverflow(by: outputs)
            guard !overflow, weights <= Limits.parameters - total - outputs else {
                throw ValidationError("--layers \(layers ?? "") on \(sizes[0]) inputs makes more than \(Limits.parameters) parameters, the limit")
            }
            total += weights + outputs
        }
    }

    func hiddenSizes() throws -> [Int] {
        let layers = self.layers ?? "64,64"
        if layers.isEmpty { return [] }
        return try layers.split(separator: ",").map { part in
            guard let size = Int(part.filter { $0 != " " }), size > 0 else {
                throw ValidationError("--layers must be positive integers separated by commas, got '\(layers)'")
            }
            return size
        }
    }

    func parsedActivation() throws -> Activation {
        activation ?? .relu
    }

    /// The given learning rate, or the optimizer's conventional default.
    var rate: Double {
        learningRate ?? optimizer.defaultLearningRate
    }

    /// `--schedule`, parsed.
    func parsedSchedule() throws -> LearningRateSchedule {
        let parts = schedule.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let numbers = parts.dropFirst().map { Double($0) }
        switch (parts[0], numbers.count) {
        case ("constant", 0): return .constant
        case ("cosine", 0): return .cosine(epochs: epochs, minimum: 0)
        case ("step", 2):
            if let every = numbers[0], every >= 1, every == every.rounded(), every <= 1e9, let factor = numbers[1], factor > 0, factor.isFinite {
                return .step(every: Int(every), factor: factor)
            }
        case ("exponential", 1):
            if let decay = numbers[0], decay > 0, decay.isFinite { return .exponential(decay: decay) }
        default: break
        }
        throw ValidationError("--schedule must be constant, cosine, step:EVERY:FACTOR (such as step:5:0.5) or exponential:DECAY (such as exponential:0.9); got '\(schedule)'")
    }

    /// `--optimizer` with `--learning-rate`, `--schedule`, `--warmup-epochs` and `--weight-decay`.
    func parsedOptimizer() throws -> any Optimizer {
        var schedule = try parsedSchedule()
        if warmupEpochs > 0 { schedule = .warmup(epochs: warmupEpochs, then: schedule) }
        return optimizer.optimizer(learningRate: rate, weightDecay: weightDecay, schedule: schedule)
    }

    /// `--reduce-lr-on-plateau FACTOR:PATIENCE`, parsed.
    func parsedPlateau() throws -> ReduceLearningRateOnPlateau? {
        guard let text = reduceLrOnPlateau else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let factor = Double(parts[0]), factor > 0, factor < 1, let patience = Int(parts[1]), patience > 0 else {
            throw ValidationError("--reduce-lr-on-plateau must be FACTOR:PATIENCE with FACTOR in (0, 1) and a positive whole PATIENCE, such as 0.5:3; got '\(text)'")
        }
        return ReduceLearningRateOnPlateau(factor: factor, patience: patience)
    }

    /// `--class-weights`, for data of `classes` classes with `counts` samples each: `balanced` gives each class
    /// n / (classes × count), as scikit-learn's `class_weight="balanced"`.
    func parsedClassWeights(counts: [Int]?) throws -> [Double]? {
        guard let text = classWeights else { return nil }
        guard let counts else { throw ValidationError("--class-weights needs class labels; this data has numeric targets") }
        if text.lowercased() == "balanced" {
            let total = Double(counts.reduce(0, +))
            return counts.map { $0 > 0 ? total / (Double(counts.count) * Double($0)) : 0 }
        }
        let weights = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.filter { $0 != " " }) }
        guard weights.count == counts.count, weights.allSatisfy({ ($0 ?? -1) >= 0 && $0!.isFinite }) else {
            throw ValidationError("--class-weights must be 'balanced' or \(counts.count) numbers (0 or more), one per class, comma-separated; got '\(text)'")
        }
        return weights.map { $0! }
    }
}

extension DataSource {
    var isBuiltin: Bool { if case .builtin = self { true } else { false } }
}
