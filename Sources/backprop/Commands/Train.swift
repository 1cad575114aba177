import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `backprop train`: trains a multilayer perceptron and reports every epoch.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a multilayer perceptron on a dataset.",
        discussion: """
            With no options, trains a 2-64-64-2 ReLU network with Adam on two interleaved spirals (generated, \
            no download) and prints the loss falling epoch by epoch.
            """)

    @Option(help: "Training data: builtin:NAME (spirals, xor, circles, moons, blobs, sine), fashion-mnist, or a directory of IDX files.")
    var data = "builtin:spirals"

    @Option(help: "Test data, evaluated after training (same forms as --data; IDX sources read their t10k-* files).")
    var testData: String?

    @Option(help: "Hidden layer sizes, comma-separated.")
    var layers = "64,64"

    @Option(help: "Hidden activation: relu, leaky-relu, elu, gelu, tanh, sigmoid, softplus.")
    var activation = "relu"

    @Option(help: "Loss: softmax-cross-entropy, cross-entropy, binary-cross-entropy, mse (½-squared error), mean-squared-error, mae, huber. Default: softmax-cross-entropy for classes, mse for regression.")
    var loss: String?

    @Option(help: "Optimizer: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad.")
    var optimizer = "adam"

    @Option(help: "Learning rate η.")
    var learningRate = 0.01

    @Option(help: "Weight decay λ (L2 for most optimizers, decoupled for adamw).")
    var weightDecay = 0.0

    @Option(help: "Clip the gradients' global norm to this value.")
    var clipNorm: Double?

    @Option(help: "Maximum number of epochs.")
    var epochs = 100

    @Option(help: "Samples per mini-batch.")
    var batchSize = 32

    @Option(help: "Seed of initialisation, shuffling and generated data.")
    var seed: UInt64 = 42

    @Option(help: "Fraction of the training data held out for validation (0 for none).")
    var validationSplit = 0.0

    @Option(help: "Stop when the training loss changes by less than this for --patience consecutive epochs.")
    var stopWhenLossChangeBelow: Double?

    @Option(help: "Consecutive epochs for --stop-when-loss-change-below.")
    var patience = 3

    @Option(help: "Stop when the validation loss has not improved for this many epochs, restoring the best weights.")
    var earlyStoppingPatience: Int?

    @Option(help: "Write per-epoch metrics to this CSV file.")
    var metrics: String?

    @Flag(help: "Print only the final result.")
    var quiet = false

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number, got \(learningRate)") }
        guard (0..<1).contains(validationSplit) else { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
        guard patience > 0 else { throw ValidationError("--patience must be positive, got \(patience)") }
        _ = try hiddenSizes()
        _ = try parsedActivation()
        _ = try parsedOptimizer()
        if let loss, Loss(name: loss) == nil { throw ValidationError("unknown --loss '\(loss)'") }
    }

    func run() throws {
        do {
            try train()
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }

    private func train() throws {
        let source = try DataSource(parsing: data)
        var training: AnyTrainingData<Float> = try source.loadTraining(seed: seed)
        var validation: AnyTrainingData<Float>?
        if validationSplit > 0 {
            let split = try splitForValidation(training)
            training = split.training
            validation = split.validation
        }
        let isClassification = training.classCount != nil
        let lossFunction = loss.flatMap(Loss.init(name:)) ?? (isClassification ? .softmaxCrossEntropy : .halfSquaredError)
        let outputs = training.classCount.map { lossFunction == .binaryCrossEntropy && $0 == 2 ? 1 : $0 } ?? 1
        let sizes = [training.featureCount] + (try hiddenSizes()) + [outputs]
        let model = Sequential<Float>.multilayerPerceptron(
            sizes: sizes, activation: try parsedActivation(),
            outputActivation: lossFunction == .crossEntropy ? .softmax : .identity, seed: seed)
        var criteria: [StoppingCriterion] = []
        if let threshold = stopWhenLossChangeBelow { criteria.append(.lossChange(below: threshold, patience: patience)) }
        if let patience = earlyStoppingPatience { criteria.append(.earlyStopping(patience: patience, restoreBestWeights: true)) }
        let trainer = Trainer(loss: lossFunction, optimizer: try parsedOptimizer(), learningRate: learningRate,
                              batchSize: batchSize, epochs: epochs, stoppingCriteria: criteria,
                              clipping: clipNorm.map { .globalNorm($0) }, seed: seed)
        if !quiet {
            print("data: \(source) — \(training.count) samples, \(training.featureCount) features"
                  + (training.classCount.map { ", \($0) classes" } ?? ", regression"))
            print("kernels: \(KernelBackend.preferred)")
            print(model.summary)
            print("loss: \(lossFunction), optimizer: \(trainer.optimizer), learning rate \(learningRate), batch \(batchSize), seed \(seed)")
        }
        var log = MetricsLog()
        let every = Swift.max(1, epochs / 20)
        let result = try trainer.fit(model, on: training, validation: validation) { event in
            guard case .epochEnded(let report) = event else { return }
            log.append(report)
            if !quiet && (report.epoch <= 3 || report.epoch % every == 0 || report.epoch == epochs) {
                print(EpochLine(report: report, epochs: epochs).text)
            }
        }
        if let metrics { try log.write(to: metrics) }
        print("stopped: \(result.stopReason)")
        let finalReport = trainer.evaluate(result.model, on: training)
        print("training: loss \(format(finalReport.loss))" + (finalReport.accuracy.map { ", accuracy \(percent($0))" } ?? ""))
        // Built-in generators evaluate on fresh samples by default, so the demo reports held-out accuracy.
        let testSource = try testData.map(DataSource.init(parsing:)) ?? { if case .builtin = source { source } else { nil } }()
        if let testSource {
            let test: AnyTrainingData<Float> = try testSource.loadTest(seed: seed)
            guard test.featureCount == training.featureCount else {
                throw DataError.mismatch("--test-data has \(test.featureCount) features per sample, the training data \(training.featureCount)")
            }
            let evaluation = trainer.evaluate(result.model, on: test)
            print("test (\(testSource)\(testData == nil ? ", fresh samples" : "")): loss \(format(evaluation.loss))" + (evaluation.accuracy.map { ", accuracy \(percent($0))" } ?? ""))
        }
        if case .nonFinite = result.stopReason { throw ExitCode.failure }
    }

    private func splitForValidation(_ data: AnyTrainingData<Float>) throws -> (training: AnyTrainingData<Float>, validation: AnyTrainingData<Float>) {
        var generator = SeededGenerator(seed: seed ^ 0xA11D)
        let order = generator.permutation(of: data.count)
        let held = Swift.max(1, Int(Double(data.count) * validationSplit))
        guard held < data.count else { throw ValidationError("--validation-split leaves no training data") }
        return (AnyTrainingData(Subset(base: data, indices: Array(order[held...]))),
                AnyTrainingData(Subset(base: data, indices: Array(order[..<held]))))
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
            throw ValidationError("unknown --activation '\(activation)'")
        }
        return activation
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
        default: throw ValidationError("unknown --optimizer '\(optimizer)' (sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad)")
        }
    }
}

/// Rows of another dataset, selected by index (for a validation split).
struct Subset<Scalar: TensorScalar>: TrainingData {
    let base: AnyTrainingData<Scalar>
    let indices: [Int]
    var count: Int { indices.count }
    var featureCount: Int { base.featureCount }
    var classCount: Int? { base.classCount }
    func batch(at rows: [Int]) -> (inputs: Tensor<Scalar>, targets: Targets<Scalar>) {
        base.batch(at: rows.map { indices[$0] })
    }
}
