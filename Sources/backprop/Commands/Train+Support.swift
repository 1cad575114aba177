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
    /// Runs the Float64 finite-difference check on the current weights and a few training samples.
    func checkGradients(of model: Sequential<Float>, parameters: [Tensor<Float>], on data: AnyTrainingData<Float>,
                        loss: Loss, epoch: Int) throws {
        var current = model
        current.parameters = parameters
        guard let exact = current.converted(to: Double.self) else {
            throw DataError.mismatch("the gradient check needs a model whose every layer can be saved")
        }
        let (x, targets) = data.batch(at: Array(0..<Swift.min(8, data.count)))
        let wide: Targets<Double> = switch targets {
        case .classes(let labels): .classes(labels)
        case .values(let values): .values(values.converted(to: Double.self))
        }
        let results = ModelGradients.check(exact, loss: loss, inputs: x.converted(to: Double.self), targets: wide,
                                           elementsPerParameter: 5, seed: UInt64(epoch))
        if let failing = results.first(where: { !($0.report.maxRelativeError < 1e-6) }) {
            throw DataError.mismatch("gradient check failed after epoch \(epoch): \(failing.name) has relative error \(failing.report.maxRelativeError) (threshold 1e-6)")
        }
        if !quiet, let worst = results.max(by: { $0.report.maxRelativeError < $1.report.maxRelativeError }) {
            print("  gradient check after epoch \(epoch): PASS (max relative error \(worst.report.maxRelativeError) in \(worst.name))")
        }
    }

    /// The run's settings and history, as stored with the model and in checkpoints.
    func record(stopReason: String, history: [EpochReport], batchSize: Int, loss: Loss) throws -> TrainingRecord {
        TrainingRecord(data: data, optimizer: optimizer, learningRate: rate, batchSize: batchSize, seed: seed,
                       stopReason: stopReason, history: history.map(EpochRecord.init),
                       options: try trainingOptions(batchSize: batchSize, loss: loss))
    }

    /// Options a resumed run may change: they decide when training stops or what is only reported, not what a
    /// step computes.
    static let optionsSafeToChange: Set<String> = ["--epochs", "--stop-when-loss-change-below", "--patience",
                                                   "--early-stopping-patience", "--test-data"]

    /// Every option that decides what training computes (and the few that may change on resume), canonical: the
    /// effective batch size, the loss and learning rate chosen by default, sizes without spaces.
    func trainingOptions(batchSize: Int, loss: Loss) throws -> [String: String] {
        var options = [
            "--data": data, "--layers": try hiddenSizes().map(String.init).joined(separator: ","),
            "--activation": try parsedActivation().name, "--loss": loss.name, "--optimizer": optimizer.lowercased(),
            "--learning-rate": "\(rate)", "--weight-decay": "\(weightDecay)", "--clip-norm": clipNorm.map { "\($0)" } ?? "none",
            "--batch-size": "\(batchSize)", "--seed": "\(seed)", "--validation-split": "\(validationSplit)", "--scale": scale,
            "--missing": missing, "--task": task, "--label": csv.label ?? "default", "--ignore-columns": csv.ignoreColumns ?? "",
            "--id-column": csv.idColumn ?? "", "--delimiter": csv.delimiter ?? "detected",
            "--epochs": "\(epochs)", "--patience": "\(patience)", "--test-data": testData ?? "none",
        ]
        options["--stop-when-loss-change-below"] = stopWhenLossChangeBelow.map { "\($0)" } ?? "none"
        options["--early-stopping-patience"] = earlyStoppingPatience.map { "\($0)" } ?? "none"
        return options
    }

    /// Checks that a checkpoint belongs to a run with these options: every option that decides what a step computes
    /// must be the same (all differences are listed in one error); the ones that may change are noted.
    func checkResumable(_ file: CheckpointFile<Float>, path: String, model: Sequential<Float>, batchSize: Int, loss: Loss) throws {
        guard let record = file.saved.info.training else {
            throw DataError.mismatch("\(path) does not record how it was trained, so it cannot be resumed")
        }
        let given = try trainingOptions(batchSize: batchSize, loss: loss)
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
        guard file.saved.model.parameters.map(\.shape) == model.parameters.map(\.shape) else {
            throw DataError.mismatch("\(path) holds a different architecture than --layers \(layers) on this data")
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

    /// Refuses a network beyond the ``Limits`` (layers, parameters) before any of it is allocated.
    func checkNetworkSize(_ sizes: [Int]) throws {
        guard 2 * (sizes.count - 1) <= Limits.layers else {
            throw ValidationError("--layers asks for \(sizes.count - 2) hidden layers; at most \(Limits.layers / 2 - 1) fit the limit of \(Limits.layers) layers")
        }
        var total = 0
        for (inputs, outputs) in zip(sizes, sizes.dropFirst()) {
            let (weights, overflow) = inputs.multipliedReportingOverflow(by: outputs)
            guard !overflow, weights <= Limits.parameters - total - outputs else {
                throw ValidationError("--layers \(layers) on \(sizes[0]) inputs makes more than \(Limits.parameters) parameters, the limit")
            }
            total += weights + outputs
        }
    }

    func hiddenSizes() throws -> [Int] {
        if layers.isEmpty { return [] }
        return try layers.split(separator: ",").map { part in
            guard let size = Int(part.filter { $0 != " " }), size > 0 else {
                throw ValidationError("--layers must be positive integers separated by commas, got '\(layers)'")
            }
            return size
        }
    }

    func parsedActivation() throws -> Activation {
        guard let activation = Activation(name: activation), activation != .softmax else {
            throw ValidationError(unknownValue(activation, for: "--activation",
                                               valid: ["relu", "leaky-relu", "elu", "gelu", "tanh", "sigmoid", "softplus", "identity"]))
        }
        return activation
    }

    /// The given learning rate, or the optimizer's conventional default.
    var rate: Double {
        learningRate ?? (["adam", "adamw", "rmsprop"].contains(optimizer.lowercased()) ? 0.001 : 0.01)
    }

    func parsedOptimizer() throws -> any Optimizer {
        switch optimizer.lowercased() {
        case "sgd": return SGD(weightDecay: weightDecay)
        case "momentum": return SGD(momentum: 0.9, weightDecay: weightDecay)
        case "nesterov": return SGD(momentum: 0.9, nesterov: true, weightDecay: weightDecay)
        case "adam": return Adam(weightDecay: weightDecay > 0 ? .l2(weightDecay) : nil)
        case "adamw": return Adam.adamW(weightDecay: weightDecay > 0 ? weightDecay : 0.01)
        case "rmsprop": return RMSProp(weightDecay: weightDecay)
        case "adagrad": return Adagrad(weightDecay: weightDecay)
        default:
            throw ValidationError(unknownValue(optimizer, for: "--optimizer",
                                               valid: ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]))
        }
    }
}

extension DataSource {
    var isBuiltin: Bool { if case .builtin = self { true } else { false } }
}
